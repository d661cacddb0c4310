"""Approvals only a verified, distinct person can give (template level): URL-only invokes, the approver
role's trust, records only their writer may write, the functions' IAM, and the workflow acting on the
decision of record on every path."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template

from infra.config import ApprovalSettings
from infra.constructs.approvals import WRITE_ACTIONS, approver_trust
from pipeline.simulation.trust import unverified_paths
from tests.conftest import Synthesized
from tests.infra.conftest import actions_of, resource_with_prefix, resources_of_type, role_statements
from tests.infra.test_workflow import definition

ASKS = {
    "Ask for approval to serve": ("$.approval", "Was the purchase approved?"),
    "Ask for approval to evaluate": ("$.evaluationApproval", "Was the evaluation purchase approved?"),
}


def _role(template: Template, prefix: str) -> dict[str, Any]:
    return resources_of_type(template, "AWS::IAM::Role")[
        resource_with_prefix(template, "AWS::IAM::Role", prefix)
    ]


def _env(template: Template, prefix: str) -> dict[str, Any]:
    function = resources_of_type(template, "AWS::Lambda::Function")[
        resource_with_prefix(template, "AWS::Lambda::Function", prefix)
    ]
    return dict(function["Properties"]["Environment"]["Variables"])


def _all_statements(template: Template) -> list[tuple[str, dict[str, Any]]]:
    """Every identity-policy statement of the template (inline and managed), with its resource name."""
    found = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for name, policy in resources_of_type(template, kind).items():
            found += [(name, s) for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    return found


# --------------------------------------------------------------------------------------------------
# Function URLs: IAM-authenticated, invoked only through the URL
# --------------------------------------------------------------------------------------------------


def test_the_answer_and_start_functions_are_reachable_only_through_iam_authenticated_urls(
    dev: Template,
) -> None:
    urls = {
        url["Properties"]["TargetFunctionArn"]["Fn::GetAtt"][0]: url["Properties"]
        for url in resources_of_type(dev, "AWS::Lambda::Url").values()
    }
    answer = resource_with_prefix(dev, "AWS::Lambda::Function", "ApprovalsAnswer")
    start = resource_with_prefix(dev, "AWS::Lambda::Function", "ApprovalsStart")
    assert set(urls) == {answer, start}
    assert all(props["AuthType"] == "AWS_IAM" for props in urls.values())
    # No resource-based permission opens either function to anyone (a URL with NONE, a service, an account).
    assert resources_of_type(dev, "AWS::Lambda::Permission") == {} or not any(
        json.dumps(p).count(answer) or json.dumps(p).count(start)
        for p in resources_of_type(dev, "AWS::Lambda::Permission").values()
    )


@pytest.mark.parametrize(("grantee", "function"), [("ApprovalsApproverRole", "ApprovalsAnswer")])
def test_the_approver_role_invokes_the_answer_function_only_through_its_url(
    dev: Template, grantee: str, function: str
) -> None:
    arn = {"Fn::GetAtt": [resource_with_prefix(dev, "AWS::Lambda::Function", function), "Arn"]}
    statements = [s for s in role_statements(dev, grantee) if s.get("Resource") == arn]
    assert {frozenset(actions_of(s)) for s in statements} == {
        frozenset({"lambda:InvokeFunctionUrl"}),
        frozenset({"lambda:InvokeFunction"}),
    }
    for statement in statements:
        if actions_of(statement) == {"lambda:InvokeFunctionUrl"}:
            assert statement["Condition"] == {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}
        else:
            # Since October 2025 a function URL needs InvokeFunction too; only via the URL, never direct.
            assert statement["Condition"] == {"Bool": {"lambda:InvokedViaFunctionUrl": True}}


@pytest.mark.parametrize("function", ["ApprovalsAnswer", "ApprovalsStart"])
def test_no_policy_grants_a_direct_invoke_of_the_url_functions(dev: Template, function: str) -> None:
    logical_id = resource_with_prefix(dev, "AWS::Lambda::Function", function)
    for name, statement in _all_statements(dev):
        if logical_id not in json.dumps(statement.get("Resource")):
            continue
        if "lambda:InvokeFunction" in actions_of(statement) or "lambda:*" in actions_of(statement):
            condition = (statement.get("Condition") or {}).get("Bool") or {}
            assert str(condition.get("lambda:InvokedViaFunctionUrl")).lower() == "true", name


def test_the_starter_policy_invokes_the_start_function_only_through_its_url(dev: Template) -> None:
    (policy,) = [
        p
        for name, p in resources_of_type(dev, "AWS::IAM::ManagedPolicy").items()
        if name.startswith("ApprovalsStarterPolicy")
    ]
    start = {"Fn::GetAtt": [resource_with_prefix(dev, "AWS::Lambda::Function", "ApprovalsStart"), "Arn"]}
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statements == [
        {
            "Action": "lambda:InvokeFunctionUrl",
            "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
            "Effect": "Allow",
            "Resource": start,
        },
        {
            "Action": "lambda:InvokeFunction",
            "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
            "Effect": "Allow",
            "Resource": start,
        },
        *QUOTA_READS,
    ]


# The quota check of check/estimate/start (pipeline.quotas.check), with the operator's credentials:
# the no-commitment quota by its code in this account and region, and the two actions that have no
# resource type (Service Authorization Reference) on "*".
QUOTA_READS = [
    {
        "Action": "servicequotas:GetServiceQuota",
        "Effect": "Allow",
        "Resource": {
            "Fn::Join": [
                "",
                ["arn:aws:servicequotas:us-east-1:", {"Ref": "AWS::AccountId"}, ":bedrock/L-BE77399C"],
            ]
        },
    },
    {
        "Action": ["bedrock:ListModelCustomizationJobs", "servicequotas:ListServiceQuotas"],
        "Effect": "Allow",
        "Resource": "*",
    },
]


def test_the_starter_policy_and_the_preflight_read_the_same_quotas(dev: Template) -> None:
    # CDK merges statements of one resource: compare action by action, resource by resource.
    def grants(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
        return {
            (action, json.dumps(s["Resource"], sort_keys=True))
            for s in statements
            if s["Effect"] == "Allow"
            for action in actions_of(s)
            if action.startswith(("servicequotas:", "bedrock:ListModelCustomizationJobs"))
        }

    assert grants(role_statements(dev, "FunctionsPreflightRole")) == grants(QUOTA_READS)


def test_the_starter_policy_acknowledges_its_unscoped_quota_reads(synthesized: Synthesized) -> None:
    (rules,) = [
        rules
        for path, rules in synthesized.acknowledgements.items()
        if path.startswith("BedrockCustomization-dev/") and path.endswith("/Approvals/StarterPolicy")
    ]
    assert "no resource-level permissions" in rules["Annotation::AwsSolutions-IAM5[Resource::*]"]


# --------------------------------------------------------------------------------------------------
# The approver role's trust
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "mfa"), [("dev", False), ("prod", True)])
def test_the_approver_role_trusts_iam_users_only_as_themselves(
    request: pytest.FixtureRequest, env: str, mfa: bool
) -> None:
    template: Template = request.getfixturevalue(env)
    role = _role(template, "ApprovalsApproverRole")
    assume, source = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert assume["Effect"] == source["Effect"] == "Allow"
    # Apart: sts:SetSourceIdentity does not support sts:RoleSessionName, and a condition on a key
    # the action does not support never matches (tests/infra/test_iam_contract.py checks every grant).
    assert assume["Action"] == "sts:AssumeRole" and source["Action"] == "sts:SetSourceIdentity"
    for trust in (assume, source):
        principal = json.dumps(trust["Principal"])
        assert ":root" in principal and "AWS::AccountId" in principal  # this account only
        # MFA where cdk.json asks for it (prod); dev turns it off (approvals.requireMfa: false).
        assert ("Bool" in trust["Condition"]) is mfa
        if mfa:
            assert trust["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"}
    # The session name the answer function sees = the source identity = the caller's IAM user name.
    assert assume["Condition"]["StringEquals"] == {
        "sts:SourceIdentity": "${aws:username}",
        "sts:RoleSessionName": "${aws:username}",
    }
    assert source["Condition"]["StringEquals"] == {"sts:SourceIdentity": "${aws:username}"}
    assert role["Properties"]["MaxSessionDuration"] == 3600


def test_sessions_with_a_source_identity_from_federation_are_an_explicit_setting() -> None:
    def resolved(settings: ApprovalSettings) -> list[dict[str, Any]]:
        document = approver_trust(settings)
        statements: list[dict[str, Any]] = Stack().resolve(document.to_json())["Statement"]
        return statements

    assert [s["Sid"] for s in resolved(ApprovalSettings())] == [
        "IamUsersAsThemselvesAssume",
        "IamUsersAsThemselvesSourceIdentity",
    ]
    federated = resolved(ApprovalSettings(federated_source_identity=True, require_mfa=True))
    assert [s["Sid"] for s in federated] == [
        "IamUsersAsThemselvesAssume",
        "IamUsersAsThemselvesSourceIdentity",
        "FederatedSessionsAsTheirSourceIdentityAssume",
        "FederatedSessionsAsTheirSourceIdentitySourceIdentity",
    ]
    assert federated[3]["Condition"] == {
        "StringEquals": {"sts:SourceIdentity": "${aws:SourceIdentity}"},
        "Bool": {"aws:MultiFactorAuthPresent": "true"},
    }
    assert federated[2]["Condition"] == {
        "StringEquals": {
            "sts:SourceIdentity": "${aws:SourceIdentity}",
            "sts:RoleSessionName": "${aws:SourceIdentity}",
        },
        "Bool": {"aws:MultiFactorAuthPresent": "true"},
    }


def test_the_functions_know_the_approver_role_by_arn_and_id(dev: Template) -> None:
    role = resource_with_prefix(dev, "AWS::IAM::Role", "ApprovalsApproverRole")
    for function in ("ApprovalsAnswer", "ApprovalsStart"):
        env = _env(dev, function)
        assert env["APPROVER_ROLE_ARN"] == {"Fn::GetAtt": [role, "Arn"]}
        assert env["APPROVER_ROLE_ID"] == {"Fn::GetAtt": [role, "RoleId"]}
    for function in ("ApprovalsAnswer", "FunctionsApprovalVerify", "FunctionsApprovalRequest"):
        assert _env(dev, function)["ALLOW_SELF_APPROVAL"] == "false", function
    machine = resource_with_prefix(dev, "AWS::StepFunctions::StateMachine", "WorkflowStateMachine")
    assert _env(dev, "ApprovalsStart")["STATE_MACHINE_ARN"] == {"Ref": machine}


# --------------------------------------------------------------------------------------------------
# Records only their writer may write
# --------------------------------------------------------------------------------------------------


def _bucket_statements(template: Template) -> dict[str, dict[str, Any]]:
    (policy,) = [
        p
        for p in resources_of_type(template, "AWS::S3::BucketPolicy").values()
        if "OnlyTheApprovalAnswer" in json.dumps(p)
    ]
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"] if "Sid" in s}


@pytest.mark.parametrize(
    ("sid", "prefix", "writer"),
    [
        ("OnlyTheApprovalAnswerWritesDecisions", "/decisions/*", "ApprovalsAnswerRole"),
        ("OnlyTheStartFunctionWritesStarters", "/starters/*", "ApprovalsStartRole"),
    ],
)
def test_records_are_written_and_deleted_by_their_function_alone(
    dev: Template, sid: str, prefix: str, writer: str
) -> None:
    deny = _bucket_statements(dev)[sid]
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
    assert (
        set(deny["Action"])
        == set(WRITE_ACTIONS)
        >= {"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"}
    )
    assert deny["Resource"]["Fn::Join"][1][-1] == prefix
    role = resource_with_prefix(dev, "AWS::IAM::Role", writer)
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": [role, "Arn"]}}}


def test_task_tokens_are_readable_by_the_answer_function_alone(dev: Template) -> None:
    deny = _bucket_statements(dev)["OnlyTheApprovalAnswerReadsTaskTokens"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
    assert set(deny["Action"]) == {"s3:GetObject", "s3:GetObjectVersion"}
    assert deny["Resource"]["Fn::Join"][1][-1] == "/approvals/*"
    answer_role = resource_with_prefix(dev, "AWS::IAM::Role", "ApprovalsAnswerRole")
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": [answer_role, "Arn"]}}}
    for name, iam_policy in resources_of_type(dev, "AWS::IAM::Policy").items():
        if "/approvals/*" in json.dumps(iam_policy):
            assert name.startswith(("ApprovalsAnswerRole", "FunctionsApprovalRequest")), name


# --------------------------------------------------------------------------------------------------
# The functions' own IAM
# --------------------------------------------------------------------------------------------------


def _grants(template: Template, role_prefix: str) -> set[tuple[str, str]]:
    """(action, what) pairs of a role; logs, X-Ray and KMS (via S3 only, pinned elsewhere) left out.

    ``what`` is an object prefix (``/runs/``), ``list /runs/`` for a bucket listing limited to a
    prefix, or the resource as synthesized.
    """
    found = set()
    for statement in role_statements(template, role_prefix):
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for action in actions_of(statement):
            if action.startswith(("logs:", "xray:", "kms:")):
                continue
            for resource in resources:
                if action == "s3:ListBucket":
                    (prefix,) = statement["Condition"]["StringLike"]["s3:prefix"]
                    found.add((action, f"list /{prefix.rstrip('*')}"))
                elif isinstance(resource, dict) and "Fn::Join" in resource:
                    found.add((action, str(resource["Fn::Join"][1][-1]).rstrip("*")))
                else:
                    found.add((action, resource if isinstance(resource, str) else json.dumps(resource)))
    return found


def test_the_answer_function_may_record_decisions_and_answer_tokens_and_nothing_else(dev: Template) -> None:
    assert (_grants(dev, "ApprovalsAnswerRole")) == {
        ("s3:GetObject", "/approvals/"),
        ("s3:GetObjectVersion", "/approvals/"),
        ("s3:DeleteObject", "/approvals/"),
        ("s3:GetObject", "/decisions/"),
        ("s3:GetObjectVersion", "/decisions/"),
        ("s3:PutObject", "/decisions/"),
        ("s3:GetObject", "/starters/"),
        ("s3:GetObjectVersion", "/starters/"),
        # A missing record must read as missing (NoSuchKey), not as AccessDenied.
        ("s3:ListBucket", "list /decisions/"),
        ("s3:ListBucket", "list /starters/"),
        ("s3:PutObject", "/runs/"),
        # No resource-level permissions exist for it; the tokens it can read bound what it answers.
        ("states:SendTaskSuccess", "*"),
    }


def test_the_verify_function_only_reads_decisions_and_starters(dev: Template) -> None:
    assert (_grants(dev, "FunctionsApprovalVerify")) == {
        ("s3:GetObject", "/decisions/"),
        ("s3:GetObjectVersion", "/decisions/"),
        ("s3:ListBucket", "list /decisions/"),
        ("s3:GetObject", "/starters/"),
        ("s3:GetObjectVersion", "/starters/"),
        ("s3:ListBucket", "list /starters/"),
    }


def test_the_start_function_starts_this_workflow_and_records_starters_only(dev: Template) -> None:
    grants = _grants(dev, "ApprovalsStartRole")
    machine = resource_with_prefix(dev, "AWS::StepFunctions::StateMachine", "WorkflowStateMachine")
    assert grants == {
        ("states:StartExecution", json.dumps({"Ref": machine})),
        ("s3:GetObject", "/starters/"),
        ("s3:GetObjectVersion", "/starters/"),
        ("s3:ListBucket", "list /starters/"),
        ("s3:PutObject", "/starters/"),
    }


def test_the_manifest_names_the_start_url_and_whether_approvers_need_mfa(
    dev: Template, prod: Template
) -> None:
    for template, mfa in ((dev, "false"), (prod, "true")):
        (parameter,) = [
            p
            for p in resources_of_type(template, "AWS::SSM::Parameter").values()
            if "approvalUrl" in json.dumps(p)
        ]
        text = json.dumps(parameter)
        assert "startUrl" in text and "approverRoleArn" in text and "starterPolicyArn" in text
        assert f'\\"approverMfa\\":\\"{mfa}\\"' in text


# --------------------------------------------------------------------------------------------------
# The workflow acts on the decision of record
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def states(dev: Template) -> dict[str, Any]:
    return definition(dev)["States"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("ask_name", sorted(ASKS))
def test_every_answer_is_replaced_by_its_verified_decision_before_anything_decides(
    states: dict[str, Any], ask_name: str
) -> None:
    slot, decided = ASKS[ask_name]
    ask = states[ask_name]
    assert ask["Parameters"]["Payload"]["executionArn.$"] == "$$.Execution.Id"
    assert ask["Parameters"]["Payload"]["executionStart.$"] == "$$.Execution.StartTime"
    verify = states[ask["Next"]]
    assert ask["Next"] == f"{ask_name}: verify the answer"
    assert "ApprovalVerify" in verify["Resource"]
    assert verify["ResultPath"] == slot  # the answer itself is gone: only the record decides
    assert verify["Parameters"] == {
        "runId.$": "$$.Execution.Name",
        "executionArn.$": "$$.Execution.Id",
        "executionStart.$": "$$.Execution.StartTime",
        "stage": ask["Parameters"]["Payload"]["stage"],
        "answer.$": slot,
    }
    # A verification that fails marks the slot "not verified" before the failure path reads it.
    assert verify["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": f"{ask_name}: verification failed"}
    ]
    failed = states[f"{ask_name}: verification failed"]
    assert failed["ResultPath"] == slot and failed["Parameters"]["verified"] is False
    # ... then the failure is named (never a States.* name at the end) and takes the failure path
    assert failed["Next"] == "Failed: ApprovalVerifyError"
    assert states["Failed: ApprovalVerifyError"]["Next"] == "Release what this run bought"
    on_record = states[verify["Next"]]
    assert [c["Next"] for c in on_record["Choices"]] == [decided]
    assert {"Variable": f"{slot}.verified", "BooleanEquals": True} in on_record["Choices"][0]["And"]
    not_verified = states[on_record["Default"]]
    assert on_record["Default"] == f"{ask_name}: not verified"
    assert not_verified["Parameters"]["Error"] == "ApprovalNotVerified"
    assert not_verified["Next"] == "Release what this run bought"


def test_no_path_from_an_approval_wait_to_a_purchase_skips_verification(dev: Template) -> None:
    assert unverified_paths(definition(dev)) == []


def _mutated(dev: Template, change: Any) -> dict[str, Any]:
    """The synthesized definition with one change (the checker must find the hole it opens)."""
    machine = copy.deepcopy(definition(dev))
    change(machine["States"])
    return machine


@pytest.mark.parametrize(
    "mutation",
    [
        # The answer goes straight to the decision (the workflow before verification).
        lambda s: s["Ask for approval to serve"].update(Next="Was the purchase approved?"),
        # The verification writes somewhere else: the answer as sent still decides.
        lambda s: s["Ask for approval to serve: verify the answer"].update(ResultPath="$.verifiedApproval"),
        # Every check looks at the answer's own claim instead of the verification's result.
        lambda s: [
            rule.update(
                And=[c for c in rule.get("And", []) if not str(c.get("Variable")).endswith(".verified")]
            )
            for state in s.values()
            for rule in state.get("Choices", [])
        ],
        # "Not on record" buys anyway.
        lambda s: s["Ask for approval to serve: is the answer on record?"].update(
            Default="Buy provisioned throughput (no commitment)"
        ),
    ],
)
def test_the_path_check_finds_a_workflow_that_acts_on_an_unverified_answer(
    dev: Template, mutation: Any
) -> None:
    """Mutation test: each change opens a path from an approval wait to a purchase without verification."""
    assert unverified_paths(_mutated(dev, mutation)) != []

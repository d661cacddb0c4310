"""The built-in reinforcement fine-tuning grader, and exactly which graders Bedrock may invoke."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from infra.app_builder import build_app
from infra.config import CONTEXT_KEY
from pipeline.graders import BUILTIN_GRADERS, GRADER_TIMEOUT_SECONDS
from tests.infra.conftest import cdk_json_context, resources_of_type

GRADER_HANDLER = "lambdas.grader.handler.lambda_handler"


def _grader_function(template: Template) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, f)
        for k, f in resources_of_type(template, "AWS::Lambda::Function").items()
        if f["Properties"]["Handler"] == GRADER_HANDLER
    ]
    return found


def _invoke_statements(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    """Every lambda:InvokeFunction statement of the policies attached to roles named ``role_prefix``."""
    found = []
    for policy in resources_of_type(template, "AWS::IAM::Policy").values():
        roles = [r.get("Ref", "") for r in policy["Properties"]["Roles"]]
        if not any(r.startswith(role_prefix) for r in roles):
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "lambda:InvokeFunction" in actions:
                found.append(statement)
    return found


def _alias_ids(template: Template) -> dict[str, str]:
    return {a["Properties"]["Name"]: k for k, a in resources_of_type(template, "AWS::Lambda::Alias").items()}


def test_one_grader_function_with_an_alias_per_builtin_grader(dev: Template) -> None:
    function_id, function = _grader_function(dev)
    props = function["Properties"]
    assert props["Timeout"] == GRADER_TIMEOUT_SECONDS == 900  # Lambda's maximum, the guide's limit
    # Bedrock scores a step's answers in parallel: no reservation throttles the job's grading.
    assert "ReservedConcurrentExecutions" not in props
    skips = {s["id"] for s in function["Metadata"]["checkov"]["skip"]}
    assert "CKV_AWS_115" in skips
    aliases = resources_of_type(dev, "AWS::Lambda::Alias")
    assert sorted(a["Properties"]["Name"] for a in aliases.values()) == sorted(BUILTIN_GRADERS)
    for alias in aliases.values():
        assert alias["Properties"]["FunctionName"] == {"Ref": function_id}
        assert alias["Properties"]["FunctionVersion"] == "$LATEST"


def test_nothing_but_the_granted_roles_may_invoke_the_grader(dev: Template) -> None:
    # No resource-based policy: Bedrock invokes the grader with the service role's credentials, whose
    # identity policy names the aliases [UG:rft-access-security].
    function_id, _ = _grader_function(dev)
    permissions = resources_of_type(dev, "AWS::Lambda::Permission")
    assert not [p for p in permissions.values() if function_id in json.dumps(p)]


def test_the_bedrock_role_may_invoke_exactly_the_builtin_grader_aliases(dev: Template) -> None:
    (statement,) = _invoke_statements(dev, "BedrockServiceRole")
    assert statement["Sid"] == "InvokeReinforcementFineTuningGraders"
    assert statement["Effect"] == "Allow" and "Condition" not in statement
    expected = [{"Ref": alias_id} for alias_id in _alias_ids(dev).values()]
    assert sorted(statement["Resource"], key=json.dumps) == sorted(expected, key=json.dumps)
    assert "*" not in json.dumps(statement["Resource"])


def test_the_preflight_calls_the_same_graders_and_knows_the_builtin_one(dev: Template) -> None:
    function_id, _ = _grader_function(dev)
    (preflight,) = [
        f
        for f in resources_of_type(dev, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "lambdas.preflight.handler.lambda_handler"
    ]
    env = preflight["Properties"]["Environment"]["Variables"]
    assert env["BUILTIN_GRADER_ARN"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert env["GRADER_FUNCTION_NAMES"] == ""
    (statement,) = _invoke_statements(dev, "FunctionsPreflightRole")
    (bedrock,) = _invoke_statements(dev, "BedrockServiceRole")
    assert sorted(statement["Resource"], key=json.dumps) == sorted(bedrock["Resource"], key=json.dumps)


def test_the_manifest_names_the_builtin_grader(dev: Template) -> None:
    function_id, _ = _grader_function(dev)
    assert dev.to_json()["Outputs"]["BuiltinGraderArn"]["Value"] == {"Fn::GetAtt": [function_id, "Arn"]}


@pytest.fixture(scope="module")
def dev_with_team_graders() -> Template:
    """dev with two team grader names configured; synthesized with cdk-nag like the real app."""
    context = cdk_json_context()
    environments = context[CONTEXT_KEY]
    context[CONTEXT_KEY] = {
        "dev": {**environments["dev"], "graderFunctionNames": ["search-team-grader", "ml-*-reward"]}
    }
    app = App(context=context)
    (stack,) = build_app(app)
    return Template.from_stack(stack)  # raises if cdk-nag reports an unacknowledged finding


def test_team_graders_are_granted_by_configured_name_in_this_account_and_region(
    dev_with_team_graders: Template,
) -> None:
    (statement,) = _invoke_statements(dev_with_team_graders, "BedrockServiceRole")
    rendered = [json.dumps(r) for r in statement["Resource"]]
    team = [r for r in rendered if "function:" in r]
    assert len(team) == 4
    for name in ("search-team-grader", "ml-*-reward"):
        assert sum(name in r for r in team) == 2  # unqualified, and with any version or alias
        assert any(r.endswith(f':function:{name}"]]}}') for r in team)
        assert any(r.endswith(f':function:{name}:*"]]}}') for r in team)
    for r in team:
        assert '"arn:aws:lambda:us-east-1:"' in r and '{"Ref": "AWS::AccountId"}' in r
    (preflight,) = _invoke_statements(dev_with_team_graders, "FunctionsPreflightRole")
    assert sorted(map(json.dumps, preflight["Resource"])) == sorted(rendered)
    env = [
        f["Properties"]["Environment"]["Variables"]
        for f in resources_of_type(dev_with_team_graders, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "lambdas.preflight.handler.lambda_handler"
    ]
    assert env[0]["GRADER_FUNCTION_NAMES"] == "search-team-grader,ml-*-reward"

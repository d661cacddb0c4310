"""The LLM judge's infrastructure: the evaluation-job role, the judge function's grants, the states."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from pipeline.catalog import JUDGES
from tests.infra.conftest import resources_of_type, storage_key_id
from tests.infra.test_workflow import definition

EVALUATION_JOB_ARNS = {
    "Fn::Join": ["", ["arn:aws:bedrock:us-east-1:", {"Ref": "AWS::AccountId"}, ":evaluation-job/*"]]
}


@pytest.fixture(scope="module")
def states(dev: Template) -> dict[str, Any]:
    return definition(dev)["States"]  # type: ignore[no-any-return]


def _role(template: Template) -> tuple[str, dict[str, Any]]:
    (item,) = [
        (k, r)
        for k, r in resources_of_type(template, "AWS::IAM::Role").items()
        if k.startswith("EvaluationJobRole")
    ]
    return item


def _policy_statements(template: Template, role_id: str) -> list[dict[str, Any]]:
    return [
        s
        for p in resources_of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def _bucket_id(template: Template) -> str:
    (bucket_id,) = [
        k
        for k, b in resources_of_type(template, "AWS::S3::Bucket").items()
        if "LoggingConfiguration" in b["Properties"]
    ]
    return bucket_id


def _function_role(template: Template, handler: str) -> str:
    (function,) = [
        f
        for f in resources_of_type(template, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == handler
    ]
    return str(function["Properties"]["Role"]["Fn::GetAtt"][0])


def test_the_evaluation_job_role_is_trusted_only_by_bedrock_for_this_accounts_evaluation_jobs(
    dev: Template,
) -> None:
    _, role = _role(dev)
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": EVALUATION_JOB_ARNS},
    }
    assert "ManagedPolicyArns" not in role["Properties"]


INVOCATION_JOB_ARNS = {
    "Fn::Join": ["", ["arn:aws:bedrock:us-east-1:", {"Ref": "AWS::AccountId"}, ":model-invocation-job/*"]]
}


def test_the_evaluation_job_role_has_what_the_guide_lists_on_the_judge_prefix_the_key_and_the_judges(
    dev: Template,
) -> None:
    role_id, _ = _role(dev)
    bucket = _bucket_id(dev)
    statements = {s["Sid"]: s for s in _policy_statements(dev, role_id)}
    assert set(statements) == {
        "ReadDatasetsAndWriteResultsOfTheJudge",
        "ListTheBucketForTheJudge",
        "LocateTheBucket",
        "UseDataKeyThroughS3Only",
        "InvokeTheJudgeModelsOnly",
        "BatchTheJudgeModelsCallsOnly",
        "StopItsOwnBatchJobs",
    }
    objects = statements["ReadDatasetsAndWriteResultsOfTheJudge"]
    assert sorted(objects["Action"]) == ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"]
    assert objects["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/runs/*/judge/*"]]}
    # [UG:judge-service-roles] lists both; s3:ListBucketMultipartUploads does not support s3:prefix,
    # so no condition a request could lack (test_iam_contract checks every key against its action).
    listing = statements["ListTheBucketForTheJudge"]
    assert sorted(listing["Action"]) == ["s3:ListBucket", "s3:ListBucketMultipartUploads"]
    assert "Condition" not in listing
    assert listing["Resource"] == {"Fn::GetAtt": [bucket, "Arn"]}
    # [UG:model-evaluation-security-data]: Decrypt, GenerateDataKey, DescribeKey, through S3.
    kms = statements["UseDataKeyThroughS3Only"]
    assert sorted(kms["Action"]) == ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
    assert kms["Resource"] == {"Fn::GetAtt": [storage_key_id(dev), "Arn"]}
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    invoke = statements["InvokeTheJudgeModelsOnly"]
    assert invoke["Action"] == "bedrock:InvokeModel"
    resources = json.dumps(invoke["Resource"])
    for model_id in JUDGES:
        assert f"::foundation-model/{model_id}" in resources
        assert f":inference-profile/*.{model_id}" in resources
    assert "foundation-model/*" not in resources  # only the listed judges
    # A batch job is created on the models it runs and as a model-invocation-job of this account;
    # it is stopped by job, the only resource type StopModelInvocationJob accepts.
    batch = statements["BatchTheJudgeModelsCallsOnly"]
    assert batch["Action"] == "bedrock:CreateModelInvocationJob"
    assert INVOCATION_JOB_ARNS in batch["Resource"]
    assert sum("::foundation-model/" in json.dumps(r) for r in batch["Resource"]) == len(JUDGES)
    assert statements["StopItsOwnBatchJobs"]["Action"] == "bedrock:StopModelInvocationJob"
    assert statements["StopItsOwnBatchJobs"]["Resource"] == INVOCATION_JOB_ARNS
    assert all(s["Effect"] == "Allow" for s in statements.values())


def test_the_judge_function_creates_jobs_with_the_judge_models_reads_its_jobs_and_passes_only_that_role(
    dev: Template,
) -> None:
    judge_role = _function_role(dev, "lambdas.judge.handler.lambda_handler")
    evaluation_role_id, _ = _role(dev)
    statements = _policy_statements(dev, judge_role)
    bedrock = {
        tuple(sorted(_actions(s))): s
        for s in statements
        if any(a.startswith("bedrock:") for a in _actions(s))
    }
    assert set(bedrock) == {
        ("bedrock:CreateEvaluationJob",),
        ("bedrock:GetEvaluationJob", "bedrock:TagResource"),
    }
    # CreateEvaluationJob is authorized on the evaluator model (Service Authorization Reference),
    # never on evaluation-job/*, which would match none of its resource types.
    create = bedrock[("bedrock:CreateEvaluationJob",)]
    created_on = json.dumps(create["Resource"])
    assert sorted(m for m in JUDGES if f"::foundation-model/{m}" in created_on) == sorted(JUDGES)
    assert "evaluation-job" not in created_on and "foundation-model/*" not in created_on
    assert bedrock[("bedrock:GetEvaluationJob", "bedrock:TagResource")]["Resource"] == EVALUATION_JOB_ARNS
    (pass_role,) = [s for s in statements if "iam:PassRole" in _actions(s)]
    assert pass_role["Resource"] == {"Fn::GetAtt": [evaluation_role_id, "Arn"]}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}}
    # Nobody else may pass the evaluation-job role or create evaluation jobs.
    for policy in resources_of_type(dev, "AWS::IAM::Policy").values():
        if {"Ref": judge_role} in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert "bedrock:CreateEvaluationJob" not in _actions(statement)
            if "iam:PassRole" in _actions(statement):
                assert statement["Resource"] != {"Fn::GetAtt": [evaluation_role_id, "Arn"]}


def test_the_judge_function_knows_the_role_it_passes(dev: Template) -> None:
    evaluation_role_id, _ = _role(dev)
    (function,) = [
        f
        for f in resources_of_type(dev, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "lambdas.judge.handler.lambda_handler"
    ]
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["JUDGE_ROLE_ARN"] == {"Fn::GetAtt": [evaluation_role_id, "Arn"]}


def test_the_judge_states_fail_with_named_errors(states: dict[str, Any]) -> None:
    assert states["Judge job failed"]["Parameters"]["Error"] == "JudgeJobFailed"
    assert states["Judge not done in time"]["Parameters"]["Error"] == "JudgeTimeout"
    assert states["Custom model below the judge's bar"]["Parameters"]["Error"] == "JudgeBelowBar"
    for name in ("Judge job failed", "Judge not done in time", "Custom model below the judge's bar"):
        assert states[name]["Next"] == "Release what this run bought"
    check = states["Check the judge"]
    assert check["Parameters"]["mode"] == "check"
    assert check["Parameters"]["schedule.$"] == "$.preflight.plan.judge.pollSchedule"
    ready = states["Is the judge ready?"]
    assert [c["Next"] for c in ready["Choices"]] == [
        "Read the judge's scores",
        "Judge job failed",
        "Judge not done in time",
    ]
    for task in ("Start the LLM judge's evaluation jobs", "Check the judge", "Read the judge's scores"):
        assert [c["Next"] for c in states[task]["Catch"]] == ["Failed: JudgeError"]
        assert states["Failed: JudgeError"]["Next"] == "Release what this run bought"


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)

"""Approvals a team can trust, and runs stopped from outside that still clean up (template level)."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match, Template

from tests.infra.conftest import resource_with_prefix, resources_of_type


def _statements(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    role = resource_with_prefix(template, "AWS::IAM::Role", role_prefix)
    found = []
    for policy in resources_of_type(template, "AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def test_the_answer_function_is_reachable_only_through_an_iam_authenticated_url(dev: Template) -> None:
    (url,) = resources_of_type(dev, "AWS::Lambda::Url").values()
    assert url["Properties"]["AuthType"] == "AWS_IAM"
    answer = resource_with_prefix(dev, "AWS::Lambda::Function", "ApprovalsAnswer")
    assert url["Properties"]["TargetFunctionArn"] == {"Fn::GetAtt": [answer, "Arn"]}
    assert not any(
        p["Properties"].get("FunctionUrlAuthType") == "NONE"
        for p in resources_of_type(dev, "AWS::Lambda::Permission").values()
    )


def test_only_the_approver_role_may_call_the_answer_url(dev: Template) -> None:
    approver = _statements(dev, "ApprovalsApproverRole")
    granted = set().union(*(_actions(s) for s in approver))
    # Function URLs created since October 2025 need both permissions.
    assert {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"} <= granted
    url = next(s for s in approver if "lambda:InvokeFunctionUrl" in _actions(s))
    assert url["Condition"] == {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}
    for name, policy in resources_of_type(dev, "AWS::IAM::Policy").items():
        if "ApprovalsApproverRole" in name:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert "lambda:InvokeFunctionUrl" not in _actions(statement), name
    role = resources_of_type(dev, "AWS::IAM::Role")[
        resource_with_prefix(dev, "AWS::IAM::Role", "ApprovalsApproverRole")
    ]
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    # This account's principals only (whose own policies let them assume it); nobody outside.
    assert len(trust) == 1 and trust[0]["Action"] == "sts:AssumeRole"
    principal = json.dumps(trust[0]["Principal"])
    assert ":root" in principal and "AWS::AccountId" in principal
    assert role["Properties"]["MaxSessionDuration"] == 3600


def test_task_tokens_are_readable_by_the_answer_function_alone(dev: Template) -> None:
    (policy,) = [
        p
        for p in resources_of_type(dev, "AWS::S3::BucketPolicy").values()
        if "OnlyTheApprovalAnswer" in json.dumps(p)
    ]
    deny = next(
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "OnlyTheApprovalAnswerReadsTaskTokens"
    )
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
    assert set(deny["Action"]) == {"s3:GetObject", "s3:GetObjectVersion"}
    assert "approvals/*" in json.dumps(deny["Resource"])
    answer_role = resource_with_prefix(dev, "AWS::IAM::Role", "ApprovalsAnswerRole")
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": [answer_role, "Arn"]}}}
    # The request function writes tokens; nobody else's policy names the approvals/ prefix.
    for name, iam_policy in resources_of_type(dev, "AWS::IAM::Policy").items():
        text = json.dumps(iam_policy)
        if "/approvals/*" in text:
            assert name.startswith(("ApprovalsAnswerRole", "FunctionsApprovalRequest")), name


def test_the_manifest_tells_the_cli_where_to_answer(dev: Template) -> None:
    (parameter,) = [
        p for p in resources_of_type(dev, "AWS::SSM::Parameter").values() if "approvalUrl" in json.dumps(p)
    ]
    assert "approverRoleArn" in json.dumps(parameter)


def test_stopped_timed_out_and_failed_executions_reach_the_cleanup(dev: Template) -> None:
    machine = resource_with_prefix(dev, "AWS::StepFunctions::StateMachine", "WorkflowStateMachine")
    dev.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.states"],
                "detail-type": ["Step Functions Execution Status Change"],
                "detail": {
                    "stateMachineArn": [{"Ref": machine}],
                    "status": ["ABORTED", "TIMED_OUT", "FAILED"],
                },
            },
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {
                            "Fn::GetAtt": [
                                resource_with_prefix(dev, "AWS::Lambda::Function", "StoppedRunsHandler"),
                                "Arn",
                            ]
                        },
                        "DeadLetterConfig": Match.object_like({}),
                        "RetryPolicy": {"MaximumEventAgeInSeconds": 21600, "MaximumRetryAttempts": 8},
                    }
                )
            ],
        },
    )
    function = resources_of_type(dev, "AWS::Lambda::Function")[
        resource_with_prefix(dev, "AWS::Lambda::Function", "StoppedRunsHandler")
    ]
    assert function["Properties"]["Handler"] == "lambdas.run_ended.handler.lambda_handler"
    assert "DeadLetterConfig" in function["Properties"]


def test_the_stopped_run_cleanup_may_release_but_never_buy(dev: Template) -> None:
    granted = set().union(*(_actions(s) for s in _statements(dev, "StoppedRunsHandlerRole")))
    assert {
        "bedrock:DeleteProvisionedModelThroughput",
        "bedrock:DeleteCustomModelDeployment",
        "bedrock:StopModelCustomizationJob",
    } <= granted
    assert not {a for a in granted if a.startswith("bedrock:Create")}


def test_the_failed_run_alarm_counts_stopped_runs(dev: Template) -> None:
    (alarm,) = [
        a for a in resources_of_type(dev, "AWS::CloudWatch::Alarm").values() if "aborted" in json.dumps(a)
    ]
    expression = next(m["Expression"] for m in alarm["Properties"]["Metrics"] if "Expression" in m)
    assert expression == "failed + timedOut + aborted"
    names = {
        m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Properties"]["Metrics"] if "MetricStat" in m
    }
    assert names == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}

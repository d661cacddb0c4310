"""Runs stopped from outside that still clean up (template level); approvals: test_approvals.py."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match, Template

from tests.infra.conftest import actions_of, resource_with_prefix, resources_of_type, role_statements


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
    granted = set().union(*(actions_of(s) for s in role_statements(dev, "StoppedRunsHandlerRole")))
    assert {
        "bedrock:DeleteProvisionedModelThroughput",
        "bedrock:DeleteCustomModelDeployment",
        "bedrock:StopModelCustomizationJob",
    } <= granted
    assert not {a for a in granted if a.startswith("bedrock:Create")}


def test_the_failed_run_alarm_counts_stopped_runs(dev: Template) -> None:
    # (the retrying release's own alarm counts the same for its state machine)
    (alarm,) = [
        a
        for a in resources_of_type(dev, "AWS::CloudWatch::Alarm").values()
        if "aborted" in json.dumps(a) and "ReleaseStateMachine" not in json.dumps(a)
    ]
    expression = next(m["Expression"] for m in alarm["Properties"]["Metrics"] if "Expression" in m)
    assert expression == "failed + timedOut + aborted"
    names = {
        m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Properties"]["Metrics"] if "MetricStat" in m
    }
    assert names == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}

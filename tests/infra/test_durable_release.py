"""Cleanup that owns what it deletes and never gives up, as the template says it (issue 20).

- Every delete or stop right of the three functions that release (the workflow's cleanup, the
  stopped-run cleanup, the retrying release) carries the ``aws:ResourceTag`` condition naming an
  execution of this stack's workflow; none has an unconditioned one. Whether each action supports
  the key at all is checked against the Service Authorization Reference by test_iam_contract.py.
- None of them may delete a serving slot's endpoint (the deny).
- The retrying release is a state machine with a bounded lifetime; alarms on the dead-letter queue,
  on each releasing function's errors, on a release that fails, and on anything still billing.
- The catch-up window covers every create call that can still be in flight after a run ended.
"""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template

from infra.constructs.durable_release import OWNED_ACTIONS
from lambdas.common import metric_names
from pipeline import durable_release
from pipeline.plan import EXECUTION_ARN_TAG
from pipeline.slots import SLOT_TAG
from tests.infra.conftest import (
    actions_of,
    resource_with_prefix,
    resources_of_type,
    role_statements,
    workflow_machine,
)
from tests.infra.test_contracts import render_definitions

RELEASING_ROLES = ("FunctionsCleanupRole", "StoppedRunsHandlerRole", "ReleaseHandlerRole")
DELETES = {action for action, _ in OWNED_ACTIONS} | {
    "bedrock:DeleteCustomModel",
    "bedrock:CreateProvisionedModelThroughput",
}


def _owned_condition(template: Template) -> dict[str, Any]:
    workflow = resource_with_prefix(template, "AWS::StepFunctions::StateMachine", "WorkflowStateMachine")
    return {
        "StringLike": {
            f"aws:ResourceTag/{EXECUTION_ARN_TAG}": {
                "Fn::Join": [
                    "",
                    [
                        "arn:aws:states:us-east-1:",
                        {"Ref": "AWS::AccountId"},
                        ":execution:",
                        {"Fn::GetAtt": [workflow, "Name"]},
                        ":*",
                    ],
                ]
            }
        }
    }


def test_every_delete_and_stop_of_a_releasing_function_is_conditioned_on_the_execution_tag(
    dev: Template,
) -> None:
    owned = _owned_condition(dev)
    for role in RELEASING_ROLES:
        allowed: set[str] = set()
        for statement in role_statements(dev, role):
            if statement["Effect"] != "Allow":
                continue
            touching = actions_of(statement) & DELETES
            if touching:
                # each delete in a statement of its own, on its own resource type, with the condition
                assert statement.get("Condition") == owned, (role, statement)
                allowed |= touching
        # exactly the deletes and stops a release needs, never a custom model's or a purchase
        assert allowed == {action for action, _ in OWNED_ACTIONS}, role


def test_no_releasing_function_may_delete_a_serving_slots_endpoint(dev: Template) -> None:
    for role in RELEASING_ROLES:
        (deny,) = [
            s for s in role_statements(dev, role) if s.get("Sid") == "NeverDeleteAServingSlotsEndpoint"
        ]
        assert deny["Effect"] == "Deny"
        assert actions_of(deny) == {
            "bedrock:DeleteCustomModelDeployment",
            "bedrock:DeleteProvisionedModelThroughput",
        }
        assert deny["Condition"] == {"Null": {f"aws:ResourceTag/{SLOT_TAG}": "false"}}


def test_the_cleanups_hand_over_to_the_release_state_machine(dev: Template) -> None:
    release = resource_with_prefix(dev, "AWS::StepFunctions::StateMachine", "ReleaseStateMachine")
    for role in ("FunctionsCleanupRole", "StoppedRunsHandlerRole"):
        starts = [s for s in role_statements(dev, role) if "states:StartExecution" in actions_of(s)]
        assert [s["Resource"] for s in starts] == [{"Ref": release}], role
    for prefix in ("FunctionsCleanup", "StoppedRunsHandler"):
        function = resources_of_type(dev, "AWS::Lambda::Function")[
            resource_with_prefix(dev, "AWS::Lambda::Function", prefix)
        ]
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["RELEASE_STATE_MACHINE_ARN"] == {"Ref": release}
        assert variables["DEPLOYMENT_ENVIRONMENT"] == "dev"  # the --env of the commands it prints


def test_the_release_state_machine_is_bounded_and_retries_a_failed_attempt(dev: Template) -> None:
    logical_id = resource_with_prefix(dev, "AWS::StepFunctions::StateMachine", "ReleaseStateMachine")
    machine = resources_of_type(dev, "AWS::StepFunctions::StateMachine")[logical_id]
    definition = render_definitions(dev.to_json())[logical_id]
    assert definition["TimeoutSeconds"] == int(durable_release.STATE_MACHINE_TIMEOUT.total_seconds())
    states = definition["States"]
    attempt = states[definition["StartAt"]]
    assert [c["ErrorEquals"] for c in attempt["Catch"]] == [["States.ALL"]]
    assert states[attempt["Catch"][0]["Next"]]["Seconds"] == durable_release.FAILED_ATTEMPT_WAIT_S
    decide = states[attempt["Next"]]
    ends = {states[c["Next"]]["Type"] for c in decide["Choices"]}
    assert ends == {"Succeed", "Fail"}
    assert states[decide["Default"]]["SecondsPath"] == "$.attempt.waitSeconds"
    # the workflow's own definition is untouched: a different machine
    assert workflow_machine(dev) is not machine


def _alarms(template: Template) -> list[dict[str, Any]]:
    return [a["Properties"] for a in resources_of_type(template, "AWS::CloudWatch::Alarm").values()]


def test_a_message_in_the_dead_letter_queue_alarms_at_once(dev: Template) -> None:
    queue = resource_with_prefix(dev, "AWS::SQS::Queue", "StoppedRunsDeadLetters")
    (alarm,) = [
        a
        for a in _alarms(dev)
        if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and a["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
    ]
    assert (alarm["Threshold"], alarm["EvaluationPeriods"]) == (1, 1)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["AlarmActions"]


def test_each_releasing_functions_errors_alarm(dev: Template) -> None:
    functions = {
        resource_with_prefix(dev, "AWS::Lambda::Function", prefix)
        for prefix in ("FunctionsCleanup", "StoppedRunsHandler", "ReleaseHandler")
    }
    watched = {
        a["Dimensions"][0]["Value"]["Ref"]
        for a in _alarms(dev)
        if a.get("MetricName") == "Errors" and a.get("Namespace") == "AWS/Lambda"
    }
    assert functions <= watched


def test_anything_still_billing_an_hour_after_its_release_began_alarms(dev: Template) -> None:
    (alarm,) = [a for a in _alarms(dev) if a.get("MetricName") == metric_names.STILL_BILLING]
    assert alarm["Namespace"] == metric_names.NAMESPACE
    assert alarm["Statistic"] == "Maximum"
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 3600
    assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]
    assert alarm["TreatMissingData"] == "notBreaching"


def test_the_catch_up_window_outlasts_every_create_call_still_in_flight(dev: Template) -> None:
    # After an abort a create call may still run: the deploy function (CreateCustomModelDeployment)
    # and the judge (CreateEvaluationJob) up to their timeouts; the release keeps looking longer.
    functions = resources_of_type(dev, "AWS::Lambda::Function")
    for prefix in ("FunctionsDeploy", "FunctionsJudge"):
        timeout = functions[resource_with_prefix(dev, "AWS::Lambda::Function", prefix)]["Properties"][
            "Timeout"
        ]
        assert timeout < durable_release.CATCH_UP.total_seconds(), prefix

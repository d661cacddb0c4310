"""The customization workflow as synthesized: states, resources, idempotency, IAM, observability."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.infra.conftest import Synthesized, resources_of_type, workflow_machine

CREATE_JOB_SYNC = "arn:aws:states:::bedrock:createModelCustomizationJob.sync"


def definition(template: Template) -> dict[str, Any]:
    """The state machine definition with CloudFormation tokens replaced by readable markers."""
    machine = workflow_machine(template)
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else f"<{_token_name(p)}>" for p in parts)
    return json.loads(text)  # type: ignore[no-any-return]


def _token_name(token: dict[str, Any]) -> str:
    if "Ref" in token:
        return str(token["Ref"])
    if "Fn::GetAtt" in token:
        return ".".join(token["Fn::GetAtt"])
    return json.dumps(token)


@pytest.fixture(scope="module")
def states(dev: Template) -> dict[str, Any]:
    return definition(dev)["States"]  # type: ignore[no-any-return]


def test_standard_workflow_with_tracing_and_logging_without_execution_data(dev: Template) -> None:
    """Every state is logged, but not its data: an approval's task token never reaches the logs."""
    dev.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "STANDARD",
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": {
                "Level": "ALL",
                "IncludeExecutionData": False,
                "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": Match.any_value()}}],
            },
        },
    )


def test_every_customization_job_state_waits_natively_with_sync(states: dict[str, Any]) -> None:
    # aws-cdk-lib's BedrockCreateModelCustomizationJob silently drops .sync: pin the exact string.
    jobs = {name: s for name, s in states.items() if "createModelCustomizationJob" in str(s.get("Resource"))}
    assert set(jobs) == {
        "Train the custom model (with validation data)",
        "Train the custom model",
        "Distill the teacher model into the custom model",
        "Train the custom model with reinforcement (grader)",
    }
    for state in jobs.values():
        assert state["Resource"] == CREATE_JOB_SYNC
        assert state["TimeoutSecondsPath"] == "$.preflight.plan.jobTimeoutSeconds"
        assert state["Parameters"]["ClientRequestToken.$"] == "$$.Execution.Name"
        assert state["Parameters"]["JobName.$"] == "$.preflight.plan.job.JobName"
        assert state["Parameters"]["CustomModelKmsKeyId"].startswith("<StorageKey")
        assert state["Parameters"]["RoleArn"].startswith("<BedrockServiceRole")
        # The plan's timeout and every other end of the job, each under the project's name
        assert [(c["ErrorEquals"], c["Next"]) for c in state["Catch"]] == [
            (["States.Timeout"], "Failed: TrainingTimedOut"),
            (["Bedrock.ServiceQuotaExceededException"], "Failed: TrainingQuotaExceeded"),
            (["States.ALL"], "Failed: TrainingJobFailed"),
        ]
        assert "Bedrock.ThrottlingException" in state["Retry"][0]["ErrorEquals"]
        # No training slot free: the run waits in line (pipeline.retries.JOB_QUEUE_SCHEDULE)
        assert state["Retry"][1]["ErrorEquals"] == ["Bedrock.ServiceQuotaExceededException"]


def test_job_variants_only_reference_keys_the_plan_has(states: dict[str, Any]) -> None:
    distill = states["Distill the teacher model into the custom model"]["Parameters"]
    assert distill["CustomizationConfig.$"] == "$.preflight.plan.job.CustomizationConfig"
    assert "HyperParameters.$" not in distill and "ValidationDataConfig.$" not in distill
    with_val = states["Train the custom model (with validation data)"]["Parameters"]
    assert with_val["ValidationDataConfig.$"] == "$.preflight.plan.job.ValidationDataConfig"
    plain = states["Train the custom model"]["Parameters"]
    assert "ValidationDataConfig.$" not in plain and "CustomizationConfig.$" not in plain
    # Reinforcement fine-tuning: grader and typed hyperparameters in CustomizationConfig.RftConfig,
    # no string HyperParameters.
    rft = states["Train the custom model with reinforcement (grader)"]["Parameters"]
    assert rft["CustomizationConfig.$"] == "$.preflight.plan.job.CustomizationConfig"
    assert "HyperParameters.$" not in rft and "ValidationDataConfig.$" not in rft
    choice = states["Which kind of customization job?"]
    assert {c["StringEquals"]: c["Next"] for c in choice["Choices"]} == {
        "PROMOTION": "Use the model of an earlier run",
        "DISTILLATION": "Distill the teacher model into the custom model",
        "REINFORCEMENT_FINE_TUNING": "Train the custom model with reinforcement (grader)",
        "WITH_VALIDATION": "Train the custom model (with validation data)",
    }
    assert choice["Default"] == "Train the custom model"
    # A promotion trains nothing: straight to the loss gate, which reads the earlier run's job.
    earlier = states["Use the model of an earlier run"]
    assert earlier["Type"] == "Pass" and earlier["Next"] == "Read training and validation loss"
    assert earlier["ResultPath"] is None


def test_throughput_is_bought_once_per_run_with_a_derived_token(states: dict[str, Any]) -> None:
    for name, commitment, plan in (
        ("Buy provisioned throughput (no commitment)", False, "serving"),
        ("Buy provisioned throughput (commitment)", True, "serving"),
        ("Buy throughput to evaluate on", False, "vehicle"),
    ):
        state = states[name]
        assert state["Resource"].endswith(":states:::aws-sdk:bedrock:createProvisionedModelThroughput")
        params = state["Parameters"]
        assert params["ClientRequestToken.$"] == f"$.preflight.plan.{plan}.ClientRequestToken"
        assert params["ProvisionedModelName.$"] == f"$.preflight.plan.{plan}.ProvisionedModelName"
        assert params["ModelId.$"] == "$.loss.outputModelArn"
        assert ("CommitmentDuration.$" in params) is commitment
    assert states["Buy throughput to evaluate on"]["Next"] == "Wait for the evaluation vehicle"
    assert states["Buy throughput to evaluate on"]["ResultPath"] == "$.vehicle"
    assert states["Buy provisioned throughput (commitment)"]["Next"] == "Wait for the throughput"


def test_the_model_is_deployed_on_demand_once_per_run(states: dict[str, Any]) -> None:
    deploy = states["Deploy the custom model on demand"]
    # Through the deploy function, not an SDK integration of a 2025 API (UNCONFIRMED in Step
    # Functions: an unknown aws-sdk resource would roll back the whole stack at deploy time).
    assert deploy["Resource"].startswith("<FunctionsDeployFunction")
    assert deploy["Parameters"] == {
        "runId.$": "$$.Execution.Name",
        # The plan carries the name, the idempotency token, the description and the tags.
        "plan.$": "$.preflight.plan",
        "modelArn.$": "$.loss.outputModelArn",
        "mode": "create",
    }
    assert deploy["ResultPath"] == "$.vehicle"
    assert deploy["Next"] == "Wait for the evaluation vehicle"
    assert deploy["Retry"][0]["ErrorEquals"][0] == "Lambda.TooManyRequestsException"
    assert {"ThrottlingException", "InternalServerException"} <= set(deploy["Retry"][1]["ErrorEquals"])
    assert deploy["Catch"][0]["Next"] == "Failed: DeploymentCreateError"


def test_the_definition_uses_only_integrations_that_predate_2025(states: dict[str, Any]) -> None:
    """Every service integration is one Step Functions has long documented: a new API goes through a
    Lambda handler, where an account or region that refuses it fails one run, not the stack."""
    allowed = {
        # Optimized integration, with .sync [SFN:connect-bedrock].
        "bedrock:createModelCustomizationJob.sync",
        # AWS SDK integration of a 2023 API, used by AWS's own sample (aws-samples/amazon-bedrock-
        # model-customization statemachine/bedrock-model-customization.asl.json).
        "aws-sdk:bedrock:createProvisionedModelThroughput",
        "lambda:invoke.waitForTaskToken",
        "sns:publish",
    }
    used = {str(s["Resource"]) for s in states.values() if s["Type"] == "Task"}
    integrations = {r.split(":states:::", 1)[1] for r in used if ":states:::" in r}
    assert integrations <= allowed, integrations - allowed
    assert not [r for r in used if "CustomModelDeployment" in r]
    functions = {r for r in used if ":states:::" not in r}
    assert all(r.startswith("<Functions") and r.endswith(".Arn>") for r in functions), functions


def test_nothing_is_bought_before_the_quality_gate_unless_evaluation_needs_it(states: dict[str, Any]) -> None:
    """Loss gate → evaluation vehicle → compare → gate → only then serving purchases."""
    assert states["Read training and validation loss"]["Next"] == "Is the loss within the bar?"
    loss_gate = states["Is the loss within the bar?"]
    assert loss_gate["Choices"] == [
        {"Variable": "$.loss.passed", "BooleanEquals": True, "Next": "How is the custom model evaluated?"}
    ]
    assert loss_gate["Default"] == "Loss above the bar"
    evaluated = states["How is the custom model evaluated?"]
    assert [c["Next"] for c in evaluated["Choices"]] == [
        "Deploy the custom model on demand",
        "Ask for approval to evaluate",
        "Buy throughput to evaluate on",
    ]
    assert evaluated["Default"] == "How is the custom model served?"
    # Right after the comparison the vehicle is released, unless it is exactly what serves.
    assert states["Compare the custom model with its base model"]["Next"] == (
        "Does the evaluation vehicle serve afterwards?"
    )
    serves = states["Does the evaluation vehicle serve afterwards?"]
    assert serves["Choices"] == [
        {
            "Variable": "$.preflight.plan.vehicle.servesAfterwards",
            "BooleanEquals": True,
            "Next": "Does the custom model meet the bar?",
        }
    ]
    assert serves["Default"] == "Release the evaluation vehicle"
    assert states["Release the evaluation vehicle"]["Next"] == "Does the custom model meet the bar?"
    gate = states["Does the custom model meet the bar?"]
    assert gate["Choices"] == [
        {"Variable": "$.evaluation.judged", "BooleanEquals": False, "Next": "Evaluation not judged"},
        {
            "Variable": "$.evaluation.passed",
            "BooleanEquals": True,
            "Next": "Is the custom model judged by an LLM?",
        },
    ]
    assert gate["Default"] == "Custom model below the bar"
    assert states["Evaluation not judged"]["Parameters"]["Error"] == "EvaluationNotJudged"
    # The LLM judge (opt-in) comes between the ROUGE-L gate and serving: its bars gate too.
    by_llm = states["Is the custom model judged by an LLM?"]
    assert by_llm["Choices"] == [
        {"Variable": "$.preflight.plan.judge", "IsNull": True, "Next": "How is the custom model served?"}
    ]
    assert by_llm["Default"] == "Start the LLM judge's evaluation jobs"
    judge_gate = states["Does the custom model meet the judge's bars?"]
    assert judge_gate["Choices"] == [
        {"Variable": "$.judge.passed", "BooleanEquals": True, "Next": "How is the custom model served?"}
    ]
    assert judge_gate["Default"] == "Custom model below the judge's bar"
    # Every serving purchase (and so every commitment) is reachable only through its guard, and each
    # guard only from the serving choice, which is reachable only from a passing gate, a skipped
    # evaluation, or an approval (tests/infra/test_money_paths.py proves it on every path).
    served = states["How is the custom model served?"]
    targets = [c["Next"] for c in served["Choices"]]
    guards = {
        "Serve on the evaluation throughput": "Is serving on the evaluation throughput backed by a verdict?",
        "Buy provisioned throughput (no commitment)": "Is the no-commitment purchase backed by a verdict?",
        "Buy provisioned throughput (commitment)": "Is the commitment backed by a verdict and an approval?",
        "Serve on the on-demand deployment": "Is keeping the deployment backed by a verdict?",
        "Promote into the serving slot": "Is the promotion backed by a verdict?",
    }
    # A serving slot is taken (its lock) before anything serves; a slot that exists is promoted into
    # in place, before any purchase is considered (nothing is bought for an existing slot).
    assert targets == [
        "Ask for approval to serve",
        "Take the serving slot",
        "Is the promotion backed by a verdict?",
        *(guard for purchase, guard in guards.items() if purchase != "Promote into the serving slot"),
    ]
    assert served["Default"] == "Record the run"
    for purchase, guard in guards.items():
        sources = {name for name, state in states.items() if _targets(state) & {purchase}}
        assert sources == {guard}, (purchase, sources)
        assert {name for name, state in states.items() if _targets(state) & {guard}} == {
            "How is the custom model served?"
        }
        assert states[guard]["Default"] == "Purchase without a verdict"
    without = states["Purchase without a verdict"]
    assert without["Parameters"]["Error"] == "PurchaseWithoutVerdict"
    assert without["Next"] == "Release what this run bought"
    approved = states["Was the purchase approved?"]
    # Only a well-formed yes buys; a well-formed no is a rejection; anything else (an answer sent by
    # hand without its fields) is a rejection with a clear reason, never a States.Runtime error.
    assert [c["Next"] for c in approved["Choices"]] == [
        "Ask for approval to serve: rejected",
        "How is the custom model served?",
    ]
    no = approved["Choices"][0]["And"]
    assert {"Variable": "$.approval.approved", "BooleanEquals": False} in no
    yes = approved["Choices"][1]["And"]
    assert {"Variable": "$.approval.approved", "BooleanEquals": True} in yes
    assert {"Variable": "$.approval.approver", "IsString": True} in yes
    assert approved["Default"] == "Ask for approval to serve: answer not understood"
    malformed = states["Ask for approval to serve: answer not understood"]
    assert malformed["Parameters"]["Error"] == "ApprovalRejected"
    assert "States.JsonToString($.approval)" in malformed["Parameters"]["Cause.$"]
    assert malformed["Next"] == "Release what this run bought"
    for ask_name, slot in (
        ("Ask for approval to serve", "$.approval"),
        ("Ask for approval to evaluate", "$.evaluationApproval"),
    ):
        ask = states[ask_name]
        assert ask["Resource"].endswith(":states:::lambda:invoke.waitForTaskToken")
        assert ask["TimeoutSecondsPath"] == "$.preflight.plan.approval.timeoutSeconds"
        assert ask["Parameters"]["Payload"]["taskToken.$"] == "$$.Task.Token"
        assert ask["ResultPath"] == slot
        assert ask["Catch"][0] == {
            "ErrorEquals": ["States.Timeout"],
            "ResultPath": "$.failure",
            "Next": f"{ask_name}: timed out",
        }


def _targets(state: dict[str, Any]) -> set[str]:
    found = {state.get("Next"), state.get("Default")} | {c["Next"] for c in state.get("Choices", [])}
    found |= {c["Next"] for c in state.get("Catch", [])}
    return {t for t in found if t}


def test_wait_loops_poll_with_a_growing_capped_interval(states: dict[str, Any]) -> None:
    for what, plan, slot, ready in (
        (
            "the evaluation vehicle",
            "vehicle",
            "$.vehicleStatus",
            "Compare the custom model with its base model",
        ),
        ("the throughput", "serving", "$.ptStatus", "Smoke-check the provisioned throughput"),
    ):
        assert states[f"Wait for {what}"] == {
            "Type": "Wait",
            "SecondsPath": f"$.preflight.plan.{plan}.firstWaitSeconds",
            "Next": f"Check {what}",
        }
        assert states[f"Wait before checking {what} again"] == {
            "Type": "Wait",
            "SecondsPath": f"{slot}.waitSeconds",
            "Next": f"Check {what}",
        }
        check = states[f"Check {what}"]
        # The handler's result is the state's result: the function ARN as the Resource.
        assert "CheckStatus" in check["Resource"]
        assert check["Parameters"]["schedule.$"] == f"$.preflight.plan.{plan}.pollSchedule"
        assert check["Parameters"]["previous.$"] == slot
        assert check["ResultPath"] == slot
        decide = states[f"Is {what} ready?"]
        assert [(c["Variable"], c["Next"]) for c in decide["Choices"]] == [
            (f"{slot}.ready", ready),
            (f"{slot}.failed", "Evaluation vehicle failed" if plan == "vehicle" else "Throughput failed"),
            (
                f"{slot}.timedOut",
                "Evaluation vehicle not ready in time"
                if plan == "vehicle"
                else "Throughput not in service in time",
            ),
        ]
        assert decide["Default"] == f"Wait before checking {what} again"
    assert states["Evaluation vehicle failed"]["Parameters"]["Error.$"] == "$.vehicle.FailedError"
    assert states["Evaluation vehicle not ready in time"]["Parameters"]["Error.$"] == "$.vehicle.TimeoutError"


def test_serving_is_smoke_checked_and_the_evaluation_vehicle_released(states: dict[str, Any]) -> None:
    for smoke, model, decide, next_state in (
        (
            "Smoke-check the provisioned throughput",
            "$.throughput.ProvisionedModelArn",
            "Does the throughput answer?",
            "Does the run serve from a slot?",
        ),
        (
            "Smoke-check the on-demand deployment",
            "$.vehicle.Arn",
            "Does the deployment answer?",
            "Does the run serve from a slot?",
        ),
    ):
        payload = states[smoke]["Parameters"]
        assert payload["mode"] == "smoke"
        assert payload["modelId.$"] == model
        assert states[decide]["Choices"][0]["Next"] == next_state
        assert states[decide]["Default"] == "Smoke check failed"
    release = states["Release the evaluation vehicle"]
    assert release["Parameters"]["mode"] == "release-evaluation"
    # Released before anything serves: a release that fails takes the failure path, which releases
    # again (nothing serves yet that it could lose).
    assert release["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Failed: ReleaseError"}
    ]
    assert states["Failed: ReleaseError"]["Next"] == "Release what this run bought"
    assert states["Serve on the on-demand deployment"]["Next"] == "Smoke-check the on-demand deployment"


def test_every_failure_goes_through_cleanup_record_and_notify(states: dict[str, Any]) -> None:
    tasks = {n: s for n, s in states.items() if s["Type"] == "Task"}
    failure_path = {
        "Release what this run bought",
        "Record the failed run",
        "Notify: run failed",
        "Notify: run succeeded",
        "Record the run",
    }
    for name, state in tasks.items():
        if name in failure_path:
            continue
        targets = {c["Next"] for c in state.get("Catch", [])}
        # Caught errors are named first ("Failed: <project error>"), then take the failure path; an
        # approval's failed verification first marks its slot unverified, then names the failure.
        assert targets, f"{name} catches nothing"
        for target in targets:
            if target.endswith(": verification failed"):
                target = states[target]["Next"]
            named = states[target]
            assert target.startswith("Failed: ") or target.endswith(": timed out"), (name, target)
            assert named["Next"] == "Release what this run bought", (name, target)
            assert named["ResultPath"] == "$.failure"
    gates = [
        "Preflight failed",
        "Loss above the bar",
        "Ask for approval to serve: rejected",
        "Ask for approval to serve: timed out",
        "Ask for approval to evaluate: rejected",
        "Ask for approval to evaluate: timed out",
        "Ask for approval to serve: answer not understood",
        "Ask for approval to evaluate: answer not understood",
        "Evaluation vehicle failed",
        "Evaluation vehicle not ready in time",
        "Throughput failed",
        "Throughput not in service in time",
        "Custom model below the bar",
        "Evaluation not judged",
        "Smoke check failed",
        "Purchase without a verdict",
    ]
    for gate in gates:
        assert states[gate]["Next"] == "Release what this run bought"
        assert states[gate]["ResultPath"] == "$.failure"
    assert states["Release what this run bought"]["Next"] == "Record the failed run"
    assert states["Record the failed run"]["Next"] == "Notify: run failed"
    assert states["Notify: run failed"]["Next"] == "Run failed"
    assert states["Run failed"] == {
        "Type": "Fail",
        "ErrorPath": "$.failure.Error",
        "CausePath": "$.failure.Cause",
    }


NULL = "States.StringToJson('null')"


def _paths_read(value: Any) -> set[str]:
    """Every ``$.a.b`` path a state's Parameters read (intrinsic arguments included)."""
    if isinstance(value, dict):
        return set().union(*(_paths_read(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_paths_read(v) for v in value)) if value else set()
    if isinstance(value, str):
        return set(re.findall(r"(?<![$\w])\$\.([A-Za-z]+(?:\.[A-Za-z]+)?)", value))
    return set()


def test_every_slot_the_failure_path_reads_exists_as_null_from_the_start(states: dict[str, Any]) -> None:
    # A failure before the purchase still hands $.throughput to the cleanup: a missing path there
    # is a States.Runtime error that skips cleanup, record and notice. CDK drops None, so the
    # start state must write real JSON nulls.
    start = states["Start the run"]["Parameters"]
    assert start["runSpec.$"] == "$.runSpec"
    assert start["preflight"] == {"valid": False, "plan.$": NULL}
    read = set()
    for name in (
        "Release what this run bought",
        "Record the failed run",
        "Compose a notice without the record",
    ):
        read |= _paths_read(states[name].get("Parameters", {}))
    assert {"throughput", "failure", "preflight.plan"} <= read
    for path in read:
        slot, _, child = path.partition(".")
        if slot == "failure" and child:
            continue  # written by every Catch and gate before the failure path runs
        if child:
            assert start[slot] == {"valid": False, f"{child}.$": NULL}, path
        else:
            assert start.get(f"{slot}.$") == NULL, f"$.{slot} is not null-initialised by 'Start the run'"
    for slot in ("job", "loss", "approval", "throughput", "evaluation", "failure", "cleanup"):
        assert start[f"{slot}.$"] == NULL


def test_a_failed_success_notification_does_not_release_the_throughput(states: dict[str, Any]) -> None:
    assert [c["Next"] for c in states["Notify: run succeeded"]["Catch"]] == ["Run complete"]


def test_a_failed_success_record_keeps_the_throughput_and_still_notifies(states: dict[str, Any]) -> None:
    record = states["Record the run"]
    assert record["Catch"] == [
        {
            "ErrorEquals": ["States.ALL"],
            "ResultPath": "$.recordError",
            "Next": "Compose a success notice without the record",
        }
    ]
    assert record["Retry"], "the record is retried before it falls back"
    fallback = states["Compose a success notice without the record"]
    assert fallback["Next"] == "Notify: run succeeded"
    assert fallback["ResultPath"] == "$.recorded"
    assert (
        fallback["Parameters"]["subject.$"] == "States.Format('Bedrock run {} succeeded', $$.Execution.Name)"
    )
    assert "$.recordError.Error" in fallback["Parameters"]["message.$"]


def test_notices_composed_in_the_workflow_name_the_run(states: dict[str, Any]) -> None:
    for name in ("Compose a notice without the record", "Compose a success notice without the record"):
        parameters = states[name]["Parameters"]
        assert "$$.Execution.Name" in parameters["subject.$"], name
        assert "$$.Execution.Name" in parameters["message.$"], name


def test_state_names_read_as_a_runbook(states: dict[str, Any]) -> None:
    for name in states:
        assert re.fullmatch(r"[A-Z][A-Za-z0-9 :?(),'-]+", name), name


def _state_machine_statements(template: Template) -> list[dict[str, Any]]:
    machine = workflow_machine(template)
    role_id = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    (policy,) = [
        p
        for p in resources_of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    return policy["Properties"]["PolicyDocument"]["Statement"]  # type: ignore[no-any-return]


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def _resources(statement: dict[str, Any]) -> list[str]:
    resource = statement["Resource"]
    items = resource if isinstance(resource, list) else [resource]
    return [json.dumps(r) for r in items]


def test_state_machine_may_watch_and_stop_jobs_it_starts(dev: Template) -> None:
    statements = _state_machine_statements(dev)
    sync = [
        s
        for s in statements
        if {"bedrock:GetModelCustomizationJob", "bedrock:StopModelCustomizationJob"} <= _actions(s)
    ]
    assert len(sync) == 1
    assert all(":model-customization-job/*" in r for r in _resources(sync[0]))
    create = [s for s in statements if "bedrock:CreateModelCustomizationJob" in _actions(s)]
    assert len(create) == 1
    # Authorized on the base model (Service Authorization Reference: foundation-model, custom-model);
    # the job and its model are tagged (TagResource on what is created).
    joined = " ".join(_resources(create[0]))
    assert "::foundation-model/*" in joined and ":custom-model/*" in joined
    assert ":model-customization-job/*" not in joined
    (tag,) = [s for s in statements if "bedrock:TagResource" in _actions(s) and "custom-model/*" in str(s)]
    assert ":model-customization-job/*" in " ".join(_resources(tag))


def test_state_machine_passes_only_the_bedrock_role_and_only_to_bedrock(dev: Template) -> None:
    passes = [s for s in _state_machine_statements(dev) if "iam:PassRole" in _actions(s)]
    assert len(passes) == 1
    assert passes[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}}
    (resource,) = _resources(passes[0])
    assert "BedrockServiceRole" in resource


def test_no_statement_grants_unscoped_bedrock_or_kms(dev: Template) -> None:
    for policy in resources_of_type(dev, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = _actions(statement)
            assert not any(a.endswith(":*") or a == "*" for a in actions), statement
            if any(a.startswith("kms:") for a in actions):
                assert "kms:ViaService" in json.dumps(statement.get("Condition", {})), statement
            if statement.get("Resource") == "*":
                # Only actions that have no resource-level permissions may use "*".
                assert actions <= {
                    "bedrock:ListProvisionedModelThroughputs",
                    "bedrock:ListCustomModelDeployments",
                    "bedrock:ListEvaluationJobs",
                    # No resource-level permissions; the answer function reads only its own tokens.
                    "states:SendTaskSuccess",
                    # No resource type; the preflight finds the concurrent-job quota by name.
                    "servicequotas:ListServiceQuotas",
                    # No resource type; the preflight counts the jobs in progress (pipeline.quotas).
                    "bedrock:ListModelCustomizationJobs",
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                    # Step Functions' vended-log delivery (required by the logging configuration).
                    "logs:CreateLogDelivery",
                    "logs:DeleteLogDelivery",
                    "logs:DescribeLogGroups",
                    "logs:DescribeResourcePolicies",
                    "logs:GetLogDelivery",
                    "logs:ListLogDeliveries",
                    "logs:PutResourcePolicy",
                    "logs:UpdateLogDelivery",
                }, statement


def _resources(statement: dict[str, Any]) -> list[str]:
    value = statement.get("Resource")
    items = value if isinstance(value, list) else [value]
    return [json.dumps(item, sort_keys=True) if not isinstance(item, str) else item for item in items]


def test_deployment_permissions_are_scoped_to_deployment_and_custom_model_arns(dev: Template) -> None:
    wanted = {
        # Authorized on the custom model it serves (the only resource type the action accepts).
        "bedrock:CreateCustomModelDeployment": {"custom-model/*"},
        "bedrock:GetCustomModelDeployment": {"custom-model-deployment/*"},
        "bedrock:DeleteCustomModelDeployment": {"custom-model-deployment/*"},
    }
    seen: dict[str, set[str]] = {action: set() for action in wanted}
    for policy in resources_of_type(dev, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny":
                # The serving slots' deny on every endpoint (tests/infra/test_serving_slots.py).
                continue
            for action in _actions(statement) & set(wanted):
                for resource in _resources(statement):
                    assert resource != "*", statement
                    kinds = {kind for kind in wanted[action] if f":{kind}" in resource}
                    assert kinds, (action, resource)
                    assert ":bedrock:" in resource and "AWS::AccountId" in resource, resource
                    seen[action] |= kinds
    assert seen == wanted


def test_the_evaluation_may_invoke_the_base_through_its_inference_profile(dev: Template) -> None:
    invoke = [
        resource
        for policy in resources_of_type(dev, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "bedrock:InvokeModel" in _actions(statement)
        for resource in _resources(statement)
    ]
    text = " ".join(invoke)
    for kind in (
        "inference-profile/*",
        "custom-model-deployment/*",
        "provisioned-model/*",
        "foundation-model/*",
    ):
        assert f":{kind}" in text, (kind, invoke)
    assert "*" not in invoke


def test_notifications_topic_is_encrypted_and_alarmed(dev: Template, prod: Template) -> None:
    (topic_id, topic) = next(iter(resources_of_type(dev, "AWS::SNS::Topic").items()))
    assert topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][1] == "Arn"
    alarm = next(iter(resources_of_type(dev, "AWS::CloudWatch::Alarm").values()))
    assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
    assert {m["Id"] for m in alarm["Properties"]["Metrics"]} >= {"failed", "timedOut"}
    prod.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ml-platform@example.com"}
    )
    assert resources_of_type(dev, "AWS::SNS::Subscription") == {}


def test_lambdas_are_python_arm64_with_json_logs_and_small_assets(
    dev: Template, synthesized: Synthesized
) -> None:
    functions = resources_of_type(dev, "AWS::Lambda::Function")
    # The workflow's eleven (the judge, the deploy function, the approval verification and the
    # serving slots too), the stopped-run cleanup, the approval answer, the start function, the
    # built-in RFT grader, the retrying release.
    assert len(functions) == 16
    for fn in functions.values():
        props = fn["Properties"]
        assert props["Runtime"].startswith("python3.1")
        assert props["Architectures"] == ["arm64"]
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        assert props["Handler"].startswith("lambdas.") and props["Handler"].endswith(
            ".handler.lambda_handler"
        )
        assert "ManagedPolicyArns" not in json.dumps(props)
    from infra.lambda_runtime import asset_contents, function_assets

    for asset in function_assets(synthesized.outdir / "BedrockCustomization-dev.template.json").values():
        # The project's code (a bundled SDK, where a handler needs one, is checked in test_lambda_assets).
        files = {
            n: size
            for n, size in asset_contents(asset.path).items()
            if n.split("/")[0] in ("lambdas", "pipeline")
        }
        assert all(n.endswith(".py") for n in files), [n for n in files if not n.endswith(".py")]
        assert not any("__pycache__" in n.split("/") for n in files)
        assert not any(n.rpartition("/")[2] == "cli.py" for n in files)
        assert not any({"operate", "simulation"} & set(n.split("/")) for n in files)
        assert "lambdas/common/runtime.py" in files
        assert "pipeline/catalog/models/nova.py" in files
        assert sum(files.values()) < 1_000_000

"""Workflow step: validate the run spec and its S3 datasets with the same code the CLI uses.

Input:  {"runSpec": <RunSpec.to_dict() with s3:// datasets>, "executionName": "<run id>",
        "executionArn": $$.Execution.Id, "executionStart": $$.Execution.StartTime,
        "input": $$.Execution.Input} (its "promoteFrom", when present: a promotion of an earlier
        run's model into the spec's slot, checked by promotion_check; pipeline.promotion)
Env:    TRAINING_BUCKET, the bucket that receives the report; DEPLOYMENT_ENVIRONMENT (the slots'
        prefix, and the --env of the commands a refusal prints).
Output: {"valid", "runName", "runId", "reportUri", "summary", "errorCount", "totals", "spec", "plan",
        "live", "quotas"} ("quotas": the Service Quotas read, the jobs in progress and what they
        say, pipeline.quotas.QuotaCheckResult);
        the workflow branches on "valid", uses "summary" (≤ 900 characters) as the Fail cause and
        executes "plan" (pipeline.plan; null when invalid).

Every name the plan would create under (job, custom model, deployment, throughput) must be free:
a run id used before (pipeline.ownership) is refused, with the command that starts a fresh run.
The plan tags everything the run creates with its execution (ARN and start), which cleanup checks.

Bad user input never raises: it yields valid=false with the report written to
s3://$TRAINING_BUCKET/runs/<runId>/preflight.json. Only operational failures raise (S3 access,
missing configuration), so that the workflow's retry policy can handle them.
"""

from __future__ import annotations

import functools
import json
import os
import re
import uuid
from typing import Any, Final

import boto3

from lambdas.common import metric_names, runtime
from lambdas.preflight import grader_check, promotion_check
from pipeline import live, naming, ownership, quotas, slots
from pipeline.catalog import profile_id
from pipeline.datasets import PreflightReport, preflight
from pipeline.plan import PlanContext, build_plan, location_problems
from pipeline.problems import Problem
from pipeline.runspec import RunSpec

LOG = runtime.get_logger(__name__)

# Step Functions execution names: 1 to 80 characters of letters, digits, '-' and '_'. Anything else
# could escape the runs/ prefix when used in the report key.
EXECUTION_NAME_RE: Final = re.compile(r"[0-9A-Za-z_-]{1,80}")
REPORT_KEY: Final = "runs/{run_id}/preflight.json"
MAX_ERRORS: Final = 200
EVENT_SOURCE: Final = "workflow input"
# The deployed environment's name (cdk.json): the slots' prefix, and the --env a refusal prints.
ENVIRONMENT_VARIABLE: Final = naming.DEPLOYMENT_ENVIRONMENT_VARIABLE


@functools.cache
def _s3_client() -> Any:
    return boto3.client("s3")


def _training_bucket() -> str:
    bucket = os.environ.get("TRAINING_BUCKET", "")
    if not bucket:
        raise RuntimeError("TRAINING_BUCKET is not set: the preflight function is misconfigured")
    return bucket


@runtime.observed
def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    bucket = _training_bucket()
    run_id, report = _validate_event(event)
    execution = _execution(event, report)
    spec = RunSpec.from_dict(report.spec) if report.ok and report.spec is not None else None
    if spec is not None:
        # Only the workflow knows its bucket, and only objects under its datasets/ prefix are
        # readable by the Bedrock service role.
        report.spec_problems.extend(location_problems(spec, bucket))
        grader_check.check(spec, report, context)  # RFT: the grader's ARN, then a dry call
    live_models = live_check(spec) if spec is not None and report.ok else []
    for model in live_models:
        report.spec_problems.extend(model.problems)
    quota_doc = quota_check(spec, report) if spec is not None and report.ok else None
    slot = read_slot(spec) if spec is not None and report.ok else None
    source = None
    source_id = promotion_check.source_run_id(event.get("input") if isinstance(event, dict) else None)
    if source_id is not None and spec is not None and report.ok:
        source, problems = promotion_check.check(source_id, run_id, spec, slot, bucket)
        report.spec_problems.extend(problems)
    plan = None
    if spec is not None and report.ok:
        context_ = PlanContext(
            bucket=bucket,
            run_id=run_id,
            builtin_grader_arn=grader_check.builtin_grader_arn(),
            environment=os.environ.get(ENVIRONMENT_VARIABLE) or None,
            slot=slot,
            slot_requires_approval=os.environ.get("SLOTS_REQUIRE_APPROVAL") == "true",
            execution_arn=execution.arn if execution else None,
            execution_start=execution.start if execution else None,
            promotion=source,
        )
        try:
            plan = build_plan(spec, context_, estimated_tokens=report.totals()["trainingTokens"])
        except slots.SlotError as error:
            # The slot serves another kind of endpoint or another base model: the run cannot replace
            # its champion, so it is refused before anything is trained.
            report.spec_problems.append(
                Problem(
                    "serving.slot", spec.serving.slot, "a slot of this run's kind and base model", str(error)
                )
            )
    if plan is not None and spec is not None:
        taken = ownership.taken_names(runtime.client("bedrock"), plan, runtime.error_code)
        report.spec_problems.extend(
            ownership.name_problems(
                taken, run_id, env=os.environ.get(ENVIRONMENT_VARIABLE), region=spec.region
            )
        )
        if taken:
            plan = None
    if plan is not None and spec is not None:
        base = next((m for m in live_models if m.role == live.BASE), None)
        if base is not None and not base.on_demand and base.inference_types:
            # The live API says the base answers only through an inference profile.
            plan["baseModelInvokeId"] = profile_id(plan["baseModelInvokeId"], spec.region)
    key = REPORT_KEY.format(run_id=run_id)
    document = {"runId": run_id, **report.to_dict()}
    _s3_client().put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8"),
        ContentType="application/json",
    )
    result = {
        "valid": report.ok,
        "runName": _run_name(event, report),
        "runId": run_id,
        "reportUri": f"s3://{bucket}/{key}",
        # A promotion's datasets are the earlier run's: their training estimate is not this run's.
        "summary": report.summary()
        + (f" A promotion of run {source.run_id}'s model: nothing is trained." if source and plan else ""),
        "errorCount": report.error_count,
        "totals": _totals(report),
        "spec": report.spec,
        "plan": plan,
        "live": [model.to_dict() for model in live_models],
        "quotas": quota_doc,
    }
    LOG.info(
        "preflight finished",
        extra={
            "valid": result["valid"],
            "runId": run_id,
            "runName": result["runName"],
            "errorCount": result["errorCount"],
            "warningCount": report.warning_count,
            "reportUri": result["reportUri"],
            "summary": result["summary"],
            "requestId": getattr(context, "aws_request_id", None),
        },
    )
    runtime.add_metric(metric_names.RUNS_STARTED if report.ok else metric_names.RUNS_REJECTED, 1)
    return result


def read_slot(spec: RunSpec) -> slots.Slot | None:
    """The run's serving slot as it is now (None: no slot named, or the slot does not exist yet)."""
    name = spec.serving.slot
    environment = os.environ.get(ENVIRONMENT_VARIABLE)
    if name is None or not environment:
        return None
    try:
        value = runtime.client("ssm").get_parameter(Name=slots.parameter_name(environment, name))
    except Exception as error:
        if runtime.error_code(error) == "ParameterNotFound":
            return None
        raise
    return slots.Slot.from_dict(json.loads(value["Parameter"]["Value"]))


def live_check(spec: RunSpec) -> list[live.LiveModel]:
    """GetFoundationModel for the base model (and teacher) in the run's region, before any job.

    A model the API does not know is a problem of the spec; any other error (access, throttling,
    an unreachable endpoint) escapes as an operational failure for the workflow's retry and catch:
    an unchecked model never passes silently.
    """
    return live.check_models(spec, runtime.client("bedrock").get_foundation_model, runtime.error_code)


def quota_check(spec: RunSpec, report: PreflightReport) -> dict[str, Any]:
    """The account's Bedrock quotas and the jobs in progress against what the run would buy and
    train, before any job: the CLI's check (pipeline.quotas.check), with the workflow's role.

    A purchase that cannot fit refuses the run; a quota or a job count that could not be read is
    reported as not checked and refuses nothing (the purchase would still fail cleanly, after
    training). Training slots all in use are a warning: the workflow waits in line for one.
    """
    result = quotas.check(
        spec, runtime.client("service-quotas"), runtime.client("bedrock"), runtime.error_code
    )
    quotas.apply(report, result.findings)
    return result.to_dict()


def _validate_event(event: Any) -> tuple[str, PreflightReport]:
    """The run id to file the report under, and the report. Never raises for bad input."""
    problems: list[Problem] = []
    execution_name = event.get("executionName") if isinstance(event, dict) else None
    if isinstance(execution_name, str) and EXECUTION_NAME_RE.fullmatch(execution_name):
        run_id = execution_name
    else:
        run_id = f"invalid-event-{uuid.uuid4().hex}"
        problems.append(
            Problem(
                "executionName",
                execution_name,
                "1 to 80 letters, digits, '-' or '_'",
                f"executionName {execution_name!r} is missing or not a Step Functions execution name; "
                f"the report is filed under {run_id}",
            )
        )
    if not isinstance(event, dict):
        problems.insert(
            0,
            Problem(
                "",
                type(event).__name__,
                'an object {"runSpec": {...}, "executionName": "..."}',
                "the workflow input must be an object with runSpec and "
                f"executionName, got {type(event).__name__}",
            ),
        )
        return run_id, PreflightReport(None, EVENT_SOURCE, problems)
    spec = event.get("runSpec")
    if not isinstance(spec, dict):
        problems.insert(
            0,
            Problem(
                "runSpec",
                spec,
                "a run spec object",
                "runSpec is missing or not an object; start runs with the CLI, which sends RunSpec.to_dict()",
            ),
        )
        return run_id, PreflightReport(None, EVENT_SOURCE, problems)
    report = preflight(
        spec, s3_client=_s3_client(), require_s3=True, max_errors=MAX_ERRORS, spec_source="runSpec"
    )
    report.spec_problems[:0] = problems
    if problems:
        report.spec = None
    return run_id, report


def _execution(event: Any, report: PreflightReport) -> ownership.Execution | None:
    """The execution running the preflight, whose ARN and start every resource of the run carries
    (cleanup deletes only what names its own execution). Without them nothing may be created."""
    if not isinstance(event, dict) or report.spec is None:
        return None
    arn, start = event.get("executionArn"), event.get("executionStart")
    try:
        return ownership.Execution.of(arn, start)
    except ValueError as error:
        report.spec_problems.append(
            Problem(
                "executionArn",
                arn,
                "the execution's ARN and start time ($$.Execution.Id, $$.Execution.StartTime)",
                f"the workflow input lacks the execution's identity ({error}): everything a run creates "
                "is tagged with it, and cleanup deletes only what its own execution created",
            )
        )
        return None


def _run_name(event: Any, report: PreflightReport) -> str | None:
    if report.spec is not None:
        return str(report.spec["name"])
    spec = event.get("runSpec") if isinstance(event, dict) else None
    name = spec.get("name") if isinstance(spec, dict) else None
    return name if isinstance(name, str) else None


def _totals(report: PreflightReport) -> dict[str, Any]:
    totals = report.totals()
    return {
        "records": totals["records"],
        "characters": totals["characters"],
        "estimatedTokens": totals["estimatedTokens"],
        "estimatedTrainingCostUsd": totals["estimatedTrainingCostUsd"],
    }

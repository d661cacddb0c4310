"""Finding a run and reading it from AWS: its execution (named after the run id), its history, its
job, the resources it bought, its documents under ``runs/<runId>/``; and the list of runs. What the
CLI makes of them is :class:`pipeline.operate.runs.RunView`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pipeline import naming
from pipeline.operate import deployments, hints, output, throughput
from pipeline.operate.aws import Clients
from pipeline.operate.discovery import Deployment
from pipeline.operate.errors import UnknownRunError, error_code
from pipeline.operate.run_history import History, Job
from pipeline.operate.runs import (
    BUY_STATE,
    CLEANUP_STATE,
    DEPLOY_STATE,
    DEPLOYMENT,
    EVALUATION_BUY_STATE,
    NOT_FOUND,
    RELEASE_STATE,
    THROUGHPUT,
    RunView,
)
from pipeline.operate.throughput import Throughput
from pipeline.plan import RUNS_PREFIX
from pipeline.workflow_names import SERVE_ON_EVALUATION_THROUGHPUT


def describe_execution(sfn: Any, deployment: Deployment, run_id: str) -> dict[str, Any] | None:
    """The execution of a run, or None when there is none."""
    try:
        return dict(sfn.describe_execution(executionArn=deployment.execution_arn(run_id)))
    except Exception as exc:
        if error_code(exc) in ("ExecutionDoesNotExist", "InvalidArn"):
            return None
        raise


def unknown_run(run_id: str, deployment: Deployment) -> UnknownRunError:
    return UnknownRunError(
        f"no run {run_id!r} in the {deployment.environment!r} environment ({deployment.region})",
        hint=f"list runs with "
        f"`{hints.command('list', env=deployment.environment, region=deployment.region)}`",
    )


def load_run(
    clients: Clients,
    deployment: Deployment,
    run_id: str,
    *,
    now: dt.datetime | None = None,
    throughputs: Mapping[str, list[Throughput]] | None = None,
    with_job: bool = True,
    with_request: bool = True,
    with_resources: bool = True,
) -> RunView:
    """Everything known about a run.

    ``throughputs`` (the pipeline's throughput by run id, from one inventory) saves lookups per run
    in ``list``, which then reads a deployment's status from the state document instead of Bedrock.
    ``with_resources=False`` reads the execution only (no throughput or deployment lookups).
    """
    sfn = clients("stepfunctions")
    described = describe_execution(sfn, deployment, run_id)
    if described is None:
        raise unknown_run(run_id, deployment)
    history = History.fetch(sfn, deployment.execution_arn(run_id))
    state = history.state_document()
    if described.get("status") == "SUCCEEDED" and isinstance(described.get("output"), str):
        with contextlib.suppress(json.JSONDecodeError):
            state = json.loads(described["output"]) or state
    spec = rerun_of = None
    try:
        execution_input = json.loads(described.get("input") or "{}") or {}
        spec, rerun_of = execution_input.get("runSpec"), execution_input.get("rerunOf")
    except (json.JSONDecodeError, AttributeError):
        spec = None
    error, cause = history.failure()
    view = RunView(
        run_id=run_id,
        environment=deployment.environment,
        region=deployment.region,
        execution_arn=deployment.execution_arn(run_id),
        status=str(described.get("status")),
        started=output.parse_time(described.get("startDate")),
        stopped=output.parse_time(described.get("stopDate")),
        current_state=history.current_state(),
        spec=spec if isinstance(spec, dict) else None,
        state=state,
        error=described.get("error") or error,
        cause=described.get("cause") or cause,
        now=now or dt.datetime.now(dt.UTC),
        purchased_at=history.exited_at(BUY_STATE) or history.exited_at(SERVE_ON_EVALUATION_THROUGHPUT),
        released_at=history.exited_at(CLEANUP_STATE),
        vehicle_created_at=history.exited_at(EVALUATION_BUY_STATE) or history.exited_at(DEPLOY_STATE),
        vehicle_released_at=history.exited_at(RELEASE_STATE) or history.exited_at(CLEANUP_STATE),
        time_scale=deployment.time_scale,
        rerun_of=rerun_of if isinstance(rerun_of, str) else None,
    )
    if view.current_state:
        view.current_state_since = history.entered_at(view.current_state)
        view.stage_since = history.stage_since()
        if view.finished and view.status != "SUCCEEDED":
            view.ended_in = history.last_state_before_the_end()
    bedrock = None
    if with_job and view.preflight.get("valid"):
        bedrock = clients("bedrock")
        view.job = _job(bedrock, view)
        if not view.finished and view.job is None:
            view.queue = history.training_queue()
            if view.queue is not None:
                view.training_slots = _training_slots(clients)
    pt_arn = (state.get("throughput") or {}).get("ProvisionedModelArn")
    view.throughput_arn = str(pt_arn) if pt_arn else None
    if with_resources:
        _describe_resources(view, lambda: bedrock or clients("bedrock"), throughputs)
    if with_request and view.waiting_for_approval:
        view.approval_request = read_run_json(clients, deployment, run_id, "approval-request.json")
    return view


def _describe_resources(
    view: RunView, bedrock_client: Callable[[], Any], throughputs: Mapping[str, list[Throughput]] | None
) -> None:
    """The run's throughput and evaluation vehicle as Bedrock has them now (None: deleted)."""
    vehicle_arn = view.vehicle_arn
    if throughputs is not None:
        known = {t.arn: t for t in throughputs.get(view.run_id, [])}
        view.throughput = known.get(view.throughput_arn or "")
        if view.vehicle_kind == THROUGHPUT and vehicle_arn:
            view.vehicle_throughput = known.get(vehicle_arn)
            view.vehicle_checked = True
        return
    if view.throughput_arn:
        view.throughput = throughput.describe(bedrock_client(), view.throughput_arn)
    if vehicle_arn and view.vehicle_kind == THROUGHPUT:
        same = vehicle_arn == view.throughput_arn
        view.vehicle_throughput = (
            view.throughput if same else throughput.describe(bedrock_client(), vehicle_arn)
        )
        view.vehicle_checked = True
    elif vehicle_arn and view.vehicle_kind == DEPLOYMENT:
        view.vehicle_deployment = deployments.describe(bedrock_client(), vehicle_arn)
        view.vehicle_checked = True


def _training_slots(clients: Clients) -> dict[str, Any]:
    """How many customization jobs hold a slot now, and the account's quota of them, as far as the
    caller may read them (pipeline.quotas); what could not be read stays None."""
    from pipeline import quotas

    slots: dict[str, Any] = {"jobsInProgress": None, "quota": None, "quotaName": None}
    with contextlib.suppress(Exception):
        slots["jobsInProgress"] = quotas.jobs_in_progress(clients("bedrock"))
    with contextlib.suppress(Exception):
        (reading,) = quotas.read(clients("service-quotas"), error_code, [quotas.CONCURRENT_JOBS])
        if reading.value is not None:
            slots["quota"], slots["quotaName"] = reading.value, reading.label
    return slots


def _job(bedrock: Any, view: RunView) -> Job | None:
    name = (view.plan.get("job") or {}).get("JobName") or naming.job_name(view.run_id)
    try:
        return Job.from_api(str(name), bedrock.get_model_customization_job(jobIdentifier=name))
    except Exception as exc:
        if error_code(exc) in ("ResourceNotFoundException", "ValidationException"):
            sync = view.state.get("job")
            return Job.from_api(str(name), sync) if isinstance(sync, Mapping) and sync else None
        raise


def read_run_json(clients: Clients, deployment: Deployment, run_id: str, name: str) -> dict[str, Any] | None:
    """One of the run's documents under runs/<runId>/, or None when it is not (yet) there."""
    try:
        response = clients("s3").get_object(
            Bucket=deployment.training_bucket, Key=f"{RUNS_PREFIX}{run_id}/{name}"
        )
    except Exception as exc:
        if error_code(exc) in NOT_FOUND:
            return None
        raise
    with response["Body"] as body:
        doc = json.loads(body.read())
    return doc if isinstance(doc, dict) else None


def list_runs(
    clients: Clients,
    deployment: Deployment,
    *,
    statuses: Iterable[str] = (),
    limit: int = 20,
    now: dt.datetime | None = None,
) -> list[RunView]:
    """The most recent runs (newest first), with their evaluation vehicle, serving and cost so far."""
    sfn = clients("stepfunctions")
    wanted: list[str | None] = [*dict.fromkeys(statuses)] or [None]
    executions: list[Mapping[str, Any]] = []
    for status in wanted:
        paginator = sfn.get_paginator("list_executions")
        params: dict[str, Any] = {"stateMachineArn": deployment.state_machine_arn}
        if status is not None:
            params["statusFilter"] = status
        for page in paginator.paginate(**params, PaginationConfig={"MaxItems": limit}):
            executions += page.get("executions", [])
    executions.sort(
        key=lambda e: output.parse_time(e.get("startDate")) or dt.datetime.min.replace(tzinfo=dt.UTC),
        reverse=True,
    )
    by_run: dict[str, list[Throughput]] = {}
    for pt in throughput.inventory(clients("bedrock")):
        if pt.run_id:
            by_run.setdefault(pt.run_id, []).append(pt)
    now = now or dt.datetime.now(dt.UTC)
    views = []
    for execution in executions[:limit]:
        run_id = str(execution["name"])
        views.append(
            load_run(
                clients,
                deployment,
                run_id,
                now=now,
                throughputs=by_run,
                with_job=execution.get("status") == "RUNNING",
                with_request=False,
            )
        )
    return views


def running_run_ids(clients: Clients, deployment: Deployment) -> set[str]:
    paginator = clients("stepfunctions").get_paginator("list_executions")
    names: set[str] = set()
    for page in paginator.paginate(stateMachineArn=deployment.state_machine_arn, statusFilter="RUNNING"):
        names.update(str(e["name"]) for e in page.get("executions", []))
    return names

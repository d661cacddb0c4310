"""A run in words: ``status``, the ``list`` table, the next steps, and the facts ``watch`` shows.

The read side (:mod:`pipeline.operate.runs`) knows what a run is; this module says it. Every stage
comes from the one table of stage labels (:mod:`pipeline.workflow_stages`), every suggested command
from :mod:`pipeline.operate.hints` (it carries the environment), every sum of money from
:class:`pipeline.money.Money` (a part without a price is named, never counted as zero).

Suggestions follow what works for the run's state: approve/reject only while it waits for a
person, watch while it runs, report once the run has written something to report on, throughput
delete while a no-commitment purchase still bills after the run ended.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from pipeline import money, naming, workflow_stages
from pipeline.operate import hints, output
from pipeline.operate.throughput import Throughput

if TYPE_CHECKING:
    from pipeline.operate.runs import RunView

DEPLOYMENT: Final = "deployment"
THROUGHPUT: Final = "throughput"
EVALUATION_STAGE: Final = "evaluation"
ENDED_WITHOUT_PURCHASE: Final = "not bought (the run ended)"


# --------------------------------------------------------------------------------------------------
# Small pieces
# --------------------------------------------------------------------------------------------------


def num(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) and not isinstance(value, bool) else "unknown"


def loss_text(loss: Mapping[str, Any]) -> str:
    verdict = "passed" if loss.get("passed") else "failed"
    return (
        f"loss gate {verdict}: training {num(loss.get('trainingLoss'))}, "
        f"validation {num(loss.get('validationLoss'))}"
    )


def verdict(evaluation: Mapping[str, Any]) -> str:
    """passed | failed | not judged (too many failed calls: nothing was measured)."""
    if evaluation.get("judged") is False:
        return "not judged"
    return "passed" if evaluation.get("passed") else "failed"


def evaluation_text(evaluation: Mapping[str, Any]) -> str:
    custom, base = evaluation.get("custom") or {}, evaluation.get("base") or {}
    return (
        f"{verdict(evaluation)}: quality custom {num(custom.get('quality'))} vs base "
        f"{num(base.get('quality'))}\n{evaluation.get('summary', '')}"
    ).rstrip()


def judge_scores(judge: Mapping[str, Any]) -> str:
    """``Correctness 0.820 (base 0.610, champion 0.800, bar 0.7)`` per metric the judge scored; the
    champion only where the run's serving slot had one the judge scored too."""
    metrics = judge.get("metrics") or {}
    parts = []
    for name, entry in metrics.items():
        if not isinstance(entry, Mapping):
            continue
        bar = entry.get("minScore")
        parts.append(
            f"{name} {num(entry.get('custom'))} (base {num(entry.get('base'))}"
            + (f", champion {num(entry.get('champion'))}" if "champion" in entry else "")
            + (f", bar {bar:g}" if isinstance(bar, int | float) else "")
            + ")"
        )
    return "; ".join(parts)


def judge_text(judge: Mapping[str, Any]) -> str:
    """The LLM judge's verdict: passed/failed, each metric base vs custom, the reasons it failed."""
    head = verdict(judge)
    scores = judge_scores(judge)
    reasons = [str(r) for r in judge.get("reasons") or []]
    text = f"{head}: {scores}" if scores else head
    if reasons:
        text += "\n" + "\n".join(reasons)
    return text


def throughput_line(pt: Throughput) -> str:
    commitment = (
        "no commitment"
        if not pt.has_commitment
        else f"{pt.commitment} until {output.utc(pt.commitment_expires)}"
    )
    hourly = pt.hourly_usd()
    price = (
        f"{money.usd_rate(hourly, 'hour')} ({money.usd_rate(pt.per_day_usd(), 'day')})"
        if hourly is not None
        else "hourly price unknown"
    )
    return f"{pt.status}, {pt.model_units} MU, {commitment}, {price}"


def deadline_text(view: RunView, requested: dt.datetime | None, expires: dt.datetime | None) -> str:
    """When an approval expires, on the clock the reader has. In the sandbox, whose waits run
    ``time_scale`` times faster, the workflow's deadline is ``requested + (expires - requested) /
    scale`` on the wall clock: both are said."""
    if expires is None:
        return ""
    scale = view.time_scale
    if scale == 1 or requested is None:
        left = (expires - view.now).total_seconds()
        return (
            f"expires {output.utc(expires)} (in {output.duration(left)})"
            if left > 0
            else (f"expired {output.utc(expires)}")
        )
    span = (expires - requested).total_seconds()
    real = requested + dt.timedelta(seconds=span / scale)
    left = (real - view.now).total_seconds()
    when = f"in {output.duration(left)}" if left > 0 else "now"
    return (
        f"expires {output.utc_seconds(real)} ({when}: {output.duration(span)} of sandbox time at {scale:g}x)"
    )


# --------------------------------------------------------------------------------------------------
# What to do next
# --------------------------------------------------------------------------------------------------


def has_report(view: RunView) -> bool:
    """``report`` has something to show: the run's documents under runs/<id>/.

    The preflight writes its report first; training adds the loss curves, the evaluation its
    results, the end of the run its record (or the stopped-run cleanup what it released). Suggested
    once the run ended (anything it wrote makes a report), or while it runs once there are results.
    """
    if view.loss or view.evaluation:
        return True
    return view.finished and bool(view.preflight.get("reportUri"))


def next_steps(view: RunView) -> list[str]:
    """The commands that work for the run as it is now, each carrying its environment."""
    steps: list[str] = []
    env = view.environment
    if view.waiting_for_approval:
        steps.append(hints.command("approve", view.run_id, env=env))
        steps.append(hints.command("reject", view.run_id, "--reason", '"..."', env=env))
    elif not view.finished:
        steps.append(hints.command("watch", view.run_id, env=env))
    if has_report(view):
        steps.append(hints.command("report", view.run_id, env=env))
    if view.finished and any(not t.has_commitment for t in view.live_throughputs()):
        steps.append(
            hints.command("throughput", "delete", view.run_id, env=env, note="billed hourly until deleted")
        )
    return steps


# --------------------------------------------------------------------------------------------------
# status
# --------------------------------------------------------------------------------------------------


def approval_pairs(view: RunView, slot: str, stage: str) -> list[tuple[str, Any]]:
    """The approval of one purchase: waiting (with its deadline) or answered."""
    label = "Approval to evaluate" if stage == EVALUATION_STAGE else "Approval to serve"
    if view.approval_stage == stage:
        request = view.approval_request or {}
        requested = output.parse_time(request.get("requestedAt"))
        deadline = deadline_text(view, requested, output.parse_time(request.get("expiresAt")))
        return [
            (
                label,
                f"waiting since {output.utc(requested)}"
                + (f", {deadline} (no answer = rejected)" if deadline else ""),
            )
        ]
    answer = view.state.get(slot)
    if isinstance(answer, dict) and "approved" in answer:
        decision = "approved" if answer.get("approved") else "rejected"
        return [(label, f"{decision} by {answer.get('approver')}: {answer.get('reason')}")]
    return []


def vehicle_text(view: RunView) -> str:
    kind, arn, plan = view.vehicle_kind, view.vehicle_arn, view.vehicle_plan
    if kind == DEPLOYMENT:
        after = "kept to serve on demand" if view.vehicle_serves else "deleted after the evaluation"
        if arn is None:
            name = plan.get("ModelDeploymentName") or ""
            when = ENDED_WITHOUT_PURCHASE.replace("bought", "created") if view.finished else "not created yet"
            return f"on-demand deployment {name} ({when}); {after}"
        return (
            f"on-demand deployment {arn}\n{view.vehicle_status}, billed per token (no hourly charge); {after}"
        )
    if kind == THROUGHPUT:
        after = (
            "kept to serve with if the model passes, released if it fails"
            if view.vehicle_serves
            else "released after the evaluation"
        )
        if arn is None:
            name = plan.get("ProvisionedModelName") or ""
            when = ENDED_WITHOUT_PURCHASE if view.finished else "not bought yet"
            return f"1 MU of no-commitment throughput {name} ({when}); {after}"
        pt = view.vehicle_throughput or (view.throughput if view.throughput_arn == arn else None)
        if pt is not None:
            return f"evaluation throughput {arn}\n{throughput_line(pt)}; {after}"
        released = f" at {output.utc(view.vehicle_released_at)}" if view.vehicle_released_at else ""
        return f"evaluation throughput {arn} (deleted{released})"
    return "nothing: no quality bar and no evaluation prompts"


def serving_text(view: RunView) -> str:
    mode = view.serving_mode
    if mode == "on-demand":
        arn = view.serving_deployment_arn
        if arn and view.status == "SUCCEEDED" and view.vehicle_status != "deleted":
            return f"on demand: deployment {arn} (Converse modelId; billed per token)"
        if arn and view.vehicle_status == "deleted":
            return f"on demand: deployment {arn} (deleted)"
        if view.finished:
            return "on demand: not kept (the run ended)"
        return "on demand: the evaluation deployment is kept once the model passes (billed per token)"
    if mode == "provisioned":
        if view.throughput_arn is None:
            plan = view.serving_plan
            if view.finished:
                when = ENDED_WITHOUT_PURCHASE
            elif view.reuses_evaluation_throughput:
                return (
                    f"provisioned: {plan.get('ModelUnits') or '?'} MU, no commitment: the evaluation "
                    "throughput, kept once the model passes its quality bar"
                )
            elif view.evaluation.get("passed"):
                when = "not bought yet"
            else:
                when = "not bought: only once the model passes its quality bar"
            return (
                f"provisioned: {plan.get('ModelUnits') or '?'} MU, commitment "
                f"{plan.get('commitment') or 'none'} ({when})"
            )
        if view.throughput is None:
            released = f" at {output.utc(view.released_at)}" if view.released_at else ""
            return f"provisioned throughput {view.throughput_arn} (deleted{released})"
        reused = " (the evaluation throughput, kept)" if view.throughput_arn == view.vehicle_arn else ""
        return f"provisioned throughput {view.throughput.arn}{reused}\n{throughput_line(view.throughput)}"
    if mode == "none":
        return "none: the model is not served"
    return "-"


_PART_LABELS: Final = {"training": "training estimate", "LLM judge": "LLM judge estimate"}


def cost_text(view: RunView) -> str:
    """The total first, then each part with its figure, or "no price" where no source gives one."""
    parts = view.cost_parts()
    if not parts:
        return "$0.00 (nothing billed yet)"
    summed = money.Money.of(parts)
    detail = "; ".join(
        f"{_PART_LABELS.get(name, name)} {money.usd(value) if value is not None else 'no price'}"
        for name, value in parts.items()
    )
    total = (
        money.usd(summed.known)
        if summed.complete
        else (summed.lower_bound() if summed.priced_parts else money.UNKNOWN)
    )
    return f"{total} ({detail})"


def failure_text(view: RunView) -> str | None:
    failure = view.failure
    if not failure:
        return None
    return f"{failure.get('Error')}: {failure.get('Cause')}"


def render_status(view: RunView) -> str:
    stage = view.stage
    pairs: list[tuple[str, Any]] = [
        ("Run", f"{view.run_id} (environment {view.environment}, {view.region})"),
        (
            "Status",
            f"{view.status}: {stage}" + (f' (state "{view.current_state}")' if not view.finished else ""),
        ),
        (
            "Started",
            f"{output.utc(view.started)} ({output.duration(view.elapsed_seconds())} "
            + ("elapsed)" if not view.finished else f"total, ended {output.utc(view.stopped)})"),
        ),
        ("Base model", f"{view.base_model or '-'} ({view.customization_type or '-'})"),
    ]
    preflight = view.preflight
    if preflight:
        pairs.append(
            ("Preflight", preflight.get("summary") or ("valid" if preflight.get("valid") else "invalid"))
        )
    if view.rerun_of:
        pairs.append(("Rerun of", f"{view.rerun_of} (this is attempt {naming.attempt_of(view.run_id)})"))
    promoted = (view.plan or {}).get("promotion") or {}
    if promoted.get("sourceRunId"):
        # Its job is the earlier run's: shown as that run's, and nothing of it is this run's cost.
        pairs.append(
            (
                "Promotion of",
                f"run {promoted['sourceRunId']}'s model: nothing trained by this run; evaluated again "
                "against the slot's champion",
            )
        )
    if view.job is not None:
        earlier = " (the earlier run's job)" if promoted.get("sourceRunId") else ""
        pairs.append(("Job", f"{view.job.name}: {view.job.progress(view.now)}{earlier}"))
    elif view.queue is not None:
        pairs.append(("Queue", queue_text(view)))
    if view.loss:
        pairs.append(("Loss", f"{loss_text(view.loss)}\n{view.loss.get('summary', '')}".rstrip()))
    if view.custom_model_arn:
        pairs.append(("Custom model", view.custom_model_arn))
    if view.plan:
        pairs.append(("Evaluated on", vehicle_text(view)))
    pairs += approval_pairs(view, "evaluationApproval", EVALUATION_STAGE)
    if view.evaluation:
        pairs.append(("Evaluation", evaluation_text(view.evaluation)))
    if view.judge:
        pairs.append(("LLM judge", judge_text(view.judge)))
    elif view.judge_planned and view.judge_started:
        pairs.append(("LLM judge", "judging (the verdict comes when every evaluation job is done)"))
    pairs += approval_pairs(view, "approval", "serving")
    if view.plan:
        pairs.append(("Serving", serving_text(view)))
    if view.smoke:
        passed = "passed" if view.smoke.get("passed") else "failed"
        pairs.append(("Smoke check", f"{passed}: {view.smoke.get('summary') or ''}".rstrip(": ")))
    if view.released.get("summary"):
        pairs.append(("Released", view.released["summary"]))
    cleanup = view.state.get("cleanup")
    if isinstance(cleanup, dict) and cleanup.get("summary"):
        pairs.append(("Cleanup", cleanup["summary"]))
    failure = failure_text(view)
    if failure:
        pairs.append(("Failure", failure))
    pairs.append(("Cost so far", cost_text(view)))
    storage = view.estimate.get("storageMonthlyUsd")
    if view.custom_model_arn:
        recurring = (
            f"custom model storage {money.usd_rate(storage, 'month')} while the model exists"
            if storage is not None
            else "custom model storage while the model exists (monthly price unknown)"
        )
        if view.serving_deployment_arn and view.vehicle_status not in (None, "deleted"):
            recurring += "; on-demand calls per token as they are made"
        pairs.append(("Recurring", recurring))
    steps = next_steps(view)
    if steps:
        pairs.append(("Next", "\n".join(steps)))
    return output.key_values(pairs)


# --------------------------------------------------------------------------------------------------
# list
# --------------------------------------------------------------------------------------------------


def vehicle_cell(view: RunView) -> str:
    if view.vehicle_kind == DEPLOYMENT and view.vehicle_arn:
        return f"deployment {output.short_arn(view.vehicle_arn)} {view.vehicle_status}"
    if view.vehicle_kind == THROUGHPUT and view.vehicle_arn:
        return f"throughput {output.short_arn(view.vehicle_arn)} {view.vehicle_status}"
    if view.vehicle_kind in (DEPLOYMENT, THROUGHPUT):
        return (
            f"{view.vehicle_kind} (none: the run ended)"
            if view.finished
            else f"{view.vehicle_kind} (not yet)"
        )
    return "-"


def serving_cell(view: RunView) -> str:
    mode = view.serving_mode
    if mode == "provisioned":
        if view.throughput is not None:
            return f"{output.short_arn(view.throughput.arn)} {view.throughput.status}"
        if view.throughput_arn:
            return f"{output.short_arn(view.throughput_arn)} deleted"
        return "provisioned, not bought (the run ended)" if view.finished else "provisioned (not bought)"
    if mode == "on-demand":
        arn = view.serving_deployment_arn
        if arn and view.status == "SUCCEEDED":
            return f"on demand {output.short_arn(arn)}"
        return "on demand (not kept: the run ended)" if view.finished else "on demand (not yet)"
    return mode or "-"


def outcome_cell(view: RunView) -> str:
    """Why a run ended the way it did: the failure's error name, short; '-' while it runs or succeeded."""
    if view.status in ("RUNNING", "PENDING_REDRIVE", "SUCCEEDED"):
        return "-"
    failure = view.failure or {}
    error = failure.get("Error")
    if view.status == "ABORTED":
        return f"cancelled: {failure.get('Cause') or 'stopped'}" if error == "Cancelled" else "stopped"
    return str(error or view.status.lower())


def render_list(views: list[RunView]) -> str:
    """A table, one row per run; on a terminal too narrow for its rows, one block per run (a table
    squeezed into 80 columns would cut every cell into pieces of five letters)."""
    if not views:
        return "no runs"
    ended = any(v.finished and v.status != "SUCCEEDED" for v in views)
    headers = ["RUN", "STATUS", "STAGE", *(["WHY IT ENDED"] if ended else [])]
    headers += ["BASE MODEL", "CUSTOM MODEL", "EVALUATED ON", "SERVING", "STARTED", "ENDED", "COST SO FAR"]
    rows = [
        [
            v.run_id,
            v.status,
            v.stage,
            *([outcome_cell(v)] if ended else []),
            v.base_model or "-",
            output.short_arn(v.custom_model_arn),
            vehicle_cell(v),
            serving_cell(v),
            output.utc(v.started),
            output.utc(v.stopped),
            str(v.cost_so_far()),
        ]
        for v in views
    ]
    width = output.width_of()
    if width is None or output.table_width(headers, rows) <= width:
        return output.table(headers, rows)
    return "\n\n".join(_run_block(v, width) for v in views)


def _run_block(view: RunView, width: int) -> str:
    pairs: list[tuple[str, Any]] = [("stage", view.stage)]
    if view.finished and view.status != "SUCCEEDED":
        pairs.append(("why it ended", outcome_cell(view)))
    pairs += [
        ("base model", view.base_model or "-"),
        ("custom model", output.short_arn(view.custom_model_arn)),
        ("evaluated on", vehicle_cell(view)),
        ("serving", serving_cell(view)),
        (
            "started",
            output.utc(view.started) + (f", ended {output.utc(view.stopped)}" if view.stopped else ""),
        ),
        ("cost so far", str(view.cost_so_far())),
    ]
    body = output.key_values(pairs, width=width - 2)
    return f"{view.run_id}  {view.status}\n" + "\n".join(f"  {line}" for line in body.splitlines())


QUEUED: Final = "queued for a training slot"


def queue_text(view: RunView) -> str:
    """``queued: 3 jobs ahead / quota 3 ...``: where the run stands in line, as far as it is known."""
    queue = view.queue
    if queue is None:
        return ""
    slots = view.training_slots or {}
    in_progress, quota = slots.get("jobsInProgress"), slots.get("quota")
    if in_progress is not None and quota is not None:
        text = f"queued: {in_progress} job(s) ahead / quota {quota:g} {slots.get('quotaName') or ''}".rstrip()
    elif in_progress is not None:
        text = f"queued: {in_progress} job(s) in progress (the quota could not be read)"
    else:
        text = "queued"
    return (
        f"{text}; {QUEUED} since {output.utc(queue.since)}, attempt {queue.refused + 1} "
        f"({queue.refused} refused by the quota, {queue.attempts_left} left); gives up by "
        f"{output.utc(queue.gives_up_by)} at the latest"
    )


def stage_of(view: RunView) -> str:
    """The stage in plain words (pipeline.workflow_stages); for a run that ended, how and where."""
    if view.status == "SUCCEEDED":
        return workflow_stages.ENDED["SUCCEEDED"].label
    if not view.finished and view.queue is not None:
        return QUEUED
    if not view.finished:
        return workflow_stages.label(view.current_state)
    ended = workflow_stages.ENDED.get(view.status)
    how = ended.label if ended is not None else "failed"
    return f"{how} at: {workflow_stages.label(view.ended_in)}" if view.ended_in else how

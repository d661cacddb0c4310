"""The printed summary of a simulation: timeline, notices, approval, ledger, invariants, artifacts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from pipeline import workflow_stages
from pipeline.simulation.clock import format_duration, format_elapsed
from pipeline.simulation.result import SimulationResult, Visit

_KEY_FIELDS: Final = (
    "valid",
    "errorCount",
    "Status",
    "JobArn",
    "passed",
    "trainingLoss",
    "validationLoss",
    "approved",
    "approver",
    "ProvisionedModelArn",
    "attempt",
    "waitSeconds",
    "Error",
    "deleted",
    "kept",
    "jobStopped",
    "recordUri",
    "requestUri",
    "summary",
    "Cause",
)


# --------------------------------------------------------------------------------------------------
# Text output
# --------------------------------------------------------------------------------------------------


def _short(value: Any, width: int = 70) -> str:
    if isinstance(value, bool) or value is None:
        text = json.dumps(value)
    elif isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, list | dict):
        text = json.dumps(value, default=str)
    elif isinstance(value, str) and value.startswith("arn:") and value.count(":") >= 5:
        text = value.split(":", 5)[5]  # the resource part: provisioned-model/abc123
    elif isinstance(value, str) and value.startswith("s3://"):
        parts = value.split("/")
        text = f"s3://…/{'/'.join(parts[-2:])}" if len(parts) > 5 else value
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _result_at(output: Any, result_path: Any) -> Any:
    if not isinstance(result_path, str) or not result_path.startswith("$") or not isinstance(output, dict):
        return None
    value: Any = output
    for part in [p for p in result_path[1:].split(".") if p]:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def key_outputs(visit: Visit, definition: Mapping[str, Any]) -> str:
    """The few output fields worth a glance for one state."""
    state = definition.get("States", {}).get(visit.name, {})
    if visit.kind == "Choice":
        return f"→ {visit.next}" if visit.next else ""
    if visit.kind in ("Wait", "Succeed"):
        return ""
    if visit.kind == "Fail":
        return ""
    value = _result_at(visit.output, state.get("ResultPath", "$"))
    parts: list[str] = []
    if isinstance(value, dict):
        for key in _KEY_FIELDS:
            if key in value and value[key] not in (None, [], {}):
                parts.append(f"{key}={_short(value[key], 60 if key in ('summary', 'Cause') else 48)}")
            if len(parts) == 4:
                break
    if visit.retries:
        parts.append(f"retried {visit.retries}x ({', '.join(sorted(set(visit.errors)))})")
    elif visit.errors:
        parts.append(f"error {', '.join(visit.errors)}")
    return " · ".join(parts)


def render_text(result: SimulationResult) -> str:
    """The readable summary the CLI prints; the last line is the final status alone."""
    definition = result.definition
    scenario = result.scenario
    lines = [
        f"Simulated run {result.run_id} · scenario {scenario.name}",
        f"  {scenario.description}",
        f"  run spec  {result.spec_path}",
        f"  template  {result.template_path}",
    ]
    if scenario.faults:
        lines.append(
            "  faults    "
            + "; ".join(
                f"{r.call} → {r.error} x{r.times} per {r.per}"
                + (" (after the call acted)" if r.effect == "after" else "")
                for r in scenario.faults
            )
        )
    lines += ["", "Timeline (simulated time; waits are compressed, nothing sleeps)"]
    width = max((len(v.name) for v in result.visits), default=10)
    group = None
    for visit in result.visits:
        # The phase in plain words (pipeline.workflow_stages, as status and watch show it).
        stage = workflow_stages.stage(visit.name)
        if stage.group and stage.group != group:
            group = stage.group
            lines.append(f"  {'':>12}  -- {group} --")
        outputs = key_outputs(visit, definition)
        lines.append(
            f"  {format_elapsed(visit.entered):>12}  {visit.name:<{width}}  "
            f"{format_duration(visit.duration):>7}" + (f"  {outputs}" if outputs else "")
        )
    if result.status != "SUCCEEDED":
        lines += ["", f"Error: {result.error}", f"Cause: {_short(result.cause, 400)}"]
    lines += ["", f"Notifications ({len(result.notifications)})"]
    for number, sent in enumerate(result.notifications, start=1):
        first = sent.message.strip().splitlines()[0] if sent.message.strip() else ""
        lines.append(f"  {number}. {sent.subject or '(no subject)'}")
        if first:
            lines.append(f"     {_short(first, 100)}")
    lines += ["", "Approval", f"  {_approval_text(result.approval)}"]
    lines += _ledger_text(result)
    lines += ["", "Money and trust invariants"]
    lines += [f"  {'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in result.checks]
    lines += ["", "Written"]
    record = next((p for uri, p in result.artifacts.items() if uri.endswith("/record.json")), None)
    lines.append(f"  run record  {record or 'none (the record step did not run)'}")
    for label, path in sorted(result.report.items()):
        lines.append(f"  report      {path}  ({label})")
    lines.append(f"  all files   {len(result.artifacts)} object(s) from S3, handler logs and simulation.json")
    for note in result.notes:
        lines.append(f"  note: {note}")
    lines += [
        "",
        f"State transitions: {result.transitions} "
        f"({len(result.visits)} states entered + {result.retries} retries)"
        f" · simulated {format_duration(result.simulated_seconds)} in {result.real_seconds:.1f} s",
        result.status,
    ]
    return "\n".join(lines)


def _approval_text(record: Mapping[str, Any]) -> str:
    outcome = record.get("outcome")
    if outcome == "not-asked":
        return "not asked (the run buys nothing, or its policy needs no approval)"
    if outcome in ("approved", "rejected"):
        waited = float(record.get("answeredAt", 0)) - float(record.get("requestedAt", 0))
        return f"{outcome} by {record.get('approver')} after {format_duration(waited)}"
    if outcome == "timed-out":
        return f"no answer: timed out after {format_duration(float(record.get('waitedSeconds', 0)))}"
    return str(outcome)


def _ledger_text(result: SimulationResult) -> list[str]:
    jobs, throughputs = result.ledger["jobs"], result.ledger["throughputs"]
    lines = ["", "Simulated Bedrock"]
    for job in jobs:
        lines.append(
            f"  job         {job['name']}: {job['status']}"
            + (f" ({_short(job['failureMessage'], 80)})" if job.get("failureMessage") else "")
            + f" · {job['createRequests']} create request(s)"
        )
    if not jobs:
        lines.append("  job         none created")
    for pt in throughputs:
        state = "deleted" if not pt["alive"] else f"{pt['status']}, still billed"
        lines.append(
            f"  throughput  {pt['name']}: {pt['modelUnits']} MU, "
            + ("no commitment" if pt["commitment"] == "none" else f"{pt['commitment']} commitment")
            + f", {state}"
            f" · {pt['createRequests']} create request(s)"
        )
    if not throughputs:
        lines.append("  throughput  none bought")
    for deployment in result.ledger.get("deployments", []):
        state = "deleted" if not deployment["alive"] else f"{deployment['status']}, kept"
        lines.append(
            f"  deployment  {deployment['name']}: on demand, {state}"
            f" · {deployment['createRequests']} create request(s)"
        )
    calls = result.bedrock_calls
    faulted = sum(1 for c in calls if c["outcome"].startswith("fault"))
    lines.append(f"  API calls   {len(calls)} ({faulted} answered with an injected fault)")
    for text in result.duplicate_starts:
        lines.append(f"  duplicate   {text}")
    if result.ended is not None:
        lines.append(
            f"  ended       {result.status} event handled: {_short(result.ended.get('summary'), 100)}"
        )
    return lines

"""What a run's artifacts say, as tables of text shared by the HTML page and the Markdown file: the
gates and decisions, the loss per epoch, base against custom model, the judge's scores, the
evaluation vehicle and serving, the cost estimate, the run record, the datasets, each prompt's
answers. An unknown number reads "unknown", never 0."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pipeline import money
from pipeline.operate import hints
from pipeline.operate.report.artifacts import RunArtifacts
from pipeline.operate.report.cells import diff_cell, lookup, ms_cell, number_cell


@dataclass
class Table:
    element_id: str
    headers: list[str]
    rows: list[list[str]]
    numeric: set[int] = field(default_factory=set)


def _verdict(passed: Any) -> str:
    if passed is True:
        return "passed"
    if passed is False:
        return "failed"
    return "not reached"


def _quality_verdict(evaluated: Mapping[str, Any]) -> str:
    """passed | failed | not judged (more failed calls than allowed: nothing was measured)."""
    if evaluated.get("judged") is False:
        return "not judged"
    return _verdict(evaluated.get("passed"))


def _approval_cells(approval: Mapping[str, Any], asked: bool) -> tuple[str, str]:
    if approval.get("approver"):
        verdict = "approved" if approval.get("approved") else "rejected"
        return (
            verdict,
            f"by {approval.get('approver')}: {approval.get('comment') or approval.get('reason') or ''}",
        )
    if not asked:
        return "not required", str(approval.get("reason") or "")
    return "not reached", str(approval.get("reason") or "")


_VEHICLES: Final = {
    "deployment": "on-demand deployment (billed per token, nothing bought)",
    "throughput": "1 MU of no-commitment throughput bought to evaluate on",
    "none": "nothing: no quality bar and no evaluation prompts",
}


def comparison_table(
    models: Sequence[tuple[str, Mapping[str, Any]]], element_id: str = "comparison-table"
) -> Table:
    def row(name: str, fn: Callable[[Mapping[str, Any]], str]) -> list[str]:
        return [name, *(fn(agg) for _, agg in models)]

    rows = [
        row("Model id", lambda a: str(a.get("modelId") or "-")),
        row("Quality (ROUGE-L)", lambda a: number_cell(a.get("quality"))),
        row("Token F1", lambda a: number_cell(a.get("tokenF1"))),
        row("Latency p50", lambda a: ms_cell(lookup(a, "latencyMs", "p50"))),
        row("Latency p95", lambda a: ms_cell(lookup(a, "latencyMs", "p95"))),
        row("Input tokens (mean)", lambda a: number_cell(lookup(a, "inputTokens", "mean"), 1)),
        row("Output tokens (mean)", lambda a: number_cell(lookup(a, "outputTokens", "mean"), 1)),
        row("Cost per 1,000 requests", lambda a: money.usd(a.get("costPer1000RequestsUsd"))),
        row("Answered / prompts", lambda a: f"{a.get('answered', '?')} / {a.get('prompts', '?')}"),
        row("Failed calls", lambda a: str(a.get("errors", "?"))),
        # Means are over the prompts every compared model answered (pipeline.scoring).
        row("Means over (prompts)", lambda a: str(a.get("paired", "?"))),
        row("Billing", lambda a: _billing(a.get("pricing") or {})),
    ]
    headers = ["Metric", *(label for label, _ in models)]
    # The first model against each other one (custom - base; in a serving slot, custom - champion too).
    first_label, first = models[0] if models else ("", {})
    for other_label, other in models[1:]:
        diffs = [
            "",
            diff_cell(first.get("quality"), other.get("quality")),
            diff_cell(first.get("tokenF1"), other.get("tokenF1")),
            diff_cell(lookup(first, "latencyMs", "p50"), lookup(other, "latencyMs", "p50"), 0, " ms"),
            diff_cell(lookup(first, "latencyMs", "p95"), lookup(other, "latencyMs", "p95"), 0, " ms"),
            diff_cell(lookup(first, "inputTokens", "mean"), lookup(other, "inputTokens", "mean"), 1),
            diff_cell(lookup(first, "outputTokens", "mean"), lookup(other, "outputTokens", "mean"), 1),
            diff_cell(first.get("costPer1000RequestsUsd"), other.get("costPer1000RequestsUsd"), 4),
            "",
            "",
            "",
            "",
        ]
        headers.append(f"{first_label} - {other_label}")
        for r, d in zip(rows, diffs, strict=True):
            r.append(d)
    return Table(element_id, headers, rows, numeric=set(range(1, len(headers))))


def _billing(pricing: Mapping[str, Any]) -> str:
    kind = pricing.get("kind") or "?"
    if kind == "provisioned":
        hourly = pricing.get("hourlyPerModelUnitUsd")
        rate = (
            f"{money.unit_price(hourly)}/MU-hour"
            if isinstance(hourly, int | float)
            else "hourly price unknown"
        )
        return f"provisioned, {pricing.get('modelUnits') or '?'} MU, {rate}"
    inp, out = pricing.get("inputPer1MTokensUsd"), pricing.get("outputPer1MTokensUsd")
    if isinstance(inp, int | float) and isinstance(out, int | float):
        return f"on demand, {money.unit_price(inp)} / {money.unit_price(out)} per 1M tokens in/out"
    return "on demand, price unknown"


def loss_table(curves: Mapping[str, Any] | None, record: Mapping[str, Any] | None) -> Table:
    """Mean loss per epoch (the trend under the step noise), the final losses and the bar."""
    epochs: dict[Any, dict[str, Any]] = {}
    for kind in ("training", "validation"):
        for curve in (curves or {}).get(kind) or []:
            for item in curve.get("byEpoch") or []:
                cell = epochs.setdefault(item.get("epoch"), {})
                cell[kind] = item.get("meanLoss")
                cell[f"{kind}Points"] = item.get("points")
            break  # the first file of each kind: the one the gate used
    rows = [
        [
            f"epoch {epoch}",
            number_cell(cells.get("training")),
            number_cell(cells.get("validation")),
            f"{cells.get('trainingPoints') or 0} / {cells.get('validationPoints') or 0}",
        ]
        for epoch, cells in sorted(
            epochs.items(), key=lambda kv: float(kv[0]) if isinstance(kv[0], int | float) else 0
        )
    ]
    final = (curves or {}).get("final") or {}
    metrics = (record or {}).get("metrics") or {}
    sources = sorted({str(final[k]) for k in ("trainingLossSource", "validationLossSource") if final.get(k)})
    rows.append(
        [
            "final" + (f" ({', '.join(sources)})" if sources else ""),
            number_cell(final.get("trainingLoss", metrics.get("trainingLoss"))),
            number_cell(final.get("validationLoss", metrics.get("validationLoss"))),
            "",
        ]
    )
    bar = (curves or {}).get("bar") or {}
    if bar:

        def limit(value: Any) -> str:
            return number_cell(value) if value is not None else "no bar"

        rows.append(
            ["bar (maximum)", limit(bar.get("maxTrainingLoss")), limit(bar.get("maxValidationLoss")), ""]
        )
    return Table(
        "loss-table",
        ["", "Training loss", "Validation loss", "Points (training / validation)"],
        rows,
        numeric={1, 2},
    )


def decisions_table(artifacts: RunArtifacts) -> Table:
    """The gates in the order the run meets them: preflight, loss, (approval to evaluate), quality,
    approval to serve, smoke check."""
    record = artifacts.record or {}
    decisions = record.get("decisions") or {}
    curves, evaluation = artifacts.curves or {}, artifacts.evaluation or {}
    preflight = decisions.get("preflight") or (
        {"valid": artifacts.preflight.get("ok"), "summary": artifacts.preflight.get("summary")}
        if artifacts.preflight
        else {}
    )
    loss = decisions.get("loss") or (
        {"passed": curves.get("passed"), "summary": curves.get("summary")} if curves else {}
    )
    evaluated = decisions.get("evaluation") or (
        {
            "passed": evaluation.get("passed"),
            "judged": evaluation.get("judged"),
            "summary": evaluation.get("summary"),
        }
        if evaluation
        else {}
    )
    rows = [
        ["Preflight", _verdict(preflight.get("valid")), str(preflight.get("summary") or "")],
        ["Loss gate", _verdict(loss.get("passed")), str(loss.get("summary") or "")],
    ]
    evaluation_approval = decisions.get("evaluationApproval")
    if isinstance(evaluation_approval, Mapping) and evaluation_approval:
        verdict, text = _approval_cells(evaluation_approval, bool(evaluation_approval.get("required", True)))
        rows.append(["Approval to evaluate", verdict, text.strip()])
    rows.append(["Quality gate", _quality_verdict(evaluated), str(evaluated.get("summary") or "")])
    approval = decisions.get("approval") or {}
    asked = approval.get("beforeServing", approval.get("required")) is not False
    verdict, text = _approval_cells(approval, asked)
    rows.append(["Approval to serve", verdict, text.strip()])
    smoke = decisions.get("smoke") or {}
    rows.append(["Smoke check", _verdict(smoke.get("passed")), str(smoke.get("summary") or "")])
    return Table("decisions-table", ["Gate", "Verdict", "Details"], rows)


def serving_table(record: Mapping[str, Any] | None) -> Table | None:
    """What the model was evaluated on, what became of it, and how the model is served."""
    resources = (record or {}).get("resources") or {}
    if not resources:
        return None
    vehicle = resources.get("evaluationVehicle") or {}
    kind = str(vehicle.get("kind") or "")
    released = resources.get("released") or {}
    cleanup = (record or {}).get("cleanup") or {}
    if vehicle.get("servesAfterwards") and (record or {}).get("status") != "FAILED":
        after = "kept: it is what the model is served on"
    elif released.get("summary"):
        after = str(released["summary"])
    elif cleanup.get("summary"):
        after = f"the run failed; {cleanup['summary']}"
    elif kind in ("deployment", "throughput"):
        after = f"no release recorded: check `{hints.command('sweep', '--dry-run')}`"
    else:
        after = "-"
    mode = str(resources.get("servingMode") or "-")
    if mode == "on-demand":
        arn = resources.get("deploymentArn") or "-"
        serves = f"on-demand deployment {arn} (Converse modelId; billed per token)"
    elif mode == "provisioned":
        serves = (
            f"provisioned throughput {resources.get('provisionedModelArn') or '(not bought)'}: "
            f"{resources.get('modelUnits') or '-'} MU, commitment {resources.get('commitment') or '-'}"
        )
    elif mode == "none":
        serves = "not served"
    else:
        serves = "-"
    rows = [
        [
            "Evaluated on",
            _VEHICLES.get(kind, kind or "-") + (f"\n{vehicle['arn']}" if vehicle.get("arn") else ""),
        ],
        ["After the evaluation", after],
        ["Serving", serves],
    ]
    return Table("serving-table", ["", "Details"], rows)


def cost_table(record: Mapping[str, Any] | None) -> Table | None:
    estimate = (record or {}).get("estimate")
    if not isinstance(estimate, Mapping):
        return None
    basis = estimate.get("basis") or {}
    rows = [
        [
            label,
            money.usd(estimate.get(key)),
            str(basis.get(basis_key) or ("no price known" if estimate.get(key) is None else "")),
        ]
        for label, key, basis_key in (
            ("Training", "trainingUsd", "training"),
            ("Custom model storage per month", "storageMonthlyUsd", "storageMonthly"),
            ("Evaluation", "evaluationUsd", "evaluation"),
            ("Serving throughput per hour", "throughputHourlyUsd", "throughputHourly"),
            ("Serving throughput per month", "throughputMonthlyUsd", "throughputMonthly"),
            ("Commitment term", "commitmentTermUsd", "commitmentTerm"),
        )
        if _cost_applies(estimate, key, (record or {}).get("resources") or {})
    ]
    return Table("cost-table", ["Item", "Estimate (USD)", "Basis (catalog prices, dated)"], rows, numeric={1})


def _cost_applies(estimate: Mapping[str, Any], key: str, resources: Mapping[str, Any]) -> bool:
    """Only the rows of what the run does: no serving throughput rows when it serves on demand, no
    commitment term without a commitment."""
    mode = estimate.get("servingMode")
    if key in ("throughputHourlyUsd", "throughputMonthlyUsd") and mode in ("on-demand", "none"):
        return False
    if (
        key == "commitmentTermUsd"
        and estimate.get(key) is None
        and resources.get("commitment") in ("none", None)
    ):
        return "servingMode" not in estimate  # an older record: keep the row
    if key == "evaluationUsd" and estimate.get("evaluationVehicle") in ("none", None):
        return "evaluationVehicle" not in estimate  # an older record: keep the row, marked unknown
    return True


def record_table(artifacts: RunArtifacts) -> Table:
    record = artifacts.record or {}
    resources = record.get("resources") or {}
    job = resources.get("job") or (artifacts.ended or {}).get("job") or {}
    spec = artifacts.spec
    times = record.get("timestamps") or {}
    rows = [
        ["Run id", artifacts.run_id],
        ["Run name", str(record.get("runName") or spec.get("name") or "-")],
        ["Status", artifacts.status + ("" if record else " (no run record: it ended before writing one)")],
        ["Base model", str(spec.get("baseModel") or "-")],
        ["Customization", str(spec.get("customizationType") or "-")],
        [
            "Hyperparameters",
            ", ".join(f"{k}={v}" for k, v in (spec.get("hyperParameters") or {}).items()) or "-",
        ],
        ["Job", f"{job.get('jobName') or '-'} ({job.get('status') or '-'})"],
        ["Job ARN", str(job.get("jobArn") or "-")],
        ["Custom model", str(resources.get("customModelArn") or "-")],
        [
            "Evaluation vehicle",
            f"{(resources.get('evaluationVehicle') or {}).get('kind') or '-'}: "
            f"{(resources.get('evaluationVehicle') or {}).get('arn') or '-'}",
        ],
        ["Serving mode", str(resources.get("servingMode") or "-")],
        ["On-demand deployment", str(resources.get("deploymentArn") or "-")],
        ["Provisioned throughput", str(resources.get("provisionedModelArn") or "-")],
        [
            "Throughput",
            f"{resources.get('modelUnits') or '-'} MU, commitment {resources.get('commitment') or '-'}",
        ],
        ["Approver", str(record.get("approver") or "-")],
        ["Started", str(times.get("startedAt") or "-")],
        ["Job created", str(times.get("jobCreatedAt") or "-")],
        ["Job ended", str(times.get("jobEndedAt") or "-")],
        ["Approval requested", str(times.get("approvalRequestedAt") or "-")],
        ["Recorded", str(times.get("recordedAt") or "-")],
        ["Artifacts", artifacts.source],
    ]
    failure = record.get("failure")
    if isinstance(failure, Mapping) and failure.get("Error"):
        rows.insert(3, ["Failure", f"{failure.get('Error')}: {failure.get('Cause')}"])
    promotion = record.get("promotion")
    if isinstance(promotion, Mapping) and promotion.get("sourceRunId"):
        # Its job is the earlier run's: nothing was trained, the model was evaluated anew.
        rows.insert(
            3,
            [
                "Promotion of",
                f"run {promotion['sourceRunId']}'s model (trained by that run; evaluated again by this one)",
            ],
        )
    cleanup = record.get("cleanup") or artifacts.ended
    if isinstance(cleanup, Mapping) and cleanup.get("summary"):
        rows.append(["Cleanup", str(cleanup["summary"])])
    return Table("record-table", ["Field", "Value"], rows)


def datasets_table(record: Mapping[str, Any] | None) -> Table | None:
    items = (record or {}).get("datasets") or []
    if not items:
        return None
    rows = [
        [
            str(d.get("role") or "-"),
            str(d.get("uri") or "-"),
            str(d.get("versionId") or "-"),
            str(d.get("sha256") or d.get("error") or "-"),
            f"{d['bytes']:,}" if isinstance(d.get("bytes"), int) else "-",
        ]
        for d in items
    ]
    return Table("datasets-table", ["Role", "S3 URI", "Version", "SHA-256", "Bytes"], rows, numeric={4})


def prompts_table(rows: Sequence[Mapping[str, Any]], labels: Sequence[tuple[str, str]]) -> Table | None:
    """Per prompt: the reference and each model's answer with its ROUGE-L. ``labels``: (row key, title)."""
    if not rows:
        return None
    table_rows = []
    for number, row in enumerate(rows, start=1):
        cells = [str(number), str(row.get("prompt") or ""), str(row.get("reference") or "")]
        for key, _ in labels:
            answer = row.get(key) or {}
            text = answer.get("error") or answer.get("text") or ""
            cells.append(
                f"{text}\n[ROUGE-L {number_cell(answer.get('rougeL'))}, {ms_cell(answer.get('latencyMs'))}]"
            )
        table_rows.append(cells)
    return Table("prompts-table", ["#", "Prompt", "Reference", *(title for _, title in labels)], table_rows)


def judge_table(verdict: Mapping[str, Any] | None) -> Table | None:
    """Per metric: the judge's mean score of the base model, the serving slot's champion (where it
    was judged) and the custom model, the bars, the verdict."""
    metrics = (verdict or {}).get("metrics") or {}
    if not metrics:
        return None
    with_champion = any(isinstance(e, Mapping) and "champion" in e for e in metrics.values())
    rows = []
    for name, entry in metrics.items():
        bars = [
            f"min {number_cell(entry.get('minScore'))}" if entry.get("minScore") is not None else "",
            f"improvement >= {entry['minImprovementOverBase']:+g}"
            if entry.get("minImprovementOverBase") is not None
            else "",
            f"over champion >= {entry['minImprovementOverChampion']:+g}"
            if entry.get("minImprovementOverChampion") is not None
            else "",
        ]
        barred = any(bars)
        champion = [number_cell(entry.get("champion"))] if with_champion else []
        versus_champion = [diff_cell(entry.get("custom"), entry.get("champion"))] if with_champion else []
        rows.append(
            [
                str(name),
                number_cell(entry.get("base")),
                *champion,
                number_cell(entry.get("custom")),
                diff_cell(entry.get("custom"), entry.get("base")),
                *versus_champion,
                ", ".join(b for b in bars if b) or "none (reported only)",
                ("passed" if entry.get("passed") else "failed") if barred else "-",
            ]
        )
    headers = [
        "Metric",
        "Base model",
        *(["Champion"] if with_champion else []),
        "Custom model",
        "Difference" if not with_champion else "Custom - base",
        *(["Custom - champion"] if with_champion else []),
        "Bar",
        "Verdict",
    ]
    numeric = set(range(1, len(headers) - 2))
    return Table("judge-table", headers, rows, numeric)


def judge_worst_table(verdict: Mapping[str, Any] | None) -> Table | None:
    """The custom model's lowest-scored prompts, with the judge's explanation per metric."""
    worst = (verdict or {}).get("worst") or []
    if not worst:
        return None
    rows = []
    for number, item in enumerate(worst, start=1):
        explained = "\n".join(
            f"{name} {number_cell(score.get('score'))}: {score.get('explanation') or ''}"
            for name, score in (item.get("scores") or {}).items()
        )
        rows.append(
            [str(number), str(item.get("prompt") or ""), number_cell(item.get("meanScore")), explained]
        )
    return Table("judge-worst-table", ["#", "Prompt", "Mean score", "The judge's explanation"], rows, {2})

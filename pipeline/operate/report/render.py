"""The run report people read instead of JSON: one self-contained HTML page, Markdown and PNG charts.

Input is a run's artifacts as the workflow writes them under ``runs/<runId>/`` (record.json,
loss-curves.json, evaluation.json), read from S3 or from a local directory with the same files.
The report follows the run: the loss gate, what the custom model was evaluated on (an on-demand
deployment or an evaluation throughput) and the quality gate's verdict (passed, failed, or not
judged when too many calls failed), the approval, how the model is served (its deployment, or its
provisioned throughput), the smoke check, and what was released.
Charts are drawn once with matplotlib (no pyplot, no global state) and written twice: inline SVG in
the HTML, so the page needs nothing else, and PNG files next to it for the Markdown. An unknown
number is shown as "unknown" and drawn as no bar, never as zero.

matplotlib is a CLI dependency only: no Lambda handler imports this module.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pipeline import scoring
from pipeline.operate import hints, output
from pipeline.operate.errors import InvalidInputError, error_code
from pipeline.plan import RUNS_PREFIX

if TYPE_CHECKING:
    from matplotlib.figure import Figure

RECORD: Final = "record.json"
CURVES: Final = "loss-curves.json"
EVALUATION: Final = "evaluation.json"
JUDGE: Final = "judge.json"  # the LLM judge's verdict (lambdas/judge), only on runs with a judge
ARTIFACTS: Final = (RECORD, CURVES, EVALUATION, JUDGE)
# What every run that got past its start has, even one stopped before it wrote anything else: the
# preflight's report, and (stopped from outside, timed out) what the stopped-run cleanup did.
PREFLIGHT: Final = "preflight.json"
ENDED: Final = tuple(f"ended-{status}.json" for status in ("aborted", "timed_out", "failed"))
LOSS_PNG: Final = "loss-curves.png"
REWARD_PNG: Final = "reward-curve.png"
COMPARISON_PNG: Final = "comparison.png"
PALETTE: Final = ("#2563eb", "#9ca3af", "#d97706", "#059669", "#7c3aed", "#dc2626", "#0891b2", "#4b5563")
_SVG_SALT: Final = "bedrock-customize-report"


# --------------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------------


@dataclass
class RunArtifacts:
    run_id: str
    source: str
    record: dict[str, Any] | None = None
    curves: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = None
    judge: dict[str, Any] | None = None
    preflight: dict[str, Any] | None = None
    ended: dict[str, Any] | None = None
    # The execution's status when the run wrote no record (stopped, or still running).
    execution_status: str | None = None

    @property
    def status(self) -> str:
        record = self.record or {}
        return str(
            record.get("status") or (self.ended or {}).get("status") or self.execution_status or "IN PROGRESS"
        )

    @property
    def spec(self) -> dict[str, Any]:
        spec = (self.record or {}).get("spec") or (self.preflight or {}).get("spec") or {}
        return spec if isinstance(spec, dict) else {}

    @property
    def comparison(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(custom, base) aggregates: from evaluation.json, else from the record's metrics."""
        if self.evaluation:
            return self.evaluation.get("custom"), self.evaluation.get("base")
        metrics = ((self.record or {}).get("metrics") or {}).get("evaluation") or {}
        return metrics.get("custom"), metrics.get("base")


def _read_json_file(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{path} is not a readable JSON document: {exc}") from exc
    if not isinstance(doc, dict):
        raise InvalidInputError(f"{path} must hold a JSON object")
    return doc


def load_dir(directory: str | Path) -> RunArtifacts:
    """A run's artifacts from a local directory (e.g. the bundled examples/report-run/)."""
    path = Path(directory)
    if not path.is_dir():
        raise InvalidInputError(
            f"{path} is not a directory", hint=f"give a directory holding {', '.join(ARTIFACTS)}"
        )
    docs = {name: _read_json_file(path / name) for name in ARTIFACTS}
    if not any(docs.values()):
        raise InvalidInputError(f"{path} holds none of {', '.join(ARTIFACTS)}")
    run_id = next((str(d["runId"]) for d in docs.values() if d and d.get("runId")), path.name)
    return RunArtifacts(run_id, str(path), docs[RECORD], docs[CURVES], docs[EVALUATION], docs[JUDGE])


def load_s3(s3: Any, bucket: str, run_id: str, *, execution_status: str | None = None) -> RunArtifacts:
    """A run's artifacts from s3://<bucket>/runs/<runId>/; missing ones are None.

    Any of them makes a report: a run stopped during training has its preflight report and what
    the stopped-run cleanup did, and the report says that much.
    """
    docs: dict[str, dict[str, Any] | None] = {}
    for name in (*ARTIFACTS, PREFLIGHT, *ENDED):
        docs[name] = _s3_json(s3, bucket, f"{RUNS_PREFIX}{run_id}/{name}")
    source = f"s3://{bucket}/{RUNS_PREFIX}{run_id}/"
    if not any(docs.values()):
        raise InvalidInputError(
            f"run {run_id} has no report artifacts yet under {source}",
            hint="the preflight writes its report first, loss curves appear after training, the "
            "comparison after evaluation, the record when the run ends",
        )
    return RunArtifacts(
        run_id,
        source,
        docs[RECORD],
        docs[CURVES],
        docs[EVALUATION],
        docs[JUDGE],
        preflight=docs[PREFLIGHT],
        ended=next((docs[name] for name in ENDED if docs[name]), None),
        execution_status=execution_status,
    )


def _s3_json(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    with response["Body"] as body:
        doc = json.loads(body.read())
    return doc if isinstance(doc, dict) else None


# --------------------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------------------


def _num(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return output.UNKNOWN
    return f"{value:,.{digits}f}"


def _ms(value: Any) -> str:
    return (
        f"{value:,.0f} ms"
        if isinstance(value, int | float) and not isinstance(value, bool)
        else output.UNKNOWN
    )


def _usd(value: Any) -> str:
    return (
        output.usd(float(value))
        if isinstance(value, int | float) and not isinstance(value, bool)
        else output.UNKNOWN
    )


def _diff(custom: Any, base: Any, digits: int = 3, suffix: str = "") -> str:
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (custom, base)):
        return ""
    return f"{custom - base:+,.{digits}f}{suffix}"


def _get(doc: Mapping[str, Any] | None, *path: str) -> Any:
    value: Any = doc
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


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


# --------------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------------


@dataclass
class Chart:
    element_id: str
    title: str
    caption: str
    svg: str
    png_name: str
    png: bytes


def _render(fig: Figure, element_id: str, title: str, caption: str, png_name: str) -> Chart:
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": _SVG_SALT}):
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
        raw = io.BytesIO()
        fig.savefig(raw, format="png", dpi=144, bbox_inches="tight", metadata={"Software": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    # Scale with the page: drop the fixed size, keep the viewBox.
    svg = re.sub(r'<svg([^>]*?)\swidth="[^"]*"\sheight="[^"]*"', r"<svg\1", svg, count=1)
    svg = svg.replace("<svg", f'<svg role="img" aria-label="{html.escape(title)}"', 1)
    return Chart(element_id, title, caption, svg, png_name, raw.getvalue())


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    fig.patch.set_facecolor("white")
    return fig


def loss_chart(curves: Mapping[str, Any]) -> Chart | None:
    """Training and validation loss per step, with the run's bars as dashed lines."""
    series: list[tuple[str, str, list[float], list[float]]] = []
    for kind in ("training", "validation"):
        items = curves.get(kind) or []
        for index, curve in enumerate(items):
            points = [p for p in curve.get("points") or [] if isinstance(p.get("loss"), int | float)]
            if not points:
                continue
            xs = [
                float(p["step"]) if isinstance(p.get("step"), int | float) else float(i + 1)
                for i, p in enumerate(points)
            ]
            ys = [float(p["loss"]) for p in points]
            label = kind if len(items) == 1 else f"{kind} {index + 1}"
            series.append((kind, label, xs, ys))
    if not series:
        return None
    fig = _new_figure(9, 4.2)
    ax = fig.subplots()
    colors = {"training": PALETTE[0], "validation": PALETTE[2]}
    for kind, label, xs, ys in series:
        if kind == "training":
            ax.plot(xs, ys, color=colors[kind], linewidth=1.6, label=label)
        else:
            ax.plot(xs, ys, color=colors[kind], linewidth=1.6, marker="o", markersize=4, label=label)
    bar = curves.get("bar") or {}
    for key, kind in (("maxTrainingLoss", "training"), ("maxValidationLoss", "validation")):
        value = bar.get(key)
        if isinstance(value, int | float):
            ax.axhline(
                value,
                color=colors[kind],
                linestyle="--",
                linewidth=1,
                alpha=0.8,
                label=f"{kind} bar {value:g}",
            )
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("Training and validation loss per step")
    ax.grid(True, alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False)
    return _render(
        fig,
        "loss-chart",
        "Training and validation loss per step",
        "Loss as the job reported it (step_wise_training_metrics.csv, validation_metrics.csv); "
        "dashed: the run's bar.",
        LOSS_PNG,
    )


def reward_chart(curves: Mapping[str, Any]) -> Chart | None:
    """Reinforcement fine-tuning: the grader's mean reward per step (min-max band where reported).

    None when the training metrics hold no reward column (every other customization type).
    """
    points = [
        p
        for curve in (curves.get("training") or [])[:1]
        for p in curve.get("points") or []
        if isinstance(p.get("reward"), int | float)
    ]
    if not points:
        return None
    xs = [
        float(p["step"]) if isinstance(p.get("step"), int | float) else float(i + 1)
        for i, p in enumerate(points)
    ]
    ys = [float(p["reward"]) for p in points]
    fig = _new_figure(9, 3.6)
    ax = fig.subplots()
    low = [p.get("rewardMin") for p in points]
    high = [p.get("rewardMax") for p in points]
    if all(isinstance(v, int | float) for v in low + high):
        ax.fill_between(xs, low, high, color=PALETTE[3], alpha=0.15, linewidth=0, label="min-max")
    ax.plot(xs, ys, color=PALETTE[3], linewidth=1.6, marker="o", markersize=3, label="mean reward")
    ax.set_xlabel("step")
    ax.set_ylabel("reward")
    ax.set_title("Reward per step (reinforcement fine-tuning)")
    ax.grid(True, alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False)
    return _render(
        fig,
        "reward-chart",
        "Reward per step (reinforcement fine-tuning)",
        "The grader's scores of the answers sampled at each training step, as the job's metrics report "
        "them (critic/rewards/mean, min, max; their place in the job's output files is UNCONFIRMED).",
        REWARD_PNG,
    )


_COMPARISON_PANELS: Final = (
    ("Quality (ROUGE-L, higher is better)", (("quality", ""),), 3),
    ("Latency (ms)", (("latencyMs.p50", "p50"), ("latencyMs.p95", "p95")), 0),
    ("Tokens per request (mean)", (("inputTokens.mean", "in"), ("outputTokens.mean", "out")), 0),
    ("USD per 1,000 requests", (("costPer1000RequestsUsd", ""),), 4),
)


def _metric(aggregate: Mapping[str, Any], path: str) -> float | None:
    value = _get(aggregate, *path.split("."))
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def comparison_chart(
    models: Sequence[tuple[str, Mapping[str, Any]]], *, png_name: str = COMPARISON_PNG
) -> Chart | None:
    """Side by side per model: quality, p50/p95 latency, tokens, cost per 1,000 requests."""
    if not models:
        return None
    fig = _new_figure(11, 3.6)
    axes = fig.subplots(1, len(_COMPARISON_PANELS))
    width = 0.8 / len(models)
    for ax, (title, metrics, digits) in zip(axes, _COMPARISON_PANELS, strict=True):
        positions = range(len(metrics))
        for m_index, (label, aggregate) in enumerate(models):
            for pos, (path, _) in zip(positions, metrics, strict=True):
                x = pos + (m_index - (len(models) - 1) / 2) * width
                value = _metric(aggregate, path)
                color = PALETTE[m_index % len(PALETTE)]
                if value is None:
                    ax.text(
                        x,
                        0,
                        "unknown",
                        rotation=90,
                        ha="center",
                        va="bottom",
                        fontsize=8,
                        color="#374151",
                        fontstyle="italic",
                    )
                    continue
                ax.bar(x, value, width=width * 0.9, color=color, label=label if pos == 0 else None)
                ax.text(x, value, f"{value:,.{digits}f}", ha="center", va="bottom", fontsize=7)
        ax.set_xlim(-0.5, len(metrics) - 0.5)
        ax.set_xticks(list(positions), [name or "" for _, name in metrics])
        if len(metrics) == 1:
            ax.set_xticks([])
        ax.set_title(title, fontsize=9)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=8)
        ax.margins(y=0.2)
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    fig.legend(
        handles, labels, loc="outside lower center", ncols=min(len(labels), 4), frameon=False, fontsize=8
    )
    names = " vs ".join(label for label, _ in models)
    return _render(
        fig,
        "comparison-chart",
        f"Comparison: {names}",
        "Same prompts, same inference settings (temperature 0, 512 tokens max), scored by pipeline.scoring. "
        "No bar = unknown, not zero.",
        png_name,
    )


# --------------------------------------------------------------------------------------------------
# Tables (shared by HTML and Markdown)
# --------------------------------------------------------------------------------------------------


@dataclass
class Table:
    element_id: str
    headers: list[str]
    rows: list[list[str]]
    numeric: set[int] = field(default_factory=set)


def comparison_table(
    models: Sequence[tuple[str, Mapping[str, Any]]], element_id: str = "comparison-table"
) -> Table:
    def row(name: str, fn: Callable[[Mapping[str, Any]], str]) -> list[str]:
        return [name, *(fn(agg) for _, agg in models)]

    rows = [
        row("Model id", lambda a: str(a.get("modelId") or "-")),
        row("Quality (ROUGE-L)", lambda a: _num(a.get("quality"))),
        row("Token F1", lambda a: _num(a.get("tokenF1"))),
        row("Latency p50", lambda a: _ms(_get(a, "latencyMs", "p50"))),
        row("Latency p95", lambda a: _ms(_get(a, "latencyMs", "p95"))),
        row("Input tokens (mean)", lambda a: _num(_get(a, "inputTokens", "mean"), 1)),
        row("Output tokens (mean)", lambda a: _num(_get(a, "outputTokens", "mean"), 1)),
        row("Cost per 1,000 requests", lambda a: _usd(a.get("costPer1000RequestsUsd"))),
        row("Answered / prompts", lambda a: f"{a.get('answered', '?')} / {a.get('prompts', '?')}"),
        row("Failed calls", lambda a: str(a.get("errors", "?"))),
        # Means are over the prompts every compared model answered (pipeline.scoring).
        row("Means over (prompts)", lambda a: str(a.get("paired", "?"))),
        row("Billing", lambda a: _billing(a.get("pricing") or {})),
    ]
    headers = ["Metric", *(label for label, _ in models)]
    if len(models) == 2:
        (_, first), (_, second) = models
        diffs = [
            "",
            _diff(first.get("quality"), second.get("quality")),
            _diff(first.get("tokenF1"), second.get("tokenF1")),
            _diff(_get(first, "latencyMs", "p50"), _get(second, "latencyMs", "p50"), 0, " ms"),
            _diff(_get(first, "latencyMs", "p95"), _get(second, "latencyMs", "p95"), 0, " ms"),
            _diff(_get(first, "inputTokens", "mean"), _get(second, "inputTokens", "mean"), 1),
            _diff(_get(first, "outputTokens", "mean"), _get(second, "outputTokens", "mean"), 1),
            _diff(first.get("costPer1000RequestsUsd"), second.get("costPer1000RequestsUsd"), 4),
            "",
            "",
            "",
            "",
        ]
        headers.append(f"{models[0][0]} - {models[1][0]}")
        for r, d in zip(rows, diffs, strict=True):
            r.append(d)
    return Table(element_id, headers, rows, numeric=set(range(1, len(headers))))


def _billing(pricing: Mapping[str, Any]) -> str:
    kind = pricing.get("kind") or "?"
    if kind == "provisioned":
        hourly = pricing.get("hourlyPerModelUnitUsd")
        rate = f"${hourly:g}/MU-hour" if isinstance(hourly, int | float) else "hourly price unknown"
        return f"provisioned, {pricing.get('modelUnits') or '?'} MU, {rate}"
    inp, out = pricing.get("inputPer1MTokensUsd"), pricing.get("outputPer1MTokensUsd")
    if isinstance(inp, int | float) and isinstance(out, int | float):
        return f"on demand, ${inp:g} / ${out:g} per 1M tokens in/out"
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
            _num(cells.get("training")),
            _num(cells.get("validation")),
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
            _num(final.get("trainingLoss", metrics.get("trainingLoss"))),
            _num(final.get("validationLoss", metrics.get("validationLoss"))),
            "",
        ]
    )
    bar = (curves or {}).get("bar") or {}
    if bar:

        def limit(value: Any) -> str:
            return _num(value) if value is not None else "no bar"

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
            _usd(estimate.get(key)),
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
            cells.append(f"{text}\n[ROUGE-L {_num(answer.get('rougeL'))}, {_ms(answer.get('latencyMs'))}]")
        table_rows.append(cells)
    return Table("prompts-table", ["#", "Prompt", "Reference", *(title for _, title in labels)], table_rows)


def judge_table(verdict: Mapping[str, Any] | None) -> Table | None:
    """Per metric: the judge's mean score of the base and the custom model, the bars, the verdict."""
    metrics = (verdict or {}).get("metrics") or {}
    if not metrics:
        return None
    rows = []
    for name, entry in metrics.items():
        bars = [
            f"min {_num(entry.get('minScore'))}" if entry.get("minScore") is not None else "",
            f"improvement >= {entry['minImprovementOverBase']:+g}"
            if entry.get("minImprovementOverBase") is not None
            else "",
        ]
        barred = any(bars)
        rows.append(
            [
                str(name),
                _num(entry.get("base")),
                _num(entry.get("custom")),
                _diff(entry.get("custom"), entry.get("base")),
                ", ".join(b for b in bars if b) or "none (reported only)",
                ("passed" if entry.get("passed") else "failed") if barred else "-",
            ]
        )
    return Table(
        "judge-table",
        ["Metric", "Base model", "Custom model", "Difference", "Bar", "Verdict"],
        rows,
        {1, 2, 3},
    )


def judge_worst_table(verdict: Mapping[str, Any] | None) -> Table | None:
    """The custom model's lowest-scored prompts, with the judge's explanation per metric."""
    worst = (verdict or {}).get("worst") or []
    if not worst:
        return None
    rows = []
    for number, item in enumerate(worst, start=1):
        explained = "\n".join(
            f"{name} {_num(score.get('score'))}: {score.get('explanation') or ''}"
            for name, score in (item.get("scores") or {}).items()
        )
        rows.append([str(number), str(item.get("prompt") or ""), _num(item.get("meanScore")), explained])
    return Table("judge-worst-table", ["#", "Prompt", "Mean score", "The judge's explanation"], rows, {2})


# --------------------------------------------------------------------------------------------------
# HTML and Markdown
# --------------------------------------------------------------------------------------------------

_CSS: Final = """
:root { color-scheme: light; --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --pass:#047857; --fail:#b91c1c;
  --warn:#b45309; --bg:#f9fafb; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: var(--ink); margin: 0;
  background: var(--bg); line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 60px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 34px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 6px; }
.sub { color: var(--muted); font-size: 13px; margin-bottom: 18px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; }
.card { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .label { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 18px; font-weight: 600; margin-top: 4px; overflow-wrap: anywhere; }
.card .note { font-size: 12px; color: var(--muted); overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: 13px; font-weight: 600;
  color: white; background: var(--muted); vertical-align: middle; white-space: nowrap; }
#decisions-table td:first-child { white-space: nowrap; }
.badge.passed, .badge.SUCCEEDED, .badge.approved { background: var(--pass); }
.badge.failed, .badge.FAILED, .badge.rejected, .badge.TIMED_OUT, .badge.ABORTED,
.badge.not-judged { background: var(--fail); }
table { border-collapse: collapse; width: 100%; background: white; font-size: 13px;
  border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top;
  overflow-wrap: anywhere; }
th { background: #f3f4f6; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.num.text { white-space: normal; }
.table-wrap { max-width: 100%; overflow-x: auto; }
figure { margin: 0 0 14px; background: white; border: 1px solid var(--line); border-radius: 8px;
  padding: 12px; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 12px; color: var(--muted); margin-top: 6px; }
details { margin-top: 10px; } summary { cursor: pointer; color: #1d4ed8; }
pre { background: white; border: 1px solid var(--line); padding: 12px; overflow: auto; font-size: 12px; }
.muted { color: var(--muted); font-size: 12px; }
#prompts-table td:first-child, #loss-table td:first-child,
#comparison-table td:first-child, #serving-table td:first-child { white-space: nowrap; }
"""


# The longest cell of a numeric column kept on one line ("$1,234,567.89", "12,345 ms", "16 / 16").
_NUMBER_WIDTH: Final = 16


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headers)
    body = []
    for row in table.rows:
        cells = []
        for i, cell in enumerate(row):
            # A number stays on one line; text in a column of numbers (a model id, how it is
            # billed) wraps, or the table would be wider than the page (the comparison was).
            css = (
                (' class="num"' if len(cell) <= _NUMBER_WIDTH else ' class="num text"')
                if i in table.numeric
                else ""
            )
            text = html.escape(cell).replace("\n", "<br>")
            if table.element_id == "decisions-table" and i == 1:
                text = f'<span class="badge {html.escape(cell.replace(" ", "-"))}">{text}</span>'
            cells.append(f"<td{css}>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="table-wrap"><table id="{table.element_id}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _html_chart(chart: Chart | None, missing: str) -> str:
    if chart is None:
        return f'<p class="muted">{html.escape(missing)}</p>'
    return (
        f'<figure id="{chart.element_id}" class="chart">{chart.svg}'
        f"<figcaption>{html.escape(chart.caption)} PNG: {html.escape(chart.png_name)}</figcaption></figure>"
    )


def _card(label: str, value: str, note: str = "") -> str:
    return (
        f'<div class="card"><div class="label">{html.escape(label)}</div>'
        f'<div class="value">{html.escape(value)}</div>'
        + (f'<div class="note">{html.escape(note)}</div>' if note else "")
        + "</div>"
    )


def _md_table(table: Table) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", "<br>")

    lines = [
        "| " + " | ".join(cell(h) for h in table.headers) + " |",
        "|" + "|".join("---:" if i in table.numeric else "---" for i in range(len(table.headers))) + "|",
    ]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines)


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        # Self-contained by construction: the page may load nothing from anywhere.
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><main>{body}</main></body></html>\n"
    )


@dataclass
class Written:
    html: Path
    markdown: Path
    pngs: list[Path]

    def to_dict(self) -> dict[str, Any]:
        return {"html": str(self.html), "markdown": str(self.markdown), "png": [str(p) for p in self.pngs]}


def _write(out_dir: Path, stem: str, page: str, markdown: str, charts: Sequence[Chart | None]) -> Written:
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / f"{stem}.html"
    md_path = out_dir / f"{stem}.md"
    html_path.write_text(page, encoding="utf-8")
    md_path.write_text(markdown, encoding="utf-8")
    pngs = []
    for chart in charts:
        if chart is not None:
            path = out_dir / chart.png_name
            path.write_bytes(chart.png)
            pngs.append(path)
    return Written(html_path, md_path, pngs)


def _vehicle_kind(record: Mapping[str, Any], evaluation: Mapping[str, Any] | None) -> str | None:
    kind = ((record.get("resources") or {}).get("evaluationVehicle") or {}).get("kind")
    return str(kind or (evaluation or {}).get("vehicle") or "") or None


def _vehicle_note(record: Mapping[str, Any], evaluation: Mapping[str, Any] | None) -> str:
    """Where the custom model answered, and the rule that turns failed calls into "not judged"."""
    kind = _vehicle_kind(record, evaluation)
    if kind not in ("deployment", "throughput"):
        return ""
    where = (
        "an on-demand deployment"
        if kind == "deployment"
        else "a provisioned throughput bought to evaluate on"
    )
    share = (evaluation or {}).get("maxFailedShare")
    limit = f"{share:.0%}" if isinstance(share, int | float) else "10%"
    return (
        f"The custom model answered on {where}; the base model on demand. Every mean is over the "
        "prompts both models answered (a failed call counts for neither model, and is counted apart). "
        f"When more than {limit} of either model's calls fail, the quality gate says not judged "
        "instead of comparing."
    )


def _evaluated_card(record: Mapping[str, Any], evaluation: Mapping[str, Any] | None) -> str:
    kind = _vehicle_kind(record, evaluation)
    estimate = record.get("estimate") or {}
    label = {
        "deployment": "on-demand deployment",
        "throughput": "evaluation throughput",
        "none": "nothing",
    }.get(kind or "", kind or "-")
    note = (
        f"evaluation estimate {_usd(estimate.get('evaluationUsd'))}"
        if kind in ("deployment", "throughput")
        else ""
    )
    return _card("Evaluated on", label, note)


def _serving_card(record: Mapping[str, Any]) -> str:
    estimate = record.get("estimate") or {}
    mode = (record.get("resources") or {}).get("servingMode") or estimate.get("servingMode")
    if mode == "on-demand":
        return _card("Serving", "on demand", "billed per token, no hourly charge")
    if mode == "none":
        return _card("Serving", "not served")
    return _card(
        "Serving throughput per hour", _usd(estimate.get("throughputHourlyUsd")), "billed until deleted"
    )


def render_run(artifacts: RunArtifacts, out_dir: str | Path, *, now: dt.datetime | None = None) -> Written:
    """Write report.html, report.md and the PNG charts of one run into ``out_dir``."""
    record = artifacts.record or {}
    spec = artifacts.spec
    custom, base = artifacts.comparison
    models = [(label, agg) for label, agg in (("custom", custom), ("base", base)) if isinstance(agg, Mapping)]
    loss = loss_chart(artifacts.curves) if artifacts.curves else None
    reward = reward_chart(artifacts.curves) if artifacts.curves else None
    comparison = comparison_chart(models)
    generated = output.utc(now or dt.datetime.now(dt.UTC))
    status = artifacts.status

    decisions = decisions_table(artifacts)
    losses = loss_table(artifacts.curves, record)
    compared = comparison_table(models) if models else None
    cost = cost_table(record)
    served = serving_table(record)
    facts = record_table(artifacts)
    datasets = datasets_table(record)
    prompts = prompts_table(
        (artifacts.evaluation or {}).get("rows") or [], [("custom", "Custom model"), ("base", "Base model")]
    )
    final = (artifacts.curves or {}).get("final") or {}
    metrics = record.get("metrics") or {}
    estimate = record.get("estimate") or {}
    cards = [
        _card("Status", status, str((record.get("failure") or {}).get("Error") or "")),
        _card("Base model", str(spec.get("baseModel") or "-"), str(spec.get("customizationType") or "")),
        _card("Training loss", _num(final.get("trainingLoss", metrics.get("trainingLoss")))),
        _card("Validation loss", _num(final.get("validationLoss", metrics.get("validationLoss")))),
        _card(
            "Quality custom / base",
            f"{_num((custom or {}).get('quality'))} / {_num((base or {}).get('quality'))}",
            "ROUGE-L against the reference answers",
        ),
        _card(
            "Per 1,000 requests custom / base",
            f"{_usd((custom or {}).get('costPer1000RequestsUsd'))} / "
            f"{_usd((base or {}).get('costPer1000RequestsUsd'))}",
        ),
        _card("Training (estimate)", _usd(estimate.get("trainingUsd"))),
        _evaluated_card(record, artifacts.evaluation),
        _serving_card(record),
    ]
    missing_loss = "No loss curves: the job has not finished, or it wrote no metrics files."
    missing_cmp = "No base-vs-custom comparison: the run did not reach the evaluation."
    vehicle_note = _vehicle_note(record, artifacts.evaluation)
    body = [
        f"<h1>Run {html.escape(artifacts.run_id)} "
        f'<span class="badge {html.escape(status)}">{html.escape(status)}</span></h1>',
        f'<div class="sub">Bedrock model customization report, generated {html.escape(generated)} from '
        f"{html.escape(artifacts.source)}</div>",
        f'<section id="summary"><div class="cards">{"".join(cards)}</div></section>',
        '<section id="decisions"><h2>Gates and decisions</h2>' + _html_table(decisions) + "</section>",
        '<section id="loss"><h2>Loss curves</h2>'
        + _html_chart(loss, missing_loss)
        + (_html_chart(reward, "") if reward else "")
        + _html_table(losses)
        + "</section>",
        '<section id="comparison"><h2>Base model vs custom model</h2>'
        + (f'<p class="muted">{html.escape(vehicle_note)}</p>' if vehicle_note else "")
        + _html_chart(comparison, missing_cmp)
        + (_html_table(compared) if compared else "")
        + (
            f'<p class="muted">{html.escape(scoring.QUALITY_DESCRIPTION)}. '
            f"Percentiles: {scoring.PERCENTILE_METHOD}. "
            f"{html.escape(scoring.PT_COST_ASSUMPTION)}.</p>"
        )
        + "</section>",
    ]
    judged = judge_table(artifacts.judge)
    worst = judge_worst_table(artifacts.judge)
    judge_summary = str((artifacts.judge or {}).get("summary") or "")
    if judged:
        body.append(
            '<section id="judge"><h2>Judged by an LLM</h2>'
            + f'<p class="muted">{html.escape(judge_summary)}</p>'
            + _html_table(judged)
            + ("<h3>Where the custom model scored lowest</h3>" + _html_table(worst) if worst else "")
            + '<p class="muted">Scores from a Bedrock evaluation job per model (0 to 1, mean over the '
            "prompts both models answered); the judge's explanations come from its result files.</p>"
            + "</section>"
        )
    if prompts:
        count = len(prompts.rows)
        body.append(
            f'<section id="prompts"><h2>Answers per prompt</h2><details{" open" if count <= 20 else ""}>'
            f"<summary>{count} prompts</summary>{_html_table(prompts)}</details></section>"
        )
    if served:
        body.append(
            '<section id="serving"><h2>Evaluation vehicle and serving</h2>'
            + _html_table(served)
            + "</section>"
        )
    if cost:
        body.append('<section id="cost"><h2>Cost estimate</h2>' + _html_table(cost) + "</section>")
    body.append('<section id="record"><h2>Run record</h2>' + _html_table(facts))
    if datasets:
        body.append("<h3>Datasets (as trained on)</h3>" + _html_table(datasets))
    raw = {name: doc for name, doc in ((RECORD, artifacts.record),) if doc}
    if raw:
        body.append(
            "<details><summary>record.json</summary><pre>"
            + html.escape(json.dumps(artifacts.record, indent=2, ensure_ascii=False))
            + "</pre></details>"
        )
    body.append("</section>")
    page = _page(f"Run {artifacts.run_id}", "\n".join(body))

    md = [
        f"# Run {artifacts.run_id}: {status}",
        "",
        f"Bedrock model customization report, generated {generated} from {artifacts.source}.",
        "",
        "## Gates and decisions",
        "",
        _md_table(decisions),
        "",
        "## Loss curves",
        "",
        f"![Training and validation loss per step]({LOSS_PNG})" if loss else missing_loss,
        "",
        *([f"![Reward per step]({REWARD_PNG})", ""] if reward else []),
        _md_table(losses),
        "",
        "## Base model vs custom model",
        "",
        *([vehicle_note, ""] if vehicle_note else []),
        f"![Base vs custom]({COMPARISON_PNG})" if comparison else missing_cmp,
        "",
    ]
    if compared:
        md += [
            _md_table(compared),
            "",
            f"{scoring.QUALITY_DESCRIPTION}. {scoring.PT_COST_ASSUMPTION}.",
            "",
        ]
    if judged:
        md += ["## Judged by an LLM", "", judge_summary, "", _md_table(judged), ""]
        if worst:
            md += ["### Where the custom model scored lowest", "", _md_table(worst), ""]
    if prompts:
        md += ["## Answers per prompt", "", _md_table(prompts), ""]
    if served:
        md += ["## Evaluation vehicle and serving", "", _md_table(served), ""]
    if cost:
        md += ["## Cost estimate", "", _md_table(cost), ""]
    md += ["## Run record", "", _md_table(facts), ""]
    if datasets:
        md += ["### Datasets", "", _md_table(datasets), ""]
    return _write(Path(out_dir), "report", page, "\n".join(md), [loss, reward, comparison])


def render_comparison(
    title: str,
    models: Sequence[tuple[str, Mapping[str, Any]]],
    prompt_rows: Sequence[Mapping[str, Any]],
    notes: Mapping[str, Sequence[str]],
    out_dir: str | Path,
    *,
    source: str,
    now: dt.datetime | None = None,
) -> Written:
    """Write compare.html, compare.md and compare.png for ``bedrock-customize compare``."""
    chart = comparison_chart(models, png_name="compare.png")
    table = comparison_table(models)
    prompts = prompts_table(prompt_rows, [(label, label) for label, _ in models])
    note_rows = [[label, "\n".join(items)] for label, items in notes.items()]
    notes_table = Table("notes-table", ["Model", "Capabilities and notes (catalog)"], note_rows)
    generated = output.utc(now or dt.datetime.now(dt.UTC))
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f'<div class="sub">Generated {html.escape(generated)} from prompts {html.escape(source)}</div>',
        '<section id="comparison"><h2>Side by side</h2>'
        + _html_chart(chart, "no results")
        + _html_table(table)
        + "</section>",
        '<section id="notes"><h2>Capabilities</h2>' + _html_table(notes_table) + "</section>",
    ]
    if prompts:
        body.append(
            f'<section id="prompts"><h2>Answers per prompt</h2><details><summary>{len(prompts.rows)} prompts'
            f"</summary>{_html_table(prompts)}</details></section>"
        )
    md = [
        f"# {title}",
        "",
        f"Generated {generated} from prompts {source}.",
        "",
        "![Comparison](compare.png)",
        "",
        _md_table(table),
        "",
        "## Capabilities",
        "",
        _md_table(notes_table),
        "",
    ]
    if prompts:
        md += ["## Answers per prompt", "", _md_table(prompts), ""]
    return _write(Path(out_dir), "compare", _page(title, "\n".join(body)), "\n".join(md), [chart])

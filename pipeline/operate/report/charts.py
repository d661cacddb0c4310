"""The report's charts: loss per step, reward per step (reinforcement fine-tuning), base against custom
model. Drawn once with matplotlib (no pyplot, no global state) and kept twice: inline SVG for the
HTML page and PNG for the Markdown. An unknown number is drawn as no bar, never as zero.

matplotlib is imported only when a chart is drawn (a CLI dependency; no Lambda handler imports it).
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from pipeline.operate.report.cells import lookup

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LOSS_PNG: Final = "loss-curves.png"
REWARD_PNG: Final = "reward-curve.png"
COMPARISON_PNG: Final = "comparison.png"
PALETTE: Final = ("#2563eb", "#9ca3af", "#d97706", "#059669", "#7c3aed", "#dc2626", "#0891b2", "#4b5563")
_SVG_SALT: Final = "bedrock-customize-report"


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
    value = lookup(aggregate, *path.split("."))
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

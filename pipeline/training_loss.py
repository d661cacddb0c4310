"""Training and validation loss of a customization job: the metrics CSVs, loss curves, the loss gate.

Bedrock writes two CSV files under the job's output prefix [UG:model-customization-analyze]:

- ``step_wise_training_metrics.csv``: ``step_number, epoch_number, training_loss, perplexity``
- ``validation_metrics.csv``: the same with ``validation_loss``

Where they land differs by model (``training_artifacts/``, ``validation_artifacts/``,
``validation_artifacts/post_fine_tuning_validation/validation/`` ...), so files are picked out of a
listing of the prefix by *file name*, never by path.

``GetModelCustomizationJob`` also reports the final ``trainingMetrics.trainingLoss`` and one
``validationMetrics[i].validationLoss`` per validator; those are preferred, and the last CSV point is
the fallback when the API leaves them out.

Pure: no I/O. The evaluate_loss handler lists and reads S3 and calls Bedrock.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

TRAINING: Final = "training"
VALIDATION: Final = "validation"

# Documented file names [UG:model-customization-analyze]; matched case-insensitively on the last
# path segment.
METRICS_FILES: Final = {
    "step_wise_training_metrics.csv": TRAINING,
    "validation_metrics.csv": VALIDATION,
}

# Column names after normalization (lower case, spaces and dashes turned into underscores).
# The first name of each tuple is documented [UG:model-customization-analyze]; every other name is
# UNCONFIRMED: accepted because AWS sample notebooks and other trainers spell them so, and a renamed
# column should not turn a good run into "loss unknown".
_STEP_COLUMNS: Final = ("step_number", "step", "global_step", "steps")
_EPOCH_COLUMNS: Final = ("epoch_number", "epoch")
_LOSS_COLUMNS: Final = {
    TRAINING: ("training_loss", "train_loss", "loss"),
    VALIDATION: ("validation_loss", "val_loss", "eval_loss", "loss"),
}
# Reinforcement fine-tuning reports rewards per step ("Training reward statistics"; metric names
# critic/rewards/mean, .../min, .../max [UG:rft-submit-job]). That an RFT job writes them as columns of
# step_wise_training_metrics.csv, and under which names, is UNCONFIRMED: the guide names the metrics,
# not the files. The documented metric name comes first, then common spellings.
_REWARD_COLUMNS: Final = (
    "critic/rewards/mean",
    "rewards/mean",
    "reward_mean",
    "mean_reward",
    "train_reward",
    "reward",
)
_REWARD_MIN_COLUMNS: Final = ("critic/rewards/min", "rewards/min", "reward_min", "min_reward")
_REWARD_MAX_COLUMNS: Final = ("critic/rewards/max", "rewards/max", "reward_max", "max_reward")
# The validation perplexity column's name is itself UNCONFIRMED (the guide says "the same columns").
_PERPLEXITY_COLUMNS: Final = {
    TRAINING: ("perplexity", "training_perplexity", "train_perplexity", "ppl"),
    VALIDATION: ("perplexity", "validation_perplexity", "val_perplexity", "eval_perplexity", "ppl"),
}

FROM_API: Final = "GetModelCustomizationJob"
FROM_CSV: Final = "last point of the metrics CSV"


class MetricsFormatError(ValueError):
    """A metrics file without a recognizable loss column."""


@dataclass(frozen=True)
class LossPoint:
    step: int | None
    epoch: float | None
    loss: float
    perplexity: float | None
    # Reinforcement fine-tuning: the step's mean (and min, max) reward, when the file has them.
    reward: float | None = None
    reward_min: float | None = None
    reward_max: float | None = None

    def to_dict(self) -> dict[str, Any]:
        epoch: float | int | None = self.epoch
        if epoch is not None and float(epoch).is_integer():
            epoch = int(epoch)
        point: dict[str, Any] = {
            "step": self.step,
            "epoch": epoch,
            "loss": self.loss,
            "perplexity": self.perplexity,
        }
        if self.reward is not None:
            point |= {"reward": self.reward, "rewardMin": self.reward_min, "rewardMax": self.reward_max}
        return point


@dataclass(frozen=True)
class LossCurve:
    """One metrics file: its points in step order and what was skipped on the way."""

    kind: str
    source: str
    points: tuple[LossPoint, ...]
    columns: tuple[str, ...] = ()
    skipped_rows: int = 0

    @property
    def last(self) -> float | None:
        return self.points[-1].loss if self.points else None

    @property
    def has_reward(self) -> bool:
        return any(p.reward is not None for p in self.points)

    @property
    def last_reward(self) -> float | None:
        rewards = [p.reward for p in self.points if p.reward is not None]
        return rewards[-1] if rewards else None

    def by_epoch(self) -> list[dict[str, Any]]:
        """Mean loss per epoch: step losses are noisy, the per-epoch mean shows the trend."""
        groups: dict[float, list[float]] = {}
        for point in self.points:
            if point.epoch is not None:
                groups.setdefault(point.epoch, []).append(point.loss)
        return [
            {"epoch": int(e) if e.is_integer() else e, "meanLoss": sum(v) / len(v), "points": len(v)}
            for e, v in sorted(groups.items())
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "columns": list(self.columns),
            "skippedRows": self.skipped_rows,
            "last": self.last,
            "byEpoch": self.by_epoch(),
            **({"lastReward": self.last_reward} if self.has_reward else {}),
            "points": [p.to_dict() for p in self.points],
        }


def _normalize(name: str) -> str:
    return name.strip().lstrip("\ufeff").strip().lower().replace(" ", "_").replace("-", "_")


def _pick(columns: Sequence[str], candidates: Iterable[str]) -> int | None:
    for candidate in candidates:
        if candidate in columns:
            return columns.index(candidate)
    return None


def _number(cells: Sequence[str], index: int | None) -> float | None:
    if index is None or index >= len(cells):
        return None
    try:
        value = float(cells[index])
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_metrics_csv(text: str, kind: str, source: str = "") -> LossCurve:
    """Parse one metrics CSV. Rows whose loss is missing, not a number or not finite are skipped
    (and counted), because a half-written last line must not hide the rest of the curve.
    """
    if kind not in _LOSS_COLUMNS:
        raise ValueError(f"kind must be {TRAINING!r} or {VALIDATION!r}, got {kind!r}")
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise MetricsFormatError(f"{source or kind + ' metrics'}: the file is empty")
    columns = [_normalize(c) for c in rows[0]]
    loss_at = _pick(columns, _LOSS_COLUMNS[kind])
    if loss_at is None:
        raise MetricsFormatError(
            f"{source or kind + ' metrics'}: no loss column; expected one of "
            f"{', '.join(_LOSS_COLUMNS[kind])}, found {', '.join(columns) or 'none'}"
        )
    step_at = _pick(columns, _STEP_COLUMNS)
    epoch_at = _pick(columns, _EPOCH_COLUMNS)
    perplexity_at = _pick(columns, _PERPLEXITY_COLUMNS[kind])
    reward_at = _pick(columns, _REWARD_COLUMNS) if kind == TRAINING else None
    reward_min_at = _pick(columns, _REWARD_MIN_COLUMNS) if reward_at is not None else None
    reward_max_at = _pick(columns, _REWARD_MAX_COLUMNS) if reward_at is not None else None
    points: list[LossPoint] = []
    skipped = 0
    for cells in rows[1:]:
        loss = _number(cells, loss_at)
        if loss is None:
            skipped += 1
            continue
        step = _number(cells, step_at)
        points.append(
            LossPoint(
                step=int(step) if step is not None else None,
                epoch=_number(cells, epoch_at),
                loss=loss,
                perplexity=_number(cells, perplexity_at),
                reward=_number(cells, reward_at),
                reward_min=_number(cells, reward_min_at),
                reward_max=_number(cells, reward_max_at),
            )
        )
    if all(p.step is not None for p in points):
        # Stable: equal steps (one row per validator, say) keep their file order.
        points.sort(key=lambda p: p.step if p.step is not None else 0)
    return LossCurve(kind, source, tuple(points), tuple(columns), skipped)


def classify_metrics_key(key: str) -> str | None:
    """TRAINING or VALIDATION if the object is one of the metrics files, by its file name alone."""
    return METRICS_FILES.get(key.rsplit("/", 1)[-1].lower())


def job_id_from_arn(job_arn: str) -> str:
    """``arn:...:model-customization-job/<base model>/<id>`` → ``<id>``, the name of its output folder."""
    return job_arn.rstrip("/").rsplit("/", 1)[-1]


def find_metrics_files(keys: Iterable[str], job_arn: str | None = None) -> dict[str, list[str]]:
    """The training and validation metrics files in a listing, sorted by key.

    When some files sit under this job's own folder (``model-customization-job-<id>/``), only those
    count: a re-used output prefix may hold another job's metrics.
    """
    found: dict[str, list[str]] = {TRAINING: [], VALIDATION: []}
    for key in keys:
        kind = classify_metrics_key(key)
        if kind is not None:
            found[kind].append(key)
    if job_arn:
        marker = f"model-customization-job-{job_id_from_arn(job_arn)}/"
        for kind, matched in found.items():
            own = [k for k in matched if marker in k]
            if own:
                found[kind] = own
    return {kind: sorted(matched) for kind, matched in found.items()}


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def api_losses(job: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """Final (training, validation) loss as GetModelCustomizationJob reports them.

    With several validators the *highest* validation loss is the one judged: a model that does
    badly on any validation set should not pass the bar.
    """
    training = _finite((job.get("trainingMetrics") or {}).get("trainingLoss"))
    validation_values = [
        v
        for v in (_finite(item.get("validationLoss")) for item in job.get("validationMetrics") or [] if item)
        if v is not None
    ]
    return training, (max(validation_values) if validation_values else None)


@dataclass(frozen=True)
class ResolvedLosses:
    training: float | None
    training_source: str | None
    validation: float | None
    validation_source: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "trainingLoss": self.training,
            "trainingLossSource": self.training_source,
            "validationLoss": self.validation,
            "validationLossSource": self.validation_source,
        }


def resolve_losses(job: Mapping[str, Any], curves: Iterable[LossCurve]) -> ResolvedLosses:
    """The API's final losses where it gives them, else the last point of the CSV curves."""
    training, validation = api_losses(job)
    training_source = FROM_API if training is not None else None
    validation_source = FROM_API if validation is not None else None
    curve_list = list(curves)
    if training is None:
        lasts = [c.last for c in curve_list if c.kind == TRAINING and c.last is not None]
        if lasts:
            # Several training files would only come from a shared prefix; the first by key is used.
            training, training_source = lasts[0], FROM_CSV
    if validation is None:
        lasts = [c.last for c in curve_list if c.kind == VALIDATION and c.last is not None]
        if lasts:
            validation, validation_source = max(lasts), FROM_CSV
    return ResolvedLosses(training, training_source, validation, validation_source)


@dataclass(frozen=True)
class LossBar:
    """The run spec's loss bar: a maximum per loss, ``None`` = not judged."""

    max_training_loss: float | None = None
    max_validation_loss: float | None = None

    @classmethod
    def from_plan(cls, evaluation: Mapping[str, Any] | None) -> LossBar:
        evaluation = evaluation or {}
        return cls(
            _optional_float(evaluation.get("maxTrainingLoss")),
            _optional_float(evaluation.get("maxValidationLoss")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"maxTrainingLoss": self.max_training_loss, "maxValidationLoss": self.max_validation_loss}


def _optional_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    return float(value)


def fmt_number(value: float, other: float | None = None) -> str:
    """A loss as people read it (two decimals), with more digits only when needed to tell it from
    ``other`` (so a loss just above the bar never reads as equal to it).
    """
    for decimals in range(2, 7):
        text = f"{value:.{decimals}f}"
        if other is None or value == other or text != f"{other:.{decimals}f}":
            return text
    return repr(value)


def _judge(name: str, value: float | None, bar: float | None, unknown_why: str) -> tuple[bool, str]:
    if bar is None:
        shown = fmt_number(value) if value is not None else "unknown"
        return True, f"{name} {shown} (no bar set)"
    if value is None:
        return False, (
            f"{name} is unknown ({unknown_why}), so it cannot be checked against the bar "
            f"{fmt_number(bar)}; nothing is bought on unknown quality"
        )
    if value > bar:
        return False, f"{name} {fmt_number(value, bar)} is above the bar {fmt_number(bar, value)}"
    return True, f"{name} {fmt_number(value, bar)} is within the bar {fmt_number(bar, value)}"


def decide_loss(bar: LossBar, training_loss: float | None, validation_loss: float | None) -> tuple[bool, str]:
    """The loss gate: every loss with a bar must be known and at most the bar (equal passes)."""
    checks = [
        _judge(
            "training loss",
            training_loss,
            bar.max_training_loss,
            "GetModelCustomizationJob gave no trainingLoss and no step_wise_training_metrics.csv was found",
        ),
        _judge(
            "validation loss",
            validation_loss,
            bar.max_validation_loss,
            "GetModelCustomizationJob gave no validationLoss and no validation_metrics.csv was found",
        ),
    ]
    passed = all(ok for ok, _ in checks)
    # Failures first, then the other judged losses, then those without a bar: the summary becomes
    # the run's failure cause and is read top-down.
    ordered = [text for ok, text in sorted(checks, key=lambda c: (c[0], c[1].endswith("(no bar set)")))]
    verdict = "Loss within the bar" if passed else "Loss gate failed"
    return passed, f"{verdict}: {'; '.join(ordered)}."


def job_problem(status: str | None, failure_message: str | None = None) -> str | None:
    """Why the job's losses cannot be judged, or None for a Completed job."""
    if status == "Completed":
        return None
    if status in ("Failed", "Stopped", "Stopping"):
        detail = f": {failure_message}" if failure_message and status == "Failed" else ""
        return f"customization job ended {status}{detail}"
    state = status or "in an unknown state"
    return f"customization job is {state}, not Completed; its loss cannot be judged yet"


@dataclass
class CurveSet:
    """Every curve found for a job, and the files that could not be read as curves."""

    curves: list[LossCurve] = field(default_factory=list)
    unreadable: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            TRAINING: [c.to_dict() for c in self.curves if c.kind == TRAINING],
            VALIDATION: [c.to_dict() for c in self.curves if c.kind == VALIDATION],
            "unreadable": list(self.unreadable),
        }

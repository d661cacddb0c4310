"""How answers are scored and models compared: deterministic, documented, no third-party code.

Quality
    Every answer is compared with the reference answer after the same normalization:
    Unicode NFKC, case folding, punctuation and symbols dropped, split into words; each Han, kana or
    Hangul character counts as one word (those scripts do not separate words with spaces).
    English articles are *not* removed (unlike SQuAD), so the score means the same in every language.

    - ``tokenF1``: harmonic mean of precision and recall of the answer's words against the
      reference's, counting repeats (multiset overlap), as in the SQuAD evaluation.
    - ``rougeL``: ROUGE-L F-measure (β = 1): precision and recall of the longest common subsequence
      of words, so word order counts, unlike tokenF1.
    - ``quality`` = ``rougeL``. Both empty scores 1.0; exactly one empty scores 0.0 (an empty
      answer is an answer, and a bad one).

Paired prompts
    Models are compared on the same prompts: quality, latency and token means are computed over
    the prompts *every* compared model answered (:func:`answered`: its call returned, no error).
    A prompt one model failed to answer is left out of every model's means, so a base model that
    errors on some prompts hands the custom model no free improvement (and the reverse); the error
    counts are reported beside the means. More than a small share of failed calls for any model
    and the comparison is "not judged" at all (pipeline.evaluation). The LLM judge takes the same
    prompts (pipeline.judge): one rule, :func:`answered_by_all`.

Latency percentiles
    Nearest-rank: the p-th percentile of n sorted values is the value at rank ceil(p/100 * n) (1-based).
    It is always an observed value, and p50/p95 of a handful of prompts stay honest.

Cost per 1,000 requests (USD; ``None`` when a price is unknown, never 0)
    - On-demand (the base model): (mean input tokens * input price + mean output tokens * output
      price) per token * 1,000.
    - Provisioned Throughput (the custom model): hourly price per model unit * model units *
      (1,000 * mean latency in seconds / 3,600). This assumes the capacity serves requests one after
      another at full utilization with no idle time; real traffic with idle hours costs more per
      request, and concurrent requests may cost less. It makes the two models comparable per
      request, not a bill forecast.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

QUALITY_METRIC: Final = "rougeL"
QUALITY_DESCRIPTION: Final = "ROUGE-L F-measure of words against the reference answer (0-1, higher is better)"
PERCENTILE_METHOD: Final = "nearest-rank"
PT_COST_ASSUMPTION: Final = (
    "provisioned cost per 1,000 requests assumes one request after another at full utilization "
    "(hourly price x model units x 1,000 x mean latency / 3,600 s)"
)

# Scripts written without spaces between words: one character = one token.
_CJK: Final = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN_RE: Final = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")


def normalize(text: str) -> str:
    """NFKC, case-folded, punctuation and symbols replaced by spaces, whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in folded)
    return " ".join(kept.split())


def tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(normalize(text))


def _f_measure(overlap: int, predicted: int, reference: int) -> float:
    if predicted == 0 and reference == 0:
        return 1.0
    if overlap == 0:
        return 0.0
    precision = overlap / predicted
    recall = overlap / reference
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, reference: str) -> float:
    predicted, expected = tokens(prediction), tokens(reference)
    overlap = sum((Counter(predicted) & Counter(expected)).values())
    return _f_measure(overlap, len(predicted), len(expected))


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Longest common subsequence, O(len(a) * len(b)) time and O(len(b)) memory."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, reference: str) -> float:
    predicted, expected = tokens(prediction), tokens(reference)
    return _f_measure(lcs_length(predicted, expected), len(predicted), len(expected))


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (see the module docstring); None for no values."""
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0-100, got {p}")
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class Observation:
    """One model's answer to one prompt, as measured; ``error`` set means it gave none."""

    quality: float
    token_f1: float
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    error: str | None = None

    @classmethod
    def failed(cls, error: str) -> Observation:
        return cls(quality=0.0, token_f1=0.0, error=error)


@dataclass(frozen=True)
class Pricing:
    """How a model is billed, with ``None`` for every price not known."""

    kind: str  # "on-demand" | "provisioned"
    input_per_1m_tokens: float | None = None
    output_per_1m_tokens: float | None = None
    hourly_per_model_unit: float | None = None
    model_units: int | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "inputPer1MTokensUsd": self.input_per_1m_tokens,
            "outputPer1MTokensUsd": self.output_per_1m_tokens,
            "hourlyPerModelUnitUsd": self.hourly_per_model_unit,
            "modelUnits": self.model_units,
            "source": self.source,
        }


def on_demand_cost_per_1000(
    mean_input_tokens: float | None,
    mean_output_tokens: float | None,
    input_per_1m: float | None,
    output_per_1m: float | None,
) -> float | None:
    if None in (mean_input_tokens, mean_output_tokens, input_per_1m, output_per_1m):
        return None
    assert mean_input_tokens is not None and mean_output_tokens is not None
    assert input_per_1m is not None and output_per_1m is not None
    per_request = mean_input_tokens * input_per_1m / 1e6 + mean_output_tokens * output_per_1m / 1e6
    return per_request * 1000


def provisioned_cost_per_1000(
    hourly_per_model_unit: float | None, model_units: int | None, mean_latency_ms: float | None
) -> float | None:
    if hourly_per_model_unit is None or model_units is None or mean_latency_ms is None:
        return None
    busy_hours = 1000 * (mean_latency_ms / 1000) / 3600
    return hourly_per_model_unit * model_units * busy_hours


def cost_per_1000(
    pricing: Pricing, mean_input: float | None, mean_output: float | None, mean_latency: float | None
) -> float | None:
    if pricing.kind == "provisioned":
        return provisioned_cost_per_1000(pricing.hourly_per_model_unit, pricing.model_units, mean_latency)
    return on_demand_cost_per_1000(
        mean_input, mean_output, pricing.input_per_1m_tokens, pricing.output_per_1m_tokens
    )


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return round(value, digits) if value is not None else None


def answered(answer: Observation | Mapping[str, Any] | None) -> bool:
    """Whether a model answered a prompt: its call returned (no error). The one rule for the means
    of a comparison and for the prompts the LLM judge sees."""
    if isinstance(answer, Observation):
        return answer.error is None
    return isinstance(answer, Mapping) and answer.get("error") is None


def answered_by_all(row: Mapping[str, Any], models: Sequence[str]) -> bool:
    """Whether every model of ``models`` answered this comparison row (``row[model]`` holds its answer)."""
    return all(answered(row.get(model)) for model in models)


def paired(observed: Mapping[str, Sequence[Observation]]) -> list[bool]:
    """Per prompt, whether every model answered it (the models' observations are in prompt order)."""
    columns = list(observed.values())
    count = min((len(c) for c in columns), default=0)
    return [all(answered(column[i]) for column in columns) for i in range(count)]


def aggregate(
    model_id: str,
    observations: Sequence[Observation],
    pricing: Pricing,
    counted: Sequence[bool] | None = None,
) -> dict[str, Any]:
    """One model's results (see the module docstring for every definition).

    ``counted``: per prompt, whether it enters the means (:func:`paired` across the compared
    models); None counts every prompt this model answered.
    """
    mask = list(counted) if counted is not None else [answered(o) for o in observations]
    kept = [o for o, keep in zip(observations, mask, strict=False) if keep and answered(o)]
    answered_count = sum(1 for o in observations if answered(o))
    latencies = [o.latency_ms for o in kept if o.latency_ms is not None]
    inputs = [float(o.input_tokens) for o in kept if o.input_tokens is not None]
    outputs = [float(o.output_tokens) for o in kept if o.output_tokens is not None]
    mean_latency, mean_in, mean_out = _mean(latencies), _mean(inputs), _mean(outputs)
    quality = _mean([o.quality for o in kept])
    return {
        "modelId": model_id,
        "prompts": len(observations),
        "answered": answered_count,
        "errors": len(observations) - answered_count,
        # The prompts the means are over: those every compared model answered.
        "paired": len(kept),
        "quality": _rounded(quality),
        "qualityMetric": QUALITY_METRIC,
        "rougeL": _rounded(quality),
        "tokenF1": _rounded(_mean([o.token_f1 for o in kept])),
        "latencyMs": {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "mean": _rounded(mean_latency, 1),
        },
        "inputTokens": {"mean": _rounded(mean_in, 1), "total": int(sum(inputs))},
        "outputTokens": {"mean": _rounded(mean_out, 1), "total": int(sum(outputs))},
        "costPer1000RequestsUsd": _rounded(cost_per_1000(pricing, mean_in, mean_out, mean_latency)),
        "pricing": pricing.to_dict(),
    }


@dataclass(frozen=True)
class QualityBar:
    """Stage 2's bar. ``None`` = not judged. ``min_improvement_over_champion`` applies when the run
    promotes into a serving slot that already has a champion (pipeline.slots)."""

    min_quality: float | None = None
    min_improvement_over_base: float | None = None
    min_improvement_over_champion: float | None = None

    @classmethod
    def from_plan(cls, evaluation: Mapping[str, Any] | None) -> QualityBar:
        evaluation = evaluation or {}
        return cls(
            _optional_float(evaluation.get("minQuality")),
            _optional_float(evaluation.get("minImprovementOverBase")),
            _optional_float(evaluation.get("minImprovementOverChampion")),
        )

    @property
    def is_set(self) -> bool:
        return (
            self.min_quality is not None
            or self.min_improvement_over_base is not None
            or self.min_improvement_over_champion is not None
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "minQuality": self.min_quality,
            "minImprovementOverBase": self.min_improvement_over_base,
            **(
                {"minImprovementOverChampion": self.min_improvement_over_champion}
                if self.min_improvement_over_champion is not None
                else {}
            ),
        }


def _optional_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    return float(value)


def _q(value: float) -> str:
    return f"{value:.3f}"


def _signed(value: float) -> str:
    return f"{value:+.3f}"


def _improvement(
    what: str, minimum: float, custom_quality: float | None, other_quality: float | None
) -> tuple[bool, str]:
    """(met, text) for "the custom model improves on ``what`` by at least ``minimum``"."""
    wanted = _signed(minimum)
    if custom_quality is None or other_quality is None:
        return False, f"the improvement over the {what} is unknown, so it cannot meet the minimum {wanted}"
    improvement = custom_quality - other_quality
    # Rounded so that a difference invisible at the shown precision never decides the gate.
    shown = round(improvement, 6)
    text = f"improvement over the {what} {_signed(improvement)} ({_q(custom_quality)} vs {_q(other_quality)})"
    if shown < round(minimum, 6):
        return False, f"{text} is below the minimum {wanted}"
    return True, f"{text} meets the minimum {wanted}"


def decide_quality(
    bar: QualityBar,
    custom_quality: float | None,
    base_quality: float | None,
    champion_quality: float | None = None,
) -> tuple[bool, str]:
    """Stage 2's gate: the custom model's quality, its improvement over the base model, and (in a
    serving slot with a champion) over the champion serving there now."""
    failures: list[str] = []
    passes: list[str] = []
    if bar.min_quality is not None:
        if custom_quality is None:
            failures.append(
                f"custom model quality is unknown, so it cannot meet the minimum {_q(bar.min_quality)}"
            )
        elif custom_quality < bar.min_quality:
            failures.append(
                f"custom model quality {_q(custom_quality)} is below the minimum {_q(bar.min_quality)}"
            )
        else:
            passes.append(
                f"custom model quality {_q(custom_quality)} meets the minimum {_q(bar.min_quality)}"
            )
    for what, minimum, other in (
        ("base model", bar.min_improvement_over_base, base_quality),
        ("champion", bar.min_improvement_over_champion, champion_quality),
    ):
        if minimum is not None:
            met, text = _improvement(what, minimum, custom_quality, other)
            (passes if met else failures).append(text)
    if not bar.is_set:
        custom = _q(custom_quality) if custom_quality is not None else "unknown"
        base = _q(base_quality) if base_quality is not None else "unknown"
        passes.append(f"no quality bar set (custom {custom}, base {base})")
    passed = not failures
    verdict = "Custom model meets the bar" if passed else "Custom model below the bar"
    return passed, f"{verdict} ({QUALITY_METRIC}): {'; '.join(failures + passes)}."

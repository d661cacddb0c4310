"""Cost estimates from catalog prices: training, storage and Provisioned Throughput.

Every function returns ``None`` when a price is unknown: an unknown cost is never reported as zero,
because a zero would pass every approval threshold. Each estimate carries a human-readable basis
and the prices (with date and source) it was computed from.

Billing rules [UG:cm-hp-*], [UG:prov-throughput]:
- fine-tuning and continued pre-training bill tokens processed = training-data tokens x epochs;
- Provisioned Throughput bills per model unit and hour from creation until deletion, at a lower
  hourly rate with a one- or six-month commitment; a custom model's rate equals its base model's;
- an on-demand deployment of a custom model bills its tokens at the deployment rate the catalog
  carries apart from the base model's on-demand rate (AWS bills them as separate usage types).

A price AWS does not publish as such (a third party's reading, a figure derived from a worked
example) is cited with ``UNCONFIRMED`` in the basis (``Price.cite``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from pipeline.catalog import CONTINUED_PRE_TRAINING, FINE_TUNING, Judge, ModelInfo, Price
from pipeline.catalog.types import PER_1K_TOKENS
from pipeline.money import format_usd, unit_price
from pipeline.poll import EVALUATE_TIME_LIMIT_S, PT_WAIT_LIMIT_S

if TYPE_CHECKING:
    from pipeline.runspec import RunSpec

# 8,760 hours a year / 12: the average month AWS pricing examples use.
HOURS_PER_MONTH: Final = 730
COMMITMENT_MONTHS: Final = {"OneMonth": 1, "SixMonths": 6}
# What a run spec without an "approval" section gets: a human approves every throughput purchase.
DEFAULT_APPROVAL_POLICY: Final = "always"

# The evaluation throughput: 1 MU without commitment, released right after the comparison (before
# the judge and any approval wait). Planned at its longest life: coming online (the wait limit),
# then the comparison; how Bedrock rounds a partial hour is UNCONFIRMED, so whole hours are counted.
EVALUATION_MU: Final = 1
EVALUATION_TIME_LIMIT_MIN: Final = EVALUATE_TIME_LIMIT_S // 60
EVALUATION_THROUGHPUT_HOURS: Final = math.ceil((PT_WAIT_LIMIT_S + EVALUATE_TIME_LIMIT_S) / 3600)
EVALUATION_THROUGHPUT_LIFE: Final = (
    f"at most {EVALUATION_THROUGHPUT_HOURS} h (coming online: up to {PT_WAIT_LIMIT_S // 3600} h; "
    f"the comparison: up to {EVALUATION_TIME_LIMIT_MIN} min)"
)
# Planning figures for an on-demand evaluation when the prompts have not been read: input tokens
# per prompt, and the output cap per answer the evaluation sets (pipeline.evaluation.MAX_TOKENS).
PLANNING_INPUT_TOKENS_PER_PROMPT: Final = 500
EVALUATION_MAX_OUTPUT_TOKENS: Final = 512


@dataclass(frozen=True)
class CostEstimate:
    usd: float
    basis: str
    prices: tuple[Price, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"usd": round(self.usd, 6), "basis": self.basis, "prices": [p.to_dict() for p in self.prices]}

    def __str__(self) -> str:
        return f"{format_usd(self.usd)} ({self.basis})"


@dataclass(frozen=True)
class ApprovalDecision:
    """Whether the run's throughput purchases need a human, where, and why."""

    required: bool
    policy: str
    reason: str
    monthly_cost: CostEstimate | None
    # Where the workflow asks: before buying the evaluation throughput, before buying to serve.
    before_evaluation: bool = False
    before_serving: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "required": self.required,
            "policy": self.policy,
            "reason": self.reason,
            "monthlyCost": self.monthly_cost.to_dict() if self.monthly_cost else None,
            "beforeEvaluation": self.before_evaluation,
            "beforeServing": self.before_serving,
        }

    def describe(self) -> str:
        """Per purchase: where a human is asked, and why (one line for `check` and `estimate`)."""
        if not self.required:
            return f"not required: {self.reason}"
        stages = [
            stage
            for stage, asked in (
                ("before the evaluation throughput is bought", self.before_evaluation),
                ("before the serving throughput is bought (after the quality bar)", self.before_serving),
            )
            if asked
        ]
        return f"required {' and '.join(stages) or 'before a purchase'}. Why: {self.reason}"


def epochs_for(model: ModelInfo, customization_type: str, hyperparameters: Mapping[str, str]) -> int | None:
    """Epochs the job will run: the given epochCount or the model's "
    "default; None if not a number (e.g. Auto)."""
    if customization_type not in (FINE_TUNING, CONTINUED_PRE_TRAINING):
        return None
    value = model.effective_hyperparameter("epochCount", hyperparameters)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def training_cost(model: ModelInfo, tokens: int, epochs: int | None) -> CostEstimate | None:
    price = model.prices.training
    if price is None or epochs is None or price.unit != PER_1K_TOKENS:
        # Image models bill per image seen and step, which a token count cannot express.
        return None
    usd = tokens / 1000 * epochs * price.value
    basis = (
        f"{tokens:,} tokens x {epochs} epoch{'s' if epochs != 1 else ''} x {unit_price(price.value)}/1K "
        f"tokens (price {price.cite()})"
    )
    return CostEstimate(usd, basis, (price,))


def pt_price(model: ModelInfo, commitment: str) -> Price | None:
    prices = model.prices
    return {
        "none": prices.pt_no_commit_per_mu_hour,
        "OneMonth": prices.pt_one_month_per_mu_hour,
        "SixMonths": prices.pt_six_month_per_mu_hour,
    }.get(commitment)


def pt_hourly_cost(model: ModelInfo, model_units: int, commitment: str = "none") -> CostEstimate | None:
    price = pt_price(model, commitment)
    if price is None:
        return None
    basis = f"{model_units} MU x {unit_price(price.value)}/MU-hour ({_term(commitment)}; {price.cite()})"
    return CostEstimate(model_units * price.value, basis, (price,))


def pt_monthly_cost(model: ModelInfo, model_units: int, commitment: str = "none") -> CostEstimate | None:
    hourly = pt_hourly_cost(model, model_units, commitment)
    if hourly is None:
        return None
    return CostEstimate(hourly.usd * HOURS_PER_MONTH, f"{HOURS_PER_MONTH} h x {hourly.basis}", hourly.prices)


def pt_commitment_cost(model: ModelInfo, model_units: int, commitment: str) -> CostEstimate | None:
    """What a commitment obliges you to pay for its whole term; None without a term or a price."""
    months = COMMITMENT_MONTHS.get(commitment)
    monthly = pt_monthly_cost(model, model_units, commitment)
    if months is None or monthly is None:
        return None
    return CostEstimate(
        monthly.usd * months, f"{months} month{'s' if months > 1 else ''} x {monthly.basis}", monthly.prices
    )


def storage_monthly_cost(model: ModelInfo) -> CostEstimate | None:
    price = model.prices.storage_per_month
    if price is None:
        return None
    return CostEstimate(price.value, f"custom model storage ({price.cite()})", (price,))


def evaluation_throughput_cost(model: ModelInfo) -> CostEstimate | None:
    """The throughput bought only to evaluate: 1 MU, no commitment, for the planned hours."""
    hourly = pt_hourly_cost(model, EVALUATION_MU)
    if hourly is None:
        return None
    return CostEstimate(
        hourly.usd * EVALUATION_THROUGHPUT_HOURS,
        f"{EVALUATION_THROUGHPUT_LIFE} x {hourly.basis}",
        hourly.prices,
    )


def on_demand_evaluation_cost(
    model: ModelInfo, prompts: int, input_tokens: int | None = None
) -> CostEstimate | None:
    """Both models answer every prompt on demand: the base by its id at its on-demand rate, the custom
    model on its deployment at the deployment rate [UG:deploy-custom-model-on-demand].

    Output is counted at the evaluation's cap per answer, so this is an upper bound; input tokens
    default to a planning figure per prompt when the prompts were not read. Unknown (None) when either
    model's rate is.
    """
    prices = model.prices
    base_in, base_out = prices.on_demand_input_per_1m_tokens, prices.on_demand_output_per_1m_tokens
    custom_in, custom_out = prices.deployment_input_per_1m_tokens, prices.deployment_output_per_1m_tokens
    if base_in is None or base_out is None or custom_in is None or custom_out is None:
        return None
    tokens_in = input_tokens if input_tokens is not None else prompts * PLANNING_INPUT_TOKENS_PER_PROMPT
    tokens_out = prompts * EVALUATION_MAX_OUTPUT_TOKENS
    base = _tokens_usd(tokens_in, tokens_out, base_in, base_out)
    custom = _tokens_usd(tokens_in, tokens_out, custom_in, custom_out)
    if (base_in.value, base_out.value) == (custom_in.value, custom_out.value):
        rates = (
            f"2 models x ({tokens_in:,} input tokens x {unit_price(base_in.value)}/1M + at most "
            f"{tokens_out:,} output tokens x {unit_price(base_out.value)}/1M)"
        )
    else:
        rates = (
            f"{tokens_in:,} input and at most {tokens_out:,} output tokens on the base model at "
            f"{unit_price(base_in.value)} / {unit_price(base_out.value)} per 1M and on the deployment at "
            f"{unit_price(custom_in.value)} / {unit_price(custom_out.value)} per 1M"
        )
    cited = (
        base_in.cite()
        if base_in.cite() == custom_in.cite()
        else f"base: {base_in.cite()}; deployment: {custom_in.cite()}"
    )
    basis = f"{rates} for {prompts} prompt(s) ({cited})"
    return CostEstimate(base + custom, basis, (base_in, base_out, custom_in, custom_out))


# Planning figures for the judge (UNCONFIRMED: Bedrock publishes neither the length of the judge's
# prompt templates nor of its answers): each metric of each prompt is one judge call that reads the
# prompt, the reference answer, the model's answer and the metric's rubric, and writes a score with an
# explanation.
JUDGE_RUBRIC_TOKENS: Final = 1000
JUDGE_OUTPUT_TOKENS_PER_CALL: Final = 300


def judge_cost(
    judge: Judge | None, prompts: int, metrics: int, input_tokens: int | None = None, *, models: int = 2
) -> CostEstimate | None:
    """The judge's tokens: prompts x models x metrics judge calls at the judge's on-demand rates
    (one evaluation job per model: custom and base, and a serving slot's champion where judged).

    Evaluation jobs bill the judge model's inference [UG:evaluation-judge]; precomputed responses
    cost no generator inference. Unknown (None) when the judge's prices are not in the catalog.
    """
    if judge is None:
        return None
    inp, out = judge.prices.on_demand_input_per_1m_tokens, judge.prices.on_demand_output_per_1m_tokens
    if inp is None or out is None:
        return None
    per_prompt_in = (
        input_tokens / prompts if input_tokens is not None and prompts else PLANNING_INPUT_TOKENS_PER_PROMPT
    )
    # The prompt, the reference and the answer (each up to the evaluation's output cap), and the rubric.
    call_in = per_prompt_in + 2 * EVALUATION_MAX_OUTPUT_TOKENS + JUDGE_RUBRIC_TOKENS
    calls = prompts * models * metrics
    tokens_in = int(calls * call_in)
    tokens_out = calls * JUDGE_OUTPUT_TOKENS_PER_CALL
    usd = _tokens_usd(tokens_in, tokens_out, inp, out)
    basis = (
        f"{prompts} prompt(s) x {models} models x {metrics} metric(s) = {calls:,} judge calls: "
        f"about {tokens_in:,} input tokens x {unit_price(inp.value)}/1M + {tokens_out:,} output tokens x "
        f"{unit_price(out.value)}/1M on "
        f"{judge.model_id} (planning figures per call UNCONFIRMED; {inp.cite()})"
    )
    return CostEstimate(usd, basis, (inp, out))


@dataclass(frozen=True)
class _Purchase:
    what: str
    monthly: CostEstimate | None
    commitment: str
    # What the figure covers: "/month" for what serves; the planned hours of an evaluation
    # throughput, which is deleted after the evaluation (what it adds to this month's bill).
    period: str = "/month"


def _purchases(spec: RunSpec) -> tuple[_Purchase | None, _Purchase | None]:
    """(evaluation throughput, serving throughput) the run may buy, each None when it buys none."""
    model = spec.model
    serving = spec.serving
    evaluation = None
    if spec.evaluation_vehicle == "throughput":
        if spec.serving_reuses_evaluation_throughput:
            evaluation = _Purchase(
                f"{EVALUATION_MU} MU of no-commitment throughput to evaluate on (kept for serving if the "
                "model passes)",
                pt_monthly_cost(model, EVALUATION_MU),
                "none",
            )
        else:
            evaluation = _Purchase(
                f"{EVALUATION_MU} MU of no-commitment throughput to evaluate on "
                "(released right after the comparison)",
                evaluation_throughput_cost(model),
                "none",
                f" for {EVALUATION_THROUGHPUT_LIFE}",
            )
    served = None
    if (
        serving.buys_throughput
        and serving.model_units is not None
        and not spec.serving_reuses_evaluation_throughput
    ):
        served = _Purchase(
            f"{serving.model_units} MU of throughput to serve with ({_term(serving.commitment)})",
            pt_monthly_cost(model, serving.model_units, serving.commitment),
            serving.commitment,
        )
    return evaluation, served


def _needs_human(
    policy: str, threshold: float | None, purchase: _Purchase, model_id: str
) -> tuple[bool, str]:
    if policy == "always":
        return True, "approval policy is 'always'"
    if policy == "never":
        return False, "approval policy is 'never'"
    monthly = purchase.monthly
    if monthly is None:
        return True, (
            f"the Provisioned Throughput price of {model_id} ({_term(purchase.commitment)}) is unknown, "
            "so the cost threshold cannot be shown to hold"
        )
    if threshold is None or monthly.usd > threshold:
        return (
            True,
            f"{purchase.what}: estimated {format_usd(monthly.usd)}{purchase.period} exceeds the "
            f"{format_usd(threshold or 0)} threshold",
        )
    return (
        False,
        f"{purchase.what}: estimated {format_usd(monthly.usd)}{purchase.period} is within the "
        f"{format_usd(threshold)} threshold",
    )


def approval_decision(spec: RunSpec) -> ApprovalDecision:
    """Apply the spec's approval policy to each throughput purchase of the run.

    Two purchases can need a human: the evaluation throughput (only for a base that cannot be
    deployed on demand), asked before the evaluation; and the serving throughput, asked after the
    quality bar passed, so whoever approves a commitment sees the evaluation first. An unknown
    price under ``above-cost`` requires approval: the threshold cannot be shown to hold. On-demand
    serving buys nothing (billed per token), so it needs no approval.
    """
    policy = spec.approval.policy if spec.approval is not None else DEFAULT_APPROVAL_POLICY
    threshold = spec.approval.monthly_cost_threshold if spec.approval else None
    evaluation, served = _purchases(spec)
    if evaluation is None and served is None:
        what = (
            "on-demand serving is billed per token"
            if spec.serving.on_demand
            else "the model is not served"
            if spec.serving.mode == "none"
            else "it serves on the evaluation throughput"
        )
        return ApprovalDecision(False, policy, f"the run buys no Provisioned Throughput ({what})", None)
    before_evaluation = before_serving = False
    reasons = []
    for purchase in (evaluation, served):
        if purchase is None:
            continue
        needed, why = _needs_human(policy, threshold, purchase, spec.model.model_id)
        if purchase is evaluation:
            before_evaluation = needed
        else:
            before_serving = needed
        reasons.append(why)
    default = "" if spec.approval else " (the default when no approval is given)"
    reason = "; ".join(dict.fromkeys(reasons)) + (default if policy == "always" else "")
    chosen = served or evaluation
    monthly = chosen.monthly if chosen is not None else None
    return ApprovalDecision(
        before_evaluation or before_serving,
        policy,
        reason,
        monthly,
        before_evaluation=before_evaluation,
        before_serving=before_serving,
    )


def _term(commitment: str) -> str:
    return "no commitment" if commitment == "none" else f"{commitment} commitment"


def teacher_reference_cost(
    teacher_model_id: str, prices: Any, prompts: int, input_tokens: int | None = None
) -> CostEstimate | None:
    """The distillation teacher answering every evaluation prompt once (evaluation.references=teacher),
    at its on-demand rates (``prices``: the catalog's sheet of the model the teacher id invokes), the
    output counted at the evaluation's cap per answer: an upper bound. Unknown (None) without a price.
    """
    inp = getattr(prices, "on_demand_input_per_1m_tokens", None)
    out = getattr(prices, "on_demand_output_per_1m_tokens", None)
    if inp is None or out is None:
        return None
    tokens_in = input_tokens if input_tokens is not None else prompts * PLANNING_INPUT_TOKENS_PER_PROMPT
    tokens_out = prompts * EVALUATION_MAX_OUTPUT_TOKENS
    usd = _tokens_usd(tokens_in, tokens_out, inp, out)
    basis = (
        f"the teacher {teacher_model_id} answers {prompts} prompt(s) for their references: "
        f"{tokens_in:,} input tokens x {unit_price(inp.value)}/1M + at most {tokens_out:,} output tokens x "
        f"{unit_price(out.value)}/1M ({inp.cite()})"
    )
    return CostEstimate(usd, basis, (inp, out))


def _tokens_usd(tokens_in: float, tokens_out: float, per_1m_in: Price, per_1m_out: Price) -> float:
    """Tokens at on-demand rates quoted per 1M tokens, as every Bedrock text model's are."""
    return (tokens_in * per_1m_in.value + tokens_out * per_1m_out.value) / 1_000_000

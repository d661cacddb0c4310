"""Cost estimates from catalog prices: training, storage and Provisioned Throughput.

Every function returns ``None`` when a price is unknown: an unknown cost is never reported as zero,
because a zero would pass every approval threshold. Each estimate carries a human-readable basis
and the prices (with date and source) it was computed from.

Billing rules [UG:cm-hp-*], [UG:prov-throughput]:
- fine-tuning and continued pre-training bill tokens processed = training-data tokens x epochs;
- Provisioned Throughput bills per model unit and hour from creation until deletion, at a lower
  hourly rate with a one- or six-month commitment; a custom model's rate equals its base model's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from pipeline.catalog import CONTINUED_PRE_TRAINING, FINE_TUNING, ModelInfo, Price

if TYPE_CHECKING:
    from pipeline.runspec import RunSpec

# 8,760 hours a year / 12: the average month AWS pricing examples use.
HOURS_PER_MONTH: Final = 730
COMMITMENT_MONTHS: Final = {"OneMonth": 1, "SixMonths": 6}
# What a run spec without an "approval" section gets: a human approves every throughput purchase.
DEFAULT_APPROVAL_POLICY: Final = "always"

_PER_1K_TOKENS: Final = "USD per 1K tokens"


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
    """Whether buying the spec's throughput needs a human, and why."""

    required: bool
    policy: str
    reason: str
    monthly_cost: CostEstimate | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "required": self.required,
            "policy": self.policy,
            "reason": self.reason,
            "monthlyCost": self.monthly_cost.to_dict() if self.monthly_cost else None,
        }


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
    if price is None or epochs is None or price.unit != _PER_1K_TOKENS:
        # Image models bill per image seen and step, which a token count cannot express.
        return None
    usd = tokens / 1000 * epochs * price.value
    basis = (
        f"{tokens:,} tokens x {epochs} epoch{'s' if epochs != 1 else ''} x ${price.value:g}/1K tokens "
        f"(price as of {price.as_of}, {price.source})"
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
    basis = (
        f"{model_units} MU x ${price.value:g}/MU-hour ({_term(commitment)}; "
        f"as of {price.as_of}, {price.source})"
    )
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
    return CostEstimate(price.value, f"custom model storage (as of {price.as_of}, {price.source})", (price,))


def approval_decision(spec: RunSpec) -> ApprovalDecision:
    """Apply the spec's approval policy to its throughput purchase.

    An unknown Provisioned Throughput price under ``above-cost`` requires approval: the threshold
    cannot be shown to hold, and buying capacity is the one step that can cost thousands.
    """
    throughput = spec.throughput
    policy = spec.approval.policy if spec.approval is not None else DEFAULT_APPROVAL_POLICY
    if throughput is None:
        return ApprovalDecision(False, policy, "the run buys no Provisioned Throughput", None)
    model = spec.model
    monthly = pt_monthly_cost(model, throughput.model_units, throughput.commitment)
    if policy == "always":
        reason = "approval policy is 'always'" + (
            "" if spec.approval else " (the default when no approval is given)"
        )
        return ApprovalDecision(True, policy, reason, monthly)
    if policy == "never":
        return ApprovalDecision(False, policy, "approval policy is 'never'", monthly)
    threshold = spec.approval.monthly_cost_threshold if spec.approval else None
    if monthly is None:
        return ApprovalDecision(
            True,
            policy,
            f"the Provisioned Throughput price of {model.model_id} "
            f"({_term(throughput.commitment)}) is unknown, "
            "so the cost threshold cannot be shown to hold",
            None,
        )
    if threshold is None or monthly.usd > threshold:
        return ApprovalDecision(
            True,
            policy,
            f"estimated ${monthly.usd:,.2f}/month exceeds the ${threshold or 0:,.2f} threshold",
            monthly,
        )
    return ApprovalDecision(
        False,
        policy,
        f"estimated ${monthly.usd:,.2f}/month is within the ${threshold:,.2f} threshold",
        monthly,
    )


def format_usd(usd: float) -> str:
    """Dollars with cents, or with four decimals for amounts below a cent (small example runs)."""
    return f"${usd:,.4f}" if 0 < usd < 0.01 else f"${usd:,.2f}"


def _term(commitment: str) -> str:
    return "no commitment" if commitment == "none" else f"{commitment} commitment"

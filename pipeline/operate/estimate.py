"""What a run will cost, from the catalog's prices with their date, before anything is spent.

The numbers are ``pipeline.plan.estimate`` (what the workflow's plan carries and the approval gate
shows), from the token count the preflight measures. An unknown price is reported as unknown with
the reason, never as zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline import costs, plan
from pipeline.catalog import DISTILLATION, ModelInfo
from pipeline.datasets import PreflightReport
from pipeline.operate import output
from pipeline.runspec import RunSpec

DAYS_PER_MONTH = costs.HOURS_PER_MONTH / 24


@dataclass(frozen=True)
class Estimate:
    spec: RunSpec
    tokens: int | None
    tokens_high: int | None
    epochs: int | None
    numbers: dict[str, Any]  # pipeline.plan.estimate(...)
    training_high_usd: float | None
    approval: costs.ApprovalDecision
    preflight_ok: bool
    preflight_summary: str

    @property
    def model(self) -> ModelInfo:
        return self.spec.model

    def value(self, key: str) -> float | None:
        item = self.numbers.get(key)
        return float(item) if isinstance(item, int | float) else None

    @property
    def throughput_daily_usd(self) -> float | None:
        hourly = self.value("throughputHourlyUsd")
        return hourly * output.HOURS_PER_DAY if hourly is not None else None

    def first_month(self) -> output.Money:
        """Training + one month of storage (+ one month of throughput when the run buys it)."""
        parts: dict[str, float | None] = {
            "training": self.value("trainingUsd"),
            "storage": self.value("storageMonthlyUsd"),
        }
        if self.spec.throughput is not None:
            parts["throughput"] = self.value("throughputMonthlyUsd")
        return output.Money.of(parts)

    def unknown_reasons(self) -> dict[str, str]:
        """Why each unknown figure is unknown."""
        model, prices = self.model, self.model.prices
        reasons: dict[str, str] = {}
        if self.value("trainingUsd") is None:
            if self.spec.customization_type == DISTILLATION:
                reasons["training"] = (
                    "distillation is billed for the teacher's answers and the training Bedrock chooses; "
                    "the catalog has no formula for it"
                )
            elif prices.training is None:
                reasons["training"] = f"no training price for {model.model_id} in the catalog"
            elif prices.training.unit != "USD per 1K tokens":
                reasons["training"] = f"{model.model_id} bills training {prices.training.unit}, not per token"
            elif self.epochs is None:
                reasons["training"] = "the epoch count is not a number (e.g. Auto)"
            else:
                reasons["training"] = "the training data's token count is unknown"
        if self.value("storageMonthlyUsd") is None:
            reasons["storage"] = f"no custom model storage price for {model.model_id} in the catalog"
        throughput = self.spec.throughput
        if throughput is not None and self.value("throughputHourlyUsd") is None:
            term = "no-commitment" if throughput.commitment == "none" else throughput.commitment
            reasons["throughput"] = (
                f"no {term} Provisioned Throughput price for {model.model_id} in the catalog"
            )
        return reasons

    def rows(self) -> list[tuple[str, str, str]]:
        """(item, cost, basis) for the table."""
        basis = self.numbers.get("basis") or {}
        reasons = self.unknown_reasons()

        def why(key: str, reason_key: str) -> str:
            return str(basis.get(key) or reasons.get(reason_key) or "")

        training = output.usd(self.value("trainingUsd"))
        if self.training_high_usd is not None and self.value("trainingUsd") is not None:
            training += f" (up to {output.usd(self.training_high_usd)})"
        rows = [
            ("Training", training, why("training", "training")),
            (
                "Custom model storage",
                output.usd_rate(self.value("storageMonthlyUsd"), "month"),
                why("storageMonthly", "storage"),
            ),
        ]
        throughput = self.spec.throughput
        if throughput is None:
            rows.append(("Provisioned Throughput", "none", "the run spec buys no throughput"))
        else:
            rows += [
                (
                    "Throughput per hour",
                    output.usd(self.value("throughputHourlyUsd")),
                    why("throughputHourly", "throughput"),
                ),
                ("Throughput per day", output.usd(self.throughput_daily_usd), "24 h x the hourly price"),
                (
                    "Throughput per month",
                    output.usd(self.value("throughputMonthlyUsd")),
                    why("throughputMonthly", "throughput"),
                ),
            ]
            if throughput.commitment != "none":
                rows.append(
                    (
                        "Commitment term",
                        output.usd(self.value("commitmentTermUsd")),
                        why("commitmentTerm", "throughput"),
                    )
                )
        rows.append(
            (
                "First month",
                str(self.first_month()),
                "training + storage" + (" + throughput" if throughput else ""),
            )
        )
        return rows

    def render(self) -> str:
        spec, throughput = self.spec, self.spec.throughput
        tokens = (
            f"~{self.tokens:,} training tokens (up to ~{self.tokens_high:,})"
            if self.tokens is not None
            else "unknown"
        )
        head = output.key_values(
            [
                ("Run", f"{spec.name} ({spec.region})"),
                ("Model", f"{self.model.model_id} ({spec.customization_type})"),
                ("Data", tokens + (f" x {self.epochs} epoch(s)" if self.epochs else "")),
                (
                    "Throughput",
                    f"{throughput.model_units} MU, commitment {throughput.commitment}"
                    if throughput
                    else "none",
                ),
                (
                    "Approval",
                    f"{'required' if self.approval.required else 'not required'} ({self.approval.reason})",
                ),
                ("Preflight", self.preflight_summary),
            ]
        )
        body = output.table(["ITEM", "COST", "BASIS (prices possibly stale; dated)"], self.rows())
        notes = [u for u in self.model.unconfirmed if "price" in u.lower()]
        tail = "".join(f"\nnote: {n}" for n in notes)
        return f"{head}\n\n{body}\n\nunknown = no price known; never counted as zero.{tail}\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "runName": self.spec.name,
            "region": self.spec.region,
            "baseModel": self.model.model_id,
            "customizationType": self.spec.customization_type,
            "trainingTokens": self.tokens,
            "trainingTokensHigh": self.tokens_high,
            "epochs": self.epochs,
            **{k: v for k, v in self.numbers.items() if k != "basis"},
            "trainingHighUsd": _round(self.training_high_usd),
            "throughputDailyUsd": _round(self.throughput_daily_usd),
            "firstMonth": self.first_month().to_dict(),
            "basis": self.numbers.get("basis") or {},
            "unknown": self.unknown_reasons(),
            "throughput": self.spec.throughput.to_dict() if self.spec.throughput else None,
            "approval": self.approval.to_dict(),
            "preflight": {"ok": self.preflight_ok, "summary": self.preflight_summary},
            "prices": self.model.prices.to_dict(),
        }


def _round(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def build(spec: RunSpec, report: PreflightReport) -> Estimate:
    """The estimate of a spec from its preflight report (which measured the training data)."""
    model = spec.model
    training = next((d for d in report.datasets if d.role == "training"), None)
    # The preflight's training-token total: the figure the workflow's plan is built from.
    tokens = report.totals()["trainingTokens"] if training is not None else None
    tokens_high = training.estimated_tokens_high if training is not None else None
    epochs = costs.epochs_for(model, spec.customization_type, spec.hyper_parameters)
    high = costs.training_cost(model, tokens_high, epochs) if tokens_high is not None else None
    return Estimate(
        spec=spec,
        tokens=tokens,
        tokens_high=tokens_high,
        epochs=epochs,
        numbers=plan.estimate(spec, tokens, epochs),
        training_high_usd=high.usd if high is not None else None,
        approval=costs.approval_decision(spec),
        preflight_ok=report.ok,
        preflight_summary=report.summary(),
    )

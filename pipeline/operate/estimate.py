"""What a run will cost, before anything is spent, from prices that each carry their source and date.

Prices come from the AWS Price List API where it gives one (pipeline.operate.prices, cached on
disk) and from the catalog's dated prices elsewhere, or offline.

The numbers are ``pipeline.plan.estimate`` (what the workflow's plan carries and the approval gate
shows), from the token count the preflight measures. A run's money falls in three parts, shown
apart: training (and storage), the evaluation (on an on-demand deployment billed per token, or on
one model unit of no-commitment throughput bought for it), and serving (per token on demand, or
provisioned throughput by the hour). An unknown price is reported as unknown with the reason,
never as zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from pipeline import costs, money, plan
from pipeline.catalog import DISTILLATION, REINFORCEMENT_FINE_TUNING, ModelInfo
from pipeline.datasets import PreflightReport
from pipeline.operate import output
from pipeline.pricelist import CATALOG, PriceBook
from pipeline.runspec import (
    DEPLOYMENT_VEHICLE,
    EVALUATION_MODEL_UNITS,
    ON_DEMAND,
    PROVISIONED,
    THROUGHPUT_VEHICLE,
    RunSpec,
)

DAYS_PER_MONTH: Final = costs.HOURS_PER_MONTH / 24


def term(commitment: str) -> str:
    return "no commitment" if commitment == "none" else f"{commitment} commitment"


def evaluation_text(spec: RunSpec) -> str:
    """Where the custom model is evaluated, and what becomes of it afterwards (one line)."""
    vehicle = spec.evaluation_vehicle
    if vehicle == DEPLOYMENT_VEHICLE:
        after = "kept to serve on demand" if spec.serving.on_demand else "deleted after the evaluation"
        return f"on an on-demand deployment of the custom model (nothing bought, billed per token); {after}"
    if vehicle == THROUGHPUT_VEHICLE:
        after = (
            "kept to serve with if the model passes (it is exactly what the spec serves with)"
            if spec.serving_reuses_evaluation_throughput
            else "released after the evaluation"
        )
        return (
            f"on {EVALUATION_MODEL_UNITS} model unit of no-commitment provisioned throughput bought for it "
            f"({spec.model.model_id} cannot be deployed on demand in {spec.region}); {after}"
        )
    return "none: no quality bar and no evaluation prompts, nothing is deployed or bought to evaluate"


def serving_text(spec: RunSpec) -> str:
    serving = spec.serving
    if serving.mode == ON_DEMAND:
        kept = "on demand: the deployment it was evaluated on is kept, billed per token (no hourly charge)"
        warning = spec.verdict_warning()
        return f"{kept}. WARNING: {warning}" if warning else kept
    if serving.mode == PROVISIONED:
        bought = (
            "the evaluation throughput is kept (one purchase)"
            if spec.serving_reuses_evaluation_throughput
            else "bought only after the quality bar (and the judge's bars, if any) passed"
        )
        return f"{serving.model_units} MU of provisioned throughput, {term(serving.commitment)}: {bought}"
    return "none: nothing is kept or bought after the evaluation"


def slot_text(spec: RunSpec) -> str | None:
    """What a run into a serving slot does with it (None: the spec names no slot). Whether the slot
    exists is known only to the preflight, which reads the slot's document."""
    slot = spec.serving.slot
    if slot is None:
        return None
    return (
        f"into serving slot {slot}: where the slot exists, the model must beat its champion too and "
        "replaces it in place (nothing is bought or kept then); where it does not, what serves becomes "
        "the slot's endpoint"
    )


def approval_text(approval: costs.ApprovalDecision) -> str:
    """Per purchase: where a human is asked, and why."""
    return approval.describe()


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
    # Where the prices come from: the Price List API where it gives one, else the catalog.
    price_book: PriceBook | None = field(default=None, compare=False)

    @property
    def model(self) -> ModelInfo:
        return self.spec.model

    @property
    def where(self) -> str:
        """Where a missing price was looked for."""
        book = self.price_book
        if book is None or book.status == CATALOG:
            return "in the catalog"
        return f"in the Price List API (fetched {book.fetched}) or the catalog"

    def prices_line(self) -> str:
        if self.price_book is None:
            return "the catalog's dated prices (each with its own source and date)"
        return self.price_book.describe(self.model)

    @property
    def vehicle(self) -> str:
        return self.spec.evaluation_vehicle

    def value(self, key: str) -> float | None:
        item = self.numbers.get(key)
        return float(item) if isinstance(item, int | float) and not isinstance(item, bool) else None

    @property
    def buys_serving_throughput(self) -> bool:
        return self.spec.serving.buys_throughput

    @property
    def evaluation_priced_apart(self) -> bool:
        """The evaluation costs something of its own (not the serving throughput it then keeps)."""
        return self.vehicle == DEPLOYMENT_VEHICLE or (
            self.vehicle == THROUGHPUT_VEHICLE and not self.spec.serving_reuses_evaluation_throughput
        )

    @property
    def throughput_daily_usd(self) -> float | None:
        hourly = self.value("throughputHourlyUsd")
        return hourly * output.HOURS_PER_DAY if hourly is not None else None

    @property
    def evaluation_hourly_usd(self) -> float | None:
        """The hourly price of the evaluation throughput (None without one, or without a price)."""
        if self.vehicle != THROUGHPUT_VEHICLE:
            return None
        hourly = costs.pt_hourly_cost(self.model, EVALUATION_MODEL_UNITS)
        return hourly.usd if hourly is not None else None

    def on_demand_rates(self) -> tuple[float | None, float | None]:
        """(input, output) USD per 1M tokens the base model, and a deployment of it, are billed."""
        prices = self.model.prices
        inp, out = prices.on_demand_input_per_1m_tokens, prices.on_demand_output_per_1m_tokens
        return (inp.value if inp else None, out.value if out else None)

    def first_month(self) -> money.Money:
        """Training + one month of storage + the evaluation + one month of serving throughput.

        On-demand serving is billed per token as it is used: not counted (there is no fixed cost).
        """
        parts: dict[str, float | None] = {
            "training": self.value("trainingUsd"),
            "storage": self.value("storageMonthlyUsd"),
        }
        if self.evaluation_priced_apart:
            parts["evaluation"] = self.value("evaluationUsd")
        if self.spec.judge is not None:
            parts["judge"] = self.value("judgeUsd")
        if self.buys_serving_throughput:
            parts["serving throughput"] = self.value("throughputMonthlyUsd")
        return money.Money.of(parts)

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
            elif self.spec.customization_type == REINFORCEMENT_FINE_TUNING:
                reasons["training"] = (
                    "reinforcement fine-tuning is not billed per token x epoch (a third party says per hour "
                    "of the workflow, UNCONFIRMED); the catalog has no formula for it"
                )
            elif prices.training is None:
                reasons["training"] = f"no training price for {model.model_id} {self.where}"
            elif prices.training.unit != "USD per 1K tokens":
                reasons["training"] = f"{model.model_id} bills training {prices.training.unit}, not per token"
            elif self.epochs is None:
                reasons["training"] = "the epoch count is not a number (e.g. Auto)"
            else:
                reasons["training"] = "the training data's token count is unknown"
        if self.value("storageMonthlyUsd") is None:
            reasons["storage"] = f"no custom model storage price for {model.model_id} {self.where}"
        if self.evaluation_priced_apart and self.value("evaluationUsd") is None:
            reasons["evaluation"] = (
                f"no on-demand token price for {model.model_id} {self.where}"
                if self.vehicle == DEPLOYMENT_VEHICLE
                else f"no no-commitment Provisioned Throughput price for {model.model_id} {self.where}"
            )
        judge = self.spec.judge
        if judge is not None and self.value("judgeUsd") is None:
            reasons["judge"] = f"no on-demand token price for the judge {judge.model} in the catalog"
        serving = self.spec.serving
        if self.buys_serving_throughput and self.value("throughputHourlyUsd") is None:
            commitment = "no-commitment" if serving.commitment == "none" else serving.commitment
            reasons["serving throughput"] = (
                f"no {commitment} Provisioned Throughput price for {model.model_id} {self.where}"
            )
        if serving.on_demand and None in self.on_demand_rates():
            reasons["serving on demand"] = f"no on-demand token price for {model.model_id} {self.where}"
        return reasons

    def rows(self) -> list[tuple[str, str, str]]:
        """(item, cost, basis) for the table."""
        basis = self.numbers.get("basis") or {}
        reasons = self.unknown_reasons()

        def why(key: str, reason_key: str) -> str:
            return str(basis.get(key) or reasons.get(reason_key) or "")

        training = money.usd(self.value("trainingUsd"))
        if self.training_high_usd is not None and self.value("trainingUsd") is not None:
            training += f" (up to {money.usd(self.training_high_usd)})"
        rows = [
            ("Training", training, why("training", "training")),
            (
                "Custom model storage",
                money.usd_rate(self.value("storageMonthlyUsd"), "month"),
                why("storageMonthly", "storage"),
            ),
            *self._evaluation_rows(why),
            *self._judge_rows(why),
            *self._serving_rows(why),
        ]
        counted = ["training", "storage"]
        if self.evaluation_priced_apart:
            counted.append("evaluation")
        if self.spec.judge is not None:
            counted.append("judge")
        if self.buys_serving_throughput:
            counted.append("a month of serving throughput")
        note = " (on-demand serving: per token as used, not counted)" if self.spec.serving.on_demand else ""
        rows.append(("First month", str(self.first_month()), " + ".join(counted) + note))
        return rows

    def _evaluation_rows(self, why: Any) -> list[tuple[str, str, str]]:
        spec = self.spec
        if self.vehicle == DEPLOYMENT_VEHICLE:
            return [
                (
                    "Evaluation (on demand)",
                    money.usd(self.value("evaluationUsd")),
                    why("evaluation", "evaluation") + "; an upper bound: output counted at its cap",
                )
            ]
        if self.vehicle == THROUGHPUT_VEHICLE:
            hourly = money.usd_rate(self.evaluation_hourly_usd, "hour")
            if spec.serving_reuses_evaluation_throughput:
                return [
                    (
                        "Evaluation throughput",
                        f"{hourly} from purchase",
                        "1 MU, no commitment: the throughput it then serves with; counted under serving, "
                        "released if the model fails its bar",
                    )
                ]
            return [
                (
                    "Evaluation throughput",
                    money.usd(self.value("evaluationUsd")),
                    why("evaluation", "evaluation") + f"; {hourly} until released right after the comparison",
                )
            ]
        return [("Evaluation", "none", "no quality bar and no evaluation prompts: nothing to evaluate on")]

    def _judge_rows(self, why: Any) -> list[tuple[str, str, str]]:
        """The LLM judge (opt-in): its tokens are billed, at most once per run."""
        if self.spec.judge is None:
            return []
        if self.spec.serving.slot is None:
            return [
                ("Judge (LLM, 2 evaluation jobs)", money.usd(self.value("judgeUsd")), why("judge", "judge"))
            ]
        # Whether the slot has a champion is known only to the preflight: its job is counted.
        return [
            (
                "Judge (LLM, up to 3 evaluation jobs)",
                money.usd(self.value("judgeUsd")),
                why("judge", "judge") + f"; counts the job on serving slot {self.spec.serving.slot}'s "
                "champion, judged only where the slot has one",
            )
        ]

    def _serving_rows(self, why: Any) -> list[tuple[str, str, str]]:
        serving = self.spec.serving
        if serving.mode == ON_DEMAND:
            inp, out = self.on_demand_rates()
            rates = (
                f"{money.unit_price(inp)} / {money.unit_price(out)} per 1M tokens"
                if inp is not None and out is not None
                else money.UNKNOWN
            )
            reason = self.unknown_reasons().get("serving on demand")
            rate = self.model.prices.on_demand_input_per_1m_tokens
            dated = f" (as of {rate.as_of}, {rate.source})" if rate is not None else ""
            return [
                (
                    "Serving (on demand)",
                    rates,
                    reason
                    or f"input / output tokens at the base model's on-demand rate{dated}; "
                    "no hourly charge, nothing bought",
                )
            ]
        if serving.mode != PROVISIONED:
            return [("Serving", "none", "the model is not served: nothing is kept or bought")]
        rows = [
            (
                "Serving throughput per hour",
                money.usd(self.value("throughputHourlyUsd")),
                why("throughputHourly", "serving throughput"),
            ),
            ("Serving throughput per day", money.usd(self.throughput_daily_usd), "24 h x the hourly price"),
            (
                "Serving throughput per month",
                money.usd(self.value("throughputMonthlyUsd")),
                why("throughputMonthly", "serving throughput"),
            ),
        ]
        if serving.commitment != "none":
            rows.append(
                (
                    "Commitment term",
                    money.usd(self.value("commitmentTermUsd")),
                    why("commitmentTerm", "serving throughput"),
                )
            )
        return rows

    def render(self) -> str:
        spec = self.spec
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
                ("Evaluation", evaluation_text(spec)),
                ("Serving", "; ".join(filter(None, (serving_text(spec), slot_text(spec))))),
                ("Approval", approval_text(self.approval)),
                ("Preflight", self.preflight_summary),
                ("Prices", self.prices_line()),
            ]
        )
        body = output.table(["ITEM", "COST", "BASIS (prices possibly stale; dated)"], self.rows())
        book = self.price_book
        live = book is not None and bool(book.live_fields(self.model.model_id))
        notes = [] if live else [u for u in self.model.unconfirmed if "price" in u.lower()]
        notes += list(book.warnings) if book is not None else []
        tail = "".join(f"\nnote: {n}" for n in notes)
        return f"{head}\n\n{body}\n\nunknown = no price known; never counted as zero.{tail}\n"

    def to_dict(self) -> dict[str, Any]:
        inp, out = self.on_demand_rates()
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
            "evaluationThroughputHourlyUsd": _round(self.evaluation_hourly_usd),
            "throughputDailyUsd": _round(self.throughput_daily_usd),
            "onDemandPer1MTokensUsd": {"input": inp, "output": out},
            "firstMonth": self.first_month().to_dict(),
            "basis": self.numbers.get("basis") or {},
            "unknown": self.unknown_reasons(),
            "evaluation": evaluation_text(self.spec),
            "serving": self.spec.serving.to_dict()
            | {"description": "; ".join(filter(None, (serving_text(self.spec), slot_text(self.spec))))},
            "approval": self.approval.to_dict(),
            "preflight": {"ok": self.preflight_ok, "summary": self.preflight_summary},
            "prices": self.model.prices.to_dict(),
            "priceSource": self.price_book.to_dict(self.model)
            if self.price_book is not None
            else {"status": CATALOG, "description": self.prices_line()},
        }


def _round(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def build(spec: RunSpec, report: PreflightReport, prices: PriceBook | None = None) -> Estimate:
    """The estimate of a spec from its preflight report (which measured the training data).

    With ``prices`` (pipeline.operate.prices.load), each figure the Price List API gives replaces
    the catalog's; every figure keeps its source and date.
    """
    if prices is not None:
        spec = prices.priced_spec(spec)
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
        price_book=prices,
    )


def purchases(spec: RunSpec, approval: costs.ApprovalDecision) -> list[str]:
    """What a run may buy, when, and who must agree: the lines `start` asks about."""
    bought = []
    if spec.evaluation_vehicle == THROUGHPUT_VEHICLE:
        kept = (
            "kept to serve with if the model passes its quality bar"
            if spec.serving_reuses_evaluation_throughput
            else "released after the evaluation"
        )
        bought.append(
            f"{EVALUATION_MODEL_UNITS} model unit of no-commitment provisioned throughput to evaluate on, "
            "once training passes its loss bar"
            + (" and a human approves" if approval.before_evaluation else "")
            + f" ({kept})"
        )
    serving = spec.serving
    if serving.buys_throughput and not spec.serving_reuses_evaluation_throughput:
        bought.append(
            f"{serving.model_units} model unit(s) of provisioned throughput ({term(serving.commitment)}) "
            "to serve with, only after the model passes its quality bar"
            + (" and a human approves" if approval.before_serving else "")
        )
    return bought

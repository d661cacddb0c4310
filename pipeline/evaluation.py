"""Stage 2 of the evaluation: the custom model in use, compared with its base model.

Every evaluation prompt goes through the Converse API to the custom model (on its evaluation
vehicle: an on-demand custom model deployment, or a Provisioned Throughput) and to the base model
(its on-demand id or inference profile), with the same fixed inference settings (temperature 0,
512 output tokens at most). Each answer is scored against the prompt's reference answer with
pipeline.scoring; latency and token counts come from Converse's own ``metrics`` and ``usage``.

A gate that cannot fail by accident: when more than ``MAX_FAILED_SHARE`` of either model's calls
failed (errors, not low scores: access refused, wrong model id, the model erroring), the verdict
is "not judged" and the gate fails with ``EvaluationNotJudged``. Without that, a base model that
refuses every call scores 0 and any custom model would "improve" on it.

The Converse call is injected (a bound ``bedrock-runtime`` ``converse``), and so are sleeping and
the time budget, so this module runs unchanged in Lambda, in the CLI and in tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pipeline import scoring
from pipeline.aws_retries import CONVERSE_TRANSIENT, error_code
from pipeline.catalog import Price, UnknownModelError, get_model
from pipeline.costs import pt_price
from pipeline.evaluation_prompts import PROMPTS as PROMPTS
from pipeline.evaluation_prompts import TRAINING_SLICE as TRAINING_SLICE
from pipeline.evaluation_prompts import VALIDATION_SLICE as VALIDATION_SLICE
from pipeline.evaluation_prompts import EvalPrompt as EvalPrompt
from pipeline.evaluation_prompts import PromptSet as PromptSet
from pipeline.evaluation_prompts import block_text
from pipeline.evaluation_prompts import extract_pair as extract_pair
from pipeline.evaluation_prompts import extract_prompt as extract_prompt
from pipeline.evaluation_prompts import prompt_source as prompt_source
from pipeline.evaluation_prompts import read_prompts as read_prompts

MAX_TOKENS: Final = 512
TEMPERATURE: Final = 0
DEFAULT_MAX_PROMPTS: Final = 50

# Transient: the same request may succeed a little later (pipeline.aws_retries). A Provisioned
# Throughput that has just turned InService can still answer ModelNotReady for a short while.
RETRYABLE_ERRORS: Final = CONVERSE_TRANSIENT
# About this prompt, not the service: recorded as a failed answer, and the run goes on.
PROMPT_ERRORS: Final = frozenset({"ValidationException", "ModelErrorException"})
# About the model as a whole (no access, no such model or profile): recorded as failed answers too,
# so the verdict says "not judged"; after a few in a row the model is not asked again.
MODEL_ERRORS: Final = frozenset({"AccessDeniedException", "ResourceNotFoundException"})
MODEL_ERRORS_BEFORE_GIVING_UP: Final = 3
# More failed calls than this share of the prompts, for either model, and nothing was judged.
MAX_FAILED_SHARE: Final = 0.1
NOT_JUDGED: Final = "EvaluationNotJudged"
# What the comparison concluded (``verdict`` of the result): a purchase to serve needs "passed", a
# bar that was set and met (the workflow's guard before each purchase reads it).
VERDICT_PASSED: Final = "passed"
VERDICT_BELOW_BAR: Final = "below-bar"
VERDICT_NOT_JUDGED: Final = "not-judged"
VERDICT_NO_BAR: Final = "no-bar"

Converse = Callable[..., Mapping[str, Any]]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class Answer:
    text: str
    latency_ms: float | None
    input_tokens: int | None
    output_tokens: int | None
    stop_reason: str | None
    attempts: int
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "latencyMs": self.latency_ms,
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "stopReason": self.stop_reason,
            "attempts": self.attempts,
            "error": self.error,
        }


def backoff_delays(attempts: int, base: float = 1.0, cap: float = 20.0) -> list[float]:
    """Waits between attempts: base * 2^n, each capped (no jitter: one caller, one request at a time)."""
    return [min(cap, base * 2**n) for n in range(max(0, attempts - 1))]


def ask(
    converse: Converse,
    model_id: str,
    prompt: str,
    *,
    sleep: Sleep = time.sleep,
    max_attempts: int = 6,
    max_tokens: int = MAX_TOKENS,
) -> Answer:
    """One Converse call with bounded retries on transient errors.

    When retries run out the last transient error is raised; every other service error (access,
    missing model) escapes at once. Both are operational failures for the workflow's Retry/Catch.
    """
    delays = backoff_delays(max_attempts)
    for attempt in range(1, max_attempts + 1):
        try:
            response = converse(
                modelId=model_id,
                messages=[{"role": "user", "content": [{"text": prompt}]}],
                inferenceConfig={"maxTokens": max_tokens, "temperature": TEMPERATURE},
            )
        except Exception as error:
            code = error_code(error)
            if code in PROMPT_ERRORS or code in MODEL_ERRORS:
                return Answer("", None, None, None, None, attempt, error=f"{code}: {error}")
            if code not in RETRYABLE_ERRORS:
                raise
            if attempt == max_attempts:
                # The original error, under its own name: the workflow retries the whole state on
                # ThrottlingException and friends, later and with its own backoff.
                raise
            sleep(delays[attempt - 1])
            continue
        message = (response.get("output") or {}).get("message") or {}
        usage = response.get("usage") or {}
        latency = (response.get("metrics") or {}).get("latencyMs")
        return Answer(
            text=block_text(message.get("content")),
            latency_ms=float(latency) if latency is not None else None,
            input_tokens=usage.get("inputTokens"),
            output_tokens=usage.get("outputTokens"),
            stop_reason=response.get("stopReason"),
            attempts=attempt,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def observe(answer: Answer, reference: str) -> tuple[scoring.Observation, dict[str, Any]]:
    if answer.error is not None:
        observation = scoring.Observation.failed(answer.error)
    else:
        observation = scoring.Observation(
            quality=scoring.rouge_l(answer.text, reference),
            token_f1=scoring.token_f1(answer.text, reference),
            latency_ms=answer.latency_ms,
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
        )
    row = answer.to_dict() | {
        "rougeL": round(observation.quality, 4),
        "tokenF1": round(observation.token_f1, 4),
    }
    return observation, row


_TERMS: Final = {"none": "no-commitment", "OneMonth": "1-month commitment", "SixMonths": "6-month commitment"}


def _source(price: Price) -> str:
    return f"{price.source} (as of {price.as_of})"


def pricing_for(
    plan: Mapping[str, Any], vehicle: str = "throughput"
) -> tuple[scoring.Pricing, scoring.Pricing]:
    """(custom, base) pricing from the catalog; unknown prices stay None.

    On a Provisioned Throughput the custom model is billed at its base model's hourly rate for the
    commitment [UG:prov-throughput]; on an on-demand deployment per token at the base model's
    on-demand rate [UG:deploy-custom-model-on-demand]; the base model per token on demand.
    """
    throughput = plan.get("vehicle") or {}
    if vehicle == "throughput" and not throughput.get("ModelUnits"):
        throughput = plan.get("serving") or plan.get("throughput") or {}
    commitment = str(throughput.get("commitment") or "none")
    units = throughput.get("ModelUnits")
    try:
        model = get_model(str(plan.get("baseModel")))
    except UnknownModelError:
        return (
            scoring.Pricing("provisioned", model_units=units, source="base model not in the catalog"),
            scoring.Pricing("on-demand", source="base model not in the catalog"),
        )
    hourly = pt_price(model, commitment)
    prices = model.prices
    inp, out = prices.on_demand_input_per_1m_tokens, prices.on_demand_output_per_1m_tokens
    base = scoring.Pricing(
        "on-demand",
        input_per_1m_tokens=inp.value if inp else None,
        output_per_1m_tokens=out.value if out else None,
        source=_source(inp) if inp else "no on-demand price in the catalog",
    )
    if vehicle == "deployment":
        custom_on_demand = scoring.Pricing(
            "on-demand",
            input_per_1m_tokens=base.input_per_1m_tokens,
            output_per_1m_tokens=base.output_per_1m_tokens,
            source=f"custom model deployment at the base model's on-demand rate: {base.source}",
        )
        return custom_on_demand, base
    custom = scoring.Pricing(
        "provisioned",
        hourly_per_model_unit=hourly.value if hourly else None,
        model_units=units,
        source=_source(hourly)
        if hourly
        else f"no {_TERMS.get(commitment, commitment)} PT price in the catalog",
    )
    return custom, base


@dataclass
class EvaluationResult:
    passed: bool
    summary: str
    custom: dict[str, Any]
    base: dict[str, Any]
    rows: list[dict[str, Any]]
    prompt_set: PromptSet
    bar: scoring.QualityBar
    stopped_early: bool = False
    judged: bool = True
    vehicle: str = "throughput"
    # The champion serving in the run's slot, measured on the same prompts (None: no champion).
    champion: dict[str, Any] | None = None
    # evaluation.references=teacher: who answered for the references, how often, how often it failed.
    teacher: dict[str, Any] | None = None

    @property
    def verdict(self) -> str:
        if not self.judged:
            return VERDICT_NOT_JUDGED
        if not self.bar.is_set:
            return VERDICT_NO_BAR
        return VERDICT_PASSED if self.passed else VERDICT_BELOW_BAR

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "judged": self.judged,
            "verdict": self.verdict,
            "vehicle": self.vehicle,
            "maxFailedShare": MAX_FAILED_SHARE,
            "summary": self.summary,
            "bar": self.bar.to_dict(),
            "method": {
                "quality": scoring.QUALITY_DESCRIPTION,
                "percentiles": scoring.PERCENTILE_METHOD,
                "costAssumption": scoring.PT_COST_ASSUMPTION,
                "inference": {"maxTokens": MAX_TOKENS, "temperature": TEMPERATURE},
            },
            "prompts": self.prompt_set.to_dict(),
            "stoppedEarly": self.stopped_early,
            "custom": self.custom,
            "base": self.base,
            **({"champion": self.champion} if self.champion is not None else {}),
            **({"references": {"from": "teacher", **self.teacher}} if self.teacher is not None else {}),
            "rows": self.rows,
        }


def _no_prompts(
    prompt_set: PromptSet, bar: scoring.QualityBar, custom: dict[str, Any], base: dict[str, Any]
) -> EvaluationResult:
    where = prompt_set.uri or "nowhere (no prompts file and no dataset)"
    notes = "".join(f" {note}." for note in prompt_set.notes)
    if bar.is_set:
        passed = False
        summary = (
            f"No evaluation prompts with a reference answer in {where}, so the custom model cannot be "
            'checked against the bar; give evaluation.prompts (JSONL of {"prompt", "reference"}).'
        )
    else:
        passed = True
        summary = f"Not evaluated: no prompts with a reference answer in {where}, and no quality bar is set."
    return EvaluationResult(passed, summary + notes, custom, base, [], prompt_set, bar)


def _unreachable(answers: list[Answer]) -> str | None:
    """The model-level error that every one of the last few answers failed with, if any."""
    recent = answers[-MODEL_ERRORS_BEFORE_GIVING_UP:]
    if len(recent) < MODEL_ERRORS_BEFORE_GIVING_UP:
        return None
    codes = {(a.error or "").partition(":")[0] for a in recent}
    return next(iter(codes)) if len(codes) == 1 and codes <= MODEL_ERRORS else None


def failed_share(aggregated: Mapping[str, Any]) -> float:
    prompts = int(aggregated.get("prompts") or 0)
    return int(aggregated.get("errors") or 0) / prompts if prompts else 0.0


def not_judged_reasons(
    custom: Mapping[str, Any], base: Mapping[str, Any], champion: Mapping[str, Any] | None = None
) -> list[str]:
    """Why the comparison judged nothing: too many failed calls for any model compared."""
    reasons = []
    compared = [("custom", custom), ("base", base)] + ([("champion", champion)] if champion else [])
    for name, agg in compared:
        share = failed_share(agg)
        if share > MAX_FAILED_SHARE:
            reasons.append(
                f"{agg.get('errors')} of {agg.get('prompts')} calls to the {name} model "
                f"({agg.get('modelId')}) failed ({share:.0%} > {MAX_FAILED_SHARE:.0%} allowed)"
            )
    return reasons


def evaluate(
    plan: Mapping[str, Any],
    prompt_set: PromptSet,
    *,
    custom_model_id: str,
    converse: Converse,
    vehicle: str = "throughput",
    champion_model_id: str | None = None,
    sleep: Sleep = time.sleep,
    time_left_ms: Callable[[], int] | None = None,
    reserve_ms: int = 60_000,
) -> EvaluationResult:
    """Ask every model every prompt, score the answers, aggregate and apply the bar.

    The models are the custom one (on its vehicle) and its base; with ``champion_model_id`` (the
    endpoint of the serving slot the run would replace), also the champion serving there, on the
    same prompts and paired with the others. ``time_left_ms`` lets a Lambda stop starting new prompts
    while there is still time to save the results; the summary then says how many prompts were used.
    """
    bar = scoring.QualityBar.from_plan(plan.get("evaluation"))
    base_model_id = str(plan.get("baseModelInvokeId") or plan.get("baseModel"))
    custom_pricing, base_pricing = pricing_for(plan, vehicle)
    models = {"custom": custom_model_id, "base": base_model_id}
    pricing = {"custom": custom_pricing, "base": base_pricing}
    if champion_model_id:
        models["champion"] = champion_model_id
        pricing["champion"] = pricing_for(
            plan, "deployment" if ":custom-model-deployment/" in champion_model_id else "throughput"
        )[0]
    if not prompt_set.prompts:
        custom = scoring.aggregate(custom_model_id, [], custom_pricing)
        base = scoring.aggregate(base_model_id, [], base_pricing)
        result = _no_prompts(prompt_set, bar, custom, base)
        result.vehicle = vehicle
        if champion_model_id:
            result.champion = scoring.aggregate(champion_model_id, [], pricing["champion"])
        return result
    observed: dict[str, list[scoring.Observation]] = {name: [] for name in models}
    answers: dict[str, list[Answer]] = {name: [] for name in models}
    rows: list[dict[str, Any]] = []
    stopped_early = False
    teacher_id = teacher_model_id(plan)
    teacher_answers: list[Answer] = []
    for item in prompt_set.prompts:
        # At least one prompt is always asked, so a result always has numbers behind it.
        if rows and time_left_ms is not None and time_left_ms() < reserve_ms:
            stopped_early = True
            break
        row: dict[str, Any] = {"line": item.line, "prompt": item.prompt, "reference": item.reference}
        reference = item.reference
        if teacher_id is not None:
            # The teacher answers first: its answer is what the student is measured against. A prompt
            # it does not answer has no reference, so no model is asked it (no tokens spent on it).
            taught = _ask_unless_gone(converse, teacher_id, item.prompt, teacher_answers, sleep)
            teacher_answers.append(taught)
            row["teacher"] = taught.to_dict()
            if taught.error is not None or not taught.text.strip():
                row["reference"] = None
                rows.append(row)
                continue
            reference = row["reference"] = taught.text
        for name, model_id in models.items():
            answer = _ask_unless_gone(converse, model_id, item.prompt, answers[name], sleep)
            answers[name].append(answer)
            observation, details = observe(answer, reference)
            observed[name].append(observation)
            row[name] = details
        rows.append(row)
    # Means over the prompts every model answered (the judge takes the same ones).
    counted = scoring.paired(observed)
    aggregates = {
        name: scoring.aggregate(models[name], observed[name], pricing[name], counted) for name in models
    }
    custom, base, champion = aggregates["custom"], aggregates["base"], aggregates.get("champion")
    unjudged = not_judged_reasons(custom, base, champion)
    teacher = None
    if teacher_id is not None:
        failed = sum(1 for a in teacher_answers if a.error is not None or not a.text.strip())
        teacher = {"modelId": teacher_id, "asked": len(teacher_answers), "failed": failed}
        if teacher_answers and failed / len(teacher_answers) > MAX_FAILED_SHARE:
            unjudged.insert(
                0,
                f"{failed} of {len(teacher_answers)} calls to the teacher ({teacher_id}) gave no reference "
                f"answer ({failed / len(teacher_answers):.0%} > {MAX_FAILED_SHARE:.0%} allowed)",
            )
    if unjudged:
        passed = False
        summary = (
            f"Not judged ({NOT_JUDGED}): {'; '.join(unjudged)}, so the scores compare nothing. "
            "Check model access and the base model id (some bases need a cross-Region inference profile)."
        )
    else:
        passed, summary = scoring.decide_quality(
            bar, custom["quality"], base["quality"], champion["quality"] if champion else None
        )
    notes = [f"{len(rows)} prompt(s) from {prompt_set.uri} ({prompt_set.kind})"]
    if teacher_id is not None:
        notes.append(f"references: the teacher {teacher_id}'s answers")
    if stopped_early:
        notes.append(
            f"stopped after {len(rows)} of {len(prompt_set.prompts)} prompts to finish within the time limit"
        )
    failures = [f"the {name} model {agg['errors']}" for name, agg in aggregates.items() if agg["errors"]]
    if failures:
        every = "both models" if len(aggregates) == 2 else "every model"
        notes.append(
            f"calls that failed: {', '.join(failures)}; the means are over the {custom['paired']} prompt(s) "
            f"{every} answered"
        )
    notes += prompt_set.notes
    return EvaluationResult(
        passed,
        f"{summary} {'; '.join(notes)}.",
        custom,
        base,
        rows,
        prompt_set,
        bar,
        stopped_early,
        judged=not unjudged,
        vehicle=vehicle,
        champion=champion,
        teacher=teacher,
    )


def teacher_model_id(plan: Mapping[str, Any]) -> str | None:
    """The teacher that answers for the references (evaluation.references=teacher), or None."""
    settings = plan.get("evaluation") or {}
    if settings.get("references") != "teacher":
        return None
    teacher = settings.get("teacherInvokeId")
    if not teacher:
        raise ValueError("the plan takes references from the teacher but names none (teacherInvokeId)")
    return str(teacher)


def _ask_unless_gone(
    converse: Converse, model_id: str, prompt: str, earlier: list[Answer], sleep: Sleep
) -> Answer:
    """Ask, unless the model's last few calls all failed for the model as a whole (then not again)."""
    gone = _unreachable(earlier)
    if gone:
        return Answer("", None, None, None, None, 0, error=f"{gone}: not asked, every recent call failed")
    return ask(converse, model_id, prompt, sleep=sleep)


SMOKE_FALLBACK_PROMPT: Final = "Reply with the single word: ready."


@dataclass(frozen=True)
class SmokeResult:
    passed: bool
    summary: str
    model_id: str
    answers: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "summary": self.summary,
            "modelId": self.model_id,
            "answers": self.answers,
        }


def smoke_check(
    prompt_set: PromptSet, *, model_id: str, converse: Converse, count: int, sleep: Sleep = time.sleep
) -> SmokeResult:
    """A few prompts on what will serve: every one must come back with a non-empty answer.

    Not a quality measurement (that was the gate): it proves the serving endpoint the run reports
    answers at all, right after it came online.
    """
    prompts = [p.prompt for p in prompt_set.prompts[: max(1, count)]] or [SMOKE_FALLBACK_PROMPT]
    rows = []
    failures = []
    for prompt in prompts:
        answer = ask(converse, model_id, prompt, sleep=sleep, max_tokens=64)
        rows.append({"prompt": prompt, **answer.to_dict()})
        if answer.error is not None or not answer.text.strip():
            failures.append(answer.error or "empty answer")
    if failures:
        summary = (
            f"Smoke check failed on {model_id}: {len(failures)} of {len(prompts)} prompt(s) got no answer "
            f"({'; '.join(dict.fromkeys(failures))})."
        )
    else:
        summary = f"Smoke check passed on {model_id}: {len(prompts)} prompt(s) answered."
    return SmokeResult(not failures, summary, model_id, rows)

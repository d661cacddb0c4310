"""Model selection before customizing: the same prompts to several models, side by side.

Each prompt goes through the Converse API to every model with the workflow's fixed inference settings,
and is scored with pipeline.scoring through pipeline.evaluation (``ask``, ``observe``), exactly as
the workflow's stage-2 evaluation scores a custom model against its base model. Aggregates (quality,
p50/p95 latency, tokens, cost per 1,000 requests) are ``scoring.aggregate``.

A model is one of:

- a foundation model id (``amazon.nova-micro-v1:0``; a catalog id with its ``:128k`` suffix is sent
  as its on-demand id), or a cross-Region inference profile (``us.amazon.nova-pro-v1:0``): billed
  per token at the catalog's on-demand price;
- a run id: the run's custom model where it answers now, on its Provisioned Throughput (billed
  per model-unit hour; the serving purchase first, else its evaluation throughput) or on its
  on-demand deployment (``<run id>-od``);
- a provisioned-throughput ARN: a custom model on that throughput, billed per model-unit hour;
- a custom model deployment ARN: a custom model deployed on demand, billed per token at its base
  model's on-demand rate (the base model is read from the deployment's custom model).

A model that refuses every call (no access, no such model) is an operational failure, not a score
of zero: the comparison would be meaningless.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pipeline import evaluation, money, naming, scoring
from pipeline.catalog import PROFILE_GEOGRAPHIES, TEACHERS, ModelInfo, all_models
from pipeline.datasets.sources import split_s3
from pipeline.operate import deployments, hints, output, throughput
from pipeline.operate.aws import Clients
from pipeline.operate.errors import InvalidInputError, OperationalError, describe_aws_error
from pipeline.operate.runs import RUN_ID_RE
from pipeline.plan import base_model_invoke_id

_GEOGRAPHIES: Final = tuple(sorted(PROFILE_GEOGRAPHIES, key=len, reverse=True))


@dataclass(frozen=True)
class Target:
    label: str
    model_id: str
    kind: str  # on-demand | provisioned | deployment
    pricing: scoring.Pricing
    notes: tuple[str, ...] = ()


def without_geography(model_id: str) -> str:
    """``us.amazon.nova-pro-v1:0`` (a cross-Region inference profile) → ``amazon.nova-pro-v1:0``."""
    for geography in _GEOGRAPHIES:
        if model_id.startswith(geography + "."):
            return model_id[len(geography) + 1 :]
    return model_id


def catalog_entry(model_id: str) -> ModelInfo | None:
    """The customizable base model behind an on-demand id, a profile id or a customization id."""
    body = without_geography(model_id)
    for model in all_models():
        if body in (model.model_id, base_model_invoke_id(model)):
            return model
    return None


def capability_notes(model_id: str, model: ModelInfo | None) -> list[str]:
    notes: list[str] = []
    if model is None:
        notes.append("not customizable through this pipeline (not a catalog base model)")
    else:
        types = ", ".join(f"{t} ({f})" for t, f in model.data_formats.items())
        notes.append(f"customizable: {types}")
        notes.append(
            f"input {', '.join(model.input_modalities)} -> output {', '.join(model.output_modalities)}; "
            f"customization regions {', '.join(model.regions)}"
        )
    teacher = TEACHERS.get(without_geography(model_id))
    if teacher is not None:
        notes.append(f"distillation teacher for {', '.join(teacher.students)}")
    return notes


def _on_demand(text: str) -> Target:
    model = catalog_entry(text)
    model_id = text
    notes = []
    if model is not None and text == model.model_id and base_model_invoke_id(model) != text:
        model_id = base_model_invoke_id(model)
        notes.append(f"invoked on demand as {model_id} (the customization id {text} is not invocable)")
    if model is not None:
        _, pricing = evaluation.pricing_for({"baseModel": model.model_id})
    else:
        pricing = scoring.Pricing("on-demand", source="not in the catalog: on-demand price unknown")
    return Target(text, model_id, "on-demand", pricing, tuple(notes + capability_notes(model_id, model)))


def _provisioned(label: str, pt: throughput.Throughput) -> Target:
    if pt.status != "InService":
        raise InvalidInputError(
            f"provisioned throughput {pt.arn} is {pt.status}, not InService: it cannot answer yet",
            hint=f"wait until it is InService ({hints.command('throughput', 'list')}) and run compare again",
        )
    base = pt.base_model_id
    plan = {"baseModel": base, "serving": {"commitment": pt.commitment, "ModelUnits": pt.model_units}}
    pricing, _ = evaluation.pricing_for(plan, "throughput")
    model = catalog_entry(base) if base else None
    run = f"run {pt.run_id}'s custom model" if pt.run_id else "a custom model"
    purpose = f", bought for {pt.purpose}" if pt.purpose else ""
    notes = [
        f"{run} on provisioned throughput {output.short_arn(pt.arn)} ({pt.model_units} MU, "
        f"{'no commitment' if not pt.has_commitment else pt.commitment}{purpose}), base {base or 'unknown'}",
        *capability_notes(base_model_invoke_id(model) if model else (base or ""), model)[1:2],
    ]
    return Target(label, pt.arn, "provisioned", pricing, tuple(n for n in notes if n))


def _base_of_deployment(bedrock: Any, deployed: deployments.ModelDeployment) -> str | None:
    """The catalog id of the base model behind a deployment's custom model, when Bedrock says it."""
    if not deployed.model_arn:
        return None
    try:
        custom = bedrock.get_custom_model(modelIdentifier=deployed.model_arn)
    except Exception as exc:
        if describe_aws_error(exc) is None:
            raise
        return None
    return throughput.model_id_of(custom.get("baseModelArn"))


def _deployment(label: str, arn: str, clients: Clients) -> Target:
    bedrock = clients("bedrock")
    deployed = deployments.describe(bedrock, arn)
    if deployed is None:
        raise InvalidInputError(f"custom model deployment {arn} does not exist (deleted?)")
    if deployed.status != deployments.ACTIVE:
        raise InvalidInputError(
            f"custom model deployment {arn} is {deployed.status}, not Active: it cannot answer yet",
            hint=f"wait until it is Active ({hints.command('status', 'RUN')}) and run compare again",
        )
    base = _base_of_deployment(bedrock, deployed)
    model = catalog_entry(base) if base else None
    if model is not None:
        pricing, _ = evaluation.pricing_for({"baseModel": model.model_id}, "deployment")
    else:
        pricing = scoring.Pricing(
            "on-demand", source="custom model deployment of a base not in the catalog: price unknown"
        )
    run = f"run {deployed.run_id}'s custom model" if deployed.run_id else "a custom model"
    purpose = f", created for {deployed.purpose}" if deployed.purpose else ""
    notes = [
        f"{run} on on-demand deployment {output.short_arn(arn)}{purpose}, base {base or 'unknown'}",
        *capability_notes(base_model_invoke_id(model) if model else (base or ""), model)[1:2],
    ]
    return Target(label, arn, "deployment", pricing, tuple(n for n in notes if n))


def _of_run(run_id: str, clients: Clients) -> Target:
    """A run's custom model where it answers: its throughput (serving first, in service first), else
    its on-demand deployment."""
    bedrock = clients("bedrock")
    matches = [t for t in throughput.inventory(bedrock) if t.run_id == run_id]
    if matches:
        ranked = sorted(matches, key=lambda t: (t.status != "InService", t.purpose != throughput.SERVING))
        return _provisioned(run_id, ranked[0])
    found = deployments.find_by_name(bedrock, naming.deployment_name(run_id))
    if found is not None:
        return _deployment(run_id, found, clients)
    raise InvalidInputError(
        f"{run_id!r} is neither a model id nor a run with provisioned throughput or an on-demand deployment",
        hint="compare foundation model ids (e.g. amazon.nova-micro-v1:0), or a run whose throughput is "
        f"InService ({hints.command('throughput', 'list')}) or whose deployment is Active "
        f"({hints.command('status', 'RUN')})",
    )


def resolve(text: str, clients: Clients) -> Target:
    """What to send a model argument to, and how it is billed."""
    if throughput.is_throughput_arn(text):
        pt = throughput.describe(clients("bedrock"), text)
        if pt is None:
            raise InvalidInputError(f"provisioned throughput {text} does not exist")
        return _provisioned(text, pt)
    if deployments.is_deployment_arn(text):
        return _deployment(text, text, clients)
    if "." not in text and RUN_ID_RE.fullmatch(text):
        return _of_run(text, clients)
    return _on_demand(text)


def read_prompt_file(location: str, clients: Clients | None, max_prompts: int) -> evaluation.PromptSet:
    """The first ``max_prompts`` prompts with reference answers, from a local or s3:// JSONL file."""
    if location.startswith("s3://"):
        assert clients is not None
        bucket, key = split_s3(location)
        body = clients("s3").get_object(Bucket=bucket, Key=key)["Body"]
        with body:
            prompt_set = evaluation.read_prompts(
                body.iter_lines(), uri=location, kind=evaluation.PROMPTS, max_prompts=max_prompts
            )
    else:
        path = Path(location)
        if not path.is_file():
            raise InvalidInputError(
                f"--prompts {location}: no such file", hint='give a JSONL file of {"prompt", "reference"}'
            )
        with path.open("rb") as handle:
            prompt_set = evaluation.read_prompts(
                handle, uri=location, kind=evaluation.PROMPTS, max_prompts=max_prompts
            )
    if not prompt_set.prompts:
        raise InvalidInputError(
            f"{location} holds no prompt with a reference answer",
            hint='each line must be {"prompt": "...", "reference": "..."} (or a training-format record)',
        )
    return prompt_set


@dataclass
class Comparison:
    prompt_set: evaluation.PromptSet
    targets: list[Target]
    aggregates: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def models(self) -> list[tuple[str, Mapping[str, Any]]]:
        return [(t.label, agg) for t, agg in zip(self.targets, self.aggregates, strict=True)]

    def notes(self) -> dict[str, list[str]]:
        result = {}
        for target, aggregate in zip(self.targets, self.aggregates, strict=True):
            items = list(target.notes)
            items.append(f"billing: {target.pricing.source or target.pricing.kind}")
            if aggregate["errors"]:
                first = self.errors.get(target.label, ["?"])[0]
                items.append(f"could not answer {aggregate['errors']} prompt(s) (scored 0): {first}")
            result[target.label] = items
        return result

    def render(self) -> str:
        rows = [
            [
                label,
                _n(agg.get("quality")),
                _n(agg.get("tokenF1")),
                _ms(agg["latencyMs"]["p50"]),
                _ms(agg["latencyMs"]["p95"]),
                _n(agg["inputTokens"]["mean"], 1),
                _n(agg["outputTokens"]["mean"], 1),
                money.usd(agg.get("costPer1000RequestsUsd")),
                f"{agg['errors']}",
            ]
            for label, agg in self.models
        ]
        table = output.table(
            ["MODEL", "QUALITY", "TOKEN F1", "P50", "P95", "IN TOK", "OUT TOK", "PER 1K REQ", "ERRORS"],
            rows,
            right=range(1, 9),
        )
        notes = "\n".join(
            f"{label}:\n" + "\n".join(f"  - {n}" for n in items) for label, items in self.notes().items()
        )
        count = len(self.prompt_set.prompts)
        return (
            f"{count} prompt(s) from {self.prompt_set.uri}; quality = {scoring.QUALITY_DESCRIPTION}\n\n"
            f"{table}\n\n{notes}\n\nCost per 1,000 requests: on demand = mean tokens x price; provisioned: "
            f"{scoring.PT_COST_ASSUMPTION}. unknown = no price known, never zero.\n"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompts": self.prompt_set.to_dict(),
            "method": {
                "quality": scoring.QUALITY_DESCRIPTION,
                "percentiles": scoring.PERCENTILE_METHOD,
                "costAssumption": scoring.PT_COST_ASSUMPTION,
                "inference": {"maxTokens": evaluation.MAX_TOKENS, "temperature": evaluation.TEMPERATURE},
            },
            "models": [
                {
                    "label": t.label,
                    "modelId": t.model_id,
                    "kind": t.kind,
                    "notes": self.notes()[t.label],
                    **agg,
                }
                for t, agg in zip(self.targets, self.aggregates, strict=True)
            ],
            "rows": self.rows,
        }


def _n(value: Any, digits: int = 3) -> str:
    return f"{value:,.{digits}f}" if isinstance(value, int | float) else money.UNKNOWN


def _ms(value: Any) -> str:
    return f"{value:,.0f} ms" if isinstance(value, int | float) else money.UNKNOWN


def run(
    targets: Sequence[Target],
    prompt_set: evaluation.PromptSet,
    converse: evaluation.Converse,
    *,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Ask every model every prompt (sequentially: latency is measured per request)."""
    result = Comparison(prompt_set, list(targets))
    observed: dict[str, list[scoring.Observation]] = {t.label: [] for t in targets}
    for index, item in enumerate(prompt_set.prompts, start=1):
        row: dict[str, Any] = {"line": item.line, "prompt": item.prompt, "reference": item.reference}
        for target in targets:
            # Throttling that outlasts ask()'s retries escapes as the AWS error: exit 1, "wait a minute".
            answer = evaluation.ask(converse, target.model_id, item.prompt, sleep=sleep)
            _refused(target, answer)
            observation, details = evaluation.observe(answer, item.reference)
            observed[target.label].append(observation)
            if answer.error:
                result.errors.setdefault(target.label, []).append(answer.error)
            row[target.label] = details
        result.rows.append(row)
        if progress is not None:
            progress(f"prompt {index}/{len(prompt_set.prompts)} answered by {len(targets)} model(s)")
    # Every model's means over the prompts all of them answered (as the workflow's comparison does).
    counted = scoring.paired(observed)
    result.aggregates = [
        scoring.aggregate(t.model_id, observed[t.label], t.pricing, counted) for t in targets
    ]
    return result


def _refused(target: Target, answer: evaluation.Answer) -> None:
    """A model-level refusal (no access, no such model) ends the comparison with the AWS error."""
    code, _, message = (answer.error or "").partition(": ")
    if code not in evaluation.MODEL_ERRORS:
        return
    from botocore.exceptions import ClientError

    if message.startswith("An error occurred (") and " operation: " in message:
        message = message.split(" operation: ", 1)[1]  # botocore's wording around the service's message
    error = ClientError({"Error": {"Code": code, "Message": message}}, "Converse")
    described = describe_aws_error(error)
    assert described is not None
    hint = described.hint
    if code == "ResourceNotFoundException":
        hint = (
            f"{target.label} is not a model id, inference profile, throughput or deployment Bedrock knows "
            "in this region: check the id and --region"
        )
    raise OperationalError(f"{described.message} (model {target.model_id})", hint=hint)


def unique(labels: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(labels))

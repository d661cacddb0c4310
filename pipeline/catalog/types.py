"""The catalog's types: what an entry states and what the rest of the code reads.

Every fact carries the source it came from, using the tags of docs/reference bedrock.md:

- [UG:<page>]   Amazon Bedrock User Guide page
- [NOVA:<page>] Amazon Nova User Guide page (Nova 1); [NOVA2:<page>] the Nova 2 guide
- [BC]          botocore's Bedrock service model
- [ABS]         aws-samples/amazon-bedrock-samples (AWS sample validators; helpful, not a specification)
- [WS]          aws-samples/amazon-bedrock-workshop
- [AWS-BLOG]    an AWS blog post (official, but a worked example, not a price list)
- [PL]          the AWS Price List API (``pricing:GetProducts``, service code AmazonBedrock)
- [3P]          third-party note; used only for prices, which are possibly stale

A fact that no official source confirms says so in its ``unconfirmed`` field; a figure no source gives
is ``None`` (``Unknown`` in an entry), never zero. Record-count, file-size and token limits that are
unknown are ``None`` and are *not* checked: the dataset report then carries a warning instead.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from pipeline.problems import DASH, Problem, did_you_mean, show

if TYPE_CHECKING:
    from pipeline.catalog.entry import ModelEntry

FINE_TUNING: Final = "FINE_TUNING"
CONTINUED_PRE_TRAINING: Final = "CONTINUED_PRE_TRAINING"
DISTILLATION: Final = "DISTILLATION"
# Reinforcement fine-tuning: the model samples answers to prompts and a grader Lambda scores them
# [UG:reinforcement-fine-tuning], customizationConfig.rftConfig [BC]. IMPORTED exists in the API enum
# [BC] but is out of scope for run specs.
REINFORCEMENT_FINE_TUNING: Final = "REINFORCEMENT_FINE_TUNING"
CUSTOMIZATION_TYPES: Final = (FINE_TUNING, CONTINUED_PRE_TRAINING, DISTILLATION, REINFORCEMENT_FINE_TUNING)

# Record formats; pipeline.datasets.formats holds the checker for each of these names.
PROMPT_COMPLETION: Final = "prompt-completion"
CONVERSATION: Final = "bedrock-conversation-2024"
CONVERSATION_PROMPTS: Final = "bedrock-conversation-2024-prompts"
CLAUDE_MESSAGES: Final = "claude-messages"
PRETRAINING_TEXT: Final = "continued-pretraining"
IMAGE_CAPTION: Final = "image-caption"
EVALUATION_PROMPTS: Final = "evaluation-prompts"
# Evaluation prompts whose reference answers come from the distillation teacher: a reference is optional.
TEACHER_EVALUATION_PROMPTS: Final = "evaluation-prompts-teacher"
# Reinforcement fine-tuning prompts: OpenAI chat-completions records with a reference answer
# [UG:rft-prepare-data].
RFT_PROMPTS: Final = "rft-prompts"

# File-size limits use decimal units: where the guides say "1 GB" this is the smaller reading, so a
# file the preflight accepts is within the limit either way.
GB: Final = 1_000_000_000
MB: Final = 1_000_000

# How many validation files CreateModelCustomizationJob accepts (validationDataConfig.validators) [BC].
MAX_VALIDATION_FILES: Final = 10

ENUM: Final = "enum"  # a hyperparameter that takes one of a few strings
_NUMBER_RE: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER_RE: Final = re.compile(r"[+-]?\d+")


class UnknownModelError(KeyError):
    """A model id that is not a customizable base model in the catalog; the message lists close matches."""

    def __init__(self, model_id: str, message: str) -> None:
        super().__init__(model_id)
        self.model_id = model_id
        self.message = message

    def __str__(self) -> str:
        return self.message


T = TypeVar("T")


@dataclass(frozen=True)
class Fact(Generic[T]):
    """One fact an entry states, with where and when it was read.

    ``as_of`` is the day (``YYYY-MM-DD``) or month the source was read or dates itself; a source that
    gives no date reads ``undated`` and must then say why the fact is still used, in ``unconfirmed``.
    """

    value: T
    source: str
    as_of: str
    unconfirmed: str | None = None

    def to_dict(self) -> dict[str, Any]:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"value": value, "source": self.source, "asOf": self.as_of, "unconfirmed": self.unconfirmed}


@dataclass(frozen=True)
class Unknown:
    """A figure no source gives: stated as unknown (never zero, never guessed), with what was searched."""

    reason: str
    checked: str  # the day (YYYY-MM-DD) the sources were searched

    def to_dict(self) -> dict[str, Any]:
        return {"unknown": self.reason, "checked": self.checked}


@dataclass(frozen=True)
class Price:
    """One price figure with where and when it was seen; pricing pages change, so never trust it blindly.

    ``unconfirmed`` says why the figure is not AWS's own published price (a third party's reading, a
    figure derived from a worked example, one model's price assumed for another); None: AWS publishes it.
    """

    value: float
    unit: str
    as_of: str
    source: str
    unconfirmed: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "unit": self.unit,
            "asOf": self.as_of,
            "source": self.source,
            "unconfirmed": self.unconfirmed,
        }

    def cite(self) -> str:
        """``as of <date>, <source>`` and, for a figure AWS does not publish as such, ``; UNCONFIRMED``."""
        return f"as of {self.as_of}, {self.source}" + ("; UNCONFIRMED" if self.unconfirmed else "")


# The unit each price is kept in (the Price List parser converts to these; costs read them).
PER_1K_TOKENS: Final = "USD per 1K tokens"
PER_IMAGE_SEEN: Final = "USD per image seen"
PER_MONTH: Final = "USD per month"
PER_MU_HOUR: Final = "USD per model-unit hour"
PER_1M_INPUT: Final = "USD per 1M input tokens"
PER_1M_OUTPUT: Final = "USD per 1M output tokens"
PRICE_UNITS: Final[Mapping[str, tuple[str, ...]]] = {
    "training": (PER_1K_TOKENS, PER_IMAGE_SEEN),
    "storage_per_month": (PER_MONTH,),
    "pt_no_commit_per_mu_hour": (PER_MU_HOUR,),
    "pt_one_month_per_mu_hour": (PER_MU_HOUR,),
    "pt_six_month_per_mu_hour": (PER_MU_HOUR,),
    "on_demand_input_per_1m_tokens": (PER_1M_INPUT,),
    "on_demand_output_per_1m_tokens": (PER_1M_OUTPUT,),
    "deployment_input_per_1m_tokens": (PER_1M_INPUT,),
    "deployment_output_per_1m_tokens": (PER_1M_OUTPUT,),
}


@dataclass(frozen=True)
class Prices:
    """Known prices for customizing and hosting a model. ``None`` means unknown, never free.

    The on-demand fields are the base model's per-token rates (the evaluation's baseline, a judge's
    calls); the deployment fields are what an on-demand deployment of a custom model of this base is
    billed per token (CreateCustomModelDeployment) — AWS bills it apart (usage types ending in
    ``-custom-model``), at a rate that need not equal the base model's.
    """

    training: Price | None = None
    storage_per_month: Price | None = None
    pt_no_commit_per_mu_hour: Price | None = None
    pt_one_month_per_mu_hour: Price | None = None
    pt_six_month_per_mu_hour: Price | None = None
    on_demand_input_per_1m_tokens: Price | None = None
    on_demand_output_per_1m_tokens: Price | None = None
    deployment_input_per_1m_tokens: Price | None = None
    deployment_output_per_1m_tokens: Price | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "training": _price_dict(self.training),
            "storagePerMonth": _price_dict(self.storage_per_month),
            "ptNoCommitPerMuHour": _price_dict(self.pt_no_commit_per_mu_hour),
            "ptOneMonthPerMuHour": _price_dict(self.pt_one_month_per_mu_hour),
            "ptSixMonthPerMuHour": _price_dict(self.pt_six_month_per_mu_hour),
            "onDemandInputPer1MTokens": _price_dict(self.on_demand_input_per_1m_tokens),
            "onDemandOutputPer1MTokens": _price_dict(self.on_demand_output_per_1m_tokens),
            "deploymentInputPer1MTokens": _price_dict(self.deployment_input_per_1m_tokens),
            "deploymentOutputPer1MTokens": _price_dict(self.deployment_output_per_1m_tokens),
        }


def _price_dict(price: Price | None) -> dict[str, Any] | None:
    return price.to_dict() if price is not None else None


@dataclass(frozen=True)
class HyperParameter:
    """One hyperparameter of CreateModelCustomizationJob.

    Values travel as strings in ``hyperParameters`` [BC]; the reinforcement fine-tuning ones are typed
    members of ``rftConfig.hyperParameters`` instead (``typed`` turns the checked string into them).
    """

    name: str
    type: str  # "integer" | "float" | "enum" (only ``allowed_values``)
    min: float | None
    max: float | None
    default: str | None
    required: bool = False
    allowed_values: tuple[str, ...] = ()  # literal strings accepted besides numbers, e.g. "Auto"
    source: str = ""
    unconfirmed: str | None = None

    def describe_range(self) -> str:
        if self.type == ENUM:
            return " or ".join(repr(v) for v in self.allowed_values)
        if self.min is None and self.max is None:
            bounds = f"any {self.type} (range UNCONFIRMED)"
        elif self.max is None:
            kind = "an integer" if self.type == "integer" else "a number"
            bounds = f"{kind} >= {_fmt(self.min)} (no documented maximum)"
        else:
            bounds = f"{_fmt(self.min)}{DASH}{_fmt(self.max)}"
        if self.allowed_values:
            bounds += " or " + " or ".join(repr(v) for v in self.allowed_values)
        return bounds

    def typed(self, wire: str) -> int | float | str:
        """A checked wire string as the typed request member takes it: int, float or the enum string."""
        if wire in self.allowed_values:
            return wire
        if self.type == "integer":
            return int(wire)
        if self.type == "float":
            return float(wire)
        return wire

    def check(self, value: str, model_id: str, field_name: str) -> Problem | None:
        """The problem with a wire value, or None. ``value`` is already a string."""
        if value in self.allowed_values:
            return None
        if self.type == ENUM:
            return Problem(
                field_name,
                value,
                self.describe_range(),
                f"{self.name}={value!r} is not one of {self.describe_range()} for {model_id}"
                f"{did_you_mean(value, self.allowed_values)}",
            )
        pattern = _INTEGER_RE if self.type == "integer" else _NUMBER_RE
        if not pattern.fullmatch(value):
            kind = "an integer" if self.type == "integer" else "a number"
            return Problem(
                field_name,
                value,
                self.describe_range(),
                f"{self.name}={value!r} is not {kind}; allowed: {self.describe_range()} for {model_id}",
            )
        number = float(value)
        too_low = self.min is not None and number < self.min
        too_high = self.max is not None and number > self.max
        if too_low or too_high:
            note = f" ({self.unconfirmed})" if self.unconfirmed else ""
            return Problem(
                field_name,
                value,
                self.describe_range(),
                f"{self.name}={value} is out of range {self.describe_range()} for {model_id}{note}",
            )
        return None


def _fmt(number: float | None) -> str:
    if number is None:
        return "?"
    if float(number).is_integer() and abs(number) < 1e15:
        return f"{int(number):,}"
    return f"{number:g}"


@dataclass(frozen=True)
class RecordBounds:
    """How many records a file (or the training+validation sum) may hold. None = not documented."""

    min: int | None = None
    max: int | None = None
    # The maximum is a default Service Quotas value that an account may have raised.
    adjustable: bool = False
    # Fewer records than this are accepted but below what the guide recommends (reported as a warning).
    recommended_min: int | None = None

    def describe(self) -> str:
        low = f"{self.min:,}" if self.min is not None else "?"
        high = f"{self.max:,}" if self.max is not None else "?"
        text = f"{low}{DASH}{high}"
        return text + (" (default quota; adjustable in Service Quotas)" if self.adjustable else "")


@dataclass(frozen=True)
class TokenLimit:
    """Maximum tokens per record (input + output), optionally only up to a given batch size."""

    tokens: int
    max_batch_size: int | None = None


@dataclass(frozen=True)
class MediaRules:
    """Which images and videos a conversation record may reference, and where they must live."""

    image_formats: tuple[str, ...] = ()
    video_formats: tuple[str, ...] = ()
    max_images_per_record: int | None = None
    max_videos_per_record: int | None = None
    same_bucket_as_dataset: bool = False
    images_and_videos_exclusive: bool = False  # a dataset holds images or videos, never both
    # Bounds of the tokens one image costs in the per-record limit: the conservative token estimate
    # counts the maximum, the optimistic one the minimum (see pipeline.datasets.records).
    max_tokens_per_image: int | None = None
    min_tokens_per_image: int | None = None


@dataclass(frozen=True, eq=False)
class CustomizationRules:
    """The data rules of one (model, customization type) pair."""

    customization_type: str
    data_format: str
    validation_allowed: bool
    training_records: RecordBounds = RecordBounds()
    validation_records: RecordBounds = RecordBounds()
    # Bounds on training + validation records together.
    total_records: RecordBounds = RecordBounds()
    training_file_max_bytes: int | None = None
    validation_file_max_bytes: int | None = None
    # First matching entry applies (by batch size); empty = per-record token limit unknown.
    token_limits: tuple[TokenLimit, ...] = ()
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    caption_chars: tuple[int, int] | None = None
    max_system_blocks: int | None = None
    reserved_strings: tuple[str, ...] = ()
    # False: the reserved strings are reported as warnings because the rule is UNCONFIRMED for this type.
    reserved_strings_enforced: bool = True
    media: MediaRules | None = None
    # Nova: "file names can consist of only alphanumeric characters, underscores, hyphens, slashes, and dots".
    strict_file_names: bool = False
    # Assistant turns may carry {"reasoningContent": {"reasoningText": {"text": ...}}} blocks (Nova 2).
    reasoning_content: bool = False
    hyperparameters_allowed: bool = True
    # The hyperparameters of this customization type when they differ from the model's (RFT's are
    # typed members of rftConfig.hyperParameters [BC]); None: the model's ``hyperparameters``.
    hyperparameters: Mapping[str, HyperParameter] | None = None
    notes: tuple[str, ...] = ()
    unconfirmed: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def token_limit(self, batch_size: int | None) -> int | None:
        for limit in self.token_limits:
            if limit.max_batch_size is None or batch_size is None or batch_size <= limit.max_batch_size:
                return limit.tokens
        return None

    def record_bounds(self, role: str) -> RecordBounds:
        return self.validation_records if role == "validation" else self.training_records

    def file_max_bytes(self, role: str) -> int | None:
        return self.validation_file_max_bytes if role == "validation" else self.training_file_max_bytes


# Lifecycle states [UG:model-lifecycle], [UG:model-lifecycle-legacy]. NOT_OFFERED is this catalog's own:
# the model is gone from the user guide's customization tables and no lifecycle page says why.
ACTIVE: Final = "ACTIVE"
LEGACY: Final = "LEGACY"
END_OF_LIFE: Final = "END_OF_LIFE"
NOT_OFFERED: Final = "NOT_OFFERED"
LIFECYCLE_STATES: Final = (ACTIVE, LEGACY, END_OF_LIFE, NOT_OFFERED)
# The day the lifecycle of every catalog model and teacher was last checked against the guide.
LIFECYCLE_CHECKED: Final = dt.date(2026, 11, 28)


def today_utc() -> dt.date:
    """Today's date in UTC: the default day of every lifecycle check.

    Tests replace ``pipeline.catalog.today_utc``; every check reads the clock through ``day_or_today``.
    """
    return dt.datetime.now(dt.UTC).date()


def day_or_today(today: dt.date | None) -> dt.date:
    """``today`` when given, else ``pipeline.catalog.today_utc()``.

    The package attribute is looked up at call time, so replacing ``pipeline.catalog.today_utc`` moves
    every lifecycle check of every catalog module at once (one clock, one place to replace it).
    """
    if today is not None:
        return today
    import pipeline.catalog as package  # the package's attribute is the clock tests replace

    return package.today_utc()


@dataclass(frozen=True)
class Lifecycle:
    """Where a model stands in Bedrock's lifecycle, with the dates the guide publishes and their source.

    An end-of-life date is published only when a model enters Legacy [UG:model-lifecycle], so a known
    end-of-life date with no published legacy date means the model is Legacy until that date.
    """

    source: str
    legacy: dt.date | None = None
    end_of_life: dt.date | None = None
    public_extended_access: dt.date | None = None
    # The day the guide's customization tables were checked and found without the model.
    removed_from_guide: dt.date | None = None
    unconfirmed: str | None = None
    # The day these dates were last checked against the source (None: never checked, UNCONFIRMED).
    checked: dt.date | None = None

    def status(self, today: dt.date) -> str:
        if self.end_of_life is not None and today >= self.end_of_life:
            return END_OF_LIFE
        if self.removed_from_guide is not None and today >= self.removed_from_guide:
            return NOT_OFFERED
        if self.legacy is not None:
            return LEGACY if today >= self.legacy else ACTIVE
        return LEGACY if self.end_of_life is not None else ACTIVE

    def describe(self, today: dt.date) -> str:
        """One line for tables: the status and the dates that matter."""
        status = self.status(today)
        dates = [
            f"{label} {day.isoformat()}"
            for label, day in (
                ("legacy", self.legacy),
                ("extended access", self.public_extended_access),
                ("end of life", self.end_of_life),
            )
            if day is not None
        ]
        if self.removed_from_guide is not None:
            dates.append(f"not in the guide's tables on {self.removed_from_guide.isoformat()}")
        return status + (f" ({', '.join(dates)})" if dates else "")

    def to_dict(self, today: dt.date) -> dict[str, Any]:
        return {
            "status": self.status(today),
            "asOf": today.isoformat(),
            "legacyDate": _iso(self.legacy),
            "publicExtendedAccessDate": _iso(self.public_extended_access),
            "endOfLifeDate": _iso(self.end_of_life),
            "removedFromGuideOn": _iso(self.removed_from_guide),
            "source": self.source,
            "unconfirmed": self.unconfirmed,
            "checkedOn": _iso(self.checked),
        }


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


@dataclass(frozen=True, eq=False)
class ModelInfo:
    """A customizable base model as the rest of the code reads it, built from one catalog entry.

    Per-type data rules live in ``customizations`` (see ``rules()``); DISTILLATION is among them only
    when a teacher teaches the model (pipeline.catalog.teachers). ``entry`` is the entry it was built
    from: every fact there carries its source and date.
    """

    model_id: str
    name: str
    provider: str
    regions: tuple[str, ...]
    customizations: Mapping[str, CustomizationRules]
    hyperparameters: Mapping[str, HyperParameter]
    input_modalities: tuple[str, ...]
    output_modalities: tuple[str, ...]
    # Regions where a custom model of this base can be deployed on demand (empty: nowhere).
    on_demand_deployment_regions: tuple[str, ...]
    # Converse on the base model needs a cross-Region inference profile id (``us.<id>``).
    invoked_through_profile: bool
    lifecycle: Lifecycle
    # The teachers (on-demand ids) that may distil into this model, in catalog order.
    distillation_teachers: tuple[str, ...] = ()
    prices: Prices = Prices()
    notes: tuple[str, ...] = ()
    unconfirmed: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    entry: ModelEntry | None = field(default=None, compare=False, repr=False)

    @property
    def customization_types(self) -> tuple[str, ...]:
        return tuple(self.customizations)

    def deploys_on_demand(self, region: str) -> bool:
        return region in self.on_demand_deployment_regions

    @property
    def data_formats(self) -> dict[str, str]:
        return {ctype: rules.data_format for ctype, rules in self.customizations.items()}

    def supports(self, customization_type: str) -> bool:
        return customization_type in self.customizations

    def rules(self, customization_type: str) -> CustomizationRules:
        try:
            return self.customizations[customization_type]
        except KeyError:
            raise ValueError(self.unsupported_message(customization_type)) from None

    def hyperparameters_for(self, customization_type: str | None) -> Mapping[str, HyperParameter]:
        """The hyperparameters a job of this type takes: the model's, unless the type has its own."""
        rules = self.customizations.get(customization_type) if customization_type else None
        if rules is not None and rules.hyperparameters is not None:
            return rules.hyperparameters
        return self.hyperparameters

    def validation_allowed(self, customization_type: str = FINE_TUNING) -> bool:
        return self.supports(customization_type) and self.rules(customization_type).validation_allowed

    def unsupported_message(self, customization_type: str) -> str:
        return (
            f"{self.model_id} does not support {customization_type}; "
            f"it supports {', '.join(self.customization_types)}"
        )

    def all_unconfirmed(self) -> tuple[str, ...]:
        per_type = tuple(u for rules in self.customizations.values() for u in rules.unconfirmed)
        return self.unconfirmed + per_type

    def check_hyperparameters(
        self, values: Mapping[str, Any], customization_type: str, *, field_prefix: str = "hyperParameters"
    ) -> tuple[dict[str, str], list[Problem]]:
        """Normalize values to wire strings and report every unknown, mistyped or out-of-range one."""
        problems: list[Problem] = []
        normalized: dict[str, str] = {}
        rules = self.customizations.get(customization_type)
        specs = self.hyperparameters_for(customization_type)
        if rules is not None and not rules.hyperparameters_allowed and values:
            problems.append(
                Problem(
                    field_prefix,
                    dict(values),
                    "no hyperParameters",
                    f"{customization_type} takes no hyperParameters: Bedrock chooses them for "
                    f"{self.model_id} (set maxResponseLengthForInference to cap the teacher's answers)",
                )
            )
            return normalized, problems
        for name, raw in values.items():
            field_name = f"{field_prefix}.{name}"
            spec = specs.get(name)
            if spec is None:
                known = ", ".join(specs) or "none"
                problems.append(
                    Problem(
                        field_name,
                        raw,
                        known,
                        f"unknown hyperparameter {name!r} for {self.model_id} ({customization_type})"
                        f"{did_you_mean(name, specs)}; allowed: {known}",
                    )
                )
                continue
            wire = wire_value(raw)
            if wire is None:
                problems.append(
                    Problem(
                        field_name,
                        raw,
                        spec.describe_range(),
                        f"{name}={show(raw)} must be a number or a numeric string; "
                        f"allowed: {spec.describe_range()} for {self.model_id}",
                    )
                )
                continue
            problem = spec.check(wire, self.model_id, field_name)
            if problem is not None:
                problems.append(problem)
                continue
            normalized[name] = wire
        if rules is None or rules.hyperparameters_allowed:
            for spec in specs.values():
                if spec.required and spec.name not in values:
                    problems.append(
                        Problem(
                            f"{field_prefix}.{spec.name}",
                            None,
                            spec.describe_range(),
                            f"{spec.name} is required for {self.model_id} (it has no default); "
                            f"allowed: {spec.describe_range()}",
                        )
                    )
        return normalized, problems

    def effective_hyperparameter(
        self, name: str, values: Mapping[str, str], customization_type: str | None = None
    ) -> str | None:
        """The value Bedrock will use: the given one or the documented default (None: unknown)."""
        if name in values:
            return values[name]
        spec = self.hyperparameters_for(customization_type).get(name)
        return spec.default if spec is not None else None

    def typed_hyperparameters(self, values: Mapping[str, str], customization_type: str) -> dict[str, Any]:
        """Checked wire strings as typed values (int, float, enum string), for RFT's typed members [BC]."""
        specs = self.hyperparameters_for(customization_type)
        return {name: specs[name].typed(value) if name in specs else value for name, value in values.items()}

    def to_dict(self, *, today: dt.date | None = None) -> dict[str, Any]:
        """Everything about the model as JSON; the lifecycle status is as of ``today`` (UTC by default)."""
        return {
            "modelId": self.model_id,
            "name": self.name,
            "provider": self.provider,
            "regions": list(self.regions),
            "lifecycle": self.lifecycle.to_dict(day_or_today(today)),
            "customizationTypes": list(self.customization_types),
            "dataFormats": self.data_formats,
            "distillationTeachers": list(self.distillation_teachers),
            "inputModalities": list(self.input_modalities),
            "outputModalities": list(self.output_modalities),
            "hyperParameters": _hyperparameters_dict(self.hyperparameters),
            # Customization types whose hyperparameters differ from the model's (RFT's typed ones).
            "hyperParametersByType": {
                ctype: _hyperparameters_dict(rules.hyperparameters)
                for ctype, rules in self.customizations.items()
                if rules.hyperparameters is not None
            },
            "prices": self.prices.to_dict(),
            "onDemandDeploymentRegions": list(self.on_demand_deployment_regions),
            "baseInvokedThroughProfile": self.invoked_through_profile,
            "notes": list(self.notes),
            "unconfirmed": list(self.all_unconfirmed()),
            # Where each stated fact and each unknown price came from (the entry's own words).
            "facts": self.entry.facts_dict() if self.entry is not None else None,
        }


def _hyperparameters_dict(specs: Mapping[str, HyperParameter]) -> dict[str, Any]:
    return {
        name: {
            "type": hp.type,
            "min": hp.min,
            "max": hp.max,
            "default": hp.default,
            "required": hp.required,
            "allowedValues": list(hp.allowed_values),
            "unconfirmed": hp.unconfirmed,
        }
        for name, hp in specs.items()
    }


def wire_value(raw: Any) -> str | None:
    """A hyperparameter value as the string CreateModelCustomizationJob expects, or None if unusable.

    YAML turns ``epochCount: 2`` into an int and ``learningRate: 0.00001`` into a float; both are fine.
    Booleans are refused (YAML reads ``yes``/``on`` as True, which is never a hyperparameter).
    """
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return repr(raw) if raw == raw and raw not in (float("inf"), float("-inf")) else None
    if isinstance(raw, str):
        return raw.strip()
    return None

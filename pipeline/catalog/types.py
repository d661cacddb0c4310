"""The customizable Bedrock base models, their data rules, hyperparameters and known prices.

This module is the single source of truth for every rule the preflight enforces. Each fact carries
the source it came from, using the tags of docs/reference bedrock.md:

- [UG:<page>]   Amazon Bedrock User Guide page
- [NOVA:<page>] Amazon Nova User Guide page
- [BC]          botocore's Bedrock service model
- [ABS]         aws-samples/amazon-bedrock-samples (AWS sample validators; helpful, not a specification)
- [3P]          third-party note; used only for prices, which are possibly stale

Facts that no official source confirms are listed in the ``unconfirmed`` field of the entry they
belong to and repeated in the messages that rely on them. Where sources disagree, the preflight takes
the stricter reading so that it never passes something Bedrock could reject; the entry says so.

Record-count, file-size and token limits that are unknown are ``None`` and are *not* checked: the
dataset report then carries a warning instead of inventing a bound.

Every model and teacher also has a lifecycle (``LIFECYCLE``, checked 2026-11-28): ACTIVE, LEGACY or
END_OF_LIFE by the dates the guide publishes [UG:model-lifecycle], [UG:model-lifecycle-legacy] and
the model cards, or NOT_OFFERED when the guide's customization tables dropped the model without a
date. ``lifecycle_problems`` says what that allows on a given day (UTC today by default, through
``today_utc``): the run spec refuses a new job on anything but an ACTIVE base and a teacher past its
end of life, and names current replacements.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Final

from pipeline.problems import DASH, Problem, close_matches, did_you_mean, show

FINE_TUNING: Final = "FINE_TUNING"
CONTINUED_PRE_TRAINING: Final = "CONTINUED_PRE_TRAINING"
DISTILLATION: Final = "DISTILLATION"
# Reinforcement fine-tuning: the model samples answers to prompts and a grader Lambda scores them
# [UG:reinforcement-fine-tuning], customizationConfig.rftConfig [BC]. IMPORTED exists in the API enum
# [BC] but is out of scope for run specs.
REINFORCEMENT_FINE_TUNING: Final = "REINFORCEMENT_FINE_TUNING"
CUSTOMIZATION_TYPES: Final = (FINE_TUNING, CONTINUED_PRE_TRAINING, DISTILLATION, REINFORCEMENT_FINE_TUNING)

# Record formats; pipeline.formats holds the checker for each of these names.
PROMPT_COMPLETION: Final = "prompt-completion"
CONVERSATION: Final = "bedrock-conversation-2024"
CONVERSATION_PROMPTS: Final = "bedrock-conversation-2024-prompts"
CLAUDE_MESSAGES: Final = "claude-messages"
PRETRAINING_TEXT: Final = "continued-pretraining"
IMAGE_CAPTION: Final = "image-caption"
EVALUATION_PROMPTS: Final = "evaluation-prompts"
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


@dataclass(frozen=True)
class Price:
    """One price figure with where and when it was seen; pricing pages change, so never trust it blindly."""

    value: float
    unit: str
    as_of: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit, "asOf": self.as_of, "source": self.source}


@dataclass(frozen=True)
class Prices:
    """Known prices for customizing and hosting a model. ``None`` means unknown, never free."""

    training: Price | None = None
    storage_per_month: Price | None = None
    pt_no_commit_per_mu_hour: Price | None = None
    pt_one_month_per_mu_hour: Price | None = None
    pt_six_month_per_mu_hour: Price | None = None
    on_demand_input_per_1m_tokens: Price | None = None
    on_demand_output_per_1m_tokens: Price | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "training": _price_dict(self.training),
            "storagePerMonth": _price_dict(self.storage_per_month),
            "ptNoCommitPerMuHour": _price_dict(self.pt_no_commit_per_mu_hour),
            "ptOneMonthPerMuHour": _price_dict(self.pt_one_month_per_mu_hour),
            "ptSixMonthPerMuHour": _price_dict(self.pt_six_month_per_mu_hour),
            "onDemandInputPer1MTokens": _price_dict(self.on_demand_input_per_1m_tokens),
            "onDemandOutputPer1MTokens": _price_dict(self.on_demand_output_per_1m_tokens),
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
    # counts the maximum, the optimistic one the minimum (see pipeline.formats).
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


@dataclass(frozen=True)
class Teacher:
    """A distillation teacher and the students it may teach [UG:prequisites-model-distillation]."""

    model_id: str
    name: str
    regions: tuple[str, ...]
    students: tuple[str, ...]
    on_demand: bool  # usable by its plain model id or foundation-model ARN
    inference_profile: bool  # usable through a system-defined cross-Region inference profile

    @property
    def lifecycle(self) -> Lifecycle:
        return lifecycle_of(self.model_id)


# Lifecycle states [UG:model-lifecycle], [UG:model-lifecycle-legacy]. NOT_OFFERED is this catalog's own:
# the model is gone from the user guide's customization tables and no lifecycle page says why.
ACTIVE: Final = "ACTIVE"
LEGACY: Final = "LEGACY"
END_OF_LIFE: Final = "END_OF_LIFE"
NOT_OFFERED: Final = "NOT_OFFERED"
LIFECYCLE_STATES: Final = (ACTIVE, LEGACY, END_OF_LIFE, NOT_OFFERED)


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
        }


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


@dataclass(frozen=True, eq=False)
class ModelInfo:
    """A customizable base model. Per-type data rules live in ``customizations`` (see ``rules()``)."""

    model_id: str
    name: str
    provider: str
    regions: tuple[str, ...]
    customizations: Mapping[str, CustomizationRules]
    hyperparameters: Mapping[str, HyperParameter]
    input_modalities: tuple[str, ...]
    output_modalities: tuple[str, ...]
    prices: Prices = Prices()
    notes: tuple[str, ...] = ()
    unconfirmed: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    @property
    def customization_types(self) -> tuple[str, ...]:
        return tuple(self.customizations)

    @property
    def lifecycle(self) -> Lifecycle:
        return lifecycle_of(self.model_id)

    @property
    def on_demand_deployment_regions(self) -> tuple[str, ...]:
        """Regions where a custom model of this base can be deployed on demand (empty: nowhere)."""
        return ON_DEMAND_DEPLOYMENT.get(self.model_id, ())

    def deploys_on_demand(self, region: str) -> bool:
        return region in self.on_demand_deployment_regions

    @property
    def invoked_through_profile(self) -> bool:
        """Converse on the base model needs a cross-Region inference profile id (``us.<id>``)."""
        return self.model_id in BASE_INVOKED_THROUGH_PROFILE

    @property
    def data_formats(self) -> dict[str, str]:
        return {ctype: rules.data_format for ctype, rules in self.customizations.items()}

    @property
    def distillation_teachers(self) -> tuple[str, ...]:
        return tuple(t.model_id for t in TEACHERS.values() if self.model_id in t.students)

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
            "lifecycle": self.lifecycle.to_dict(today or today_utc()),
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


# --------------------------------------------------------------------------------------------------
# Shared facts
# --------------------------------------------------------------------------------------------------

_IMAGE_FORMATS: Final = ("png", "jpeg", "gif", "webp")  # [NOVA], [UG:model-customization-prepare]
_VIDEO_FORMATS: Final = ("mov", "mkv", "mp4", "webm")  # [NOVA]
_CAPTION_IMAGE_FORMATS: Final = ("png", "jpeg")  # image-ref datasets take JPEG or PNG [UG]

# Nova's reserved keywords make the job fail late [NOVA:fine-tune-prepare-data-understanding]. The
# upper-case variants and "Thought:" come from the AWS sample validator [ABS], not from the guide.
_NOVA_RESERVED_DOCUMENTED: Final = ("User:", "Bot:", "Assistant:", "System:", "<image>", "<video>", "[EOS]")
_NOVA_RESERVED_SAMPLE_ONLY: Final = ("USER:", "BOT:", "ASSISTANT:", "SYSTEM:", "Thought:")
NOVA_RESERVED: Final = _NOVA_RESERVED_DOCUMENTED + _NOVA_RESERVED_SAMPLE_ONLY
# Claude 3 Haiku: the AWS sample validator forbids these inside prompts [ABS claude-haiku/DataValidation].
CLAUDE_RESERVED: Final = ("\nHuman:", "\nAssistant:")

_NOVA_RESERVED_NOTE: Final = (
    "Reserved strings: the guide lists User:, Bot:, Assistant:, System:, <image>, <video>, [EOS]; the "
    "upper-case variants and Thought: are UNCONFIRMED (AWS sample validator only) but checked anyway."
)

_STORAGE_RECURRING: Final = "$1.95/month recurs across every source seen"

_NOVA_SOURCES: Final = (
    "[UG:custom-model-supported]",
    "[NOVA:fine-tune-prepare-data-understanding]",
    "[NOVA:fine-tune-hyperparameters-understanding-models]",
    "[NOVA:custom-distill-prepare]",
)
_NOVA_HYPERPARAMETERS: Final = (
    HyperParameter("epochCount", "integer", 1, 5, "2", source="[UG:cm-hp-nova-mm]"),
    HyperParameter("learningRate", "float", 1e-6, 1e-4, "1e-05", source="[UG:cm-hp-nova-mm]"),
    # The Bedrock guide says 0 to 100, the Nova guide 0 to 20: enforce the range both accept.
    HyperParameter(
        "learningRateWarmupSteps",
        "integer",
        0,
        20,
        "10",
        source="[NOVA:fine-tune-hyperparameters-understanding-models], [UG:cm-hp-nova-mm]",
        unconfirmed="UNCONFIRMED maximum: the Bedrock guide says 100, the Nova guide 20; 20 is enforced",
    ),
)


def _nova_fine_tuning(media: MediaRules | None) -> CustomizationRules:
    return CustomizationRules(
        customization_type=FINE_TUNING,
        data_format=CONVERSATION,
        validation_allowed=True,
        training_records=RecordBounds(8, 20_000),
        # The guide gives one sample range; whether validation files share it is not stated.
        validation_records=RecordBounds(1, None),
        token_limits=(TokenLimit(32_000),),
        reserved_strings=NOVA_RESERVED,
        media=media,
        strict_file_names=True,
        notes=(
            "AWS recommends at least 100 samples per task.",
            "File names may contain only letters, digits, _, -, / and .",
            _NOVA_RESERVED_NOTE,
        ),
        unconfirmed=(
            "Validation record bounds are not documented (only non-empty is checked).",
            "Context length '32k' is enforced as 32,000 tokens.",
            "Training/validation file size limits are not documented.",
        ),
        sources=_NOVA_SOURCES,
    )


def _nova_distillation() -> CustomizationRules:
    return CustomizationRules(
        customization_type=DISTILLATION,
        data_format=CONVERSATION_PROMPTS,
        validation_allowed=False,
        training_records=RecordBounds(100, 15_000),
        training_file_max_bytes=GB,
        token_limits=(TokenLimit(32_000),),
        reserved_strings=NOVA_RESERVED,
        reserved_strings_enforced=False,
        media=None,  # distillation is text-to-text only [UG:distillation-prepare-datasets]
        hyperparameters_allowed=False,
        notes=(
            "Bedrock drops invalid prompts and needs at least 100 valid ones; the preflight reports "
            "every invalid prompt as an error so nothing is dropped silently.",
        ),
        unconfirmed=(
            "Whether Nova's reserved strings fail a distillation "
            "job is not documented: reported as warnings.",
            "The 32,000-token record limit is assumed from fine-tuning.",
        ),
        sources=("[UG:distillation-prepare-datasets]", "[NOVA:custom-distill-prepare]", "[ABS]"),
    )


_NOVA_MEDIA: Final = MediaRules(
    image_formats=_IMAGE_FORMATS,
    video_formats=_VIDEO_FORMATS,
    max_images_per_record=10,
    max_videos_per_record=1,
    same_bucket_as_dataset=True,
    images_and_videos_exclusive=True,
)

_PRICE_BLOG: Final = "[3P] pristren.com blog (base-model on-demand rates), undated"


def _on_demand(input_usd: float, output_usd: float) -> dict[str, Price]:
    return {
        "on_demand_input_per_1m_tokens": Price(input_usd, "USD per 1M input tokens", "undated", _PRICE_BLOG),
        "on_demand_output_per_1m_tokens": Price(
            output_usd, "USD per 1M output tokens", "undated", _PRICE_BLOG
        ),
    }


_TITAN_TEXT_HYPERPARAMETERS: Final = (
    HyperParameter("epochCount", "integer", 1, 10, "5", source="[UG:cm-hp-titan-text]"),
    HyperParameter("batchSize", "integer", 1, 64, "1", source="[UG:cm-hp-titan-text]"),
    HyperParameter("learningRate", "float", 0.0, 1.0, "1e-05", source="[UG:cm-hp-titan-text]"),
    HyperParameter("learningRateWarmupSteps", "integer", 0, 250, "5", source="[UG:cm-hp-titan-text]"),
)

_LLAMA_HYPERPARAMETERS: Final = (
    HyperParameter(
        "epochCount", "integer", 1, 10, "5", source="[UG:cm-hp-meta-llama31], [UG:cm-hp-meta-llama32]"
    ),
    HyperParameter(
        "batchSize", "integer", 1, 1, "1", source="[UG:cm-hp-meta-llama31], [UG:cm-hp-meta-llama32]"
    ),
    HyperParameter(
        "learningRate",
        "float",
        5e-6,
        0.1,
        "0.0001",
        source="[UG:cm-hp-meta-llama31], [UG:cm-hp-meta-llama32]",
    ),
)

_LLAMA_SOURCES: Final = (
    "[UG:custom-model-supported]",
    "[UG:model-customization-prepare]",
    "[ABS] meta-llama/dataset_validation",
)
_LLAMA_COUNT_UNCONFIRMED: Final = (
    "Per-file maxima (training 10,000, validation 1,000) come from the AWS sample validator [ABS].",
)


def _llama_fine_tuning(
    data_format: str, tokens: int, media: MediaRules | None, *, max_system_blocks: int | None = None
) -> CustomizationRules:
    return CustomizationRules(
        customization_type=FINE_TUNING,
        data_format=data_format,
        validation_allowed=True,
        training_records=RecordBounds(1, 10_000),
        validation_records=RecordBounds(1, 1_000),
        total_records=RecordBounds(100, 10_000, adjustable=True),
        token_limits=(TokenLimit(tokens),),
        max_input_tokens=16_000,
        max_output_tokens=16_000,
        max_system_blocks=max_system_blocks,
        media=media,
        unconfirmed=(*_LLAMA_COUNT_UNCONFIRMED, "Training/validation file size limits are not documented."),
        sources=_LLAMA_SOURCES,
    )


def _llama_distillation() -> CustomizationRules:
    return CustomizationRules(
        customization_type=DISTILLATION,
        data_format=CONVERSATION_PROMPTS,
        validation_allowed=False,
        training_records=RecordBounds(100, None),
        training_file_max_bytes=GB,
        token_limits=(TokenLimit(16_000),),
        hyperparameters_allowed=False,
        notes=("Bedrock drops invalid prompts; the preflight reports each as an error instead.",),
        unconfirmed=(
            "The maximum number of distillation prompts for Llama students is not documented.",
            "The 16,000-token record limit is assumed from fine-tuning.",
        ),
        sources=("[UG:distillation-prepare-datasets]", "[UG:prequisites-model-distillation]"),
    )


_LLAMA_VISION_MEDIA: Final = MediaRules(
    image_formats=_IMAGE_FORMATS,
    # Images cost min(2,max(H//560,1))*min(2,max(W//560,1))*1601 tokens, i.e. 1,601 to 6,404 [UG]. Image sizes
    # are not read, so the conservative estimate counts the maximum and the optimistic one the minimum.
    max_tokens_per_image=6_404,
    min_tokens_per_image=1_601,
)


def _titan_text(
    model_id: str,
    name: str,
    token_limits: tuple[TokenLimit, ...],
    prices: Prices,
    *,
    cpt_training: RecordBounds,
    cpt_validation: RecordBounds,
    extra_unconfirmed: tuple[str, ...] = (),
) -> ModelInfo:
    size_unconfirmed = "Token limits for batch sizes beyond the documented table are assumed to be 2,048."
    return ModelInfo(
        model_id=model_id,
        name=name,
        provider="Amazon",
        regions=("us-east-1", "us-west-2"),
        customizations=_freeze(
            {
                FINE_TUNING: CustomizationRules(
                    customization_type=FINE_TUNING,
                    data_format=PROMPT_COMPLETION,
                    validation_allowed=True,
                    training_records=RecordBounds(1, None),
                    validation_records=RecordBounds(1, None),
                    training_file_max_bytes=GB,
                    validation_file_max_bytes=100 * MB,
                    token_limits=token_limits,
                    notes=("Characters per record: about 6 per token of the limit (AWS estimate).",),
                    unconfirmed=(
                        "Record-count bounds for Titan Text fine-tuning are not documented.",
                        size_unconfirmed,
                    ),
                    sources=("[UG:model-customization-prepare]",),
                ),
                CONTINUED_PRE_TRAINING: CustomizationRules(
                    customization_type=CONTINUED_PRE_TRAINING,
                    data_format=PRETRAINING_TEXT,
                    validation_allowed=True,
                    training_records=cpt_training,
                    validation_records=cpt_validation,
                    training_file_max_bytes=10 * GB,
                    validation_file_max_bytes=100 * MB,
                    token_limits=token_limits,
                    unconfirmed=(
                        "CPT limits come from an older quota table (training ≤ 10 GB); per-record token "
                        "limits are assumed equal to fine-tuning.",
                        size_unconfirmed,
                        *extra_unconfirmed,
                    ),
                    sources=("[UG:model-customization-prepare]", "[WS] 03_continued_pretraining_titan_text"),
                ),
            }
        ),
        hyperparameters=_hp(_TITAN_TEXT_HYPERPARAMETERS),
        input_modalities=("text",),
        output_modalities=("text",),
        prices=prices,
        sources=("[UG:custom-model-supported]", "[UG:cm-hp-titan-text]"),
    )


def _image_caption_model(
    model_id: str,
    name: str,
    *,
    records: RecordBounds,
    caption_chars: tuple[int, int],
    hyperparameters: tuple[HyperParameter, ...],
    output_modality: str,
    prices: Prices,
    unconfirmed: tuple[str, ...],
    sources: tuple[str, ...],
    regions: tuple[str, ...] = ("us-east-1", "us-west-2"),
    strict_file_names: bool = False,
) -> ModelInfo:
    return ModelInfo(
        model_id=model_id,
        name=name,
        provider="Amazon",
        regions=regions,
        customizations=_freeze(
            {
                FINE_TUNING: CustomizationRules(
                    customization_type=FINE_TUNING,
                    data_format=IMAGE_CAPTION,
                    # "Validation datasets are not supported" for text-to-image and image-to-embedding [UG].
                    validation_allowed=False,
                    training_records=records,
                    caption_chars=caption_chars,
                    media=MediaRules(image_formats=_CAPTION_IMAGE_FORMATS),
                    strict_file_names=strict_file_names,
                    notes=(
                        "Image dimensions, aspect ratio and file size are not checked: the preflight does "
                        "not download images.",
                    ),
                    unconfirmed=unconfirmed,
                    sources=sources,
                )
            }
        ),
        hyperparameters=_hp(hyperparameters),
        input_modalities=("text", "image"),
        output_modalities=(output_modality,),
        prices=prices,
        sources=sources,
    )


def _hp(items: Iterable[HyperParameter]) -> Mapping[str, HyperParameter]:
    return MappingProxyType({hp.name: hp for hp in items})


def _freeze(rules: dict[str, CustomizationRules]) -> Mapping[str, CustomizationRules]:
    return MappingProxyType(rules)


_TIG_PRICES: Final = Prices(
    training=Price(0.005, "USD per image seen", "2024-02", "[ABS] Titan Image Generator notebook"),
    storage_per_month=Price(1.95, "USD per month", "2024-02", "[ABS] Titan Image Generator notebook"),
)
_TIG_HYPERPARAMETERS: Final = tuple(
    HyperParameter(
        name,
        kind,
        None,
        None,
        None,
        source="[ABS] Titan Image Generator notebook",
        unconfirmed="range UNCONFIRMED",
    )
    for name, kind in (("stepCount", "integer"), ("batchSize", "integer"), ("learningRate", "float"))
)


def _nova(
    model_id: str, name: str, media: MediaRules | None, prices: Prices, modalities: tuple[str, ...]
) -> ModelInfo:
    return ModelInfo(
        model_id=model_id,
        name=name,
        provider="Amazon",
        regions=("us-east-1",),
        customizations=_freeze({FINE_TUNING: _nova_fine_tuning(media), DISTILLATION: _nova_distillation()}),
        hyperparameters=_hp(_NOVA_HYPERPARAMETERS),
        input_modalities=modalities,
        output_modalities=("text",),
        prices=prices,
        notes=("Images and videos must be in the same S3 bucket as the dataset.",) if media else (),
        unconfirmed=(
            "Training, storage and Provisioned Throughput prices are not in any stored source.",
            "Learning-rate warmup maximum: sources say 100 and 20; 20 is enforced.",
        ),
        sources=_NOVA_SOURCES,
    )


# Amazon Nova 2 Lite. Its Bedrock SFT page [UG:nova-2-sft-data-prep] and the Nova 2 guide
# [NOVA2:fine-tune-prepare-data-understanding], [NOVA2:nova-data-prep-sft-2] differ on media formats
# (the Bedrock page omits webp and webm): the Bedrock list is enforced.
_NOVA2_SOURCES: Final = (
    "[UG:custom-model-fine-tuning]",
    "[UG:nova-2-sft-data-prep]",
    "[NOVA2:fine-tune-prepare-data-understanding]",
    "[NOVA2:nova-data-prep-sft-2]",
    "[NOVA2:customize-fine-tune-hyperparameters]",
)
_NOVA2_MEDIA: Final = MediaRules(
    image_formats=("png", "jpeg", "gif"),
    video_formats=("mov", "mkv", "mp4"),
    max_images_per_record=10,
    max_videos_per_record=1,
    same_bucket_as_dataset=True,
    images_and_videos_exclusive=True,
)
# The Bedrock hyperparameter page [UG:cm-hp-nova-mm] covers Nova 1 only; these ranges are the Nova 2
# guide's [NOVA2:customize-fine-tune-hyperparameters].
_NOVA2_HYPERPARAMETERS: Final = (
    HyperParameter("epochCount", "integer", 1, 5, "2", source="[NOVA2:customize-fine-tune-hyperparameters]"),
    HyperParameter(
        "learningRate", "float", 1e-6, 1e-4, "1e-05", source="[NOVA2:customize-fine-tune-hyperparameters]"
    ),
    HyperParameter(
        "learningRateWarmupSteps",
        "integer",
        0,
        20,
        "10",
        source="[NOVA2:customize-fine-tune-hyperparameters]",
    ),
)


# Reinforcement fine-tuning of Nova 2 Lite. Names, types and bounds are botocore's RFTHyperParameters
# [BC] (typed members, not strings); the only documented default is the 4 responses sampled per prompt
# (an earlier revision of [UG:reinforcement-fine-tuning]). The other defaults are whatever Bedrock
# chooses when a member is left out (the console says "use default values" without listing them).
_RFT_SOURCE: Final = "[BC] RFTHyperParameters"
_NOVA2_RFT_HYPERPARAMETERS: Final = (
    HyperParameter("epochCount", "integer", 1, 50, None, source=_RFT_SOURCE),
    HyperParameter("batchSize", "integer", 16, 512, None, source=_RFT_SOURCE),
    HyperParameter("learningRate", "float", 1e-7, 1e-3, None, source=_RFT_SOURCE),
    # botocore gives no bounds for the two token counts: at least 1 is the only rule enforced.
    HyperParameter(
        "maxPromptLength",
        "integer",
        1,
        None,
        None,
        source=_RFT_SOURCE,
        unconfirmed="maximum and default UNCONFIRMED (botocore sets no bounds)",
    ),
    HyperParameter(
        "trainingSamplePerPrompt",
        "integer",
        2,
        16,
        "4",
        source=f"{_RFT_SOURCE}; default from an earlier revision of [UG:reinforcement-fine-tuning]",
        unconfirmed="default 4: the current page no longer states it",
    ),
    HyperParameter(
        "inferenceMaxTokens",
        "integer",
        1,
        None,
        None,
        source=_RFT_SOURCE,
        unconfirmed="maximum and default UNCONFIRMED (botocore sets no bounds)",
    ),
    # botocore's enum; the Nova RFT page for SageMaker recipes [UG:nova-rft] says those have no
    # "medium": that page is about SageMaker training jobs, the API's enum is what Bedrock validates.
    HyperParameter(
        "reasoningEffort",
        ENUM,
        None,
        None,
        None,
        allowed_values=("low", "medium", "high"),
        source=f"{_RFT_SOURCE} ReasoningEffort enum",
    ),
    HyperParameter("evalInterval", "integer", 1, 100, None, source=_RFT_SOURCE),
)
_RFT_SOURCES: Final = (
    "[UG:reinforcement-fine-tuning]",
    "[UG:rft-prepare-data]",
    "[UG:rft-submit-job]",
    "[UG:rft-access-security]",
    "[UG:nova-rft]",
    "[BC] CustomizationConfig.rftConfig",
    "[ABS] bedrock-reinforcement-fine-tuning",
)


def _nova2_rft() -> CustomizationRules:
    return CustomizationRules(
        customization_type=REINFORCEMENT_FINE_TUNING,
        data_format=RFT_PROMPTS,
        # The console and an AWS sample pass validation data to RFT jobs, but no page says how the job
        # uses it or what it may hold: not offered (see unconfirmed).
        validation_allowed=False,
        # "A minimum of 100 records in training dataset"; "a maximum of 20K prompts" [UG:rft-prepare-data].
        training_records=RecordBounds(100, 20_000),
        # Nova's reserved strings fail fine-tuning jobs; whether they fail RFT is not documented.
        reserved_strings=NOVA_RESERVED,
        reserved_strings_enforced=False,
        media=None,  # "Current limitation: Text only" [UG:nova-rft]
        strict_file_names=True,
        hyperparameters=_hp(_NOVA2_RFT_HYPERPARAMETERS),
        notes=(
            "One prompt per line in the OpenAI chat-completions shape: messages with an optional "
            "system turn and one user turn (string content), no assistant answer; a reference_answer "
            "(any JSON value) the grader scores against; any other key reaches the grader in the "
            "sample's metadata.",
            "The grader is a Lambda function: the stack's built-in grader or the team's own "
            "(run spec 'grader'); it must answer within Lambda's 15 minutes.",
            "Hyperparameters are typed values of rftConfig.hyperParameters, not strings.",
            _NOVA_RESERVED_NOTE,
        ),
        unconfirmed=(
            "Validation data: the console offers it and an AWS sample passes validationDataConfig, but "
            "how an RFT job uses it is not documented: not offered.",
            "Multi-turn prompts: the Bedrock overview says RFT supports multi-turn interactions, the "
            "Nova RFT page says single-turn only: one user turn is enforced.",
            "String content only: OpenAI content-part lists appear only in SageMaker's RFT evaluation pages.",
            "Whether Nova's reserved strings fail an RFT job is not documented: reported as warnings.",
            "No per-prompt token limit is documented (maxPromptLength is a hyperparameter without bounds).",
            "'20K prompts' is enforced as 20,000.",
            "Hyperparameter defaults other than trainingSamplePerPrompt=4 are not documented: a value left "
            "out is Bedrock's choice.",
            "RFT pricing is not in any stored source (a third party says it is billed per hour of the "
            "workflow): no training cost is estimated.",
        ),
        sources=_RFT_SOURCES,
    )


def _nova2_lite() -> ModelInfo:
    fine_tuning = CustomizationRules(
        customization_type=FINE_TUNING,
        data_format=CONVERSATION,
        # "Providing a validation set ... will not be supported during SFT training" [UG:nova-2-sft-data-prep]
        validation_allowed=False,
        # Minimum 8 and maximum 20k samples [NOVA2:nova-data-prep-sft-2]; both guides recommend at least 200.
        training_records=RecordBounds(8, 20_000, recommended_min=200),
        token_limits=(TokenLimit(32_000),),
        reserved_strings=NOVA_RESERVED,
        media=_NOVA2_MEDIA,
        strict_file_names=True,
        reasoning_content=True,
        notes=(
            "Assistant turns may hold reasoning: "
            '{"reasoningContent": {"reasoningText": {"text": "..."}}}, text only; '
            "the training loss then covers the reasoning tokens too.",
            "Tool use (toolUse/toolResult blocks, toolConfig) is not supported by Nova 2 SFT on Bedrock.",
            "A dataset holds text only, text with images, or text with videos; one record never holds both.",
            "AWS recommends 2,000-10,000 samples and at least 200.",
            "Suggested learningRateWarmupSteps: dataset size / 160.",
            "File names may contain only letters, digits, _, -, / and .",
            _NOVA_RESERVED_NOTE,
        ),
        unconfirmed=(
            "Media formats: the Bedrock page lists png, jpeg, gif and mov, mkv, mp4; the Nova 2 guide "
            "adds webp and webm. Only the Bedrock list is accepted.",
            "Record minimum: the Bedrock page's guideline table says 'Minimum samples: 200', the Nova 2 "
            "guide's constraint table 8 (recommending 200): 8 is enforced, fewer than 200 is a warning.",
            "Context length '32k' is enforced as 32,000 tokens.",
            "The guide mentions a reasoning_enabled training setting; how it reaches "
            "CreateModelCustomizationJob is not documented, so it is not offered.",
            "Training file size limits are not documented.",
        ),
        sources=_NOVA2_SOURCES,
    )
    return ModelInfo(
        model_id="amazon.nova-2-lite-v1:0:256k",
        name="Amazon Nova 2 Lite",
        provider="Amazon",
        regions=("us-east-1",),
        customizations=_freeze({FINE_TUNING: fine_tuning, REINFORCEMENT_FINE_TUNING: _nova2_rft()}),
        hyperparameters=_hp(_NOVA2_HYPERPARAMETERS),
        input_modalities=("text", "image", "video"),
        output_modalities=("text",),
        prices=Prices(
            training=Price(
                0.00378,
                "USD per 1K tokens",
                "2026-08",
                "[3P] third-party reading quoted in bedrock.md section 12",
            ),
        ),
        notes=("Images and videos must be in the same S3 bucket as the dataset.",),
        unconfirmed=(
            "The training price is a third-party reading (UNCONFIRMED); storage, on-demand and Provisioned "
            "Throughput prices are not in any stored source.",
            "Hyperparameter ranges come from the Nova 2 guide; the Bedrock hyperparameter page does not list "
            "Nova 2 Lite.",
        ),
        sources=_NOVA2_SOURCES,
    )


def _llama(
    model_id: str,
    name: str,
    *,
    data_format: str,
    tokens: int = 16_000,
    media: MediaRules | None = None,
    max_system_blocks: int | None = None,
    distillation: bool,
    unconfirmed: tuple[str, ...] = (),
) -> ModelInfo:
    rules = {FINE_TUNING: _llama_fine_tuning(data_format, tokens, media, max_system_blocks=max_system_blocks)}
    if distillation:
        rules[DISTILLATION] = _llama_distillation()
    return ModelInfo(
        model_id=model_id,
        name=name,
        provider="Meta",
        regions=("us-west-2",),
        customizations=_freeze(rules),
        hyperparameters=_hp(_LLAMA_HYPERPARAMETERS),
        input_modalities=("text", "image") if media else ("text",),
        output_modalities=("text",),
        unconfirmed=(
            "Training, storage and Provisioned Throughput prices are not in any stored source.",
            *unconfirmed,
        ),
        sources=_LLAMA_SOURCES,
    )


_MODELS: Final[tuple[ModelInfo, ...]] = (
    _nova(
        "amazon.nova-micro-v1:0:128k",
        "Amazon Nova Micro",
        None,  # text only; the AWS sample validator rejects images and videos for Micro [ABS]
        Prices(**_on_demand(0.035, 0.14)),
        ("text",),
    ),
    _nova(
        "amazon.nova-lite-v1:0:300k",
        "Amazon Nova Lite",
        _NOVA_MEDIA,
        Prices(**_on_demand(0.06, 0.24)),
        ("text", "image", "video"),
    ),
    _nova(
        "amazon.nova-pro-v1:0:300k",
        "Amazon Nova Pro",
        _NOVA_MEDIA,
        Prices(**_on_demand(0.80, 3.20)),
        ("text", "image", "video"),
    ),
    _nova2_lite(),
    _image_caption_model(
        "amazon.nova-canvas-v1:0",
        "Amazon Nova Canvas",
        records=RecordBounds(5, 10_000),
        caption_chars=(3, 1_024),
        hyperparameters=(
            HyperParameter(
                "batchSize",
                "integer",
                8,
                192,
                "8",
                source="[NOVA:fine-tune-hyperparameters-content-generation-models]",
            ),
            HyperParameter(
                "stepCount",
                "integer",
                10,
                20_000,
                "500",
                source="[NOVA:fine-tune-hyperparameters-content-generation-models]",
            ),
            HyperParameter(
                "learningRate",
                "float",
                1e-7,
                1e-4,
                "1e-05",
                source="[NOVA:fine-tune-hyperparameters-content-generation-models]",
            ),
        ),
        output_modality="image",
        prices=Prices(),
        unconfirmed=(
            "The Bedrock guide marks the image-ref format identical "
            "only for Titan; Nova Canvas uses the same "
            "format per the Nova guide, but whether it accepts a "
            "validation set is UNCONFIRMED (treated as no).",
            "Prices are not in any stored source.",
        ),
        sources=("[UG:custom-model-supported]", "[NOVA:fine-tune-prepare-data-creative-content]"),
        regions=("us-east-1",),
        strict_file_names=True,
    ),
    _titan_text(
        "amazon.titan-text-express-v1:0:8k",
        "Amazon Titan Text G1 - Express",
        (TokenLimit(4_096, max_batch_size=1), TokenLimit(2_048)),
        Prices(
            training=Price(
                0.008, "USD per 1K tokens", "2024-04", "[3P] ministryofjustice/analytical-platform#4119"
            ),
            storage_per_month=Price(
                1.95, "USD per month", "2024-04", "[3P] ministryofjustice/analytical-platform#4119"
            ),
            pt_no_commit_per_mu_hour=Price(
                20.50, "USD per model-unit hour", "2024-04", "[3P] ministryofjustice/analytical-platform#4119"
            ),
        ),
        cpt_training=RecordBounds(1, None),
        cpt_validation=RecordBounds(1, None),
        extra_unconfirmed=("CPT record-count bounds for Express are not documented.",),
    ),
    _titan_text(
        "amazon.titan-text-lite-v1:0:4k",
        "Amazon Titan Text G1 - Lite",
        (TokenLimit(4_096, max_batch_size=2), TokenLimit(2_048)),
        Prices(
            training=Price(0.0004, "USD per 1K tokens", "undated", "[3P] repository note"),
            storage_per_month=Price(
                1.95, "USD per month", "undated", f"[3P] repository note; {_STORAGE_RECURRING}"
            ),
            # A $7.10/MU-hour figure exists but its commitment term is not stated; using it as the
            # no-commitment rate could understate the cost, so the PT price stays unknown.
        ),
        cpt_training=RecordBounds(1, 100_000, adjustable=True),
        cpt_validation=RecordBounds(1, 1_000),
    ),
    _image_caption_model(
        "amazon.titan-image-generator-v1:0",
        "Amazon Titan Image Generator G1",
        records=RecordBounds(5, 10_000),
        caption_chars=(3, 1_024),
        hyperparameters=_TIG_HYPERPARAMETERS,
        output_modality="image",
        prices=_TIG_PRICES,
        unconfirmed=("Hyperparameter ranges (stepCount, batchSize, learningRate) are not documented.",),
        sources=("[UG:custom-model-supported]", "[UG:model-customization-prepare]"),
    ),
    _image_caption_model(
        "amazon.titan-image-generator-v2:0",
        "Amazon Titan Image Generator G1 v2",
        records=RecordBounds(5, 10_000),
        caption_chars=(3, 1_024),
        hyperparameters=_TIG_HYPERPARAMETERS,
        output_modality="image",
        prices=_TIG_PRICES,
        unconfirmed=(
            "v2 limits and prices are assumed equal to v1 (only v1 is documented).",
            "Hyperparameter ranges (stepCount, batchSize, learningRate) are not documented.",
        ),
        sources=("[UG:custom-model-supported]",),
    ),
    _image_caption_model(
        "amazon.titan-embed-image-v1:0",
        "Amazon Titan Multimodal Embeddings G1",
        records=RecordBounds(1_000, 500_000),
        caption_chars=(0, 2_560),
        hyperparameters=(
            HyperParameter(
                "epochCount",
                "integer",
                1,
                100,
                None,
                required=True,
                allowed_values=("Auto",),
                source="[UG:cm-hp-titan-mm]",
            ),
            HyperParameter("batchSize", "integer", 256, 9_216, "576", source="[UG:cm-hp-titan-mm]"),
            HyperParameter("learningRate", "float", 5e-8, 1.0, "5e-05", source="[UG:cm-hp-titan-mm]"),
        ),
        output_modality="embedding",
        prices=Prices(),
        unconfirmed=("Prices are not in any stored source.",),
        sources=("[UG:custom-model-supported]", "[UG:model-customization-prepare]", "[UG:cm-hp-titan-mm]"),
    ),
    ModelInfo(
        model_id="anthropic.claude-3-haiku-20240307-v1:0:200k",
        name="Anthropic Claude 3 Haiku",
        provider="Anthropic",
        regions=("us-west-2",),
        customizations=_freeze(
            {
                FINE_TUNING: CustomizationRules(
                    customization_type=FINE_TUNING,
                    data_format=CLAUDE_MESSAGES,
                    validation_allowed=True,
                    training_records=RecordBounds(32, 10_000),
                    validation_records=RecordBounds(1, 1_000),
                    total_records=RecordBounds(None, 10_000, adjustable=True),
                    training_file_max_bytes=10 * GB,
                    validation_file_max_bytes=GB,
                    token_limits=(TokenLimit(32_000),),
                    reserved_strings=CLAUDE_RESERVED,
                    notes=("Early stopping works on validation loss: supply a validation set to use it.",),
                    unconfirmed=(
                        "Whether the 32-record minimum applies to validation "
                        "files is not stated (≥ 1 checked).",
                        "The reserved strings come from the AWS sample validator "
                        "[ABS]; checked in every text field.",
                    ),
                    sources=("[UG:model-customization-prepare]", "[ABS] claude-haiku/DataValidation"),
                )
            }
        ),
        hyperparameters=_hp(
            (
                HyperParameter("epochCount", "integer", 1, 10, "2", source="[UG:cm-hp-anth-claude-3]"),
                HyperParameter("batchSize", "integer", 4, 256, "32", source="[UG:cm-hp-anth-claude-3]"),
                HyperParameter(
                    "learningRateMultiplier", "float", 0.1, 2.0, "1", source="[UG:cm-hp-anth-claude-3]"
                ),
                HyperParameter(
                    "earlyStoppingThreshold", "float", 0.0, 0.1, "0.001", source="[UG:cm-hp-anth-claude-3]"
                ),
                HyperParameter(
                    "earlyStoppingPatience", "integer", 1, 10, "2", source="[UG:cm-hp-anth-claude-3]"
                ),
            )
        ),
        input_modalities=("text",),
        output_modalities=("text",),
        prices=Prices(**_on_demand(0.25, 1.25)),
        notes=("Distillation is currently unavailable for Anthropic models.",),
        unconfirmed=("Training, storage and Provisioned Throughput prices are not in any stored source.",),
        sources=("[UG:custom-model-supported]", "[UG:cm-hp-anth-claude-3]"),
    ),
    _llama(
        "meta.llama3-1-8b-instruct-v1:0:128k",
        "Meta Llama 3.1 8B Instruct",
        data_format=PROMPT_COMPLETION,
        distillation=True,
    ),
    _llama(
        "meta.llama3-1-70b-instruct-v1:0:128k",
        "Meta Llama 3.1 70B Instruct",
        data_format=PROMPT_COMPLETION,
        distillation=True,
    ),
    _llama(
        "meta.llama3-2-1b-instruct-v1:0:128k",
        "Meta Llama 3.2 1B Instruct",
        data_format=CONVERSATION,
        max_system_blocks=1,
        distillation=True,
        unconfirmed=("The one-element system limit comes from the AWS sample validator [ABS].",),
    ),
    _llama(
        "meta.llama3-2-3b-instruct-v1:0:128k",
        "Meta Llama 3.2 3B Instruct",
        data_format=CONVERSATION,
        max_system_blocks=1,
        distillation=True,
        unconfirmed=("The one-element system limit comes from the AWS sample validator [ABS].",),
    ),
    _llama(
        "meta.llama3-2-11b-instruct-v1:0:128k",
        "Meta Llama 3.2 11B Vision Instruct",
        data_format=CONVERSATION,
        media=_LLAMA_VISION_MEDIA,
        max_system_blocks=1,
        distillation=False,
        unconfirmed=("The one-element system limit comes from the AWS sample validator [ABS].",),
    ),
    _llama(
        "meta.llama3-2-90b-instruct-v1:0:128k",
        "Meta Llama 3.2 90B Vision Instruct",
        data_format=CONVERSATION,
        tokens=10_000,
        media=_LLAMA_VISION_MEDIA,
        max_system_blocks=1,
        distillation=False,
        unconfirmed=("The one-element system limit comes from the AWS sample validator [ABS].",),
    ),
    _llama(
        "meta.llama3-3-70b-instruct-v1:0:128k",
        "Meta Llama 3.3 70B Instruct",
        data_format=CONVERSATION,
        media=_LLAMA_VISION_MEDIA,
        distillation=True,
        unconfirmed=(
            "The user guide lists 'Llama 3.3 70B Vision Instruct' for image fine-tuning; image limits are "
            "assumed equal to Llama 3.2 Vision.",
            "Hyperparameters are assumed equal to Llama 3.2 (no page for 3.3 in the stored sources).",
        ),
    ),
)

TEACHERS: Final[Mapping[str, Teacher]] = MappingProxyType(
    {
        t.model_id: t
        for t in (
            Teacher(
                "amazon.nova-pro-v1:0",
                "Amazon Nova Pro",
                ("us-east-1",),
                ("amazon.nova-lite-v1:0:300k", "amazon.nova-micro-v1:0:128k"),
                on_demand=True,
                inference_profile=True,
            ),
            Teacher(
                "amazon.nova-premier-v1:0",
                "Amazon Nova Premier",
                ("us-east-1",),
                ("amazon.nova-lite-v1:0:300k", "amazon.nova-micro-v1:0:128k", "amazon.nova-pro-v1:0:300k"),
                on_demand=False,
                inference_profile=True,
            ),
            Teacher(
                "meta.llama3-1-405b-instruct-v1:0",
                "Meta Llama 3.1 405B Instruct",
                ("us-west-2",),
                (
                    "meta.llama3-1-8b-instruct-v1:0:128k",
                    "meta.llama3-1-70b-instruct-v1:0:128k",
                    "meta.llama3-2-1b-instruct-v1:0:128k",
                    "meta.llama3-3-70b-instruct-v1:0:128k",
                ),
                on_demand=True,
                inference_profile=False,
            ),
            Teacher(
                "meta.llama3-1-70b-instruct-v1:0",
                "Meta Llama 3.1 70B Instruct",
                ("us-west-2",),
                (
                    "meta.llama3-1-8b-instruct-v1:0:128k",
                    "meta.llama3-2-1b-instruct-v1:0:128k",
                    "meta.llama3-2-3b-instruct-v1:0:128k",
                ),
                on_demand=True,
                inference_profile=True,
            ),
            Teacher(
                "meta.llama3-3-70b-instruct-v1:0",
                "Meta Llama 3.3 70B Instruct",
                ("us-west-2",),
                (
                    "meta.llama3-1-8b-instruct-v1:0:128k",
                    "meta.llama3-2-1b-instruct-v1:0:128k",
                    "meta.llama3-2-3b-instruct-v1:0:128k",
                ),
                on_demand=False,
                inference_profile=True,
            ),
        )
    }
)

# Custom models of these bases can be served on demand through CreateCustomModelDeployment (billed
# per token, no purchase), in these regions only, for models customized on or after 2025-07-16
# [UG:deploy-custom-model-on-demand] (checked 2026-11-28); the Nova guide adds that full-rank
# fine-tunes and Canvas are excluded [NOVA:custom-fine-tune-odi]. Every other base needs Provisioned
# Throughput to be invoked at all.
ON_DEMAND_DEPLOYMENT_SOURCE: Final = "[UG:deploy-custom-model-on-demand], checked 2026-11-28"
ON_DEMAND_DEPLOYMENT: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "amazon.nova-micro-v1:0:128k": ("us-east-1",),
        "amazon.nova-lite-v1:0:300k": ("us-east-1",),
        "amazon.nova-pro-v1:0:300k": ("us-east-1",),
        "amazon.nova-2-lite-v1:0:256k": ("us-east-1",),
        "meta.llama3-3-70b-instruct-v1:0:128k": ("us-west-2",),
    }
)
# Bases that Converse serves on demand only through a system-defined cross-Region inference profile
# (``us.<model id>``), not by the plain model id. Llama 3.2 and 3.3 are offered that way in
# us-west-2 (UNCONFIRMED per model: GetFoundationModel's inferenceTypesSupported is the live answer);
# the Nova 1 models and Llama 3.1 answer by plain id in their customization regions. Nova 2 Lite is
# offered through cross-Region profiles only (its model card lists no single-Region availability).
BASE_INVOKED_THROUGH_PROFILE: Final = frozenset(
    {
        "amazon.nova-2-lite-v1:0:256k",
        "meta.llama3-2-1b-instruct-v1:0:128k",
        "meta.llama3-2-3b-instruct-v1:0:128k",
        "meta.llama3-2-11b-instruct-v1:0:128k",
        "meta.llama3-2-90b-instruct-v1:0:128k",
        "meta.llama3-3-70b-instruct-v1:0:128k",
    }
)

# --------------------------------------------------------------------------------------------------
# Lifecycle of every catalog model and teacher, checked on 2026-11-28
# --------------------------------------------------------------------------------------------------

LIFECYCLE_CHECKED: Final = dt.date(2026, 11, 28)
_LEGACY_TABLE: Final = "[UG:model-lifecycle-legacy]"
_FINE_TUNING_TABLE: Final = "[UG:custom-model-fine-tuning]"
# The Llama 3.2 cards read "Model lifecycle: Legacy" and "Model EOL date: July 7, 2026" (1B, 11B and
# 90B read; the 3B card was not). The fine-tuning table still lists Llama 3.2: the cards are later.
_LLAMA_32_EOL: Final = Lifecycle(
    "[UG:model-card-meta-llama-3-2-11b-instruct] and the 1B and 90B cards",
    end_of_life=dt.date(2026, 7, 7),
    unconfirmed="legacy start not published; 3B's date taken from the other Llama 3.2 cards",
)
# "Model lifecycle: Legacy", "Model EOL date: March 30, 2027".
_LLAMA_33: Final = Lifecycle(
    "[UG:model-card-meta-llama-3-3-70b-instruct]",
    end_of_life=dt.date(2027, 3, 30),
    unconfirmed="legacy start not published (on or before 2026-09-30, 6 months before end of life)",
)


def _active(card: str) -> Lifecycle:
    """A model whose card says "Model lifecycle: Active" with no end-of-life date."""
    return Lifecycle(f"[UG:model-card-{card}]")


def _not_offered(name: str) -> Lifecycle:
    # Gone from the fine-tuning table; no lifecycle page dates it. A third party reports Titan Text gone
    # from ListFoundationModels.
    return Lifecycle(
        f"{_FINE_TUNING_TABLE} no longer lists {name}",
        removed_from_guide=LIFECYCLE_CHECKED,
        unconfirmed="no lifecycle date published; refused as not offered",
    )


LIFECYCLE: Final[Mapping[str, Lifecycle]] = MappingProxyType(
    {
        "amazon.nova-micro-v1:0:128k": _active("amazon-nova-micro"),
        "amazon.nova-lite-v1:0:300k": _active("amazon-nova-lite"),
        "amazon.nova-pro-v1:0:300k": _active("amazon-nova-pro"),
        "amazon.nova-2-lite-v1:0:256k": _active("amazon-nova-2-lite"),
        "amazon.nova-canvas-v1:0": Lifecycle(
            _LEGACY_TABLE, legacy=dt.date(2026, 3, 30), end_of_life=dt.date(2026, 9, 30)
        ),
        "amazon.titan-text-express-v1:0:8k": _not_offered("Titan Text G1 - Express"),
        "amazon.titan-text-lite-v1:0:4k": _not_offered("Titan Text G1 - Lite"),
        "amazon.titan-image-generator-v1:0": _not_offered("Titan Image Generator G1 (v1)"),
        # The card reads "Model lifecycle: Legacy", "Model EOL date: June 30, 2026"; the fine-tuning table
        # still lists the model, the card is taken as the later fact.
        "amazon.titan-image-generator-v2:0": Lifecycle(
            "[UG:model-card-amazon-titan-image-generator-g1-v2]",
            end_of_life=dt.date(2026, 6, 30),
            unconfirmed="legacy start not published",
        ),
        "amazon.titan-embed-image-v1:0": _active("amazon-titan-multimodal-embeddings-g1"),
        # The fine-tuning table still lists it; the lifecycle table and its card give these dates.
        "anthropic.claude-3-haiku-20240307-v1:0:200k": Lifecycle(
            _LEGACY_TABLE,
            legacy=dt.date(2026, 3, 10),
            public_extended_access=dt.date(2026, 6, 10),
            end_of_life=dt.date(2026, 9, 10),
        ),
        "meta.llama3-1-8b-instruct-v1:0:128k": _active("meta-llama-3-1-8b-instruct"),
        "meta.llama3-1-70b-instruct-v1:0:128k": _active("meta-llama-3-1-70b-instruct"),
        "meta.llama3-2-1b-instruct-v1:0:128k": _LLAMA_32_EOL,
        "meta.llama3-2-3b-instruct-v1:0:128k": _LLAMA_32_EOL,
        "meta.llama3-2-11b-instruct-v1:0:128k": _LLAMA_32_EOL,
        "meta.llama3-2-90b-instruct-v1:0:128k": _LLAMA_32_EOL,
        "meta.llama3-3-70b-instruct-v1:0:128k": _LLAMA_33,
        # Distillation teachers, by their on-demand ids.
        "amazon.nova-pro-v1:0": _active("amazon-nova-pro"),
        "amazon.nova-premier-v1:0": Lifecycle(
            _LEGACY_TABLE, legacy=dt.date(2026, 3, 13), end_of_life=dt.date(2026, 9, 14)
        ),
        # The card reads "Model lifecycle: Legacy" and "Model EOL date: Legacy: July 7, 2026". Read as the
        # end-of-life date, like the Llama 3.2 cards of the same revision and an AWS Labs lifecycle table;
        # the model is also absent from the table of Legacy models, which omits models past end of life.
        # The other reading (Legacy since 2026-07-07, end of life undated) would still allow it as a teacher.
        "meta.llama3-1-405b-instruct-v1:0": Lifecycle(
            "[UG:model-card-meta-llama-3-1-405b-instruct]",
            end_of_life=dt.date(2026, 7, 7),
            unconfirmed="the card's 'Model EOL date: Legacy: July 7, 2026' is read as the end-of-life date",
        ),
        "meta.llama3-1-70b-instruct-v1:0": _active("meta-llama-3-1-70b-instruct"),
        "meta.llama3-3-70b-instruct-v1:0": _LLAMA_33,
    }
)
_UNKNOWN_LIFECYCLE: Final = Lifecycle(
    "no lifecycle recorded in the catalog", unconfirmed="Lifecycle status UNCONFIRMED; treated as ACTIVE."
)


def lifecycle_of(model_id: str) -> Lifecycle:
    """The lifecycle of a catalog model or teacher id (an unknown id counts as ACTIVE, UNCONFIRMED)."""
    return LIFECYCLE.get(model_id, _UNKNOWN_LIFECYCLE)


_BY_ID: Final[Mapping[str, ModelInfo]] = MappingProxyType({m.model_id: m for m in _MODELS})


def all_models() -> tuple[ModelInfo, ...]:
    """Every customizable base model, in catalog order."""
    return _MODELS


def get_model(model_id: str) -> ModelInfo:
    """The catalog entry for a customization id (with its context suffix, e.g. ``:128k``)."""
    model = _BY_ID.get(model_id)
    if model is not None:
        return model
    raise UnknownModelError(model_id, unknown_model_message(model_id))


def unknown_model_message(model_id: str) -> str:
    # The most common mistake is the on-demand id without the context suffix that customization needs.
    suffixed = [m for m in _BY_ID if m.startswith(model_id + ":")]
    if suffixed:
        return (
            f"{model_id!r} is the on-demand model id; customization needs the context-suffixed id: "
            f"{' or '.join(repr(s) for s in suffixed)}"
        )
    matches = close_matches(model_id, _BY_ID, limit=3)
    hint = f"; did you mean {' or '.join(repr(m) for m in matches)}?" if matches else ""
    return (
        f"unknown base model {model_id!r}{hint} "
        f"(customizable models: run `bedrock-customize models`, or see pipeline/catalog.py)"
    )


# --------------------------------------------------------------------------------------------------
# Distillation teachers
# --------------------------------------------------------------------------------------------------

# Cross-Region inference profile ids are the model id with a geography prefix, e.g. "us.amazon.nova-pro-v1:0".
PROFILE_GEOGRAPHIES: Final = {"us": "us-", "eu": "eu-", "apac": "ap-", "us-gov": "us-gov-"}


def profile_id(model_id: str, region: str) -> str:
    """The system-defined cross-Region inference profile of ``model_id`` for ``region``'s geography.

    The longest region prefix wins (``us-gov-west-1`` is in ``us-gov``, not ``us``); an id that is
    already a profile id, or a region of no known geography, is returned unchanged.
    """
    if model_id.startswith(tuple(f"{geography}." for geography in PROFILE_GEOGRAPHIES)):
        return model_id
    for geography, prefix in sorted(PROFILE_GEOGRAPHIES.items(), key=lambda item: len(item[1]), reverse=True):
        if region.startswith(prefix):
            return f"{geography}.{model_id}"
    return model_id


_TEACHER_ARN_RE: Final = re.compile(
    r"arn:aws(?:-[^:]+)?:bedrock:(?P<region>[a-z0-9-]{1,20}):(?P<account>\d{12})?:"
    r"(?P<kind>foundation-model|inference-profile|application-inference-profile)/(?P<id>.+)"
)


@dataclass(frozen=True)
class TeacherRef:
    """A parsed teacher identifier: which teacher, how it is invoked, and the ARN's region if any."""

    teacher: Teacher | None
    model_id: str
    via_profile: bool
    geography: str | None = None
    arn_region: str | None = None
    application_profile: bool = False


def parse_teacher(identifier: str) -> TeacherRef:
    """Understand a teacherModelIdentifier: model id, profile id, or either kind of ARN [BC]."""
    arn_region = None
    body = identifier
    application_profile = False
    match = _TEACHER_ARN_RE.fullmatch(identifier)
    if match:
        arn_region = match["region"]
        body = match["id"]
        application_profile = match["kind"] == "application-inference-profile"
        if match["kind"] == "foundation-model":
            return TeacherRef(TEACHERS.get(body), body, via_profile=False, arn_region=arn_region)
    geography = None
    for prefix in sorted(PROFILE_GEOGRAPHIES, key=len, reverse=True):
        if body.startswith(prefix + "."):
            geography = prefix
            body = body[len(prefix) + 1 :]
            break
    via_profile = geography is not None or application_profile
    return TeacherRef(
        TEACHERS.get(body),
        body,
        via_profile=via_profile,
        geography=geography,
        arn_region=arn_region,
        application_profile=application_profile,
    )


def check_teacher(
    identifier: str,
    student: ModelInfo,
    region: str,
    *,
    field_name: str = "teacher",
    today: dt.date | None = None,
) -> list[Problem]:
    """Every reason a teacher/student/region combination would be refused, end of life included.

    ``today`` is the day of the lifecycle check (UTC today by default).
    """
    ref = parse_teacher(identifier)
    allowed = ", ".join(student.distillation_teachers) or "none"
    if ref.application_profile:
        return [
            Problem(
                field_name,
                identifier,
                "a model id or a system-defined cross-Region inference profile",
                "application inference profiles cannot be teachers; use the teacher's model id or its "
                f"system-defined cross-Region inference profile ({allowed})",
            )
        ]
    if ref.teacher is None:
        return [
            Problem(
                field_name,
                identifier,
                allowed,
                f"{identifier!r} is not a distillation teacher{did_you_mean(ref.model_id, TEACHERS)}; "
                f"teachers for {student.model_id}: {allowed}",
            )
        ]
    teacher = ref.teacher
    problems: list[Problem] = []
    if student.model_id not in teacher.students:
        problems.append(
            Problem(
                field_name,
                identifier,
                allowed,
                f"{teacher.model_id} cannot teach {student.model_id}; "
                f"it teaches {', '.join(teacher.students)}. "
                f"Teachers for {student.model_id}: {allowed}",
            )
        )
    if ref.via_profile and not teacher.inference_profile:
        problems.append(
            Problem(
                field_name,
                identifier,
                teacher.model_id,
                f"{teacher.model_id} can be a teacher only on demand; use {teacher.model_id!r}",
            )
        )
    elif not ref.via_profile and not teacher.on_demand:
        geography = next((g for g, p in PROFILE_GEOGRAPHIES.items() if region.startswith(p)), "us")
        problems.append(
            Problem(
                field_name,
                identifier,
                f"{geography}.{teacher.model_id}",
                f"{teacher.model_id} can be a teacher only through a cross-Region inference profile; "
                f"use {geography}.{teacher.model_id!r} (or its inference-profile ARN)",
            )
        )
    if region not in teacher.regions:
        problems.append(
            Problem(
                field_name,
                identifier,
                ", ".join(teacher.regions),
                f"distillation from {teacher.model_id} runs in {', '.join(teacher.regions)}, not {region}",
            )
        )
    if ref.arn_region is not None and ref.arn_region != region:
        problems.append(
            Problem(
                field_name,
                identifier,
                region,
                f"the teacher ARN is in {ref.arn_region} but the run is in {region}",
            )
        )
    if ref.geography is not None and not region.startswith(PROFILE_GEOGRAPHIES[ref.geography]):
        problems.append(
            Problem(
                field_name,
                identifier,
                f"a profile for {region}",
                f"the {ref.geography}. inference profile does not serve {region}",
            )
        )
    for problem in lifecycle_problems(
        teacher, purpose=TEACHER_USE, today=today, field=field_name, student=student
    ):
        problems.append(replace(problem, value=identifier))
    return problems


# --------------------------------------------------------------------------------------------------
# Lifecycle rules: what a Legacy or end-of-life model may still be used for
# --------------------------------------------------------------------------------------------------

# What a model is about to be used for.
NEW_CUSTOMIZATION: Final = "customization"  # a new customization job on this base model
THROUGHPUT_PURCHASE: Final = "throughput"  # a new Provisioned Throughput for this base or its custom model
ON_DEMAND_DEPLOYMENT_OF_CUSTOM_MODEL: Final = "deployment"  # a new on-demand deployment of a custom model
TEACHER_USE: Final = "teacher"  # the teacher of a distillation job
PURPOSES: Final = (NEW_CUSTOMIZATION, THROUGHPUT_PURCHASE, ON_DEMAND_DEPLOYMENT_OF_CUSTOM_MODEL, TEACHER_USE)

# A Legacy model accepts no new fine-tuning job and no new Provisioned Throughput, but custom models made
# before may get new on-demand deployments; at end of life every request fails [UG:model-lifecycle]. A
# Legacy teacher is still served to existing users (new customers may be refused: not checked here).
_REFUSED: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        NEW_CUSTOMIZATION: frozenset({LEGACY, END_OF_LIFE, NOT_OFFERED}),
        THROUGHPUT_PURCHASE: frozenset({LEGACY, END_OF_LIFE}),
        ON_DEMAND_DEPLOYMENT_OF_CUSTOM_MODEL: frozenset({END_OF_LIFE}),
        TEACHER_USE: frozenset({END_OF_LIFE}),
    }
)
_WHAT: Final[Mapping[str, str]] = MappingProxyType(
    {
        NEW_CUSTOMIZATION: "a new customization job",
        THROUGHPUT_PURCHASE: "a new Provisioned Throughput",
        ON_DEMAND_DEPLOYMENT_OF_CUSTOM_MODEL: "a new on-demand deployment",
        TEACHER_USE: "distillation as the teacher",
    }
)
_LIFECYCLE_RULE: Final = "[UG:model-lifecycle]"


def today_utc() -> dt.date:
    """Today's date in UTC: the default day of every lifecycle check (tests replace this function)."""
    return dt.datetime.now(dt.UTC).date()


def usable_for(model_id: str, purpose: str, today: dt.date | None = None) -> bool:
    """Whether the lifecycle allows ``purpose`` for a catalog model or teacher id on ``today``."""
    return lifecycle_of(model_id).status(today or today_utc()) not in _REFUSED[purpose]


def lifecycle_problems(
    model: ModelInfo | Teacher | str,
    *,
    purpose: str,
    today: dt.date | None = None,
    field: str = "baseModel",
    customization_type: str | None = None,
    student: ModelInfo | None = None,
) -> list[Problem]:
    """Why ``model`` cannot be used for ``purpose`` on ``today`` (UTC by default); empty when it can.

    ``model`` is a catalog model, a teacher, or an id (teacher ids may be profile ids or ARNs).
    ``customization_type`` and ``student`` narrow the replacement suggested in the message.
    """
    if purpose not in _REFUSED:
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}, not {purpose!r}")
    day = today or today_utc()
    value, model_id, name = _lifecycle_subject(model)
    lifecycle = lifecycle_of(model_id)
    status = lifecycle.status(day)
    if status not in _REFUSED[purpose]:
        return []
    info = _BY_ID.get(model_id)
    if purpose == TEACHER_USE or info is None:
        alternatives = _teacher_alternatives(model_id, student, day)
    else:
        alternatives = current_alternatives(info, customization_type=customization_type, today=day)
    what = _WHAT[purpose]
    subject = f"{model_id} ({name})" if name else model_id
    if status == END_OF_LIFE:
        assert lifecycle.end_of_life is not None
        legacy = f", Legacy since {lifecycle.legacy.isoformat()}" if lifecycle.legacy else ""
        reason = (
            f"{subject} reached end of life on {lifecycle.end_of_life.isoformat()}{legacy} "
            f"({lifecycle.source}): Bedrock no longer serves it, so it cannot be used for {what}"
        )
    elif status == LEGACY:
        since = f"since {lifecycle.legacy.isoformat()}" if lifecycle.legacy else "(since an unpublished date)"
        until = (
            f"end of life on {lifecycle.end_of_life.isoformat()}"
            if lifecycle.end_of_life
            else "end of life not yet dated"
        )
        reason = (
            f"{subject} is Legacy {since}, {until} ({lifecycle.source}): a Legacy model cannot be used "
            f"for {what} {_LIFECYCLE_RULE}"
        )
    else:
        assert lifecycle.removed_from_guide is not None
        reason = (
            f"{subject} is no longer offered for customization: checked on "
            f"{lifecycle.removed_from_guide.isoformat()}, {lifecycle.source}"
        )
    note = f" (UNCONFIRMED: {lifecycle.unconfirmed})" if lifecycle.unconfirmed else ""
    return [
        Problem(
            field,
            value,
            ", ".join(alternatives) or "a current model",
            f"{reason}{note}; {_suggestion(alternatives, purpose, customization_type, student)}",
        )
    ]


def current_alternatives(
    model: ModelInfo,
    *,
    customization_type: str | None = None,
    today: dt.date | None = None,
    purpose: str = NEW_CUSTOMIZATION,
    limit: int = 3,
) -> tuple[str, ...]:
    """Catalog models usable for ``purpose`` today that can replace ``model``.

    Candidates support the customization type (any of the model's when None), take at least the model's
    input modalities and produce the same output. The same provider comes first, then models customizable
    in one of the same regions, then catalog order.
    """
    day = today or today_utc()
    types = (customization_type,) if customization_type else model.customization_types
    inputs = set(model.input_modalities)
    candidates = [
        m
        for m in _MODELS
        if m.model_id != model.model_id
        and usable_for(m.model_id, purpose, day)
        and any(m.supports(t) for t in types)
        and inputs <= set(m.input_modalities)
        and m.output_modalities == model.output_modalities
    ]
    order = {m.model_id: i for i, m in enumerate(_MODELS)}
    candidates.sort(
        key=lambda m: (
            m.provider != model.provider,
            not set(m.regions) & set(model.regions),
            order[m.model_id],
        )
    )
    return tuple(m.model_id for m in candidates[:limit])


def _teacher_alternatives(model_id: str, student: ModelInfo | None, day: dt.date) -> tuple[str, ...]:
    return tuple(
        t.model_id
        for t in TEACHERS.values()
        if t.model_id != model_id
        and usable_for(t.model_id, TEACHER_USE, day)
        and (student is None or student.model_id in t.students)
    )


def _suggestion(
    alternatives: tuple[str, ...], purpose: str, customization_type: str | None, student: ModelInfo | None
) -> str:
    if purpose == TEACHER_USE:
        if alternatives:
            return f"use a current teacher instead: {' or '.join(alternatives)}"
        taught = f" for {student.model_id}" if student is not None else ""
        return f"no current teacher in the catalog{taught}; fine-tune the student instead"
    kind = f" with {customization_type}" if customization_type else ""
    if alternatives:
        return f"use a current model{kind} instead, e.g. {' or '.join(alternatives)}"
    return f"no current catalog model{kind} takes its place (run `bedrock-customize models`)"


def _lifecycle_subject(model: ModelInfo | Teacher | str) -> tuple[str, str, str]:
    """(value as given, catalog or teacher id, display name) for a model, a teacher or an id."""
    if isinstance(model, ModelInfo | Teacher):
        return model.model_id, model.model_id, model.name
    info = _BY_ID.get(model)
    if info is not None:
        return model, model, info.name
    ref = parse_teacher(model)
    return model, ref.model_id, ref.teacher.name if ref.teacher is not None else ""


# --------------------------------------------------------------------------------------------------
# Judges: the evaluator models of Bedrock evaluation jobs that use an LLM as a judge
# --------------------------------------------------------------------------------------------------

# [UG:evaluation-judge] "Supported evaluator models": one list for built-in metrics, one for custom
# metrics; "Cross Region inference profiles are supported for the listed models". Judges are
# foundation models used on demand (the job invokes them; their tokens are billed to the account).
_JUDGE_SOURCE: Final = "[UG:evaluation-judge]"


@dataclass(frozen=True)
class Judge:
    """A foundation model that can judge: for built-in metrics, for custom metrics, or both."""

    model_id: str
    name: str
    builtin_metrics: bool
    custom_metrics: bool
    prices: Prices = Prices()
    lifecycle_override: Lifecycle | None = None
    source: str = _JUDGE_SOURCE

    @property
    def lifecycle(self) -> Lifecycle:
        return self.lifecycle_override or lifecycle_of(self.model_id)


DEFAULT_JUDGE: Final = "amazon.nova-pro-v1:0"

JUDGES: Final[Mapping[str, Judge]] = MappingProxyType(
    {
        j.model_id: j
        for j in (
            # The only Nova judge the guide lists; its on-demand rates are the base model's (3P blog).
            Judge("amazon.nova-pro-v1:0", "Amazon Nova Pro", True, True, Prices(**_on_demand(0.80, 3.20))),
            Judge("anthropic.claude-sonnet-4-20250514-v1:0", "Anthropic Claude Sonnet 4", True, True),
            Judge("anthropic.claude-3-7-sonnet-20250219-v1:0", "Anthropic Claude 3.7 Sonnet", True, True),
            Judge("anthropic.claude-3-5-sonnet-20241022-v2:0", "Anthropic Claude 3.5 Sonnet v2", True, True),
            Judge("anthropic.claude-3-5-sonnet-20240620-v1:0", "Anthropic Claude 3.5 Sonnet v1", True, True),
            Judge("anthropic.claude-3-5-haiku-20241022-v1:0", "Anthropic Claude 3.5 Haiku", True, True),
            Judge(
                "anthropic.claude-3-haiku-20240307-v1:0",
                "Anthropic Claude 3 Haiku",
                True,
                True,
                Prices(**_on_demand(0.25, 1.25)),
                # The same model as the customizable claude-3-haiku base: the same published dates.
                lifecycle_override=LIFECYCLE.get("anthropic.claude-3-haiku-20240307-v1:0:200k"),
            ),
            Judge("meta.llama3-1-70b-instruct-v1:0", "Meta Llama 3.1 70B Instruct", True, True),
            Judge("meta.llama3-3-70b-instruct-v1:0", "Meta Llama 3.3 70B Instruct", False, True),
            Judge("mistral.mistral-large-2402-v1:0", "Mistral Large 24.02", True, True),
            Judge("mistral.mistral-large-2407-v1:0", "Mistral Large 24.07", False, True),
        )
    }
)
# A judge may not be Legacy: a Legacy model may refuse new customers [UG:model-lifecycle], and a run
# that starts on one would fail only after training was paid for.
_JUDGE_REFUSED: Final = frozenset({LEGACY, END_OF_LIFE})


def judge_of(identifier: str) -> Judge | None:
    """The catalog judge behind a model id or a system-defined cross-Region inference profile id."""
    head, dot, rest = identifier.partition(".")
    if dot and head in PROFILE_GEOGRAPHIES:
        return JUDGES.get(rest)
    return JUDGES.get(identifier)


def check_judge(
    identifier: str,
    region: str | None,
    *,
    builtin_metrics: bool,
    custom_metrics: bool,
    field_name: str = "evaluation.judge.model",
    today: dt.date | None = None,
) -> list[Problem]:
    """Every reason the judge would be refused: not a listed judge, not for these metrics, its
    lifecycle, or a cross-Region profile of another geography."""
    judge = judge_of(identifier)
    listed = ", ".join(JUDGES)
    if judge is None:
        return [
            Problem(
                field_name,
                identifier,
                listed,
                f"{identifier!r} is not a judge model the user guide lists{did_you_mean(identifier, JUDGES)} "
                f"{_JUDGE_SOURCE}; judges: {listed}",
            )
        ]
    problems: list[Problem] = []
    for needed, supported, kind in (
        (builtin_metrics, judge.builtin_metrics, "built-in"),
        (custom_metrics, judge.custom_metrics, "custom"),
    ):
        if needed and not supported:
            able = ", ".join(
                j.model_id
                for j in JUDGES.values()
                if (j.builtin_metrics if kind == "built-in" else j.custom_metrics)
            )
            problems.append(
                Problem(
                    field_name,
                    identifier,
                    able,
                    f"{judge.model_id} cannot judge {kind} metrics {_JUDGE_SOURCE}; judges that can: {able}",
                )
            )
    head, dot, _ = identifier.partition(".")
    if (
        dot
        and head in PROFILE_GEOGRAPHIES
        and region is not None
        and not region.startswith(PROFILE_GEOGRAPHIES[head])
    ):
        problems.append(
            Problem(
                field_name,
                identifier,
                f"a profile for {region}",
                f"the {head}. inference profile does not serve {region}",
            )
        )
    day = today or today_utc()
    lifecycle = judge.lifecycle
    status = lifecycle.status(day)
    if status in _JUDGE_REFUSED:
        current = [
            j.model_id
            for j in JUDGES.values()
            if j.lifecycle.status(day) not in _JUDGE_REFUSED and (j.custom_metrics or not custom_metrics)
        ]
        suggestion = DEFAULT_JUDGE if DEFAULT_JUDGE in current else " or ".join(current[:2])
        problems.append(
            Problem(
                field_name,
                identifier,
                ", ".join(current),
                f"{judge.model_id} ({judge.name}) is {status.replace('_', ' ').lower()} as of "
                f"{day.isoformat()} ({lifecycle.source}); use a current judge, e.g. {suggestion}",
            )
        )
    return problems

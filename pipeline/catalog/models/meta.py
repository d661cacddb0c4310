"""Meta Llama 3.1, 3.2 and 3.3 (us-west-2). Data rules [UG:model-customization-prepare] and the AWS
sample validator [ABS meta-llama/dataset_validation]; hyperparameters [UG:cm-hp-meta-llama31],
[UG:cm-hp-meta-llama32]; distillation rules [UG:distillation-prepare-datasets]."""

from __future__ import annotations

import datetime as dt
from typing import Final

from pipeline.catalog.entry import ModelEntry, PriceSheet
from pipeline.catalog.models.shared import (
    CHECKED,
    IMAGE_FORMATS,
    LLAMA_33,
    NO_SOURCE,
    NOT_DEPLOYABLE,
    active,
    by_model_id,
    on_demand_deployment,
    through_profile,
)
from pipeline.catalog.types import (
    CONVERSATION,
    CONVERSATION_PROMPTS,
    DISTILLATION,
    FINE_TUNING,
    GB,
    LIFECYCLE_CHECKED,
    PROMPT_COMPLETION,
    CustomizationRules,
    Fact,
    HyperParameter,
    Lifecycle,
    MediaRules,
    RecordBounds,
    TokenLimit,
)

_REGIONS: Final[Fact[tuple[str, ...]]] = Fact(
    ("us-west-2",), "[UG:custom-model-fine-tuning] supported models and Regions", CHECKED
)
_HP_SOURCE: Final = "[UG:cm-hp-meta-llama31], [UG:cm-hp-meta-llama32]"
_HYPERPARAMETERS: Final = (
    HyperParameter("epochCount", "integer", 1, 10, "5", source=_HP_SOURCE),
    HyperParameter("batchSize", "integer", 1, 1, "1", source=_HP_SOURCE),
    HyperParameter("learningRate", "float", 5e-6, 0.1, "0.0001", source=_HP_SOURCE),
)
_SOURCES: Final = (
    "[UG:custom-model-supported]",
    "[UG:model-customization-prepare]",
    "[ABS] meta-llama/dataset_validation",
)
_COUNT_UNCONFIRMED: Final = (
    "Per-file maxima (training 10,000, validation 1,000) come from the AWS sample validator [ABS].",
)
_SYSTEM_UNCONFIRMED: Final = "The one-element system limit comes from the AWS sample validator [ABS]."
_VISION_MEDIA: Final = MediaRules(
    image_formats=IMAGE_FORMATS,
    # Images cost min(2,max(H//560,1))*min(2,max(W//560,1))*1601 tokens, i.e. 1,601 to 6,404 [UG]. Image sizes
    # are not read, so the conservative estimate counts the maximum and the optimistic one the minimum.
    max_tokens_per_image=6_404,
    min_tokens_per_image=1_601,
)
# No stored source prices Llama customization, storage or throughput; no Llama base here deploys on
# demand but Llama 3.3 70B.
_PRICES: Final = PriceSheet.known(
    NO_SOURCE, deployment_input_per_1m_tokens=NOT_DEPLOYABLE, deployment_output_per_1m_tokens=NOT_DEPLOYABLE
)
# Profile use: Llama 3.2 and 3.3 are offered through the us. profile in us-west-2; Llama 3.1 answers by
# its plain id there.
_PROFILE_PER_MODEL: Final = "per model: GetFoundationModel's inferenceTypesSupported is the live answer"
# The Llama 3.2 cards read "Model lifecycle: Legacy" and "Model EOL date: July 7, 2026" (1B, 11B and
# 90B read; the 3B card was not). The fine-tuning table still lists Llama 3.2: the cards are later.
_LLAMA_32_EOL: Final = Lifecycle(
    "[UG:model-card-meta-llama-3-2-11b-instruct] and the 1B and 90B cards",
    end_of_life=dt.date(2026, 7, 7),
    unconfirmed="legacy start not published; 3B's date taken from the other Llama 3.2 cards",
    checked=LIFECYCLE_CHECKED,
)


def _fine_tuning(
    data_format: str,
    *,
    tokens: int = 16_000,
    media: MediaRules | None = None,
    max_system_blocks: int | None = None,
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
        unconfirmed=(*_COUNT_UNCONFIRMED, "Training/validation file size limits are not documented."),
        sources=_SOURCES,
    )


# The data rules of a Llama student's distillation job (whether a teacher teaches it: teachers.py).
_DISTILLATION: Final = CustomizationRules(
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


def _llama(
    model_id: str,
    name: str,
    rules: CustomizationRules,
    *,
    distillation: CustomizationRules | None,
    profile: Fact[bool],
    lifecycle: Lifecycle,
    on_demand: Fact[tuple[str, ...]] | None = None,
    prices: PriceSheet = _PRICES,
    unconfirmed: tuple[str, ...] = (),
) -> ModelEntry:
    return ModelEntry(
        model_id=model_id,
        name=name,
        provider="Meta",
        regions=_REGIONS,
        input_modalities=("text", "image") if rules.media else ("text",),
        output_modalities=("text",),
        customizations=(rules,),
        distillation=distillation,
        hyperparameters=_HYPERPARAMETERS,
        on_demand_deployment_regions=on_demand or on_demand_deployment(),
        invoked_through_profile=profile,
        lifecycle=lifecycle,
        prices=prices,
        sources=_SOURCES,
        rules_checked=CHECKED,
        unconfirmed=unconfirmed,
    )


LLAMA_31_8B: Final = _llama(
    "meta.llama3-1-8b-instruct-v1:0:128k",
    "Meta Llama 3.1 8B Instruct",
    _fine_tuning(PROMPT_COMPLETION),
    distillation=_DISTILLATION,
    profile=by_model_id(),
    lifecycle=active("meta-llama-3-1-8b-instruct"),
)
# Also the lifecycle of the Llama 3.1 70B teacher and judge (the same foundation model).
LLAMA_31_70B: Final = _llama(
    "meta.llama3-1-70b-instruct-v1:0:128k",
    "Meta Llama 3.1 70B Instruct",
    _fine_tuning(PROMPT_COMPLETION),
    distillation=_DISTILLATION,
    profile=by_model_id(),
    lifecycle=active("meta-llama-3-1-70b-instruct"),
)
LLAMA_32_1B: Final = _llama(
    "meta.llama3-2-1b-instruct-v1:0:128k",
    "Meta Llama 3.2 1B Instruct",
    _fine_tuning(CONVERSATION, max_system_blocks=1),
    distillation=_DISTILLATION,
    profile=through_profile(_PROFILE_PER_MODEL),
    lifecycle=_LLAMA_32_EOL,
    unconfirmed=(_SYSTEM_UNCONFIRMED,),
)
LLAMA_32_3B: Final = _llama(
    "meta.llama3-2-3b-instruct-v1:0:128k",
    "Meta Llama 3.2 3B Instruct",
    _fine_tuning(CONVERSATION, max_system_blocks=1),
    distillation=_DISTILLATION,
    profile=through_profile(_PROFILE_PER_MODEL),
    lifecycle=_LLAMA_32_EOL,
    unconfirmed=(_SYSTEM_UNCONFIRMED,),
)
LLAMA_32_11B: Final = _llama(
    "meta.llama3-2-11b-instruct-v1:0:128k",
    "Meta Llama 3.2 11B Vision Instruct",
    _fine_tuning(CONVERSATION, media=_VISION_MEDIA, max_system_blocks=1),
    distillation=None,  # no teacher lists it
    profile=through_profile(_PROFILE_PER_MODEL),
    lifecycle=_LLAMA_32_EOL,
    unconfirmed=(_SYSTEM_UNCONFIRMED,),
)
LLAMA_32_90B: Final = _llama(
    "meta.llama3-2-90b-instruct-v1:0:128k",
    "Meta Llama 3.2 90B Vision Instruct",
    _fine_tuning(CONVERSATION, tokens=10_000, media=_VISION_MEDIA, max_system_blocks=1),
    distillation=None,  # no teacher lists it
    profile=through_profile(_PROFILE_PER_MODEL),
    lifecycle=_LLAMA_32_EOL,
    unconfirmed=(_SYSTEM_UNCONFIRMED,),
)
LLAMA_33_70B: Final = _llama(
    "meta.llama3-3-70b-instruct-v1:0:128k",
    "Meta Llama 3.3 70B Instruct",
    _fine_tuning(CONVERSATION, media=_VISION_MEDIA),
    distillation=_DISTILLATION,
    profile=through_profile(_PROFILE_PER_MODEL),
    lifecycle=LLAMA_33,
    on_demand=on_demand_deployment(
        "us-west-2",
        unconfirmed="the 2026-11-28 guide copy lists Llama 3.3 70B; the 2026-12-07 re-check found only "
        "public evidence of it (bedrock.md §13)",
    ),
    prices=PriceSheet.known(NO_SOURCE),
    unconfirmed=(
        "The user guide lists 'Llama 3.3 70B Vision Instruct' for image fine-tuning; image limits are "
        "assumed equal to Llama 3.2 Vision.",
        "Hyperparameters are assumed equal to Llama 3.2 (no page for 3.3 in the stored sources).",
    ),
)

ENTRIES: Final = (
    LLAMA_31_8B,
    LLAMA_31_70B,
    LLAMA_32_1B,
    LLAMA_32_3B,
    LLAMA_32_11B,
    LLAMA_32_90B,
    LLAMA_33_70B,
)

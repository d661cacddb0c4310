"""Amazon Titan: Titan Text G1 (Express, Lite), Titan Image Generator G1 (v1, v2) and Titan
Multimodal Embeddings G1. Data rules [UG:model-customization-prepare], hyperparameters
[UG:cm-hp-titan-text], [UG:cm-hp-titan-mm]; prices from third parties and an AWS sample notebook."""

from __future__ import annotations

import datetime as dt
from typing import Final

from pipeline.catalog.entry import ModelEntry, PriceSheet
from pipeline.catalog.models.shared import (
    CHECKED,
    NO_SOURCE,
    NOT_DEPLOYABLE,
    PRICES_SEARCHED,
    STORAGE_UNIT,
    active,
    by_model_id,
    image_caption_fine_tuning,
    not_offered,
    on_demand_deployment,
)
from pipeline.catalog.types import (
    CONTINUED_PRE_TRAINING,
    FINE_TUNING,
    GB,
    LIFECYCLE_CHECKED,
    MB,
    PER_1K_TOKENS,
    PER_IMAGE_SEEN,
    PER_MU_HOUR,
    PRETRAINING_TEXT,
    PROMPT_COMPLETION,
    CustomizationRules,
    Fact,
    HyperParameter,
    Lifecycle,
    Price,
    RecordBounds,
    TokenLimit,
    Unknown,
)

# The current fine-tuning table lists the image models in both regions; Titan Text and Titan Image
# Generator v1 are gone from it (their lifecycle says so): their regions come from an earlier revision.
_REGIONS: Final[Fact[tuple[str, ...]]] = Fact(
    ("us-east-1", "us-west-2"), "[UG:custom-model-fine-tuning] supported models and Regions", CHECKED
)
_EARLIER_REGIONS: Final[Fact[tuple[str, ...]]] = Fact(
    ("us-east-1", "us-west-2"),
    "[UG:custom-model-supported] (an earlier revision; the current table no longer lists the model)",
    CHECKED,
)
_NO_DEPLOYMENT: Final = {
    "deployment_input_per_1m_tokens": NOT_DEPLOYABLE,
    "deployment_output_per_1m_tokens": NOT_DEPLOYABLE,
}

# --------------------------------------------------------------------------------------------------
# Titan Text G1
# --------------------------------------------------------------------------------------------------

_TITAN_TEXT_HYPERPARAMETERS: Final = (
    HyperParameter("epochCount", "integer", 1, 10, "5", source="[UG:cm-hp-titan-text]"),
    HyperParameter("batchSize", "integer", 1, 64, "1", source="[UG:cm-hp-titan-text]"),
    HyperParameter("learningRate", "float", 0.0, 1.0, "1e-05", source="[UG:cm-hp-titan-text]"),
    HyperParameter("learningRateWarmupSteps", "integer", 0, 250, "5", source="[UG:cm-hp-titan-text]"),
)
_SIZE_UNCONFIRMED: Final = "Token limits for batch sizes beyond the documented table are assumed to be 2,048."


def _titan_text_rules(
    token_limits: tuple[TokenLimit, ...],
    *,
    cpt_training: RecordBounds,
    cpt_validation: RecordBounds,
    extra_unconfirmed: tuple[str, ...] = (),
) -> tuple[CustomizationRules, ...]:
    return (
        CustomizationRules(
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
                _SIZE_UNCONFIRMED,
            ),
            sources=("[UG:model-customization-prepare]",),
        ),
        CustomizationRules(
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
                _SIZE_UNCONFIRMED,
                *extra_unconfirmed,
            ),
            sources=("[UG:model-customization-prepare]", "[WS] 03_continued_pretraining_titan_text"),
        ),
    )


_TITAN_TEXT_SOURCES: Final = ("[UG:custom-model-supported]", "[UG:cm-hp-titan-text]")
_MOJ: Final = "[3P] ministryofjustice/analytical-platform#4119 (us-east-1)"
_MOJ_NOTE: Final = "a third party's reading, April 2024"
_REPO_NOTE: Final = "[3P] repository note"
_REPO_NOTE_UNCONFIRMED: Final = "an undated third-party note"

TITAN_TEXT_EXPRESS: Final = ModelEntry(
    model_id="amazon.titan-text-express-v1:0:8k",
    name="Amazon Titan Text G1 - Express",
    provider="Amazon",
    regions=_EARLIER_REGIONS,
    input_modalities=("text",),
    output_modalities=("text",),
    customizations=_titan_text_rules(
        (TokenLimit(4_096, max_batch_size=1), TokenLimit(2_048)),
        cpt_training=RecordBounds(1, None),
        cpt_validation=RecordBounds(1, None),
        extra_unconfirmed=("CPT record-count bounds for Express are not documented.",),
    ),
    distillation=None,
    hyperparameters=_TITAN_TEXT_HYPERPARAMETERS,
    on_demand_deployment_regions=on_demand_deployment(),
    invoked_through_profile=by_model_id(),
    lifecycle=not_offered("Titan Text G1 - Express"),
    prices=PriceSheet.known(
        NO_SOURCE,
        training=Price(0.008, PER_1K_TOKENS, "2024-04", _MOJ, _MOJ_NOTE),
        storage_per_month=Price(1.95, STORAGE_UNIT, "2024-04", _MOJ, _MOJ_NOTE),
        pt_no_commit_per_mu_hour=Price(20.50, PER_MU_HOUR, "2024-04", _MOJ, _MOJ_NOTE),
        **_NO_DEPLOYMENT,
    ),
    sources=_TITAN_TEXT_SOURCES,
    rules_checked=CHECKED,
    price_list_names=("Titan Text Express", "Titan Text G1 Express"),
)

TITAN_TEXT_LITE: Final = ModelEntry(
    model_id="amazon.titan-text-lite-v1:0:4k",
    name="Amazon Titan Text G1 - Lite",
    provider="Amazon",
    regions=_EARLIER_REGIONS,
    input_modalities=("text",),
    output_modalities=("text",),
    customizations=_titan_text_rules(
        (TokenLimit(4_096, max_batch_size=2), TokenLimit(2_048)),
        cpt_training=RecordBounds(1, 100_000, adjustable=True),
        cpt_validation=RecordBounds(1, 1_000),
    ),
    distillation=None,
    hyperparameters=_TITAN_TEXT_HYPERPARAMETERS,
    on_demand_deployment_regions=on_demand_deployment(),
    invoked_through_profile=by_model_id(),
    lifecycle=not_offered("Titan Text G1 - Lite"),
    prices=PriceSheet.known(
        NO_SOURCE,
        training=Price(0.0004, PER_1K_TOKENS, "undated", _REPO_NOTE, _REPO_NOTE_UNCONFIRMED),
        storage_per_month=Price(
            1.95,
            STORAGE_UNIT,
            "undated",
            f"{_REPO_NOTE}; $1.95/month recurs across every source seen",
            _REPO_NOTE_UNCONFIRMED,
        ),
        # A $7.10/MU-hour figure exists but its commitment term is not stated; using it as the
        # no-commitment rate could understate the cost, so the PT prices stay unknown.
        pt_no_commit_per_mu_hour=Unknown(
            "a third-party note gives $7.10 per model-unit hour without its commitment term; read as "
            "the no-commitment rate it could understate the cost",
            PRICES_SEARCHED,
        ),
        **_NO_DEPLOYMENT,
    ),
    sources=_TITAN_TEXT_SOURCES,
    rules_checked=CHECKED,
    price_list_names=("Titan Text Lite", "Titan Text G1 Lite"),
)

# --------------------------------------------------------------------------------------------------
# Titan image models (image-ref records: an image and its caption)
# --------------------------------------------------------------------------------------------------

_TIG_NOTEBOOK: Final = "[ABS] Titan Image Generator notebook"
_TIG_NOTE: Final = "an AWS sample notebook's figure 'as of Feb 2024', not a price list"
_TIG_HYPERPARAMETERS: Final = tuple(
    HyperParameter(name, kind, None, None, None, source=_TIG_NOTEBOOK, unconfirmed="range UNCONFIRMED")
    for name, kind in (("stepCount", "integer"), ("batchSize", "integer"), ("learningRate", "float"))
)


def _tig_prices(unconfirmed: str) -> PriceSheet:
    return PriceSheet.known(
        NO_SOURCE,
        # Cost = min(images, batch size) x steps x the price per image seen [ABS]: not a token price.
        training=Price(0.005, PER_IMAGE_SEEN, "2024-02", _TIG_NOTEBOOK, unconfirmed),
        storage_per_month=Price(1.95, STORAGE_UNIT, "2024-02", _TIG_NOTEBOOK, unconfirmed),
        **_NO_DEPLOYMENT,
    )


_TIG_V1_SOURCES: Final = ("[UG:custom-model-supported]", "[UG:model-customization-prepare]")

TITAN_IMAGE_GENERATOR_V1: Final = ModelEntry(
    model_id="amazon.titan-image-generator-v1:0",
    name="Amazon Titan Image Generator G1",
    provider="Amazon",
    regions=_EARLIER_REGIONS,
    input_modalities=("text", "image"),
    output_modalities=("image",),
    customizations=(
        image_caption_fine_tuning(
            records=RecordBounds(5, 10_000),
            caption_chars=(3, 1_024),
            unconfirmed=("Hyperparameter ranges (stepCount, batchSize, learningRate) are not documented.",),
            sources=_TIG_V1_SOURCES,
        ),
    ),
    distillation=None,
    hyperparameters=_TIG_HYPERPARAMETERS,
    on_demand_deployment_regions=on_demand_deployment(),
    invoked_through_profile=by_model_id(),
    lifecycle=not_offered("Titan Image Generator G1 (v1)"),
    prices=_tig_prices(_TIG_NOTE),
    sources=_TIG_V1_SOURCES,
    rules_checked=CHECKED,
    price_list_names=("Titan Image Generator",),
)

_TIG_V2_SOURCES: Final = ("[UG:custom-model-supported]",)

TITAN_IMAGE_GENERATOR_V2: Final = ModelEntry(
    model_id="amazon.titan-image-generator-v2:0",
    name="Amazon Titan Image Generator G1 v2",
    provider="Amazon",
    regions=_REGIONS,
    input_modalities=("text", "image"),
    output_modalities=("image",),
    customizations=(
        image_caption_fine_tuning(
            records=RecordBounds(5, 10_000),
            caption_chars=(3, 1_024),
            unconfirmed=(
                "v2 limits and prices are assumed equal to v1 (only v1 is documented).",
                "Hyperparameter ranges (stepCount, batchSize, learningRate) are not documented.",
            ),
            sources=_TIG_V2_SOURCES,
        ),
    ),
    distillation=None,
    hyperparameters=_TIG_HYPERPARAMETERS,
    on_demand_deployment_regions=on_demand_deployment(),
    invoked_through_profile=by_model_id(),
    # The card reads "Model lifecycle: Legacy", "Model EOL date: June 30, 2026"; the fine-tuning table
    # still lists the model, the card is taken as the later fact.
    lifecycle=Lifecycle(
        "[UG:model-card-amazon-titan-image-generator-g1-v2]",
        end_of_life=dt.date(2026, 6, 30),
        unconfirmed="legacy start not published",
        checked=LIFECYCLE_CHECKED,
    ),
    prices=_tig_prices(f"{_TIG_NOTE}; v1's figures, assumed for v2"),
    sources=_TIG_V2_SOURCES,
    rules_checked=CHECKED,
    price_list_names=("Titan Image Generator v2",),
)

_TMM_SOURCES: Final = (
    "[UG:custom-model-supported]",
    "[UG:model-customization-prepare]",
    "[UG:cm-hp-titan-mm]",
)

TITAN_MULTIMODAL_EMBEDDINGS: Final = ModelEntry(
    model_id="amazon.titan-embed-image-v1:0",
    name="Amazon Titan Multimodal Embeddings G1",
    provider="Amazon",
    regions=_REGIONS,
    input_modalities=("text", "image"),
    output_modalities=("embedding",),
    customizations=(
        image_caption_fine_tuning(
            records=RecordBounds(1_000, 500_000),
            caption_chars=(0, 2_560),
            unconfirmed=("Prices are not in any stored source.",),
            sources=_TMM_SOURCES,
        ),
    ),
    distillation=None,
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
    on_demand_deployment_regions=on_demand_deployment(),
    invoked_through_profile=by_model_id(),
    lifecycle=active("amazon-titan-multimodal-embeddings-g1"),
    prices=PriceSheet.known(NO_SOURCE, **_NO_DEPLOYMENT),
    sources=_TMM_SOURCES,
    rules_checked=CHECKED,
    price_list_names=("Titan Multimodal Embeddings",),
)

ENTRIES: Final = (
    TITAN_TEXT_EXPRESS,
    TITAN_TEXT_LITE,
    TITAN_IMAGE_GENERATOR_V1,
    TITAN_IMAGE_GENERATOR_V2,
    TITAN_MULTIMODAL_EMBEDDINGS,
)

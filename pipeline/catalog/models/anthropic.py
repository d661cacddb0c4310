"""Anthropic: Claude 3 Haiku. Data rules [UG:model-customization-prepare] and the AWS sample validator
[ABS claude-haiku/DataValidation]; hyperparameters [UG:cm-hp-anth-claude-3]."""

from __future__ import annotations

import datetime as dt
from typing import Final

from pipeline.catalog.entry import ModelEntry, PriceSheet
from pipeline.catalog.models.shared import (
    CHECKED,
    CLAUDE_RESERVED,
    LEGACY_TABLE,
    NO_SOURCE,
    NOT_DEPLOYABLE,
    by_model_id,
    on_demand_deployment,
)
from pipeline.catalog.types import (
    CLAUDE_MESSAGES,
    FINE_TUNING,
    GB,
    LIFECYCLE_CHECKED,
    PER_1M_INPUT,
    PER_1M_OUTPUT,
    CustomizationRules,
    Fact,
    HyperParameter,
    Lifecycle,
    Price,
    RecordBounds,
    TokenLimit,
)

_HP: Final = "[UG:cm-hp-anth-claude-3]"
_REGIONS: Final[Fact[tuple[str, ...]]] = Fact(
    ("us-west-2",), "[UG:custom-model-fine-tuning] supported models and Regions", CHECKED
)
_SOURCES: Final = ("[UG:custom-model-supported]", _HP)
# The base model's on-demand rates (a judge's too: the Claude 3 Haiku judge is this model).
_BLOG: Final = "[3P] pristren.com blog (base-model on-demand rates)"
_BLOG_NOTE: Final = "an undated third-party note"

CLAUDE_3_HAIKU: Final = ModelEntry(
    model_id="anthropic.claude-3-haiku-20240307-v1:0:200k",
    name="Anthropic Claude 3 Haiku",
    provider="Anthropic",
    regions=_REGIONS,
    input_modalities=("text",),
    output_modalities=("text",),
    customizations=(
        CustomizationRules(
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
                "Whether the 32-record minimum applies to validation files is not stated (≥ 1 checked).",
                "The reserved strings come from the AWS sample validator [ABS]; checked in every text field.",
            ),
            sources=("[UG:model-customization-prepare]", "[ABS] claude-haiku/DataValidation"),
        ),
    ),
    # "Distillation is currently unavailable for Anthropic models": no teacher lists it.
    distillation=None,
    hyperparameters=(
        HyperParameter("epochCount", "integer", 1, 10, "2", source=_HP),
        HyperParameter("batchSize", "integer", 4, 256, "32", source=_HP),
        HyperParameter("learningRateMultiplier", "float", 0.1, 2.0, "1", source=_HP),
        HyperParameter("earlyStoppingThreshold", "float", 0.0, 0.1, "0.001", source=_HP),
        HyperParameter("earlyStoppingPatience", "integer", 1, 10, "2", source=_HP),
    ),
    on_demand_deployment_regions=on_demand_deployment(),
    invoked_through_profile=by_model_id(),
    # The fine-tuning table still lists it; the lifecycle table and its card give these dates. Also the
    # lifecycle of the Claude 3 Haiku judge (the same foundation model).
    lifecycle=Lifecycle(
        LEGACY_TABLE,
        legacy=dt.date(2026, 3, 10),
        public_extended_access=dt.date(2026, 6, 10),
        end_of_life=dt.date(2026, 9, 10),
        checked=LIFECYCLE_CHECKED,
    ),
    prices=PriceSheet.known(
        NO_SOURCE,
        on_demand_input_per_1m_tokens=Price(0.25, PER_1M_INPUT, "undated", _BLOG, _BLOG_NOTE),
        on_demand_output_per_1m_tokens=Price(1.25, PER_1M_OUTPUT, "undated", _BLOG, _BLOG_NOTE),
        deployment_input_per_1m_tokens=NOT_DEPLOYABLE,
        deployment_output_per_1m_tokens=NOT_DEPLOYABLE,
    ),
    sources=_SOURCES,
    rules_checked=CHECKED,
    notes=("Distillation is currently unavailable for Anthropic models.",),
)

ENTRIES: Final = (CLAUDE_3_HAIKU,)

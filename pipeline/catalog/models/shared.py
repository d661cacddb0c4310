"""Facts several families share: media formats, reserved strings, the on-demand deployment page,
the dates the catalog was checked, and the lifecycle and price statements every family writes alike."""

from __future__ import annotations

import datetime as dt
from typing import Final

from pipeline.catalog.types import (
    FINE_TUNING,
    IMAGE_CAPTION,
    LIFECYCLE_CHECKED,
    PER_MONTH,
    CustomizationRules,
    Fact,
    Lifecycle,
    MediaRules,
    RecordBounds,
    Unknown,
)

# The day the data rules, regions, on-demand deployment support and profile use of every entry were
# last checked against the user guide copies behind docs/reference bedrock.md §12.
CHECKED: Final = "2026-11-28"
# The day the price sources were searched (AWS pricing page copies, AWS blogs with worked costs,
# Price List API readings): see each price's source.
PRICES_SEARCHED: Final = "2026-12-07"

IMAGE_FORMATS: Final = ("png", "jpeg", "gif", "webp")  # [NOVA], [UG:model-customization-prepare]
VIDEO_FORMATS: Final = ("mov", "mkv", "mp4", "webm")  # [NOVA]
CAPTION_IMAGE_FORMATS: Final = ("png", "jpeg")  # image-ref datasets take JPEG or PNG [UG]

# Nova's reserved keywords make the job fail late [NOVA:fine-tune-prepare-data-understanding]. The
# upper-case variants and "Thought:" come from the AWS sample validator [ABS], not from the guide.
NOVA_RESERVED_DOCUMENTED: Final = ("User:", "Bot:", "Assistant:", "System:", "<image>", "<video>", "[EOS]")
NOVA_RESERVED_SAMPLE_ONLY: Final = ("USER:", "BOT:", "ASSISTANT:", "SYSTEM:", "Thought:")
NOVA_RESERVED: Final = NOVA_RESERVED_DOCUMENTED + NOVA_RESERVED_SAMPLE_ONLY
# Claude 3 Haiku: the AWS sample validator forbids these inside prompts [ABS claude-haiku/DataValidation].
CLAUDE_RESERVED: Final = ("\nHuman:", "\nAssistant:")
NOVA_RESERVED_NOTE: Final = (
    "Reserved strings: the guide lists User:, Bot:, Assistant:, System:, <image>, <video>, [EOS]; the "
    "upper-case variants and Thought: are UNCONFIRMED (AWS sample validator only) but checked anyway."
)


def image_caption_fine_tuning(
    *,
    records: RecordBounds,
    caption_chars: tuple[int, int],
    unconfirmed: tuple[str, ...],
    sources: tuple[str, ...],
    strict_file_names: bool = False,
) -> CustomizationRules:
    """Fine-tuning on image-ref records (an image and its caption): Titan image models and Nova Canvas."""
    return CustomizationRules(
        customization_type=FINE_TUNING,
        data_format=IMAGE_CAPTION,
        # "Validation datasets are not supported" for text-to-image and image-to-embedding [UG].
        validation_allowed=False,
        training_records=records,
        caption_chars=caption_chars,
        media=MediaRules(image_formats=CAPTION_IMAGE_FORMATS),
        strict_file_names=strict_file_names,
        notes=(
            "Image dimensions, aspect ratio and file size are not checked: the preflight does "
            "not download images.",
        ),
        unconfirmed=unconfirmed,
        sources=sources,
    )


# Custom models of a base can be served on demand through CreateCustomModelDeployment (billed per
# token, no purchase), in the listed regions only, for models customized on or after 2025-07-16
# [UG:deploy-custom-model-on-demand]; the Nova guide adds that full-rank fine-tunes and Canvas are
# excluded [NOVA:custom-fine-tune-odi]. Every other base needs Provisioned Throughput to be invoked.
ON_DEMAND_DEPLOYMENT_SOURCE: Final = "[UG:deploy-custom-model-on-demand], checked 2026-11-28"


def on_demand_deployment(*regions: str, unconfirmed: str | None = None) -> Fact[tuple[str, ...]]:
    """Where the deployment page lists the base (no regions: it does not list it)."""
    source = (
        ON_DEMAND_DEPLOYMENT_SOURCE if regions else f"{ON_DEMAND_DEPLOYMENT_SOURCE}: the base is not listed"
    )
    return Fact(regions, source, CHECKED, unconfirmed)


# Converse reaches most bases by their plain model id in the customization regions; a few are
# offered only through a system-defined cross-Region inference profile (``us.<id>``).
# GetFoundationModel's inferenceTypesSupported is the live answer.
PROFILE_SOURCE: Final = "[UG:inference-profiles-support] and the model card"


def by_model_id(unconfirmed: str | None = None) -> Fact[bool]:
    return Fact(False, PROFILE_SOURCE, CHECKED, unconfirmed)


def through_profile(unconfirmed: str | None = None) -> Fact[bool]:
    return Fact(True, PROFILE_SOURCE, CHECKED, unconfirmed)


# --------------------------------------------------------------------------------------------------
# Lifecycle statements (checked on 2026-11-28)
# --------------------------------------------------------------------------------------------------

LEGACY_TABLE: Final = "[UG:model-lifecycle-legacy]"
FINE_TUNING_TABLE: Final = "[UG:custom-model-fine-tuning]"


def active(card: str) -> Lifecycle:
    """A model whose card says "Model lifecycle: Active" with no end-of-life date."""
    return Lifecycle(f"[UG:model-card-{card}]", checked=LIFECYCLE_CHECKED)


def not_offered(name: str) -> Lifecycle:
    # Gone from the fine-tuning table; no lifecycle page dates it. A third party reports Titan Text gone
    # from ListFoundationModels.
    return Lifecycle(
        f"{FINE_TUNING_TABLE} no longer lists {name}",
        removed_from_guide=LIFECYCLE_CHECKED,
        unconfirmed="no lifecycle date published; refused as not offered",
        checked=LIFECYCLE_CHECKED,
    )


# "Model lifecycle: Legacy", "Model EOL date: March 30, 2027". Also the lifecycle of the Llama 3.3 70B
# teacher and judge (the same foundation model).
LLAMA_33: Final = Lifecycle(
    "[UG:model-card-meta-llama-3-3-70b-instruct]",
    end_of_life=dt.date(2027, 3, 30),
    unconfirmed="legacy start not published (on or before 2026-09-30, 6 months before end of life)",
    checked=LIFECYCLE_CHECKED,
)

# --------------------------------------------------------------------------------------------------
# Price statements
# --------------------------------------------------------------------------------------------------

# AWS's pricing page renders its figures client-side, so its stored copies hold no numbers; the
# searches behind every unknown price covered those copies, AWS blogs with worked costs, Price List
# API readings published by others, and the other third-party notes of bedrock.md §9.
NO_SOURCE: Final = Unknown(
    "no stored source gives it (searched: AWS pricing page copies, AWS blogs with worked costs, "
    "Price List API readings, third-party notes)",
    PRICES_SEARCHED,
)
NOT_DEPLOYABLE: Final = Unknown(
    "not applicable: custom models of this base cannot be deployed on demand", PRICES_SEARCHED
)
STORAGE_UNIT: Final = PER_MONTH

"""Amazon Nova: Nova Micro, Lite and Pro (Nova 1), Nova 2 Lite, and Nova Canvas.

Data rules [NOVA:fine-tune-prepare-data-understanding], [NOVA2:*], [UG:nova-2-sft-data-prep];
hyperparameters [UG:cm-hp-nova-mm], [NOVA2:customize-fine-tune-hyperparameters], botocore's
RFTHyperParameters; prices as each figure's source says (bedrock.md §9, §12, §13).
"""

from __future__ import annotations

import datetime as dt
from types import MappingProxyType
from typing import Final

from pipeline.catalog.entry import ModelEntry, PriceSheet
from pipeline.catalog.models.shared import (
    CHECKED,
    IMAGE_FORMATS,
    LEGACY_TABLE,
    NO_SOURCE,
    NOT_DEPLOYABLE,
    NOVA_RESERVED,
    NOVA_RESERVED_NOTE,
    STORAGE_UNIT,
    VIDEO_FORMATS,
    active,
    by_model_id,
    image_caption_fine_tuning,
    on_demand_deployment,
    through_profile,
)
from pipeline.catalog.types import (
    CONVERSATION,
    CONVERSATION_PROMPTS,
    DISTILLATION,
    ENUM,
    FINE_TUNING,
    GB,
    LIFECYCLE_CHECKED,
    PER_1K_TOKENS,
    PER_1M_INPUT,
    PER_1M_OUTPUT,
    PER_MU_HOUR,
    REINFORCEMENT_FINE_TUNING,
    RFT_PROMPTS,
    CustomizationRules,
    Fact,
    HyperParameter,
    Lifecycle,
    MediaRules,
    Price,
    RecordBounds,
    TokenLimit,
)

_REGIONS: Final[Fact[tuple[str, ...]]] = Fact(
    ("us-east-1",), "[UG:custom-model-fine-tuning] supported models and Regions", CHECKED
)

# --------------------------------------------------------------------------------------------------
# Nova 1: Micro, Lite, Pro
# --------------------------------------------------------------------------------------------------

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
_NOVA_MEDIA: Final = MediaRules(
    image_formats=IMAGE_FORMATS,
    video_formats=VIDEO_FORMATS,
    max_images_per_record=10,
    max_videos_per_record=1,
    same_bucket_as_dataset=True,
    images_and_videos_exclusive=True,
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
            NOVA_RESERVED_NOTE,
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


# Prices of Nova 1 (us-east-1). AWS's pricing page renders its figures client-side, so no stored copy
# holds them: each figure below is a reading of the Price List API published by others, or derived
# from an AWS blog's worked cost, and says so.
_PL_READINGS: Final = "[3P] Price List API readings published in public projects (us-east-1, us-west-2)"
_PL_UNCONFIRMED: Final = "third parties' readings of the Price List API, not AWS's page itself"
_PL_NOVA1: Final = (
    f"{_PL_UNCONFIRMED} (read 2026-08-20 and 2026-09-01; us-east-1 and us-west-2 agree; the same figures "
    "as the pricing page quoted in simonw/llm-bedrock#18 on 2025-06-04)"
)
# Every source seen bills $1.95 per custom model per month (Nova 2 Lite's Price List reading, a Nova
# Lite bill, Titan and Cohere notes: bedrock.md §9); none reads Micro's or Pro's own usage type.
_STORAGE_ASSUMED: Final = (
    "no source reads this model's own storage price; every model and source seen bills $1.95 per custom "
    "model per month (Nova 2 Lite's Price List reading of 2026-08-02, a Nova Lite bill of 2025-05)"
)
_STORAGE_SEEN: Final = "[3P] the fee every source bills (Nova 2 Lite Price List reading, Nova Lite bill)"


def _on_demand(input_usd: float, output_usd: float) -> dict[str, Price]:
    return {
        "on_demand_input_per_1m_tokens": Price(
            input_usd, PER_1M_INPUT, "2026-09-01", _PL_READINGS, _PL_NOVA1
        ),
        "on_demand_output_per_1m_tokens": Price(
            output_usd, PER_1M_OUTPUT, "2026-09-01", _PL_READINGS, _PL_NOVA1
        ),
    }


def _deployment(
    input_usd: float, output_usd: float, as_of: str, source: str, unconfirmed: str
) -> dict[str, Price]:
    return {
        "deployment_input_per_1m_tokens": Price(input_usd, PER_1M_INPUT, as_of, source, unconfirmed),
        "deployment_output_per_1m_tokens": Price(output_usd, PER_1M_OUTPUT, as_of, source, unconfirmed),
    }


# AWS's Nova fine-tuning blog: customized Nova models are invoked on demand "at the standard rate for
# the model" [AWS-BLOG customize-amazon-nova-models-with-amazon-bedrock-fine-tuning].
_STANDARD_RATE: Final = "[AWS-BLOG] Customize Amazon Nova models with Amazon Bedrock fine-tuning"

# Nova Micro's training price. A third-party reading (bedrock.md §12, Aug 2026); it agrees with AWS's
# text-to-SQL blog (2026-04-16): $8.00 to train on 2,000 examples for 5 epochs, i.e. 8M tokens at the
# ~800 tokens per example the same post's inference figures use, $0.001 per 1K; and with a public
# project's note that Nova Micro trains 3.8x cheaper than Nova 2 Lite ($0.00378 per 1K).
_MICRO_TRAINING: Final = Price(
    0.001,
    PER_1K_TOKENS,
    "2026-08",
    "[3P] Price List reading in bedrock.md §12; [AWS-BLOG] text-to-SQL on Nova Micro, 2026-04-16",
    "a third party's reading (Aug 2026), matched by a figure derived from AWS's text-to-SQL blog: $8.00 "
    "to train on 2,000 examples for 5 epochs, 8M tokens at the ~800 tokens per example of the post's "
    "inference figures; the $2.18 ATIS run of AWS's Nova fine-tuning blog could not be checked, its "
    "token count is in no stored copy",
)

NOVA_MICRO: Final = ModelEntry(
    model_id="amazon.nova-micro-v1:0:128k",
    name="Amazon Nova Micro",
    provider="Amazon",
    regions=_REGIONS,
    input_modalities=("text",),
    output_modalities=("text",),
    # Text only; the AWS sample validator rejects images and videos for Micro [ABS].
    customizations=(_nova_fine_tuning(None),),
    distillation=_nova_distillation(),
    hyperparameters=_NOVA_HYPERPARAMETERS,
    on_demand_deployment_regions=on_demand_deployment("us-east-1"),
    invoked_through_profile=by_model_id(),
    lifecycle=active("amazon-nova-micro"),
    prices=PriceSheet.known(
        NO_SOURCE,
        training=_MICRO_TRAINING,
        storage_per_month=Price(1.95, STORAGE_UNIT, "2026-08-02", _STORAGE_SEEN, _STORAGE_ASSUMED),
        **_on_demand(0.035, 0.14),
        # 22,000 queries of ~800 input and ~60 output tokens a month cost $0.616 + $0.184 on a Nova
        # Micro deployment: $0.035 and $0.14 per 1M, the base model's rate.
        **_deployment(
            0.035,
            0.14,
            "2026-04-16",
            "[AWS-BLOG] Cost-efficient custom text-to-SQL using Amazon Nova Micro, 2026-04-16",
            "derived from the post's worked cost (read through its summaries): 22,000 queries a month "
            "of ~800 input and ~60 output tokens cost $0.616 + $0.184; the base rate, as AWS's Nova "
            "fine-tuning blog says a custom Nova model is billed 'at the standard rate for the model'",
        ),
    ),
    sources=_NOVA_SOURCES,
    rules_checked=CHECKED,
    unconfirmed=("Learning-rate warmup maximum: sources say 100 and 20; 20 is enforced.",),
)

NOVA_LITE: Final = ModelEntry(
    model_id="amazon.nova-lite-v1:0:300k",
    name="Amazon Nova Lite",
    provider="Amazon",
    regions=_REGIONS,
    input_modalities=("text", "image", "video"),
    output_modalities=("text",),
    customizations=(_nova_fine_tuning(_NOVA_MEDIA),),
    distillation=_nova_distillation(),
    hyperparameters=_NOVA_HYPERPARAMETERS,
    on_demand_deployment_regions=on_demand_deployment("us-east-1"),
    invoked_through_profile=by_model_id(),
    lifecycle=active("amazon-nova-lite"),
    prices=PriceSheet.known(
        NO_SOURCE,
        # A bill of two Nova Lite fine-tuning runs (USE1-NovaLite-Customization-Training) gives totals
        # but no token counts, so no per-token training price can be derived from it.
        storage_per_month=Price(
            1.95,
            STORAGE_UNIT,
            "2025-05-05",
            "[3P] HeuristicWave blog: a bill of two Nova Lite fine-tuning runs",
            "a third party's bill (usage type USE1-NovaLite-Customization-Training)",
        ),
        pt_no_commit_per_mu_hour=Price(
            108.15,
            PER_MU_HOUR,
            "2025-05-05",
            "[3P] HeuristicWave blog: a bill of two Nova Lite fine-tuning runs",
            "a third party's bill (usage type USE1-NovaLite-Customization-Training)",
        ),
        **_on_demand(0.06, 0.24),
        **_deployment(
            0.06,
            0.24,
            "2026-08-20",
            "[3P] a Price List API reading published in a public project",
            f"{_PL_UNCONFIRMED}: USE1-NovaLite-input-tokens-custom-model 'matches' the base rate",
        ),
    ),
    sources=_NOVA_SOURCES,
    rules_checked=CHECKED,
    notes=("Images and videos must be in the same S3 bucket as the dataset.",),
    unconfirmed=("Learning-rate warmup maximum: sources say 100 and 20; 20 is enforced.",),
)

NOVA_PRO: Final = ModelEntry(
    model_id="amazon.nova-pro-v1:0:300k",
    name="Amazon Nova Pro",
    provider="Amazon",
    regions=_REGIONS,
    input_modalities=("text", "image", "video"),
    output_modalities=("text",),
    customizations=(_nova_fine_tuning(_NOVA_MEDIA),),
    distillation=_nova_distillation(),
    hyperparameters=_NOVA_HYPERPARAMETERS,
    on_demand_deployment_regions=on_demand_deployment("us-east-1"),
    invoked_through_profile=by_model_id(),
    # Also the lifecycle of the Nova Pro teacher and judge (amazon.nova-pro-v1:0).
    lifecycle=active("amazon-nova-pro"),
    prices=PriceSheet.known(
        NO_SOURCE,
        storage_per_month=Price(1.95, STORAGE_UNIT, "2026-08-02", _STORAGE_SEEN, _STORAGE_ASSUMED),
        **_on_demand(0.80, 3.20),
        **_deployment(
            0.80,
            3.20,
            "2026-09-01",
            _STANDARD_RATE,
            "the base rate, assumed: AWS's blog says a custom Nova model is billed on demand 'at the "
            "standard rate for the model' but gives no figure for Pro",
        ),
    ),
    sources=_NOVA_SOURCES,
    rules_checked=CHECKED,
    notes=("Images and videos must be in the same S3 bucket as the dataset.",),
    unconfirmed=("Learning-rate warmup maximum: sources say 100 and 20; 20 is enforced.",),
)

# --------------------------------------------------------------------------------------------------
# Nova 2 Lite. Its Bedrock SFT page [UG:nova-2-sft-data-prep] and the Nova 2 guide
# [NOVA2:fine-tune-prepare-data-understanding], [NOVA2:nova-data-prep-sft-2] differ on media formats
# (the Bedrock page omits webp and webm): the Bedrock list is enforced.
# --------------------------------------------------------------------------------------------------

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
        hyperparameters=MappingProxyType({hp.name: hp for hp in _NOVA2_RFT_HYPERPARAMETERS}),
        notes=(
            "One prompt per line in the OpenAI chat-completions shape: messages with an optional "
            "system turn and one user turn (string content), no assistant answer; a reference_answer "
            "(a string or an object) the grader scores against; any other key reaches the grader "
            "with the sample.",
            "The grader is a Lambda function: the stack's built-in grader or the team's own "
            "(run spec 'grader'); it must answer within Lambda's 15 minutes.",
            "Hyperparameters are typed values of rftConfig.hyperParameters, not strings.",
            NOVA_RESERVED_NOTE,
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
            "RFT is billed per hour of training (Price List usage type USE1-Nova2.0Lite-RFT-Training-Hours, "
            "seen in public code); its rate is in no stored source, so no RFT training cost is estimated.",
        ),
        sources=_RFT_SOURCES,
    )


_NOVA2_FINE_TUNING: Final = CustomizationRules(
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
        NOVA_RESERVED_NOTE,
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

# Nova 2 Lite's prices: one public project's record of the Price List API's answer (GetProducts
# AmazonBedrock, us-east-1, read 2026-08-02; also quoted in bedrock.md §12).
_NOVA2_PL: Final = "[3P] Price List API reading published in a public project (us-east-1): USE1-Nova2.0Lite-"

_IN_REGION: Final = (
    "a third party's Price List reading of the in-Region rate; the us. geo profile the base is invoked "
    "through is assumed billed at it"
)


def _nova2(value: float, unit: str, usage_type: str, unconfirmed: str = _PL_UNCONFIRMED) -> Price:
    return Price(value, unit, "2026-08-02", f"{_NOVA2_PL}{usage_type}", unconfirmed)


NOVA_2_LITE: Final = ModelEntry(
    model_id="amazon.nova-2-lite-v1:0:256k",
    name="Amazon Nova 2 Lite",
    provider="Amazon",
    regions=_REGIONS,
    input_modalities=("text", "image", "video"),
    output_modalities=("text",),
    customizations=(_NOVA2_FINE_TUNING, _nova2_rft()),
    distillation=None,  # no teacher lists Nova 2 Lite as a student
    hyperparameters=_NOVA2_HYPERPARAMETERS,
    on_demand_deployment_regions=on_demand_deployment("us-east-1"),
    # Offered through cross-Region profiles only: its model card lists no single-Region availability.
    invoked_through_profile=through_profile(),
    lifecycle=active("amazon-nova-2-lite"),
    prices=PriceSheet(
        training=_nova2(0.00378, PER_1K_TOKENS, "Customization-Training"),
        storage_per_month=_nova2(1.95, STORAGE_UNIT, "Customization-Storage"),
        pt_no_commit_per_mu_hour=_nova2(60.50, PER_MU_HOUR, "ProvisionedThroughput-NoCommit-ModelUnits"),
        pt_one_month_per_mu_hour=_nova2(55.00, PER_MU_HOUR, "ProvisionedThroughput-1month-ModelUnits"),
        pt_six_month_per_mu_hour=NO_SOURCE,
        # The in-Region rate. The base is invoked through the us. geo profile, assumed billed at it; the
        # pricing page's headline $0.30 / $2.50 is the global profile's rate.
        on_demand_input_per_1m_tokens=_nova2(
            0.33,
            PER_1M_INPUT,
            "input-tokens ($0.00033 per 1K)",
            _IN_REGION,
        ),
        on_demand_output_per_1m_tokens=_nova2(
            2.75,
            PER_1M_OUTPUT,
            "output-tokens ($0.00275 per 1K)",
            _IN_REGION,
        ),
        deployment_input_per_1m_tokens=_nova2(
            0.30, PER_1M_INPUT, "input-tokens-custom-model ($0.00030 per 1K)"
        ),
        deployment_output_per_1m_tokens=_nova2(
            2.50, PER_1M_OUTPUT, "output-tokens-custom-model ($0.00250 per 1K)"
        ),
    ),
    sources=_NOVA2_SOURCES,
    rules_checked=CHECKED,
    notes=("Images and videos must be in the same S3 bucket as the dataset.",),
    unconfirmed=(
        "Hyperparameter ranges come from the Nova 2 guide; the Bedrock hyperparameter page does not list "
        "Nova 2 Lite.",
    ),
    price_list_names=("Nova 2.0 Lite",),
)

# --------------------------------------------------------------------------------------------------
# Nova Canvas (image generation)
# --------------------------------------------------------------------------------------------------

_CANVAS_HP_SOURCE: Final = "[NOVA:fine-tune-hyperparameters-content-generation-models]"
_CANVAS_SOURCES: Final = ("[UG:custom-model-supported]", "[NOVA:fine-tune-prepare-data-creative-content]")

NOVA_CANVAS: Final = ModelEntry(
    model_id="amazon.nova-canvas-v1:0",
    name="Amazon Nova Canvas",
    provider="Amazon",
    regions=_REGIONS,
    input_modalities=("text", "image"),
    output_modalities=("image",),
    customizations=(
        image_caption_fine_tuning(
            records=RecordBounds(5, 10_000),
            caption_chars=(3, 1_024),
            unconfirmed=(
                "The Bedrock guide marks the image-ref format identical only for Titan; Nova Canvas uses "
                "the same format per the Nova guide, but whether it accepts a validation set is "
                "UNCONFIRMED (treated as no).",
                "Prices are not in any stored source.",
            ),
            sources=_CANVAS_SOURCES,
            strict_file_names=True,
        ),
    ),
    distillation=None,
    hyperparameters=(
        HyperParameter("batchSize", "integer", 8, 192, "8", source=_CANVAS_HP_SOURCE),
        HyperParameter("stepCount", "integer", 10, 20_000, "500", source=_CANVAS_HP_SOURCE),
        HyperParameter("learningRate", "float", 1e-7, 1e-4, "1e-05", source=_CANVAS_HP_SOURCE),
    ),
    # OD inference "is not supported for Nova custom content generation models" [NOVA:custom-fine-tune-odi].
    on_demand_deployment_regions=on_demand_deployment(),
    invoked_through_profile=by_model_id(),
    lifecycle=Lifecycle(
        LEGACY_TABLE, legacy=dt.date(2026, 3, 30), end_of_life=dt.date(2026, 9, 30), checked=LIFECYCLE_CHECKED
    ),
    prices=PriceSheet.known(
        NO_SOURCE,
        deployment_input_per_1m_tokens=NOT_DEPLOYABLE,
        deployment_output_per_1m_tokens=NOT_DEPLOYABLE,
    ),
    sources=_CANVAS_SOURCES,
    rules_checked=CHECKED,
    price_list_names=("Canvas",),
)

ENTRIES: Final = (NOVA_MICRO, NOVA_LITE, NOVA_PRO, NOVA_2_LITE, NOVA_CANVAS)

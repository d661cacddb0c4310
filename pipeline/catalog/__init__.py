"""The customizable Bedrock base models: one sourced entry per model, and the rules around them.

The single source of truth for every rule the preflight enforces and every price it estimates with:

- ``models/``: the data, one module per family, one ``ModelEntry`` per base model: its regions, the
  data rules of each customization type, hyperparameters, on-demand deployment support, inference-
  profile use, lifecycle and prices, each fact with its source and date (``entry`` says what an entry
  must state and how to add one);
- ``types``: the shapes (prices, rules, hyperparameters, lifecycle, the ``ModelInfo`` code reads);
- ``teachers``: who may distil into whom (the one statement of distillation support);
- ``lifecycle``: what a Legacy or end-of-life model may still be used for;
- ``distillation``, ``judges``, ``profiles``: teacher checks, evaluation judges, inference profiles;
- ``registry``: the built models and their lookups.

Every name below is importable from ``pipeline.catalog`` as it was when the catalog was one module.
``today_utc`` is the clock of every lifecycle check; tests replace ``pipeline.catalog.today_utc``.
"""

from pipeline.catalog.distillation import check_teacher
from pipeline.catalog.entry import ModelEntry, PriceSheet, build, incomplete
from pipeline.catalog.judges import DEFAULT_JUDGE, JUDGES, Judge, check_judge, judge_of
from pipeline.catalog.lifecycle import (
    LIFECYCLE,
    NEW_CUSTOMIZATION,
    ON_DEMAND_DEPLOYMENT_OF_CUSTOM_MODEL,
    PURPOSES,
    TEACHER_USE,
    THROUGHPUT_PURCHASE,
    current_alternatives,
    lifecycle_of,
    lifecycle_problems,
    usable_for,
)
from pipeline.catalog.models.shared import CLAUDE_RESERVED, NOVA_RESERVED, ON_DEMAND_DEPLOYMENT_SOURCE
from pipeline.catalog.profiles import PROFILE_GEOGRAPHIES, profile_id
from pipeline.catalog.registry import (
    BASE_INVOKED_THROUGH_PROFILE,
    ON_DEMAND_DEPLOYMENT,
    all_models,
    find_model,
    get_model,
    model_invoked_as,
    unknown_model_message,
)
from pipeline.catalog.teachers import TEACHERS, Teacher, TeacherRef, parse_teacher
from pipeline.catalog.types import (
    ACTIVE,
    CLAUDE_MESSAGES,
    CONTINUED_PRE_TRAINING,
    CONVERSATION,
    CONVERSATION_PROMPTS,
    CUSTOMIZATION_TYPES,
    DISTILLATION,
    END_OF_LIFE,
    ENUM,
    EVALUATION_PROMPTS,
    FINE_TUNING,
    GB,
    IMAGE_CAPTION,
    LEGACY,
    LIFECYCLE_CHECKED,
    LIFECYCLE_STATES,
    MAX_VALIDATION_FILES,
    MB,
    NOT_OFFERED,
    PRETRAINING_TEXT,
    PROMPT_COMPLETION,
    REINFORCEMENT_FINE_TUNING,
    RFT_PROMPTS,
    TEACHER_EVALUATION_PROMPTS,
    CustomizationRules,
    Fact,
    HyperParameter,
    Lifecycle,
    MediaRules,
    ModelInfo,
    Price,
    Prices,
    RecordBounds,
    TokenLimit,
    Unknown,
    UnknownModelError,
    today_utc,
    wire_value,
)

__all__ = [
    "ACTIVE",
    "BASE_INVOKED_THROUGH_PROFILE",
    "CLAUDE_MESSAGES",
    "CLAUDE_RESERVED",
    "CONTINUED_PRE_TRAINING",
    "CONVERSATION",
    "CONVERSATION_PROMPTS",
    "CUSTOMIZATION_TYPES",
    "DEFAULT_JUDGE",
    "DISTILLATION",
    "END_OF_LIFE",
    "ENUM",
    "EVALUATION_PROMPTS",
    "FINE_TUNING",
    "GB",
    "IMAGE_CAPTION",
    "JUDGES",
    "LEGACY",
    "LIFECYCLE",
    "LIFECYCLE_CHECKED",
    "LIFECYCLE_STATES",
    "MAX_VALIDATION_FILES",
    "MB",
    "NEW_CUSTOMIZATION",
    "NOT_OFFERED",
    "NOVA_RESERVED",
    "ON_DEMAND_DEPLOYMENT",
    "ON_DEMAND_DEPLOYMENT_OF_CUSTOM_MODEL",
    "ON_DEMAND_DEPLOYMENT_SOURCE",
    "PRETRAINING_TEXT",
    "PROFILE_GEOGRAPHIES",
    "PROMPT_COMPLETION",
    "PURPOSES",
    "REINFORCEMENT_FINE_TUNING",
    "RFT_PROMPTS",
    "TEACHERS",
    "TEACHER_EVALUATION_PROMPTS",
    "TEACHER_USE",
    "THROUGHPUT_PURCHASE",
    "CustomizationRules",
    "Fact",
    "HyperParameter",
    "Judge",
    "Lifecycle",
    "MediaRules",
    "ModelEntry",
    "ModelInfo",
    "Price",
    "PriceSheet",
    "Prices",
    "RecordBounds",
    "Teacher",
    "TeacherRef",
    "TokenLimit",
    "Unknown",
    "UnknownModelError",
    "all_models",
    "build",
    "check_judge",
    "check_teacher",
    "current_alternatives",
    "find_model",
    "get_model",
    "incomplete",
    "judge_of",
    "lifecycle_of",
    "lifecycle_problems",
    "model_invoked_as",
    "parse_teacher",
    "profile_id",
    "today_utc",
    "unknown_model_message",
    "usable_for",
    "wire_value",
]

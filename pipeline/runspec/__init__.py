"""Run specs: the typed, validated description of one customization run, loaded from YAML or JSON.

Schema (camelCase keys; unknown keys are errors)::

    name: support-bot-v3            # lowercase letters, digits, single hyphens; starts with a letter; 3 to 40
    region: us-east-1
    baseModel: amazon.nova-micro-v1:0:128k   # catalog id, with its context suffix
    customizationType: FINE_TUNING  # FINE_TUNING | CONTINUED_PRE_TRAINING | DISTILLATION
                                    #   | REINFORCEMENT_FINE_TUNING
    training: data/train.jsonl      # local path (relative to the spec file) or s3:// URI
    validation: data/val.jsonl      # optional; one location or a list of up to 10
    hyperParameters: {epochCount: 2}  # numbers or strings; strings on the wire
    teacher: amazon.nova-pro-v1:0   # DISTILLATION only
    maxResponseLengthForInference: 1000  # DISTILLATION only, optional
    grader: {builtin: exact-match}  # REINFORCEMENT_FINE_TUNING only: a built-in grader of the stack
                                    #   (exact-match | numeric | json-schema | rouge-l) or the team's
                                    #   own: {lambdaArn: arn:aws:lambda:<region>:<acct>:function:<name>}
    evaluation: {maxTrainingLoss, maxValidationLoss, prompts, maxPrompts, minQuality, minImprovementOverBase,
                 judge}             # judge (opt-in, its tokens are billed): a Bedrock evaluation job
                                    #   with an LLM judge over both models' answers:
                                    #   {model: amazon.nova-pro-v1:0, metrics: [Builtin.Correctness, ...],
                                    #    customMetrics: [{name, instructions, ratingScale: [{definition,
                                    #    value}]}], bars: {<metric>: {minScore, minImprovementOverBase}}}
    serving: {mode: on-demand}      # on-demand | provisioned (+ modelUnits, commitment) | none (default)
    approval: {policy: above-cost, monthlyCostThreshold: 500, timeoutHours: 24}
    tags: {team: ml}

Validation collects every problem before raising ``RunSpecError``, so one run of ``check`` shows
them all. PyYAML is imported only inside ``load_run_spec_data`` (the Lambda runtime has no PyYAML
and only ever receives JSON).

The package, by capability: :mod:`.model` (the typed sections and what they mean), :mod:`.parse`
(the top-level keys and the order every section is read in), one parser module per section
(:mod:`.datasets`, :mod:`.evaluation` with its judge, :mod:`.grader`, :mod:`.serving`,
:mod:`.approval`, :mod:`.tags`) over the shared :mod:`.fields`, and :mod:`.load` (files).
"""

from pipeline.problems import Problem
from pipeline.runspec.approval import APPROVAL_KEYS
from pipeline.runspec.evaluation import (
    BAR_KEYS,
    CUSTOM_METRIC_KEYS,
    EVALUATION_KEYS,
    JUDGE_KEYS,
    MAX_PROMPTS_LIMIT,
    METRIC_NAME_RE,
    RATING_KEYS,
)
from pipeline.runspec.grader import GRADER_KEYS
from pipeline.runspec.load import load_run_spec, load_run_spec_data
from pipeline.runspec.model import (
    APPROVAL_POLICIES,
    COMMITMENTS,
    DEFAULT_MAX_PROMPTS,
    DEFAULT_TIMEOUT_HOURS,
    DEPLOYMENT_VEHICLE,
    EVALUATION_MODEL_UNITS,
    NO_VEHICLE,
    NOT_SERVED,
    ON_DEMAND,
    PROVISIONED,
    SERVING_MODES,
    THROUGHPUT_VEHICLE,
    Approval,
    CustomMetric,
    Evaluation,
    Grader,
    Judge,
    MetricBar,
    RunSpec,
    RunSpecError,
    Serving,
    spec_hash,
)
from pipeline.runspec.parse import NAME_RE, REGION_RE, TOP_LEVEL_KEYS, ParsedRunSpec, parse_run_spec
from pipeline.runspec.serving import NO_VERDICT_MESSAGE, SERVING_KEYS
from pipeline.runspec.tags import MAX_SPEC_TAGS, MAX_TAGS, PIPELINE_TAG_PREFIX, TAG_RE

__all__ = [
    "APPROVAL_KEYS",
    "APPROVAL_POLICIES",
    "BAR_KEYS",
    "COMMITMENTS",
    "CUSTOM_METRIC_KEYS",
    "DEFAULT_MAX_PROMPTS",
    "DEFAULT_TIMEOUT_HOURS",
    "DEPLOYMENT_VEHICLE",
    "EVALUATION_KEYS",
    "EVALUATION_MODEL_UNITS",
    "GRADER_KEYS",
    "JUDGE_KEYS",
    "MAX_PROMPTS_LIMIT",
    "MAX_SPEC_TAGS",
    "MAX_TAGS",
    "METRIC_NAME_RE",
    "NAME_RE",
    "NOT_SERVED",
    "NO_VEHICLE",
    "NO_VERDICT_MESSAGE",
    "ON_DEMAND",
    "PIPELINE_TAG_PREFIX",
    "PROVISIONED",
    "RATING_KEYS",
    "REGION_RE",
    "SERVING_KEYS",
    "SERVING_MODES",
    "TAG_RE",
    "THROUGHPUT_VEHICLE",
    "TOP_LEVEL_KEYS",
    "Approval",
    "CustomMetric",
    "Evaluation",
    "Grader",
    "Judge",
    "MetricBar",
    "ParsedRunSpec",
    "Problem",
    "RunSpec",
    "RunSpecError",
    "Serving",
    "load_run_spec",
    "load_run_spec_data",
    "parse_run_spec",
    "spec_hash",
]

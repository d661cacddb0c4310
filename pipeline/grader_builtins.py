"""The stack's built-in reinforcement fine-tuning graders, and how one batch of samples is scored.

Built-in graders (``BUILTIN_GRADERS``), pure and deterministic, shared by the grader Lambda
(``lambdas/grader``), the preflight, the CLI and the simulation:

- ``exact-match``: 1 when the answer equals the reference after normalization (Unicode NFKC, case
  folded, surrounding whitespace, quotes and final ``.``/``!`` dropped, inner whitespace collapsed),
  else 0. The reference is a string or number, a list of accepted answers, or an object with
  ``answer`` or ``final_answer``.
- ``numeric``: 1 when the answer's number is within the tolerance of the reference, else 0. The
  number read from the answer is the one after the last ``####`` (the GSM8K convention the AWS
  samples use [ABS] gsm8k_rew_func.py) or else the last number in it (thousands separators
  allowed). The reference is a number, a numeric string, or ``{"value", "tolerance",
  "relativeTolerance"}`` (``answer``/``final_answer`` also name the value); the default tolerance
  is 1e-9 relative, i.e. equal up to floating-point noise.
- ``json-schema``: the answer must be JSON (a ```json fence around it is removed) and valid
  against the JSON Schema in the record's ``json_schema`` key: 1 valid, 0.25 JSON that breaks the
  schema, 0 not JSON. The validator implements a documented subset of JSON Schema
  (``SCHEMA_KEYWORDS``); a schema using anything else is a record the grader cannot score.
- ``rouge-l``: the ROUGE-L F-measure of the answer against the reference text (pipeline.scoring).

Bad input, kept apart:

- a *malformed answer* (not a string, empty, no assistant turn, no number, not JSON) is what
  training is meant to discourage: it scores 0 with a ``malformed_response`` metric, never an error;
- an *unreadable sample* (no reference answer in either place, a reference of the wrong kind, no
  schema, not an object) is the grader's or the data's problem, not the answer's: it scores 0 with
  an ``unreadable_sample`` metric and its reason is reported (the Lambda logs one line per sample),
  so one bad record never fails its whole batch;
- a *batch where most samples are unreadable* (more than half) raises ``UnreadableBatchError``: the
  invocation fails and Bedrock stops the job loudly, instead of training on zeros (a grader reading
  the wrong shape would otherwise "succeed" having taught the model nothing). The preflight checks
  every record of the dataset against the chosen built-in grader first, so a job never meets one.

Samples are read in every shape AWS documents (pipeline.grader_payload). Bad input, kept apart:

- a *malformed answer* (not a string, empty, no assistant turn, no number, not JSON) is what
  training is meant to discourage: it scores 0 with a ``malformed_response`` metric, never an error;
- an *unreadable sample* (no reference answer in either place, a reference of the wrong kind, no
  schema, not an object) is the grader's or the data's problem, not the answer's: it scores 0 with
  an ``unreadable_sample`` metric and its reason is reported (the Lambda logs one line per sample),
  so one bad record never fails its whole batch;
- a *batch where most samples are unreadable* (more than half) raises ``UnreadableBatchError``: the
  invocation fails and Bedrock stops the job loudly, instead of training on zeros (a grader reading
  the wrong shape would otherwise "succeed" having taught the model nothing). The preflight checks
  every record of the dataset against the chosen built-in grader first, so a job never meets one.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pipeline import scoring
from pipeline.grader_payload import (
    REFERENCE_KEY,
    GraderPayloadError,
    record_fields,
    response_text,
    sample_for,
    samples_of,
)
from pipeline.json_schema import (
    UnsupportedSchemaError,
    check_schema,
    parse_json_answer,
    schema_violations,
)
from pipeline.problems import type_name

EXACT_MATCH: Final = "exact-match"
NUMERIC: Final = "numeric"
JSON_SCHEMA: Final = "json-schema"
ROUGE_L: Final = "rouge-l"
BUILTIN_GRADERS: Final = (EXACT_MATCH, NUMERIC, JSON_SCHEMA, ROUGE_L)
# Lambda's maximum timeout, which the guide names as the grader's limit [UG:reward-functions].
GRADER_TIMEOUT_SECONDS: Final = 15 * 60
# The record key holding the JSON Schema of the json-schema grader (it reaches the grader in metadata).
SCHEMA_KEY: Final = "json_schema"
# A JSON that does not fit its schema still scores a little above garbage: RL then prefers valid JSON.
JSON_BUT_INVALID_SCORE: Final = 0.25
DEFAULT_RELATIVE_TOLERANCE: Final = 1e-9
# The answer the dry call and the dataset check pair with each record: never a right one.
WRONG_ANSWER: Final = "I cannot answer that."
# More than this share of a batch unreadable: the invocation fails (see the module docstring).
UNREADABLE_BATCH_SHARE: Final = 0.5
MALFORMED_METRIC: Final = "malformed_response"
UNREADABLE_METRIC: Final = "unreadable_sample"


class UnscorableRecordError(ValueError):
    """A record the grader cannot score (no reference, a reference of the wrong kind, no schema)."""


class UnreadableBatchError(UnscorableRecordError):
    """Most samples of a batch could not be read: the invocation fails, and with it the job."""


class GraderSelectionError(ValueError):
    """The grader Lambda was invoked without naming a built-in grader (no or unknown alias)."""


@dataclass(frozen=True)
class Score:
    value: float
    metrics: tuple[tuple[str, float, str], ...] = ()

    def result(self, sample_id: Any) -> dict[str, Any]:
        return {
            "id": sample_id,
            "aggregate_reward_score": self.value,
            "metrics_list": [{"name": n, "value": v, "type": t} for n, v, t in self.metrics],
        }


def _malformed(why: str) -> Score:
    return Score(0.0, ((MALFORMED_METRIC, 1.0, "Metric"),))


UNREADABLE: Final = Score(0.0, ((UNREADABLE_METRIC, 1.0, "Metric"),))


def reference_of(sample: Mapping[str, Any]) -> Any:
    """The sample's reference answer, at the top level or under ``metadata`` (pipeline.grader_payload)."""
    reference = record_fields(sample).get(REFERENCE_KEY)
    if reference is None:
        raise UnscorableRecordError(
            f"the sample has no {REFERENCE_KEY} (neither at the top level nor under metadata)"
        )
    return reference


def _unwrap(reference: Any, keys: Sequence[str]) -> Any:
    if isinstance(reference, Mapping):
        for key in keys:
            if key in reference:
                return reference[key]
    return reference


# --------------------------------------------------------------------------------------------------
# exact-match
# --------------------------------------------------------------------------------------------------

_SPACES: Final = re.compile(r"\s+")
_QUOTES: Final = "\"'`\u201c\u201d\u2018\u2019"


def normalize_answer(text: str) -> str:
    """NFKC, case folded, whitespace collapsed, surrounding quotes and a final '.' or '!' dropped."""
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()
    text = text.strip(_QUOTES).strip()
    while text.endswith((".", "!")):
        text = text[:-1].rstrip()
    return text.strip(_QUOTES).strip()


def _accepted_answers(reference: Any) -> list[str]:
    value = _unwrap(reference, ("answer", "final_answer"))
    values = value if isinstance(value, list) else [value]
    accepted = []
    for item in values:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise UnscorableRecordError(
                f"exact-match needs a string or number reference (or a list of them, or an object with "
                f"'answer' or 'final_answer'), got {type_name(item)}"
            )
        text = normalize_answer(str(item))
        if not text:
            raise UnscorableRecordError("exact-match reference is empty after normalization")
        accepted.append(text)
    if not accepted:
        raise UnscorableRecordError("exact-match reference is an empty list")
    return accepted


def exact_match(response: str, reference: Any) -> Score:
    accepted = _accepted_answers(reference)
    hit = normalize_answer(response) in accepted
    return Score(1.0 if hit else 0.0, (("exact_match", 1.0 if hit else 0.0, "Reward"),))


# --------------------------------------------------------------------------------------------------
# numeric
# --------------------------------------------------------------------------------------------------

_NUMBER: Final = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")
_MARKER: Final = "####"


def parse_number(text: str) -> float | None:
    """The answer's number: after the last '####' if there is one, else the last number in the text."""
    tail = text.rsplit(_MARKER, 1)[1] if _MARKER in text else text
    found = _NUMBER.findall(tail)
    if not found:
        return None
    chosen = found[0] if _MARKER in text else found[-1]
    try:
        value = float(chosen.replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _number_of(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise UnscorableRecordError(f"numeric {what} must be a number, got a boolean")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        stripped = value.strip().replace(",", "")
        try:
            number = float(stripped)
        except ValueError:
            raise UnscorableRecordError(f"numeric {what} {value!r} is not a number") from None
    else:
        raise UnscorableRecordError(
            f"numeric {what} must be a number or numeric string, got {type_name(value)}"
        )
    if not math.isfinite(number):
        raise UnscorableRecordError(f"numeric {what} must be finite")
    return number


def numeric_target(reference: Any) -> tuple[float, float, float]:
    """(value, absolute tolerance, relative tolerance) of a numeric reference."""
    if isinstance(reference, Mapping):
        raw = _unwrap(reference, ("value", "answer", "final_answer"))
        if raw is reference:
            raise UnscorableRecordError(
                "numeric reference object needs 'value' (or 'answer', 'final_answer')"
            )
        absolute = _number_of(reference.get("tolerance", 0), "tolerance")
        relative = _number_of(
            reference.get("relativeTolerance", DEFAULT_RELATIVE_TOLERANCE), "relativeTolerance"
        )
        if absolute < 0 or relative < 0:
            raise UnscorableRecordError("numeric tolerances must be >= 0")
        return _number_of(raw, "reference"), absolute, relative
    return _number_of(reference, "reference"), 0.0, DEFAULT_RELATIVE_TOLERANCE


def numeric(response: str, reference: Any) -> Score:
    target, absolute, relative = numeric_target(reference)
    value = parse_number(response)
    if value is None:
        return Score(0.0, (("number_found", 0.0, "Metric"), ("within_tolerance", 0.0, "Reward")))
    within = abs(value - target) <= max(absolute, relative * abs(target))
    score = 1.0 if within else 0.0
    return Score(score, (("number_found", 1.0, "Metric"), ("within_tolerance", score, "Reward")))


# --------------------------------------------------------------------------------------------------
# json-schema: a documented subset of JSON Schema, no third-party code
# --------------------------------------------------------------------------------------------------


def schema_of(fields: Mapping[str, Any]) -> Any:
    if SCHEMA_KEY not in fields:
        raise UnscorableRecordError(
            f"json-schema needs the record's {SCHEMA_KEY!r} key: the JSON Schema the answer must follow"
        )
    schema = fields[SCHEMA_KEY]
    try:
        check_schema(schema)
    except UnsupportedSchemaError as error:
        raise UnscorableRecordError(str(error)) from None
    return schema


def json_schema(response: str, fields: Mapping[str, Any]) -> Score:
    schema = schema_of(fields)
    parsed, value = parse_json_answer(response)
    if not parsed:
        return Score(0.0, (("parses", 0.0, "Metric"), ("valid", 0.0, "Reward")))
    violations = schema_violations(value, schema)
    score = 1.0 if not violations else JSON_BUT_INVALID_SCORE
    return Score(
        score,
        (("parses", 1.0, "Metric"), ("valid", 0.0 if violations else 1.0, "Reward"),
         ("violations", float(len(violations)), "Metric")),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------
# rouge-l
# --------------------------------------------------------------------------------------------------


def reference_text(reference: Any) -> str:
    value = _unwrap(reference, ("answer", "final_answer", "solution", "explanation"))
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        raise UnscorableRecordError(f"the reference answer must be text, got {type_name(value)}")
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def rouge_l(response: str, reference: Any) -> Score:
    text = reference_text(reference)
    if not scoring.tokens(text):
        raise UnscorableRecordError("rouge-l reference has no words to compare with")
    value = scoring.rouge_l(response, text)
    return Score(value, (("rouge_l", value, "Reward"),))


# --------------------------------------------------------------------------------------------------
# One sample, one batch
# --------------------------------------------------------------------------------------------------


def score_sample(grader: str, sample: Mapping[str, Any]) -> Score:
    """Score one sample. A malformed answer scores 0; a sample the grader cannot read raises."""
    if grader not in BUILTIN_GRADERS:
        raise GraderSelectionError(
            f"unknown built-in grader {grader!r}; built-in: {', '.join(BUILTIN_GRADERS)}"
        )
    fields = record_fields(sample)
    if grader == JSON_SCHEMA:
        schema_of(fields)  # a schema problem is the record's, whatever the answer
    else:
        reference = reference_of(sample)
        _check_reference(grader, reference)
    response = response_text(sample)
    if response is None or not response.strip():
        return _malformed("no answer")
    if grader == EXACT_MATCH:
        return exact_match(response, reference)
    if grader == NUMERIC:
        return numeric(response, reference)
    if grader == JSON_SCHEMA:
        return json_schema(response, fields)
    return rouge_l(response, reference)


def _check_reference(grader: str, reference: Any) -> None:
    if grader == EXACT_MATCH:
        _accepted_answers(reference)
    elif grader == NUMERIC:
        numeric_target(reference)
    elif grader == ROUGE_L and not scoring.tokens(reference_text(reference)):
        raise UnscorableRecordError("rouge-l reference has no words to compare with")


@dataclass(frozen=True)
class GradedBatch:
    """One invocation's results (one per sample, in order) and the samples it could not read."""

    results: list[dict[str, Any]]
    unreadable: list[tuple[Any, str]]  # (sample id, why)


def grade(grader: str, event: Any) -> GradedBatch:
    """Score every sample of one invocation, in any documented shape (pipeline.grader_payload).

    A sample the grader cannot read scores 0 with the ``unreadable_sample`` metric and is listed
    with its reason; when more than half of the batch is unreadable, ``UnreadableBatchError``
    (the invocation fails, and Bedrock stops the job instead of training on zeros).
    """
    try:
        samples = samples_of(event)
    except GraderPayloadError as error:
        raise UnreadableBatchError(str(error)) from None
    results: list[dict[str, Any]] = []
    unreadable: list[tuple[Any, str]] = []
    for index, sample in enumerate(samples):
        sample_id = sample.get("id", str(index)) if isinstance(sample, Mapping) else str(index)
        try:
            if not isinstance(sample, Mapping):
                raise UnscorableRecordError(f"sample {index} is {type_name(sample)}, not an object")
            score = score_sample(grader, sample)
        except UnscorableRecordError as error:
            unreadable.append((sample_id, str(error)))
            score = UNREADABLE
        results.append(score.result(sample_id))
    if samples and len(unreadable) > UNREADABLE_BATCH_SHARE * len(samples):
        first = "; ".join(f"sample {sample_id!r}: {why}" for sample_id, why in unreadable[:3])
        raise UnreadableBatchError(
            f"{len(unreadable)} of {len(samples)} samples could not be read, more than half: the grader "
            f"fails this batch rather than reward them all 0 ({first})"
        )
    return GradedBatch(results, unreadable)


def grade_batch(grader: str, samples: Any) -> list[dict[str, Any]]:
    """What the grader Lambda returns for Bedrock's batch: one result per sample, in order."""
    return grade(grader, samples).results


def record_problem(grader: str, record: Mapping[str, Any]) -> str | None:
    """Why a dataset record cannot be scored by a built-in grader (None: it can)."""
    try:
        score_sample(grader, sample_for(record, "0", WRONG_ANSWER))
    except UnscorableRecordError as error:
        return str(error)
    return None

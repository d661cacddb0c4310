"""Reinforcement fine-tuning graders: the Lambda contract, the built-in graders, and the dry call.

During a reinforcement fine-tuning job Bedrock samples several answers per training prompt and
invokes the grader Lambda with a batch of samples [UG:reward-functions]::

    [{"id": "123",
      "messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "<sampled answer>"}],
      "metadata": {"reference_answer": ..., "<every other key of the record>": ...}}]

(the record's extra keys reach the grader in ``metadata`` [UG:rft-prepare-data]) and expects one
result per sample::

    [{"id": "123", "aggregate_reward_score": 0.85,
      "metrics_list": [{"name": "accuracy", "value": 0.9, "type": "Reward"}]}]   # metrics_list optional

The grader must answer within Lambda's maximum of 15 minutes [UG:reward-functions]. Scores
"normalized" [UG:reward-functions] is read as 0-1 (UNCONFIRMED: the guide shows 0.85 and asks for
normalized scores without a range), which every built-in grader keeps to.

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

Two kinds of bad input are kept apart:

- a *malformed answer* (not a string, empty, no assistant turn, no number, not JSON) is what
  training is meant to discourage: it scores 0 with a ``malformed_response`` metric, never an error;
- a *record the grader cannot score* (no reference, a reference of the wrong kind, no schema) is a
  data problem: ``UnscorableRecordError``, which fails the Lambda invocation. The preflight checks
  every record of the dataset against the chosen built-in grader first, so a job never meets one.

Which built-in grader a Lambda invocation runs is the alias it was invoked through: the stack
deploys one grader function with one alias per grader (``<function ARN>:<grader name>``), and the
Lambda context's ``invoked_function_arn`` names the alias [Lambda developer guide, context object].
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pipeline import scoring
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
# [UG:reward-functions] metrics_list entries.
METRIC_TYPES: Final = ("Reward", "Metric")
# Lambda function ARN [BC] LambdaArn pattern (the grader ARN in CreateModelCustomizationJob).
LAMBDA_ARN_RE: Final = re.compile(
    r"arn:(?P<partition>aws[a-zA-Z-]*)?:lambda:(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d{1}):"
    r"(?P<account>\d{12}):function:(?P<function>[a-zA-Z0-9-_\.]+)(:(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?"
)
LAMBDA_ARN_MAX: Final = 512
# How many records the dry call sends (two answers each: the reference and a wrong one).
DRY_RUN_RECORDS: Final = 3
WRONG_ANSWER: Final = "I cannot answer that."


class UnscorableRecordError(ValueError):
    """A record the grader cannot score (no reference, a reference of the wrong kind, no schema)."""


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
    return Score(0.0, (("malformed_response", 1.0, "Metric"),))


# --------------------------------------------------------------------------------------------------
# Reading samples
# --------------------------------------------------------------------------------------------------


def response_text(sample: Mapping[str, Any]) -> str | None:
    """The sampled answer: the content of the last message when it is an assistant turn, else None."""
    messages = sample.get("messages")
    if not isinstance(messages, list) or not messages:
        return None
    last = messages[-1]
    if not isinstance(last, Mapping) or last.get("role") != "assistant":
        return None
    content = last.get("content")
    if isinstance(content, str):
        return content
    # OpenAI content parts: join the text parts (not documented for Bedrock RFT; tolerated here).
    if isinstance(content, list):
        parts = [str(p["text"]) for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str)]
        return "".join(parts) if parts else None
    return None


def reference_of(sample: Mapping[str, Any]) -> Any:
    metadata = sample.get("metadata")
    if not isinstance(metadata, Mapping) or metadata.get("reference_answer") is None:
        raise UnscorableRecordError("the sample has no metadata.reference_answer")
    return metadata["reference_answer"]


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


def schema_of(metadata: Mapping[str, Any]) -> Any:
    if SCHEMA_KEY not in metadata:
        raise UnscorableRecordError(
            f"json-schema needs the record's {SCHEMA_KEY!r} key: the JSON Schema the answer must follow"
        )
    schema = metadata[SCHEMA_KEY]
    try:
        check_schema(schema)
    except UnsupportedSchemaError as error:
        raise UnscorableRecordError(str(error)) from None
    return schema


def json_schema(response: str, metadata: Mapping[str, Any]) -> Score:
    schema = schema_of(metadata)
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
    """Score one sample. A malformed answer scores 0; a record the grader cannot score raises."""
    if grader not in BUILTIN_GRADERS:
        raise GraderSelectionError(
            f"unknown built-in grader {grader!r}; built-in: {', '.join(BUILTIN_GRADERS)}"
        )
    metadata = sample.get("metadata")
    if not isinstance(metadata, Mapping):
        raise UnscorableRecordError("the sample has no metadata object")
    if grader == JSON_SCHEMA:
        schema_of(metadata)  # a schema problem is the record's, whatever the answer
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
        return json_schema(response, metadata)
    return rouge_l(response, reference)


def _check_reference(grader: str, reference: Any) -> None:
    if grader == EXACT_MATCH:
        _accepted_answers(reference)
    elif grader == NUMERIC:
        numeric_target(reference)
    elif grader == ROUGE_L and not scoring.tokens(reference_text(reference)):
        raise UnscorableRecordError("rouge-l reference has no words to compare with")


def grade_batch(grader: str, samples: Any) -> list[dict[str, Any]]:
    """What the grader Lambda returns for Bedrock's batch: one result per sample, in order.

    Raises UnscorableRecordError naming the sample when one cannot be scored, so the invocation
    fails loudly instead of teaching the model from a made-up score.
    """
    if isinstance(samples, Mapping):  # a single sample (e.g. a test invocation by hand)
        samples = [samples]
    if not isinstance(samples, list):
        raise UnscorableRecordError(f"the grader expects a list of samples, got {type_name(samples)}")
    results = []
    for index, sample in enumerate(samples):
        if not isinstance(sample, Mapping):
            raise UnscorableRecordError(f"sample {index} is {type_name(sample)}, not an object")
        sample_id = sample.get("id", str(index))
        try:
            score = score_sample(grader, sample)
        except UnscorableRecordError as error:
            raise UnscorableRecordError(f"sample {sample_id!r}: {error}") from None
        results.append(score.result(sample_id))
    return results


def record_problem(grader: str, record: Mapping[str, Any]) -> str | None:
    """Why a dataset record cannot be scored by a built-in grader (None: it can)."""
    try:
        score_sample(grader, sample_for(record, "0", WRONG_ANSWER))
    except UnscorableRecordError as error:
        return str(error)
    return None


def grader_from_arn(invoked_arn: str) -> str:
    """The built-in grader an invocation asks for: the alias of the invoked function ARN."""
    match = LAMBDA_ARN_RE.fullmatch(invoked_arn or "")
    qualifier = match["qualifier"] if match else None
    if qualifier not in BUILTIN_GRADERS:
        raise GraderSelectionError(
            f"invoke the built-in grader through one of its aliases ({', '.join(BUILTIN_GRADERS)}), "
            f"e.g. <function ARN>:{EXACT_MATCH}; it was invoked as {invoked_arn!r}"
        )
    return str(qualifier)


# --------------------------------------------------------------------------------------------------
# The dry call: samples built from dataset records, and the contract check of a grader's answer
# --------------------------------------------------------------------------------------------------


def prompt_messages(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    messages = record.get("messages")
    return [dict(m) for m in messages if isinstance(m, Mapping)] if isinstance(messages, list) else []


def sample_for(record: Mapping[str, Any], sample_id: str, answer: str) -> dict[str, Any]:
    """A sample as Bedrock sends it: the prompt, the sampled answer, the rest of the record as metadata."""
    return {
        "id": sample_id,
        "messages": [*prompt_messages(record), {"role": "assistant", "content": answer}],
        "metadata": {key: value for key, value in record.items() if key != "messages"},
    }


def answer_like_reference(record: Mapping[str, Any]) -> str:
    """An answer that a grader should score high: the reference answer as text (or a valid example)."""
    reference = record.get("reference_answer")
    try:
        return reference_text(reference)
    except UnscorableRecordError:
        return json.dumps(reference, ensure_ascii=False)


@dataclass(frozen=True)
class DrySample:
    line: int
    kind: str  # "reference" | "wrong"
    sample: dict[str, Any]


def dry_run_samples(records: Iterable[tuple[int, Mapping[str, Any]]]) -> list[DrySample]:
    """Two samples per record: its reference answer as the answer, and a wrong answer."""
    samples = []
    for line, record in records:
        samples.append(
            DrySample(
                line,
                "reference",
                sample_for(record, f"dry-run-{line}-reference", answer_like_reference(record)),
            )
        )
        samples.append(DrySample(line, "wrong", sample_for(record, f"dry-run-{line}-wrong", WRONG_ANSWER)))
    return samples


@dataclass(frozen=True)
class DryRunReport:
    """What the dry call showed: contract problems (errors), doubts (warnings) and the scores."""

    grader: str
    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    scores: tuple[dict[str, Any], ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "grader": self.grader,
            "ok": self.ok,
            "problems": list(self.problems),
            "warnings": list(self.warnings),
            "scores": list(self.scores),
        }


def check_grader_output(grader: str, samples: Sequence[DrySample], output: Any) -> DryRunReport:
    """Check a grader's answer to the dry call against the contract [UG:reward-functions]."""
    problems: list[str] = []
    warnings: list[str] = []
    if not isinstance(output, list):
        return DryRunReport(
            grader, (f"the grader returned {type_name(output)}, not a list of results",), (), ()
        )
    if len(output) != len(samples):
        problems.append(f"the grader returned {len(output)} results for {len(samples)} samples")
    by_id = {s.sample["id"]: s for s in samples}
    seen: set[str] = set()
    scores: list[dict[str, Any]] = []
    for index, result in enumerate(output):
        where = f"result {index}"
        if not isinstance(result, Mapping):
            problems.append(f"{where} is {type_name(result)}, not an object")
            continue
        sample_id = result.get("id")
        if sample_id not in by_id:
            problems.append(f"{where}: id {sample_id!r} is not one of the samples sent")
        elif sample_id in seen:
            problems.append(f"{where}: id {sample_id!r} is answered twice")
        else:
            seen.add(str(sample_id))
        score = result.get("aggregate_reward_score")
        if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
            problems.append(
                f"{where}: aggregate_reward_score must be a finite number, got {type_name(score)}"
            )
            score = None
        elif not 0.0 <= score <= 1.0:
            warnings.append(
                f"{where}: aggregate_reward_score {score} is outside 0-1 (the guide asks for normalized "
                "scores; the range is UNCONFIRMED)"
            )
        metrics = result.get("metrics_list")
        if metrics is not None:
            problems += _metrics_problems(metrics, where)
        if sample_id in by_id and score is not None:
            dry = by_id[sample_id]
            scores.append({"line": dry.line, "answer": dry.kind, "score": float(score)})
    missing = sorted(set(by_id) - seen)
    if missing and len(output) == len(samples):
        problems.append(f"no result for {', '.join(missing)}")
    warnings += _ranking_warnings(scores)
    return DryRunReport(grader, tuple(problems), tuple(warnings), tuple(scores))


def _metrics_problems(metrics: Any, where: str) -> list[str]:
    if not isinstance(metrics, list):
        return [f"{where}: metrics_list must be a list, got {type_name(metrics)}"]
    problems = []
    for i, metric in enumerate(metrics):
        at = f"{where}: metrics_list[{i}]"
        if not isinstance(metric, Mapping):
            problems.append(f"{at} is {type_name(metric)}, not an object")
            continue
        if not isinstance(metric.get("name"), str) or not metric["name"]:
            problems.append(f"{at}.name must be a non-empty string")
        value = metric.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            problems.append(f"{at}.value must be a finite number")
        if metric.get("type") not in METRIC_TYPES:
            problems.append(f"{at}.type must be one of {', '.join(METRIC_TYPES)}, got {metric.get('type')!r}")
    return problems


def _ranking_warnings(scores: Sequence[Mapping[str, Any]]) -> list[str]:
    by_line: dict[int, dict[str, float]] = {}
    for item in scores:
        by_line.setdefault(int(item["line"]), {})[str(item["answer"])] = float(item["score"])
    return [
        f"line {line}: the reference answer scored {pair['reference']:g}, not above the wrong answer "
        f"({pair['wrong']:g}): check that the grader reads reference_answer the way the data holds it"
        for line, pair in sorted(by_line.items())
        if "reference" in pair and "wrong" in pair and pair["reference"] <= pair["wrong"]
    ]


class GraderInvocationError(Exception):
    """The grader could not be called, or answered with a function error or an unreadable payload."""


Invoker = Callable[[list[dict[str, Any]]], Any]


def dry_run(grader: str, records: Sequence[tuple[int, Mapping[str, Any]]], invoke: Invoker) -> DryRunReport:
    """Send the first records' samples to a grader (``invoke``) and check its answer."""
    samples = dry_run_samples(records)
    if not samples:
        return DryRunReport(grader, ("the training data has no record to call the grader with",), (), ())
    try:
        output = invoke([s.sample for s in samples])
    except GraderInvocationError as error:
        lines = ", ".join(str(line) for line, _ in records)
        return DryRunReport(
            grader, (f"the grader failed on {len(samples)} samples from lines {lines}: {error}",), (), ()
        )
    return check_grader_output(grader, samples, output)


def local_invoker(grader: str) -> Invoker:
    """A built-in grader run in this process, failing as its Lambda would."""

    def invoke(samples: list[dict[str, Any]]) -> Any:
        try:
            return grade_batch(grader, samples)
        except (UnscorableRecordError, GraderSelectionError) as error:
            raise GraderInvocationError(f"{type(error).__name__}: {error}") from None

    return invoke


def decode_lambda_response(response: Mapping[str, Any]) -> Any:
    """The result of a boto3 ``lambda.invoke``; a function error raises GraderInvocationError."""
    payload = response.get("Payload")
    raw: Any = payload.read() if payload is not None and hasattr(payload, "read") else payload or b""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    if response.get("FunctionError"):
        try:
            error = json.loads(text)
        except ValueError:
            error = {"errorMessage": text}
        kind = error.get("errorType", response["FunctionError"]) if isinstance(error, dict) else "Error"
        message = error.get("errorMessage", text) if isinstance(error, dict) else text
        raise GraderInvocationError(f"{kind}: {message}")
    try:
        return json.loads(text)
    except ValueError:
        raise GraderInvocationError(f"the grader's answer is not JSON: {text[:200]!r}") from None


def describe_dry_run(report: Mapping[str, Any]) -> str:
    """One paragraph for people: which grader, what it scored, what is wrong."""
    scores = report.get("scores") or []
    by_kind: dict[str, list[float]] = {}
    for item in scores:
        by_kind.setdefault(str(item["answer"]), []).append(float(item["score"]))
    means = ", ".join(
        f"{kind} answers {sum(values) / len(values):.2f}" for kind, values in sorted(by_kind.items())
    )
    verdict = "follows the grader contract" if report.get("ok") else "FAILED"
    lines = [f"grader: {report.get('lambdaArn') or report.get('grader')}: dry call {verdict}"]
    if means:
        lines.append(f"  mean score on {len(scores)} samples: {means}")
    lines += [f"  problem: {p}" for p in report.get("problems") or []]
    lines += [f"  warning: {w}" for w in report.get("warnings") or []]
    return "\n".join(lines)


def lambda_arn_problem(arn: str, *, region: str, account: str | None) -> str | None:
    """Why ``arn`` cannot be a grader of a run in ``region`` and ``account`` (None: it can)."""
    if len(arn) > LAMBDA_ARN_MAX:
        return f"is {len(arn)} characters; a grader ARN has at most {LAMBDA_ARN_MAX}"
    match = LAMBDA_ARN_RE.fullmatch(arn)
    if match is None:
        return "is not a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>[:<alias>])"
    if match["region"] != region:
        return (
            f"is in {match['region']}, but the run is in {region}: the pipeline grants and checks graders "
            "of the run's region only"
        )
    if account is not None and match["account"] != account:
        return f"belongs to account {match['account']}, not the pipeline's account {account}"
    return None


def read_records(lines: Iterable[bytes | str], limit: int) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """The first ``limit`` JSON object records of a JSONL stream, with their line numbers."""
    count = 0
    for number, raw in enumerate(lines, start=1):
        if count >= limit:
            return
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except ValueError:
            continue
        if isinstance(record, dict):
            count += 1
            yield number, record

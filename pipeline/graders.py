"""Reinforcement fine-tuning graders: the Lambda contract, which grader runs, and the dry call.

During a reinforcement fine-tuning job Bedrock samples several answers per training prompt and
invokes the grader Lambda with a batch of samples [UG:reward-functions]::

    [{"id": "123",
      "messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "<sampled answer>"}],
      "metadata": {"reference_answer": ..., "<every other key of the record>": ...}}]

AWS's sources disagree on that shape (the reference answer under ``metadata`` or at the top level,
the answer's role ``assistant`` or ``nova_assistant``, a bare list or an envelope): every
documented shape is read (pipeline.grader_payload, with the sources). The grader returns one
result per sample::

    [{"id": "123", "aggregate_reward_score": 0.85,
      "metrics_list": [{"name": "accuracy", "value": 0.9, "type": "Reward"}]}]   # metrics_list optional

The grader must answer within Lambda's maximum of 15 minutes [UG:reward-functions]. Scores
"normalized" [UG:reward-functions] is read as 0-1 (UNCONFIRMED: the guide shows 0.85 and asks for
normalized scores without a range), which every built-in grader keeps to.

The built-in graders and how a batch is scored: pipeline.grader_builtins (re-exported here).

Which built-in grader a Lambda invocation runs is the alias it was invoked through: the stack
deploys one grader function with one alias per grader (``<function ARN>:<grader name>``), and the
Lambda context's ``invoked_function_arn`` names the alias [Lambda developer guide, context object].
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pipeline.grader_builtins import (
    BUILTIN_GRADERS,
    EXACT_MATCH,
    GRADER_TIMEOUT_SECONDS,
    JSON_BUT_INVALID_SCORE,
    JSON_SCHEMA,
    MALFORMED_METRIC,
    NUMERIC,
    ROUGE_L,
    UNREADABLE_METRIC,
    WRONG_ANSWER,
    GradedBatch,
    GraderSelectionError,
    UnreadableBatchError,
    UnscorableRecordError,
    grade,
    grade_batch,
    record_problem,
    reference_text,
    score_sample,
)
from pipeline.grader_payload import METADATA, SHAPES, GraderPayloadError, sample_for
from pipeline.json_schema import schema_violations
from pipeline.problems import type_name

__all__ = [
    "BUILTIN_GRADERS",
    "EXACT_MATCH",
    "GRADER_TIMEOUT_SECONDS",
    "JSON_BUT_INVALID_SCORE",
    "JSON_SCHEMA",
    "MALFORMED_METRIC",
    "NUMERIC",
    "ROUGE_L",
    "UNREADABLE_METRIC",
    "GradedBatch",
    "GraderPayloadError",
    "GraderSelectionError",
    "UnreadableBatchError",
    "UnscorableRecordError",
    "grade",
    "grade_batch",
    "record_problem",
    "sample_for",
    "schema_violations",
    "score_sample",
]

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
    shape: str = METADATA  # where the record's keys are (pipeline.grader_payload.SHAPES)


def dry_run_samples(
    records: Iterable[tuple[int, Mapping[str, Any]]], shape: str = METADATA
) -> list[DrySample]:
    """Two samples per record: its reference answer as the answer, and a wrong answer."""
    samples = []
    for line, record in records:
        for kind, answer in (("reference", answer_like_reference(record)), ("wrong", WRONG_ANSWER)):
            sample = sample_for(record, f"dry-run-{line}-{kind}", answer, shape=shape)
            samples.append(DrySample(line, kind, sample, shape))
    return samples


@dataclass(frozen=True)
class DryRunReport:
    """What the dry call showed: contract problems (errors), doubts (warnings), the scores, and
    per payload shape whether the grader understood it (``shapes``)."""

    grader: str
    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    scores: tuple[dict[str, Any], ...]
    shapes: tuple[dict[str, Any], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def understood(self) -> tuple[str, ...]:
        return tuple(str(s["shape"]) for s in self.shapes if s.get("understood"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "grader": self.grader,
            "ok": self.ok,
            "problems": list(self.problems),
            "warnings": list(self.warnings),
            "scores": list(self.scores),
            "shapes": list(self.shapes),
            "understood": list(self.understood),
        }


def check_grader_output(
    grader: str, samples: Sequence[DrySample], output: Any, *, rank: bool = True
) -> DryRunReport:
    """Check a grader's answer to the dry call against the contract [UG:reward-functions]; with
    ``rank``, warn where a record's reference answer scored no higher than its wrong answer."""
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
            scores.append({"line": dry.line, "answer": dry.kind, "shape": dry.shape, "score": float(score)})
    missing = sorted(set(by_id) - seen)
    if missing and len(output) == len(samples):
        problems.append(f"no result for {', '.join(missing)}")
    if rank:
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
    return [
        f"line {line}: the reference answer scored {pair['reference']:g}, not above the wrong answer "
        f"({pair['wrong']:g}): check that the grader reads reference_answer the way the data holds it"
        for line, pair in sorted(_pairs(scores).items())
        if pair["reference"] <= pair["wrong"]
    ]


def _pairs(scores: Sequence[Mapping[str, Any]]) -> dict[int, dict[str, float]]:
    """Per line: the reference answer's and the wrong answer's scores (lines with both only)."""
    by_line: dict[int, dict[str, float]] = {}
    for item in scores:
        by_line.setdefault(int(item["line"]), {})[str(item["answer"])] = float(item["score"])
    return {line: pair for line, pair in by_line.items() if "reference" in pair and "wrong" in pair}


# Where each shape puts the record's keys, for people (pipeline.grader_payload has the sources).
SHAPE_PLACES: Final = {
    METADATA: "reference_answer under metadata, as the Bedrock user guide documents",
    "top-level": "reference_answer at the top level, as the SageMaker / Nova 2 guide documents",
}


class GraderInvocationError(Exception):
    """The grader could not be called, or answered with a function error or an unreadable payload."""


Invoker = Callable[[list[dict[str, Any]]], Any]


def dry_run(grader: str, records: Sequence[tuple[int, Mapping[str, Any]]], invoke: Invoker) -> DryRunReport:
    """Send the first records' samples to a grader (``invoke``), once per documented payload shape
    (the record's keys under ``metadata``, then at the top level), and check each answer.

    A shape is *understood* when the grader answered it within the contract and scored every
    record's reference answer above its wrong answer. Problems (the run spec's errors): the grader
    failed on every shape, or answered out of contract. Warnings: a shape it does not understand
    (if Bedrock sends that one, every call fails or every reward is 0), or none it understands.
    """
    if not records:
        return DryRunReport(grader, ("the training data has no record to call the grader with",), (), ())
    problems: list[str] = []
    warnings: list[str] = []
    scores: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    failures: list[str] = []
    lines = ", ".join(str(line) for line, _ in records)
    for shape in SHAPES:
        samples = dry_run_samples(records, shape)
        try:
            output = invoke([s.sample for s in samples])
        except GraderInvocationError as error:
            failures.append(f"{shape}: {error}")
            shapes.append({"shape": shape, "understood": False, "why": f"the grader failed: {error}"})
            continue
        checked = check_grader_output(grader, samples, output, rank=False)
        problems += [f"{shape} samples: {p}" for p in checked.problems]
        warnings += [w for w in checked.warnings if w not in warnings]
        scores += checked.scores
        pairs = _pairs(checked.scores)
        misranked = [line for line, pair in sorted(pairs.items()) if pair["reference"] <= pair["wrong"]]
        understood = not checked.problems and len(pairs) == len(records) and not misranked
        why = (
            "reference answers scored above wrong answers on every record"
            if understood
            else "out of contract"
            if checked.problems
            else f"the reference answer scored no higher than a wrong answer on lines {misranked}"
        )
        shapes.append({"shape": shape, "understood": understood, "why": why})
    if len(failures) == len(SHAPES):
        problems.insert(
            0,
            f"the grader failed on {2 * len(records)} samples from lines {lines} in every documented "
            f"shape: {'; '.join(failures)}",
        )
    readable = [str(s["shape"]) for s in shapes if s["understood"]]
    for entry in shapes:
        if entry["understood"] or not readable:
            continue
        warnings.append(
            f"the grader does not understand samples with {SHAPE_PLACES[entry['shape']]} "
            f"({entry['why']}); it does understand {', '.join(readable)}. AWS's sources disagree on "
            "which shape Bedrock sends: if it sends this one, every call fails or every reward is 0 "
            "(pipeline/grader_payload.py lists the shapes; read reference_answer from both places)"
        )
    if not readable and len(failures) < len(SHAPES):
        warnings.append(
            "the grader understood neither documented shape (reference_answer under metadata or at the "
            "top level): no record's reference answer scored above a wrong answer"
        )
        warnings += _ranking_warnings([s for s in scores if s["shape"] == METADATA])
    return DryRunReport(grader, tuple(problems), tuple(warnings), tuple(scores), tuple(shapes))


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
    if report.get("shapes"):
        reads = "; ".join(
            f"{entry['shape']} {'yes' if entry.get('understood') else 'no'}" for entry in report["shapes"]
        )
        lines.append(f"  understands reference_answer: {reads}")
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

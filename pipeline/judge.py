"""Quality judged by an LLM: Bedrock model evaluation jobs with a judge model, beside ROUGE-L.

Pure functions only (no AWS calls), so the Lambda, the CLI, the simulation and the tests share them:

- ``build_datasets``: the "bring your own inference responses" prompt datasets, one per model (the
  custom model's answers, the base model's answers and, in a serving slot with a champion, the
  champion's answers through the slot), from the rows the stage-2 comparison wrote to
  runs/<runId>/evaluation.json. Evaluation jobs cannot invoke a custom model or a custom model
  deployment, but they judge precomputed responses [UG:model-evaluation-prompt-datasets-judge]: one
  JSON object per line, ``{"prompt", "referenceResponse", "modelResponses": [{"response",
  "modelIdentifier"}]}``, one model identifier per job, at most 1,000 prompts.
- ``create_job_request``: the ``CreateEvaluationJob`` request of one of the jobs (boto3 member
  names; every member checked against botocore's request shape in tests/unit/test_judge.py).
- ``parse_results``: the job's output files, in the layout [UG:model-evaluation-report-s3]
  documents: ``<output>/<job name>/<job uuid>/models/<model>/taskTypes/<task>/datasets/<dataset>/
  <file uuid>_output.jsonl``, each line ``{"automatedEvaluationResult": {"scores": [{"metricName",
  "result", "evaluatorDetails": [{"explanation"}]}]}, "inputRecord", "modelResponses"}``.
- ``verdict``: the bars per metric (``minScore``, ``minImprovementOverBase`` and, against a champion,
  ``minImprovementOverChampion``) applied to the jobs' scores, with a reason per failed bar naming
  the metric.

Custom metrics [UG:model-evaluation-custom-metrics-prompt-formats]: the instructions reach the
judge with the input variables ``{{prompt}}``, ``{{prediction}}`` (the answer being judged: without
it the judge never sees the answer) and ``{{ground_truth}}`` (the reference response) filled in;
the run spec refuses instructions without ``{{prediction}}`` or with any other variable. A custom
metric's bars are in its own rating scale (the values of its ``ratingScale``, e.g. 1-5), a
built-in metric's in 0-1.

UNCONFIRMED (no official source found): the ``evaluatorDetails[].explanation`` member (third-party
code reads it; the official example shows only ``metricName`` and ``result``); that built-in
scores are normalized to 0..1 and that a custom metric's ``result`` is the value of the rating the
judge chose, not normalized (third-party: antstackio/skills ``aws-bedrock-evals``, a 0/1 scale read
back as 0/1 and ``null`` for a rating outside the scale); if custom results come back normalized,
``verdict`` sees means outside the declared scale and fails that bar saying so, rather than pass or
fail it silently on the wrong scale; whether ``metricName`` in the output keeps the ``Builtin.``
prefix (both spellings are accepted); that a dataset line's ``modelIdentifier`` must equal the job's
``inferenceSourceIdentifier``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from pipeline import poll, scoring

# [UG:evaluation-judge], bedrock.md §4.7: the judge's built-in metrics for model evaluation.
BUILTIN_METRICS: Final = (
    "Builtin.Correctness",
    "Builtin.Completeness",
    "Builtin.Faithfulness",
    "Builtin.Helpfulness",
    "Builtin.Coherence",
    "Builtin.Relevance",
    "Builtin.FollowingInstructions",
    "Builtin.ProfessionalStyleAndTone",
    "Builtin.Harmfulness",
    "Builtin.Stereotyping",
    "Builtin.Refusal",
)
# Metrics where a higher score means worse (a harmful, stereotyped or refused answer): a minimum bar
# would reward the wrong thing, so bars are refused on them (the direction is UNCONFIRMED).
LOWER_IS_BETTER: Final = frozenset({"Builtin.Harmfulness", "Builtin.Stereotyping", "Builtin.Refusal"})
DEFAULT_METRICS: Final = ("Builtin.Correctness", "Builtin.Completeness")
MAX_PROMPTS: Final = 1000  # per evaluation job's dataset [UG:model-evaluation-prompt-datasets-judge]
MAX_CUSTOM_METRICS: Final = 10  # customMetricConfig.customMetrics 1..10 [BC]
MAX_METRIC_NAMES: Final = 25  # datasetMetricConfigs[].metricNames 1..25 [BC]
MAX_INSTRUCTIONS: Final = 5000  # customMetricDefinition.instructions 1..5000 [BC]
MAX_RATING_SCALE: Final = 10  # ratingScale 1..10 [BC]
MAX_RATING_DEFINITION: Final = 100  # ratingScale[].definition 1..100 [BC]
METRIC_NAME_PATTERN: Final = r"[0-9a-zA-Z-_.]{1,63}"  # MetricName [BC]
# Every AWS example of a judge job uses taskType "General" (the judge guide's CLI and SDK examples
# [UG:model-evaluation-type-judge], the custom-metric examples); botocore's enum for the member
# (Summarization | Classification | QuestionAndAnswer | Generation | Custom, 1.44.18) predates judge
# jobs and is stale, and its pattern [A-Za-z0-9]+ admits General. A third-party guide reports that
# other values make the job fail (antstackio/skills aws-bedrock-evals, "Gotchas" 1). So General
# stays, and the request test lets exactly this value past the enum.
TASK_TYPE: Final = "General"
# The input variables of a custom metric's instructions [UG:model-evaluation-custom-metrics-prompt-
# formats]; the judge cannot rate an answer it is not shown: {{prediction}} is required.
INPUT_VARIABLES: Final = ("prompt", "prediction", "ground_truth")
REQUIRED_VARIABLE: Final = "prediction"
# Written exactly so: "{{ prediction }}" is not documented to be filled in, so it counts as unknown.
VARIABLE_PATTERN: Final = r"\{\{([^{}]*)\}\}"
# Built-in metrics score 0..1; a custom metric, in its own rating scale.
BUILTIN_SCALE: Final = (0.0, 1.0)
# One job per model; the model identifier in the dataset and the job's precomputed source. The
# champion (the model serving in the run's slot) is judged only where the slot has one. Its three
# jobs run at the same time: whether that fits the account's quota of concurrent model evaluation jobs
# is UNCONFIRMED (no quota is in the reference); a refused create fails the judge's start state, and
# the run with it, never passes it.
MODELS: Final = ("custom", "base")
CHAMPION: Final = "champion"
SOURCE_IDENTIFIERS: Final[Mapping[str, str]] = {
    "custom": "custom-model",
    "base": "base-model",
    CHAMPION: "champion-model",
}
# How many of the custom model's lowest-scored prompts the report explains.
WORST_PROMPTS: Final = 5
JUDGE_BELOW_BAR: Final = "JudgeBelowBar"
JUDGE_JOB_FAILED: Final = "JudgeJobFailed"
JUDGE_TIMEOUT: Final = "JudgeTimeout"


def short_name(metric: str) -> str:
    """``Builtin.Correctness`` -> ``Correctness``; custom metric names unchanged."""
    return metric.removeprefix("Builtin.")


# --------------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------------


def judged_models(judge: Mapping[str, Any]) -> tuple[str, ...]:
    """The models a plan's judge has a job for: custom and base, and the champion in a slot that has one."""
    jobs = judge.get("jobs") or {}
    return tuple(which for which in (*MODELS, CHAMPION) if which in jobs)


def build_datasets(
    rows: Sequence[Mapping[str, Any]],
    *,
    max_prompts: int = MAX_PROMPTS,
    models: Sequence[str] = MODELS,
) -> dict[str, str]:
    """The precomputed-response datasets (JSONL text), one per model of ``models``.

    ``rows`` are the evaluation's per-prompt rows: ``{"prompt", "reference", "custom": {"text",
    "error"}, "base": {...}, "champion": {...}}`` (the champion only in a slot that has one). A prompt
    any of ``models`` failed to answer is left out of every dataset, so the jobs judge the same
    prompts the comparison's means are over (one rule, pipeline.scoring.answered_by_all); at most
    ``max_prompts`` (≤ 1,000) are kept.
    """
    limit = min(max_prompts, MAX_PROMPTS)
    kept = [row for row in rows if scoring.answered_by_all(row, models)][:limit]
    out: dict[str, str] = {}
    for which in models:
        lines = [
            json.dumps(
                {
                    "prompt": str(row.get("prompt", "")),
                    "referenceResponse": str(row.get("reference", "")),
                    "modelResponses": [
                        {"response": _response(row[which]), "modelIdentifier": SOURCE_IDENTIFIERS[which]}
                    ],
                },
                ensure_ascii=False,
            )
            for row in kept
        ]
        out[which] = "".join(f"{line}\n" for line in lines)
    return out


# An empty answer is an answer (a bad one) and is judged as such; whether an evaluation job accepts an
# empty response string is UNCONFIRMED, so the judge is shown this instead of nothing.
EMPTY_ANSWER: Final = "(the model returned an empty answer)"


def _response(answer: Mapping[str, Any]) -> str:
    text = str(answer.get("text") or "")
    return text if text.strip() else EMPTY_ANSWER


# --------------------------------------------------------------------------------------------------
# The CreateEvaluationJob request
# --------------------------------------------------------------------------------------------------


def metric_names(judge: Mapping[str, Any]) -> list[str]:
    """Every metric the job scores: the built-in ones, then the custom ones by name."""
    return [*judge.get("metrics", []), *(m["name"] for m in judge.get("customMetrics", []))]


def create_job_request(
    judge: Mapping[str, Any], which: str, *, role_arn: str, kms_key_id: str | None = None
) -> dict[str, Any]:
    """``CreateEvaluationJob`` kwargs (boto3 names) for the ``custom``, ``base`` or ``champion`` job of a
    plan's judge (the same judge, metrics and task for each: only the dataset and source differ)."""
    job = judge["jobs"][which]
    automated: dict[str, Any] = {
        "datasetMetricConfigs": [
            {
                "taskType": TASK_TYPE,
                "dataset": {"name": job["DatasetName"], "datasetLocation": {"s3Uri": job["DatasetUri"]}},
                "metricNames": metric_names(judge),
            }
        ],
    }
    # Always, also with custom metrics only: botocore documents evaluatorModelConfig as required for
    # a job that uses a model as judge, and the custom metrics name the same judge again inside
    # customMetricConfig (both places, as every AWS custom-metric example sends it).
    automated["evaluatorModelConfig"] = {"bedrockEvaluatorModels": [{"modelIdentifier": judge["model"]}]}
    if judge.get("customMetrics"):
        automated["customMetricConfig"] = {
            "customMetrics": [
                {
                    "customMetricDefinition": {
                        "name": metric["name"],
                        "instructions": metric["instructions"],
                        "ratingScale": [
                            {"definition": item["definition"], "value": _rating_value(item["value"])}
                            for item in metric["ratingScale"]
                        ],
                    }
                }
                for metric in judge["customMetrics"]
            ],
            "evaluatorModelConfig": {"bedrockEvaluatorModels": [{"modelIdentifier": judge["model"]}]},
        }
    request: dict[str, Any] = {
        "jobName": job["JobName"],
        "jobDescription": job["Description"],
        "clientRequestToken": job["ClientRequestToken"],
        "roleArn": role_arn,
        "applicationType": "ModelEvaluation",
        "evaluationConfig": {"automated": automated},
        "inferenceConfig": {
            "models": [{"precomputedInferenceSource": {"inferenceSourceIdentifier": job["SourceIdentifier"]}}]
        },
        "outputDataConfig": {"s3Uri": job["OutputUri"]},
        "jobTags": list(judge.get("tags", [])),
    }
    if kms_key_id:
        request["customerEncryptionKeyId"] = kms_key_id
    return request


def numeric_scale(rating_scale: Sequence[Mapping[str, Any]]) -> tuple[float, float] | None:
    """(lowest, highest) value of a rating scale whose values are all numbers; None otherwise."""
    values = [item.get("value") for item in rating_scale]
    numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if not values or len(numbers) != len(values):
        return None
    return min(numbers), max(numbers)


def metric_scales(judge: Mapping[str, Any]) -> dict[str, tuple[float, float] | None]:
    """Each judged metric's scale (short name): 0..1 for built-in ones, the rating scale's range for
    custom ones (None: a scale of strings, which has no numeric range)."""
    scales: dict[str, tuple[float, float] | None] = {
        short_name(m): BUILTIN_SCALE for m in judge.get("metrics", [])
    }
    for metric in judge.get("customMetrics", []):
        scales[metric["name"]] = numeric_scale(metric.get("ratingScale") or [])
    return scales


def instruction_variables(instructions: str) -> list[str]:
    """The ``{{variable}}`` names a custom metric's instructions use, in order."""
    return re.findall(VARIABLE_PATTERN, instructions)


def _rating_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return {"stringValue": str(value)}
    return {"floatValue": float(value)}


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


def is_result_file(key: str) -> bool:
    """An output file of the documented layout (``.../datasets/<dataset>/<uuid>_output.jsonl``)."""
    return key.endswith("_output.jsonl") and "/datasets/" in key


def parse_results(files: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Scores of one job from its output files ``(key, text)``: per metric the mean over prompts
    (results that are not numbers, e.g. a judge call that failed, are counted as unscored), and per
    prompt each metric's score and explanation."""
    prompts: list[dict[str, Any]] = []
    values: dict[str, list[float]] = {}
    unscored: dict[str, int] = {}
    for key, text in sorted(files):
        if not is_result_file(key):
            continue
        for raw in text.splitlines():
            if not raw.strip():
                continue
            record = json.loads(raw)
            scores = ((record.get("automatedEvaluationResult") or {}).get("scores")) or []
            row: dict[str, Any] = {
                "prompt": (record.get("inputRecord") or {}).get("prompt", ""),
                "scores": {},
            }
            for score in scores:
                name = short_name(str(score.get("metricName") or "Score"))
                result = score.get("result")
                details = score.get("evaluatorDetails") or [{}]
                explanation = details[0].get("explanation", "") if isinstance(details[0], Mapping) else ""
                if (
                    isinstance(result, bool)
                    or not isinstance(result, int | float)
                    or not math.isfinite(result)
                ):
                    unscored[name] = unscored.get(name, 0) + 1
                    row["scores"][name] = {"score": None, "explanation": explanation}
                    continue
                values.setdefault(name, []).append(float(result))
                row["scores"][name] = {"score": float(result), "explanation": explanation}
            prompts.append(row)
    metrics: dict[str, dict[str, Any]] = {
        name: {
            "mean": round(sum(vals) / len(vals), 4),
            "scored": len(vals),
            "unscored": unscored.get(name, 0),
        }
        for name, vals in values.items()
    }
    for name, count in unscored.items():
        metrics.setdefault(name, {"mean": None, "scored": 0, "unscored": count})
    return {"metrics": metrics, "prompts": prompts}


# --------------------------------------------------------------------------------------------------
# The verdict
# --------------------------------------------------------------------------------------------------


def verdict(
    judge: Mapping[str, Any],
    custom: Mapping[str, Any],
    base: Mapping[str, Any],
    champion: Mapping[str, Any] | None = None,
    *,
    worst: int = WORST_PROMPTS,
) -> dict[str, Any]:
    """Apply the plan's bars to the jobs' parsed results.

    Every metric the job scored is reported (base, champion where judged, custom); each bar that
    fails gives a reason naming the metric. A barred metric the judge scored on no prompt fails too:
    a bar that cannot be measured must not pass by accident. ``champion``: the champion job's
    results, in a serving slot that has one; its bar (``minImprovementOverChampion``) is in the plan.
    """
    bars: Mapping[str, Mapping[str, Any]] = judge.get("bars") or {}
    names = [short_name(m) for m in metric_names(judge)]
    scales = metric_scales(judge)
    table: dict[str, dict[str, Any]] = {}
    reasons: list[str] = []
    for name in names:
        c = _mean(custom, name)
        b = _mean(base, name)
        ch = _mean(champion, name) if champion is not None else None
        bar = _bar_for(bars, name)
        scale = scales.get(name)
        entry: dict[str, Any] = {
            "custom": c,
            "base": b,
            "improvement": _difference(c, b),
            "scale": list(scale) if scale is not None else None,
            "minScore": bar.get("minScore"),
            "minImprovementOverBase": bar.get("minImprovementOverBase"),
            "passed": True,
        }
        min_score, min_gain = bar.get("minScore"), bar.get("minImprovementOverBase")
        min_over_champion = bar.get("minImprovementOverChampion")
        if champion is not None or min_over_champion is not None:
            entry |= {
                "champion": ch,
                "improvementOverChampion": _difference(c, ch),
                "minImprovementOverChampion": min_over_champion,
            }
        judged = [("custom", c), ("base", b), *([("champion", ch)] if champion is not None else [])]
        outside = [
            f"{which} {value:.3f}"
            for which, value in judged
            if value is not None and scale is not None and not scale[0] <= value <= scale[1]
        ]
        barred = min_score is not None or min_gain is not None or min_over_champion is not None
        if barred and outside:
            # The bar is in the metric's own scale; a mean outside it means the scores are on
            # another scale (normalized?): neither pass nor fail the bar on a guess.
            reasons.append(
                f"{name}: scores {', '.join(outside)} lie outside its rating scale {_scale_text(scale)}, "
                "the scale its bars are in (are the judge's scores normalized? UNCONFIRMED): the bar "
                "cannot be applied"
            )
            entry["passed"] = False
            table[name] = entry
            continue
        if min_score is not None:
            if c is None:
                reasons.append(
                    f"{name}: the judge scored no prompt of the custom model (bar minScore {min_score:g})"
                )
                entry["passed"] = False
            elif c < min_score:
                reasons.append(f"{name}: custom model scored {c:.3f}, below minScore {min_score:g}")
                entry["passed"] = False
        if min_gain is not None:
            if c is None or b is None:
                reasons.append(f"{name}: no judged scores to compare with the base model (bar {min_gain:+g})")
                entry["passed"] = False
            elif c - b < min_gain:
                reasons.append(
                    f"{name}: custom {c:.3f} vs base {b:.3f} improves by {c - b:+.3f}, "
                    f"below minImprovementOverBase {min_gain:+g}"
                )
                entry["passed"] = False
        if min_over_champion is not None:
            reason = _champion_reason(name, c, ch, float(min_over_champion), judged=champion is not None)
            if reason is not None:
                reasons.append(reason)
                entry["passed"] = False
        table[name] = entry
    passed = not reasons
    scores = ", ".join(f"{name} {_scores_text(entry)}" for name, entry in table.items())
    summary = f"Judge {judge.get('model')}: {scores}; " + (
        "every bar met." if passed else f"{JUDGE_BELOW_BAR}: {'; '.join(reasons)}."
    )
    return {
        "passed": passed,
        "judged": True,
        "summary": summary,
        "reasons": reasons,
        "metrics": table,
        "worst": worst_prompts(custom, names, worst),
    }


def _mean(results: Mapping[str, Any] | None, name: str) -> float | None:
    value = ((results or {}).get("metrics") or {}).get(name, {}).get("mean")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _difference(a: float | None, b: float | None) -> float | None:
    return round(a - b, 4) if a is not None and b is not None else None


def _champion_reason(
    name: str, custom: float | None, champion: float | None, minimum: float, *, judged: bool
) -> str | None:
    """Why the custom model misses its bar against the champion on ``name`` (None: it meets it)."""
    if not judged:
        return (
            f"{name}: the champion was not judged, so the bar minImprovementOverChampion "
            f"{minimum:+g} cannot be applied"
        )
    if custom is None or champion is None:
        return (
            f"{name}: no judged scores to compare with the champion "
            f"(bar minImprovementOverChampion {minimum:+g})"
        )
    # Rounded as the ROUGE-L bar is (pipeline.scoring): a difference invisible at the shown precision
    # never decides the gate.
    gain = round(custom - champion, 6)
    if gain >= round(minimum, 6):
        return None
    if gain < 0:
        return (
            f"{name}: custom {custom:.3f} is {-gain:.3f} below the champion's {champion:.3f} "
            f"(minImprovementOverChampion {minimum:+g})"
        )
    return (
        f"{name}: custom {custom:.3f} improves on the champion's {champion:.3f} by {gain:+.3f}, "
        f"below minImprovementOverChampion {minimum:+g}"
    )


def _scores_text(entry: Mapping[str, Any]) -> str:
    """``0.710 (base 0.600, champion 0.750)``: the custom model's mean first, the others beside it."""
    others = [f"base {_fmt(entry.get('base'))}"]
    if "champion" in entry:
        others.append(f"champion {_fmt(entry.get('champion'))}")
    return f"{_fmt(entry.get('custom'))} ({', '.join(others)})"


def _scale_text(scale: tuple[float, float] | None) -> str:
    return "n/a" if scale is None else f"{scale[0]:g}..{scale[1]:g}"


def _bar_for(bars: Mapping[str, Mapping[str, Any]], name: str) -> Mapping[str, Any]:
    for key, bar in bars.items():
        if short_name(key) == name:
            return bar
    return {}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def worst_prompts(custom: Mapping[str, Any], names: Sequence[str], count: int) -> list[dict[str, Any]]:
    """The custom model's lowest-scored prompts (mean over the metrics), with the judge's explanations."""
    scored = []
    for row in custom.get("prompts") or []:
        values = [
            s["score"] for n, s in row.get("scores", {}).items() if n in names and s.get("score") is not None
        ]
        if values:
            scored.append((sum(values) / len(values), row))
    scored.sort(key=lambda item: item[0])
    return [
        {
            "prompt": row["prompt"],
            "meanScore": round(mean, 4),
            "scores": {n: s for n, s in row["scores"].items() if n in names},
        }
        for mean, row in scored[:count]
    ]


# --------------------------------------------------------------------------------------------------
# Waiting for the jobs
# --------------------------------------------------------------------------------------------------

# GetEvaluationJob.status [BC]: InProgress | Completed | Failed | Stopping | Stopped | Deleting.
COMPLETED: Final = "Completed"
ENDED_WITHOUT_RESULTS: Final = frozenset({"Failed", "Stopping", "Stopped", "Deleting"})


def jobs_check(
    statuses: Mapping[str, str],
    failures: Mapping[str, Sequence[str]],
    previous: Mapping[str, Any] | None,
    schedule: Sequence[int],
) -> dict[str, Any]:
    """One check of the jobs, with the bookkeeping of ``pipeline.poll.next_check``: ready when every
    one completed, failed as soon as one ended without results, timed out at the end of the schedule."""
    failed = [which for which, status in statuses.items() if status in ENDED_WITHOUT_RESULTS]
    if failed:
        combined = "Failed"
    elif all(status == COMPLETED for status in statuses.values()):
        combined = "InService"
    else:
        combined = "InProgress"
    result = poll.next_check(combined, previous, schedule)
    result["status"] = ", ".join(f"{which} {status}" for which, status in statuses.items())
    result["statuses"] = dict(statuses)
    result["failureMessage"] = (
        "; ".join(
            f"{which} job {statuses[which]}: {' '.join(failures.get(which) or []) or 'no failure message'}"
            for which in failed
        )
        if failed
        else None
    )
    return result


# --------------------------------------------------------------------------------------------------
# Several models (``compare MODEL... --judge``)
# --------------------------------------------------------------------------------------------------


def dataset_for(rows: Sequence[Mapping[str, Any]], keys: Sequence[str], key: str, source: str) -> str:
    """The precomputed-response dataset of the model answering under ``key`` in comparison rows,
    over the prompts every one of ``keys`` answered (so all models are judged on the same prompts)."""
    kept = [row for row in rows if scoring.answered_by_all(row, keys)][:MAX_PROMPTS]
    return "".join(
        json.dumps(
            {
                "prompt": str(row.get("prompt", "")),
                "referenceResponse": str(row.get("reference", "")),
                "modelResponses": [{"response": _response(row[key]), "modelIdentifier": source}],
            },
            ensure_ascii=False,
        )
        + "\n"
        for row in kept
    )

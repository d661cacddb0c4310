"""The LLM judge of a run: Bedrock model evaluation jobs over the answers the compared models gave
(custom and base; in a serving slot with a champion, the champion's answers through the slot too).

Event ``{"runId", "plan", "mode", ...}`` (the plan's ``judge`` section drives everything):

- ``mode: "start"`` with ``evaluation`` (``$.evaluation``, whose ``resultsUri`` holds the
  comparison's per-prompt rows) → ``{"jobs": {"custom": {"arn", "name"}, "base": {...},
  "champion": {...}}, "prompts"}``: writes one precomputed-response dataset per model of the plan's
  judge under runs/<runId>/judge/ and starts one evaluation job per model (idempotent: the same
  token and name from the run id); the champion only where the plan's judge has a job for it.
- ``mode: "check"`` with ``jobs``, ``previous`` and ``schedule`` → ``{"ready", "failed",
  "timedOut", "attempt", "waitSeconds", "status", "statuses", "failureMessage"}``.
- ``mode: "verdict"`` with ``jobs`` → ``{"passed", "judged", "summary", "reasons", "metrics",
  "resultsUri"}``: reads every job's result files, applies the bars, writes runs/<runId>/judge.json.

Calls: s3:GetObject/PutObject/ListBucket under runs/, bedrock:CreateEvaluationJob and
bedrock:GetEvaluationJob on this account's evaluation jobs, iam:PassRole of the evaluation-job role.
"""

from __future__ import annotations

from contextlib import closing
from typing import Any

from lambdas.common import runtime
from pipeline import judge

LOG = runtime.get_logger(__name__)


class JudgeNotJudgedError(RuntimeError):
    """No prompt that every compared model answered: nothing for the judge to compare."""


def _read_text(bucket: str, key: str) -> str:
    response = runtime.client("s3").get_object(Bucket=bucket, Key=key)
    with closing(response["Body"]) as body:
        return str(body.read().decode("utf-8"))


def start(run_id: str, plan: dict[str, Any], evaluation: dict[str, Any]) -> dict[str, Any]:
    section = plan["judge"]
    bucket = str(plan["bucket"])
    results_bucket, results_key = runtime.parse_s3_uri(str(evaluation["resultsUri"]))
    rows = runtime.get_json(results_bucket, results_key).get("rows") or []
    models = judge.judged_models(section)
    datasets = judge.build_datasets(rows, max_prompts=int(section["maxPrompts"]), models=models)
    prompts = len(datasets["custom"].splitlines())
    if prompts == 0:
        # Also where the plan judges a champion the comparison did not record: never judged without it.
        raise JudgeNotJudgedError(
            f"{len(rows)} evaluation row(s), none answered by every compared model ({', '.join(models)}): "
            "nothing for the judge to compare"
        )
    s3 = runtime.client("s3")
    bedrock = runtime.client("bedrock")
    role_arn = runtime.require_env("JUDGE_ROLE_ARN")
    jobs: dict[str, Any] = {}
    for which in models:
        job = section["jobs"][which]
        s3.put_object(
            Bucket=bucket,
            Key=job["DatasetKey"],
            Body=datasets[which].encode("utf-8"),
            ContentType="application/jsonl",
        )
        created = bedrock.create_evaluation_job(**judge.create_job_request(section, which, role_arn=role_arn))
        jobs[which] = {"arn": created["jobArn"], "name": job["JobName"]}
    LOG.info("judge started", extra={"runId": run_id, "prompts": prompts, "jobs": jobs})
    return {"jobs": jobs, "prompts": prompts}


def check(event: dict[str, Any]) -> dict[str, Any]:
    bedrock = runtime.client("bedrock")
    statuses: dict[str, str] = {}
    failures: dict[str, list[str]] = {}
    for which, job in event["jobs"].items():
        described = bedrock.get_evaluation_job(jobIdentifier=job["arn"])
        statuses[which] = str(described.get("status"))
        failures[which] = [str(m) for m in described.get("failureMessages") or []]
    return judge.jobs_check(statuses, failures, event.get("previous"), list(event.get("schedule") or []))


def read_verdict(run_id: str, plan: dict[str, Any], jobs: dict[str, Any]) -> dict[str, Any]:
    section = plan["judge"]
    bucket = str(plan["bucket"])
    s3 = runtime.client("s3")
    parsed: dict[str, Any] = {}
    for which in judge.judged_models(section):
        prefix = section["jobs"][which]["OutputPrefix"]
        files: list[tuple[str, str]] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents") or []:
                key = str(item["Key"])
                if judge.is_result_file(key):
                    files.append((key, _read_text(bucket, key)))
        parsed[which] = judge.parse_results(files)
    result = judge.verdict(section, parsed["custom"], parsed["base"], parsed.get(judge.CHAMPION))
    uri = runtime.put_json(
        bucket,
        f"{plan['runPrefix']}judge.json",
        {"runId": run_id, "judgedAt": runtime.utc_now(), "judge": section["model"], "jobs": jobs, **result}
        | parsed,
    )
    response = {k: result[k] for k in ("passed", "judged", "summary", "reasons", "metrics")} | {
        "resultsUri": uri
    }
    LOG.info("judge verdict", extra={"runId": run_id, **response})
    return response


@runtime.observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    mode = str(event.get("mode"))
    run_id = str(event.get("runId"))
    if mode == "start":
        return start(run_id, event["plan"], event["evaluation"])
    if mode == "check":
        return check(event)
    if mode == "verdict":
        return read_verdict(run_id, event["plan"], event["jobs"])
    raise ValueError(f"unknown mode {mode!r}; expected start, check or verdict")

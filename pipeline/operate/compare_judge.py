"""``compare MODEL... --judge``: the workflow's LLM judge over several models' answers.

After ``compare`` collected every model's answers, each model's answers become one precomputed-
response dataset (the same prompts for all: those every model answered) and one Bedrock evaluation
job with the same judge and metrics (pipeline.judge builds the requests and reads the results, as
in the workflow). The jobs run under the stack's evaluation-job role, which may only read and write
``runs/*/judge/*`` of the stack's bucket, so datasets and results go to
``s3://<bucket>/runs/<comparison id>/judge/``. The comparison id derives from the models, the
prompts and the judge: asking again finds the same jobs (idempotency tokens) instead of paying twice.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline import judge, money, naming
from pipeline.catalog import DEFAULT_JUDGE, check_judge
from pipeline.operate import hints, output
from pipeline.operate.aws import Clients
from pipeline.operate.compare import Comparison
from pipeline.operate.errors import InvalidInputError, OperationalError
from pipeline.plan import JUDGE_WAIT_LIMIT_S, RUNS_PREFIX, poll_schedule


@dataclass(frozen=True)
class JudgeOptions:
    model: str = DEFAULT_JUDGE
    metrics: tuple[str, ...] = judge.DEFAULT_METRICS
    role_arn: str = ""
    bucket: str = ""


def options(
    model: str | None, metrics: str | None, role_arn: str | None, bucket: str | None, region: str
) -> JudgeOptions:
    """Validated ``--judge``, ``--judge-metrics``, ``--judge-role`` and ``--judge-bucket``."""
    chosen = model or DEFAULT_JUDGE
    names = tuple(m.strip() for m in (metrics or ",".join(judge.DEFAULT_METRICS)).split(",") if m.strip())
    problems = [
        str(p)
        for p in check_judge(chosen, region, builtin_metrics=True, custom_metrics=False, field_name="--judge")
    ]
    problems += [
        f"--judge-metrics: {m} is not a built-in judge metric"
        for m in names
        if m not in judge.BUILTIN_METRICS
    ]
    if not names:
        problems.append("--judge-metrics: name at least one metric")
    if not role_arn or not bucket:
        problems.append(
            "--judge needs --judge-role and --judge-bucket: the stack's evaluation-job role and training "
            f"bucket (`{hints.command('deploy-info')}` shows evaluationJobRoleArn and trainingBucket)"
        )
    if problems:
        raise InvalidInputError("; ".join(problems))
    assert role_arn and bucket
    return JudgeOptions(chosen, names, role_arn, bucket)


def comparison_id(labels: Sequence[str], prompts: Sequence[str], opts: JudgeOptions) -> str:
    digest = hashlib.sha256(
        json.dumps([list(labels), list(prompts), opts.model, list(opts.metrics)]).encode()
    ).hexdigest()
    return f"compare-{digest[:10]}"


def section(result: Comparison, opts: JudgeOptions, cid: str) -> dict[str, Any]:
    """The judge section (the plan's shape) with one job per compared model."""
    prefix = f"{RUNS_PREFIX}{cid}/judge/"
    jobs = {}
    for index, target in enumerate(result.targets, start=1):
        which = f"m{index}"
        jobs[target.label] = {
            "JobName": naming.judge_job_name(cid, which),
            "ClientRequestToken": naming.judge_request_token(cid, which),
            "Description": f"bedrock-customize compare {cid}: LLM judge of {target.label}"[:200],
            "DatasetName": f"{which}-answers",
            "DatasetKey": f"{prefix}{which}-answers.jsonl",
            "DatasetUri": f"s3://{opts.bucket}/{prefix}{which}-answers.jsonl",
            "SourceIdentifier": f"model-{index}",
            "OutputPrefix": f"{prefix}output/{which}/",
            "OutputUri": f"s3://{opts.bucket}/{prefix}output/{which}/",
        }
    return {"model": opts.model, "metrics": list(opts.metrics), "customMetrics": [], "jobs": jobs, "tags": []}


def run(
    result: Comparison,
    opts: JudgeOptions,
    clients: Clients,
    *,
    sleep: Callable[[float], None] | None = None,
    progress: Callable[[str], None] | None = None,
    limit_s: int = JUDGE_WAIT_LIMIT_S,
) -> dict[str, Any]:
    """Start one evaluation job per model, wait for all, read and tabulate the judge's scores."""
    labels = [t.label for t in result.targets]
    cid = comparison_id(labels, [str(r.get("prompt")) for r in result.rows], opts)
    judged = section(result, opts, cid)
    s3, bedrock = clients("s3"), clients("bedrock")
    arns: dict[str, str] = {}
    for label, job in judged["jobs"].items():
        body = judge.dataset_for(result.rows, labels, label, job["SourceIdentifier"])
        if not body:
            raise OperationalError("no prompt was answered by every model: nothing for the judge to compare")
        s3.put_object(Bucket=opts.bucket, Key=job["DatasetKey"], Body=body.encode("utf-8"))
        created = bedrock.create_evaluation_job(
            **judge.create_job_request(judged, label, role_arn=opts.role_arn)
        )
        arns[label] = created["jobArn"]
    if progress is not None:
        progress(f"judge {opts.model}: {len(arns)} evaluation job(s) started ({cid}); waiting")
    schedule = poll_schedule(limit_s)
    previous: dict[str, Any] | None = None
    while True:
        statuses, failures = {}, {}
        for label, arn in arns.items():
            described = bedrock.get_evaluation_job(jobIdentifier=arn)
            statuses[label] = str(described.get("status"))
            failures[label] = [str(m) for m in described.get("failureMessages") or []]
        check = judge.jobs_check(statuses, failures, previous, schedule)
        if check["ready"]:
            break
        if check["failed"]:
            raise OperationalError(
                f"the judge's evaluation jobs ended without results: {check['failureMessage']}"
            )
        if check["timedOut"]:
            raise OperationalError(
                f"the judge's evaluation jobs were not done after {check['attempt']} checks "
                f"({check['status']})",
                hint=f"they keep running; their results will be under s3://{opts.bucket}/{RUNS_PREFIX}{cid}/judge/",
            )
        previous = check
        if progress is not None:
            progress(f"judge: {check['status']}; next check in {check['waitSeconds']} s")
        (sleep or time.sleep)(check["waitSeconds"])
    parsed: dict[str, Any] = {}
    for label, job in judged["jobs"].items():
        files = []
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=opts.bucket, Prefix=job["OutputPrefix"]
        ):
            for item in page.get("Contents") or []:
                key = str(item["Key"])
                if judge.is_result_file(key):
                    files.append(
                        (key, s3.get_object(Bucket=opts.bucket, Key=key)["Body"].read().decode("utf-8"))
                    )
        parsed[label] = judge.parse_results(files)
    names = [judge.short_name(m) for m in opts.metrics]
    return {
        "comparisonId": cid,
        "judge": opts.model,
        "metrics": {
            name: {label: (parsed[label]["metrics"].get(name) or {}).get("mean") for label in labels}
            for name in names
        },
        "jobs": arns,
        "resultsPrefix": f"s3://{opts.bucket}/{RUNS_PREFIX}{cid}/judge/output/",
    }


def render(judged: Mapping[str, Any]) -> str:
    metrics: Mapping[str, Mapping[str, Any]] = judged["metrics"]
    labels = list(next(iter(metrics.values()), {}))
    rows = [
        [
            label,
            *(
                money.UNKNOWN if metrics[m].get(label) is None else f"{metrics[m][label]:.3f}"
                for m in metrics
            ),
        ]
        for label in labels
    ]
    table = output.table(["MODEL", *(m.upper() for m in metrics)], rows, right=range(1, len(metrics) + 1))
    return (
        f"\nJudged by {judged['judge']} (one Bedrock evaluation job per model, scores 0 to 1, mean over the "
        f"prompts every model answered; results under {judged['resultsPrefix']}):\n\n{table}\n"
    )

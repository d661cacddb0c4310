"""LLM-judge model evaluation jobs of the simulated Bedrock: create (over precomputed responses, one
model per job, an evaluator model required), get, list, stop. A completed job writes its result
files in the documented layout [UG:model-evaluation-report-s3] with the scenario's scores."""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Final

from pipeline.simulation.fake_bedrock.core import CLIENT_TOKEN, BedrockCore, check_field
from pipeline.simulation.fake_bedrock.records import EvaluationJob
from pipeline.simulation.wire import ServiceError

_EVALUATION_JOB_NAME: Final = re.compile(r"^[a-z0-9](-*[a-z0-9]){0,62}$")  # lowercase only [BC]


class EvaluationJobs(BedrockCore):
    """CreateEvaluationJob, GetEvaluationJob, ListEvaluationJobs, StopEvaluationJob."""

    def _bedrock_create_evaluation_job(self, params: dict[str, Any]) -> dict[str, Any]:
        """Judge precomputed responses: one model identifier per job, datasets read from S3 now."""
        name = params["jobName"]
        token = params.get("clientRequestToken") or self._id("token", name, str(self.clock.elapsed()))
        check_field(_EVALUATION_JOB_NAME.match(name), "jobName", name)
        check_field(CLIENT_TOKEN.match(token), "clientRequestToken", token)
        for job in self.evaluation_jobs.values():
            if job.token == token:
                job.create_requests += 1
                return {"jobArn": job.arn}
            if job.name == name:
                raise ServiceError("ConflictException", f"An evaluation job named {name} already exists")
        self._check_role(params["roleArn"])
        automated = (params.get("evaluationConfig") or {}).get("automated") or {}
        # botocore: evaluatorModelConfig "is required for ... model evaluation job that use a model as
        # judge"; custom metrics name their evaluator again inside customMetricConfig.
        if not (automated.get("evaluatorModelConfig") or {}).get("bedrockEvaluatorModels"):
            raise ServiceError("ValidationException", "a model-as-a-judge job needs evaluatorModelConfig")
        models = (params.get("inferenceConfig") or {}).get("models") or []
        sources = [m["precomputedInferenceSource"]["inferenceSourceIdentifier"] for m in models]
        if len(sources) != 1 or len(models) != 1:
            raise ServiceError(
                "ValidationException", "a judge job over precomputed responses takes one model"
            )
        for config in automated.get("datasetMetricConfigs") or []:
            lines = self._dataset_lines(config["dataset"]["datasetLocation"]["s3Uri"])
            if not 1 <= len(lines) <= 1000:
                raise ServiceError(
                    "ValidationException", f"the dataset holds {len(lines)} prompts (1 to 1000)"
                )
            identifiers = {r["modelIdentifier"] for line in lines for r in line.get("modelResponses") or []}
            if identifiers != set(sources):
                raise ServiceError(
                    "ValidationException",
                    f"modelResponses identify {sorted(identifiers)}, the job's source is {sources[0]}",
                )
        now = self.clock.elapsed()
        behaviour = self.behaviour.judge
        job = EvaluationJob(
            arn=self._arn("evaluation-job", self._id("evaluation-job", name)),
            name=name,
            token=token,
            request=copy.deepcopy(params),
            created=now,
            done_at=now + behaviour.seconds,
            outcome=behaviour.outcome,
        )
        self.evaluation_jobs[job.arn] = job
        return {"jobArn": job.arn}

    def _dataset_lines(self, uri: str) -> list[dict[str, Any]]:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            body = self._client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        except Exception:
            raise ServiceError("ValidationException", f"cannot read the dataset {uri}") from None
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def _bedrock_get_evaluation_job(self, params: dict[str, Any]) -> dict[str, Any]:
        identifier = params["jobIdentifier"]
        job = self.evaluation_jobs.get(identifier) or next(
            (j for j in self.evaluation_jobs.values() if j.name == identifier), None
        )
        if job is None:
            raise ServiceError("ResourceNotFoundException", f"No evaluation job {identifier}", status=404)
        status = job.status(self.clock.elapsed())
        if status == "Completed" and not job.results:
            self._write_judge_results(job)
        out: dict[str, Any] = {
            "jobName": job.name,
            "status": status,
            "jobArn": job.arn,
            "roleArn": job.request["roleArn"],
            "jobType": "Automated",
            "applicationType": "ModelEvaluation",
            "evaluationConfig": job.request["evaluationConfig"],
            "inferenceConfig": job.request["inferenceConfig"],
            "outputDataConfig": job.request["outputDataConfig"],
            "creationTime": self.clock.at(job.created),
            "lastModifiedTime": self.clock.at(job.created if status == "InProgress" else job.done_at),
        }
        if status == "Failed":
            out["failureMessages"] = [self.behaviour.judge.failure_message]
        return out

    def _bedrock_list_evaluation_jobs(self, params: dict[str, Any]) -> dict[str, Any]:
        now = self.clock.elapsed()
        summaries = [
            {
                "jobArn": job.arn,
                "jobName": job.name,
                "status": job.status(now),
                "creationTime": self.clock.at(job.created),
                "jobType": "Automated",
                "evaluationTaskTypes": ["General"],
                "modelIdentifiers": [],
            }
            for job in self.evaluation_jobs.values()
            if params.get("nameContains", "") in job.name
            and params.get("statusEquals") in (None, job.status(now))
        ]
        # jobSummaries has at least one member in botocore's model: none found = no key.
        return {"jobSummaries": summaries} if summaries else {}

    def _bedrock_stop_evaluation_job(self, params: dict[str, Any]) -> dict[str, Any]:
        job = self.evaluation_jobs.get(params["jobIdentifier"])
        if job is None:
            raise ServiceError(
                "ResourceNotFoundException", f"No evaluation job {params['jobIdentifier']}", status=404
            )
        now = self.clock.elapsed()
        if job.status(now) != "InProgress":
            raise ServiceError(
                "ConflictException", f"evaluation job {job.name} is not in progress", status=409
            )
        job.stopped_at = now
        return {}

    def _write_judge_results(self, job: EvaluationJob) -> None:
        """Result files in the documented layout [UG:model-evaluation-report-s3], scores from the scenario:
        around the scenario's mean for this model, every metric, with an explanation per score."""
        behaviour = self.behaviour.judge
        source = job.request["inferenceConfig"]["models"][0]["precomputedInferenceSource"][
            "inferenceSourceIdentifier"
        ]
        # The dataset's model identifier says whose answers these are (pipeline.judge.SOURCE_IDENTIFIERS).
        if source.startswith("base"):
            mean = behaviour.base_score
        elif source.startswith("champion"):
            mean = behaviour.champion_score
        else:
            mean = behaviour.custom_score
        output = job.request["outputDataConfig"]["s3Uri"]
        bucket, _, prefix = output.removeprefix("s3://").partition("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        s3 = self._client("s3")
        automated = job.request["evaluationConfig"]["automated"]
        # A custom metric is reported as the value of the rating the judge chose (UNCONFIRMED, see
        # pipeline.judge): the simulated 0..1 score picks the nearest rating of its scale.
        scales = {
            m["customMetricDefinition"]["name"]: [
                r["value"]["floatValue"]
                for r in m["customMetricDefinition"].get("ratingScale") or []
                if "floatValue" in r["value"]
            ]
            for m in (automated.get("customMetricConfig") or {}).get("customMetrics") or []
        }
        for config in automated["datasetMetricConfigs"]:
            dataset = config["dataset"]
            lines = self._dataset_lines(dataset["datasetLocation"]["s3Uri"])
            records = []
            for index, line in enumerate(lines):
                # +-0.1 in pairs, so the mean over an even number of prompts is the scenario's.
                spread = (
                    0.0 if index == len(lines) - 1 and len(lines) % 2 else (0.1 if index % 2 == 0 else -0.1)
                )
                score = round(min(1.0, max(0.0, mean + spread)), 4)
                records.append(
                    {
                        "automatedEvaluationResult": {
                            "scores": [
                                {
                                    "metricName": metric,
                                    "result": _on_scale(score, scales.get(metric)),
                                    "evaluatorDetails": [
                                        {
                                            "modelIdentifier": self.foundation_model_arn("judge"),
                                            "explanation": f"The answer scores {score:.2f} on {metric} "
                                            "against the reference (simulated judge).",
                                        }
                                    ],
                                }
                                for metric in config["metricNames"]
                            ]
                        },
                        "inputRecord": {k: v for k, v in line.items() if k != "modelResponses"},
                        "modelResponses": line.get("modelResponses") or [],
                    }
                )
            key = (
                f"{prefix}{job.name}/{self._id('uuid', job.arn)}/models/{source}/taskTypes/"
                f"{config['taskType']}/datasets/{dataset['name']}/{self._id('file', job.arn)}_output.jsonl"
            )
            body = "".join(json.dumps(r) + "\n" for r in records)
            s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"))
            job.results.append(f"s3://{bucket}/{key}")


def _on_scale(score: float, ratings: list[float] | None) -> float:
    """A 0..1 score as the nearest rating of a custom metric's numeric scale (itself without one)."""
    if not ratings:
        return score
    low, high = min(ratings), max(ratings)
    return min(ratings, key=lambda value: abs(value - (low + score * (high - low))))

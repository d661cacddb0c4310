"""Customization jobs of the simulated Bedrock: create (idempotent), get, list, stop; the metrics files
a completed job writes; a reinforcement fine-tuning job's training loop against its grader Lambda.

**Customization jobs** (CreateModelCustomizationJob, Get by name or ARN, List, Stop).
``clientRequestToken`` makes creation idempotent: the same token with the same request returns the
same job; with a different request it is refused (ConflictException, an assumption: Bedrock
documents the token but not the mismatch error). A job is ``InProgress`` for
``job.durationSeconds``, then ``Completed`` (the custom model appears, ``Active``), ``Failed``
(``failureMessage``) or ``Stopping`` → ``Stopped`` 60 s later (as if someone stopped it in the
console). StopModelCustomizationJob does the same from now; stopping a job that is not in
progress is a ConflictException [bedrock.md §4.3]. A job whose training data is missing in S3
fails 5 minutes in, like a real one that cannot read its data.

**Metrics files**, written to the job's output prefix when it completes [bedrock.md §5]:
``model-customization-job-<id>/training_artifacts/step_wise_training_metrics.csv`` and, with
validation data, a ``validation_metrics.csv`` whose folder varies by model family as in the
AWS samples (Nova: ``validation_artifacts/post_fine_tuning_validation/validation/``, Llama:
``validation_artifacts/``, others: ``validation_artifacts/post_fine_tuning_validation/``).
Columns ``step_number, epoch_number, training_loss|validation_loss, perplexity``. The final
losses are also reported by GetModelCustomizationJob (``trainingMetrics``,
``validationMetrics``).

A **reinforcement fine-tuning** job plays its training loop when it is created: per step, a batch
of training prompts with several sampled answers each, scored by the run's grader Lambda (invoked
through the simulated Lambda service); a failing grader fails the job at that step.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Mapping
from typing import Any, Final

from pipeline import graders
from pipeline.simulation.fake_bedrock.behaviour import JobBehaviour
from pipeline.simulation.fake_bedrock.core import CLIENT_TOKEN, MODEL_NAME, BedrockCore, check_field, page
from pipeline.simulation.fake_bedrock.records import CustomModel, Job, RftRun
from pipeline.simulation.wire import ServiceError

RFT: Final = "REINFORCEMENT_FINE_TUNING"
# The reward columns of an RFT job's step-wise metrics, named as the guide names the metrics (UNCONFIRMED
# as CSV columns; pipeline.training_loss reads them).
RFT_REWARD_COLUMNS: Final = ("critic/rewards/mean", "critic/rewards/min", "critic/rewards/max")
_WRONG_RFT_ANSWER: Final = "I am not sure which one."
JOB_TERMINAL: Final = frozenset({"Completed", "Failed", "Stopped"})
STOPPING_SECONDS: Final = 60
MISSING_DATA_FAIL_SECONDS: Final = 300
_JOB_NAME: Final = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*$")


class CustomizationJobs(BedrockCore):
    """CreateModelCustomizationJob, GetModelCustomizationJob, ListModelCustomizationJobs,
    StopModelCustomizationJob; what a job has done by now (its custom model, its metrics files)."""

    def _bedrock_create_model_customization_job(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["jobName"]
        token = params.get("clientRequestToken") or self._id("token", name, str(self.clock.elapsed()))
        check_field(_JOB_NAME.match(name) and len(name) <= 63, "jobName", name)
        check_field(MODEL_NAME.match(params["customModelName"]), "customModelName", params["customModelName"])
        check_field(CLIENT_TOKEN.match(token), "clientRequestToken", token)
        for job in self.jobs.values():
            if job.token == token:
                if job.request != params:
                    raise ServiceError(
                        "ConflictException",
                        f"clientRequestToken {token} was already used for job {job.name} with different "
                        "parameters",
                    )
                job.create_requests += 1
                return {"jobArn": job.arn}
            if job.name == name:
                raise ServiceError(
                    "ConflictException", f"a model customization job named {name} already exists"
                )
        if any(model.name == params["customModelName"] for model in self.custom_models.values()):
            raise ServiceError(
                "ConflictException", f"a custom model named {params['customModelName']} already exists"
            )
        model = self._base_model(params["baseModelIdentifier"])
        ctype = params.get("customizationType", "FINE_TUNING")
        if not model.supports(ctype):
            raise ServiceError("ValidationException", model.unsupported_message(ctype))
        self._check_role(params["roleArn"])
        if params.get("customModelKmsKeyId"):
            self._check_key(params["customModelKmsKeyId"])
        if ctype == RFT:
            self._check_rft_request(params)
        if ctype == "DISTILLATION" and not (params.get("customizationConfig") or {}).get(
            "distillationConfig"
        ):
            raise ServiceError(
                "ValidationException", "DISTILLATION needs customizationConfig.distillationConfig"
            )
        now = self.clock.elapsed()
        job_id = self._id("job", token)
        behaviour = self.behaviour.job
        end = now + behaviour.duration_seconds
        timeline: list[tuple[float, str, str | None]] = [(now, "InProgress", None)]
        missing = self._missing_data(params)
        rft: RftRun | None = None
        if ctype == RFT and not missing:
            rft = self._reinforcement(params, job_id, now, behaviour)
        if rft is not None and rft.failure is not None:
            timeline.append((rft.failed_at, "Failed", rft.failure))
        elif missing:
            timeline.append(
                (
                    now + MISSING_DATA_FAIL_SECONDS,
                    "Failed",
                    f"Unable to read {missing}: the object does not exist",
                )
            )
        elif behaviour.outcome == "Completed":
            timeline.append((end, "Completed", None))
        elif behaviour.outcome == "Failed":
            timeline.append((end, "Failed", behaviour.failure_message))
        elif behaviour.outcome == "Stopped":
            timeline += [(end, "Stopping", None), (end + STOPPING_SECONDS, "Stopped", None)]
        else:
            raise ValueError(f"job outcome {behaviour.outcome!r} is not Completed, Failed or Stopped")
        job = Job(
            arn=self._arn("model-customization-job", model.model_id, job_id),
            job_id=job_id,
            name=name,
            token=token,
            request=params,
            created=now,
            timeline=timeline,
            rewards=rft.rewards if rft is not None else [],
            grader_calls=rft.calls if rft is not None else 0,
        )
        self.jobs[job.arn] = job
        for when, _, _ in timeline:
            self.clock.schedule(when)
        return {"jobArn": job.arn}

    def _missing_data(self, params: Mapping[str, Any]) -> str | None:
        uris = [params["trainingDataConfig"].get("s3Uri")]
        uris += [v.get("s3Uri") for v in (params.get("validationDataConfig") or {}).get("validators", [])]
        s3 = self._client("s3")
        for uri in uris:
            if not uri:
                continue
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            try:
                s3.head_object(Bucket=bucket, Key=key)
            except Exception:
                return str(uri)
        return None

    def _job(self, identifier: str) -> Job:
        for job in self.jobs.values():
            if identifier in (job.arn, job.name):
                self._advance(job)
                return job
        raise ServiceError("ResourceNotFoundException", f"model customization job {identifier} not found")

    def job_status(self, job: Job, at: float | None = None) -> tuple[str, str | None, float]:
        """(status, failure message, since) at simulated time ``at`` (default now)."""
        now = self.clock.elapsed() if at is None else at
        current = job.timeline[0]
        for entry in job.timeline:
            if entry[0] <= now:
                current = entry
        return current[1], current[2], current[0]

    def _advance(self, job: Job) -> None:
        """Make what has happened by now visible: the custom model and the metrics files."""
        status, _, since = self.job_status(job)
        if status == "Completed" and job.output_model_arn is None:
            model = self._base_model(job.request["baseModelIdentifier"])
            arn = self._arn("custom-model", model.model_id, self._id("model", job.token))
            self.custom_models[arn] = CustomModel(arn, job.request["customModelName"], job.arn, since)
            job.output_model_arn = arn
            self._write_metrics(job)

    def _bedrock_get_model_customization_job(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.describe_job(self._job(params["jobIdentifier"]))

    def describe_job(self, job: Job) -> dict[str, Any]:
        request = job.request
        status, failure, since = self.job_status(job)
        model = self._base_model(request["baseModelIdentifier"])
        out: dict[str, Any] = {
            "jobArn": job.arn,
            "jobName": job.name,
            "outputModelName": request["customModelName"],
            "clientRequestToken": job.token,
            "roleArn": request["roleArn"],
            "status": status,
            "creationTime": self.clock.at(job.created),
            "lastModifiedTime": self.clock.at(since),
            "baseModelArn": self.foundation_model_arn(model.model_id),
            "trainingDataConfig": request["trainingDataConfig"],
            "validationDataConfig": request.get("validationDataConfig") or {"validators": []},
            "outputDataConfig": request["outputDataConfig"],
            "customizationType": request.get("customizationType", "FINE_TUNING"),
        }
        for key in ("hyperParameters", "vpcConfig", "customizationConfig"):
            if request.get(key):
                out[key] = request[key]
        if request.get("customModelKmsKeyId"):
            out["outputModelKmsKeyArn"] = request["customModelKmsKeyId"]
        if status in JOB_TERMINAL:
            out["endTime"] = self.clock.at(since)
        if status == "Failed":
            out["failureMessage"] = failure
        if status == "Completed":
            out["outputModelArn"] = job.output_model_arn
            training, validation = self._final_losses(job)
            out["trainingMetrics"] = {"trainingLoss": training}
            if validation is not None:
                out["validationMetrics"] = [{"validationLoss": validation} for _ in self._validators(job)]
        return out

    def _bedrock_list_model_customization_jobs(self, params: dict[str, Any]) -> dict[str, Any]:
        summaries = []
        for job in sorted(self.jobs.values(), key=lambda j: j.created):
            self._advance(job)
            status, _, since = self.job_status(job)
            if params.get("statusEquals") not in (None, status):
                continue
            if params.get("nameContains") and params["nameContains"] not in job.name:
                continue
            summary: dict[str, Any] = {
                "jobArn": job.arn,
                "baseModelArn": self.foundation_model_arn(
                    self._base_model(job.request["baseModelIdentifier"]).model_id
                ),
                "jobName": job.name,
                "status": status,
                "creationTime": self.clock.at(job.created),
                "lastModifiedTime": self.clock.at(since),
                "customModelName": job.request["customModelName"],
                "customizationType": job.request.get("customizationType", "FINE_TUNING"),
            }
            if status in JOB_TERMINAL:
                summary["endTime"] = self.clock.at(since)
            if job.output_model_arn:
                summary["customModelArn"] = job.output_model_arn
            summaries.append(summary)
        if params.get("sortOrder") == "Descending":
            summaries.reverse()
        return page(summaries, params, "modelCustomizationJobSummaries")

    def _bedrock_stop_model_customization_job(self, params: dict[str, Any]) -> dict[str, Any]:
        job = self._job(params["jobIdentifier"])
        job.stop_requests += 1
        status, _, _ = self.job_status(job)
        if status != "InProgress":
            raise ServiceError(
                "ConflictException", f"job {job.name} is {status}, not InProgress; nothing to stop"
            )
        now = self.clock.elapsed()
        job.timeline = [e for e in job.timeline if e[0] <= now] + [
            (now, "Stopping", None),
            (now + STOPPING_SECONDS, "Stopped", None),
        ]
        self.clock.schedule(now + STOPPING_SECONDS)
        return {}

    # -- metrics files ---------------------------------------------------------------------------

    def _validators(self, job: Job) -> list[Any]:
        return list((job.request.get("validationDataConfig") or {}).get("validators") or [])

    def _final_losses(self, job: Job) -> tuple[float, float | None]:
        behaviour = self.behaviour.job
        validation = behaviour.validation_loss[1] if self._validators(job) else None
        return behaviour.training_loss[1], validation

    def _write_metrics(self, job: Job) -> None:
        behaviour = self.behaviour.job
        output = job.request["outputDataConfig"]["s3Uri"]
        bucket, _, prefix = output.removeprefix("s3://").partition("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        folder = f"{prefix}model-customization-job-{job.job_id}/"
        epochs = max(1, int(float((job.request.get("hyperParameters") or {}).get("epochCount", "2"))))
        steps = max(2, behaviour.steps)
        rows = []
        for step in range(steps):
            loss = _curve(behaviour.training_loss, step, steps, seed=f"{job.job_id}/t{step}")
            rows.append([step, step * epochs // steps + 1, f"{loss:.6f}", f"{math.exp(loss):.6f}"])
        files = {
            f"{folder}training_artifacts/step_wise_training_metrics.csv": _csv(
                ["step_number", "epoch_number", "training_loss", "perplexity"], rows
            )
        }
        if job.rewards:
            # RFT: the reward statistics the console plots [UG:rft-submit-job] (critic/rewards/*), per
            # step, beside the loss. That Bedrock writes them to this file under these column names is
            # UNCONFIRMED: the guide names the metrics, not the output files of an RFT job.
            count = len(job.rewards)
            files[f"{folder}training_artifacts/step_wise_training_metrics.csv"] = _csv(
                ["step_number", "epoch_number", "training_loss", *RFT_REWARD_COLUMNS],
                [
                    [
                        step,
                        epoch,
                        f"{_curve(behaviour.training_loss, i, count, seed=f'{job.job_id}/t{i}'):.6f}",
                        f"{mean:.6f}",
                        f"{low:.6f}",
                        f"{high:.6f}",
                    ]
                    for i, (step, epoch, mean, low, high) in enumerate(job.rewards)
                ],
            )
        if self._validators(job):
            validation_rows = []
            for epoch in range(1, epochs + 1):
                loss = _curve(behaviour.validation_loss, epoch - 1, epochs, seed=f"{job.job_id}/v{epoch}")
                validation_rows.append(
                    [epoch * steps // epochs - 1, epoch, f"{loss:.6f}", f"{math.exp(loss):.6f}"]
                )
            files[
                f"{folder}{_validation_folder(job.request['baseModelIdentifier'])}validation_metrics.csv"
            ] = _csv(["step_number", "epoch_number", "validation_loss", "perplexity"], validation_rows)
        s3 = self._client("s3")
        for key, body in files.items():
            s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType="text/csv")
            job.metrics_written.append(f"s3://{bucket}/{key}")

    # -- reinforcement fine-tuning --------------------------------------------------------------

    def _check_rft_request(self, params: Mapping[str, Any]) -> None:
        """rftConfig with a Lambda grader [BC]; and, in this simulation, no string hyperParameters
        next to it (what Bedrock does with them is UNCONFIRMED: the pipeline never sends them)."""
        rft = (params.get("customizationConfig") or {}).get("rftConfig") or {}
        arn = ((rft.get("graderConfig") or {}).get("lambdaGrader") or {}).get("lambdaArn")
        if not arn:
            raise ServiceError(
                "ValidationException",
                "REINFORCEMENT_FINE_TUNING needs "
                "customizationConfig.rftConfig.graderConfig.lambdaGrader.lambdaArn",
            )
        if params.get("hyperParameters"):
            raise ServiceError(
                "ValidationException",
                "REINFORCEMENT_FINE_TUNING takes its hyperparameters in rftConfig.hyperParameters "
                "(simulated: the top-level string map is refused)",
            )

    def _reinforcement(
        self, params: Mapping[str, Any], job_id: str, now: float, behaviour: JobBehaviour
    ) -> RftRun:
        """Play the job's training loop: per step, a batch of training prompts, several sampled answers
        each, scored by the run's grader Lambda (invoked for real, through the simulated Lambda
        service), whose mean reward is the step's reward. A grader that fails (a function error, an
        Invoke error, an answer out of contract) fails the job at that step (how Bedrock treats a
        failing grader is UNCONFIRMED: it may retry; failing is the conservative reading)."""
        rft = params["customizationConfig"]["rftConfig"]
        arn = rft["graderConfig"]["lambdaGrader"]["lambdaArn"]
        hyper = rft.get("hyperParameters") or {}
        records = self._training_records(params["trainingDataConfig"]["s3Uri"])
        run = RftRun()
        if not records:
            run.failure, run.failed_at = (
                "The training data holds no usable prompt",
                now + MISSING_DATA_FAIL_SECONDS,
            )
            return run
        epochs = int(hyper.get("epochCount") or 1)
        batch = int(hyper.get("batchSize") or 16)
        answers = int(hyper.get("trainingSamplePerPrompt") or 4)
        total = max(1, math.ceil(len(records) * epochs / batch))
        steps = min(total, max(2, behaviour.steps))
        step_seconds = behaviour.duration_seconds / steps
        first, final = behaviour.reward
        for step in range(steps):
            right_share = first + (final - first) * (step / (steps - 1) if steps > 1 else 1.0)
            samples = []
            for slot in range(batch):
                _, record = records[(step * batch + slot) % len(records)]
                for k in range(answers):
                    seed = int(hashlib.sha256(f"{job_id}/{step}/{slot}/{k}".encode()).hexdigest()[:8], 16)
                    right = seed / 0xFFFFFFFF < right_share
                    answer = graders.answer_like_reference(record) if right else _WRONG_RFT_ANSWER
                    samples.append(graders.sample_for(record, f"{job_id}-{step}-{slot}-{k}", answer))
            run.calls += 1
            scores, problem = self._grade(arn, samples)
            if problem is not None:
                run.failure = f"The grader Lambda {arn} failed at training step {step}: {problem}"
                run.failed_at = now + (step + 1) * step_seconds
                return run
            epoch = min(epochs, step * epochs // steps + 1)
            run.rewards.append((step, epoch, sum(scores) / len(scores), min(scores), max(scores)))
        return run

    def _training_records(self, uri: str) -> list[tuple[int, Mapping[str, Any]]]:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        body = self._client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return list(graders.read_records(body.splitlines(), 20_000))

    def _grade(self, arn: str, samples: list[dict[str, Any]]) -> tuple[list[float], str | None]:
        """The grader's scores, or why the grader failed."""
        try:
            response = self._client("lambda").invoke(
                FunctionName=arn,
                InvocationType="RequestResponse",
                Payload=json.dumps(samples).encode("utf-8"),
            )
            output = graders.decode_lambda_response(response)
        except graders.GraderInvocationError as error:
            return [], str(error)
        except Exception as error:  # the Invoke call itself failed (throttled, service error, no function)
            code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
            return [], f"Lambda Invoke failed: {code}: {error}"
        dry = [graders.DrySample(0, "sampled", sample) for sample in samples]
        report = graders.check_grader_output("grader", dry, output)
        if report.problems:
            return [], "its answer breaks the grader contract: " + "; ".join(report.problems[:3])
        return [float(item["aggregate_reward_score"]) for item in output], None


def _curve(bounds: tuple[float, float], index: int, count: int, *, seed: str) -> float:
    """A decreasing loss from bounds[0] to exactly bounds[1], with a little deterministic noise."""
    first, final = bounds
    if count <= 1 or index >= count - 1:
        return final
    progress = index / (count - 1)
    value = final + (first - final) * math.exp(-4 * progress) * (1 - progress)
    noise = (
        (int(hashlib.sha256(seed.encode()).hexdigest()[:6], 16) / 0xFFFFFF - 0.5) * 0.04 * abs(first - final)
    )
    return max(0.0, value + noise)


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _validation_folder(base_model: str) -> str:
    """Where the validation metrics land: it differs by model family in AWS's own samples."""
    if base_model.startswith("amazon.nova"):
        return "validation_artifacts/post_fine_tuning_validation/validation/"
    if base_model.startswith("meta."):
        return "validation_artifacts/"
    return "validation_artifacts/post_fine_tuning_validation/"

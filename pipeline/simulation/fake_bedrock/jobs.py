"""A simulated Amazon Bedrock: customization jobs, custom models, Provisioned Throughput, on-demand
deployments of custom models, Converse.

It serves the real HTTP API (``bedrock.<region>.amazonaws.com`` and
``bedrock-runtime.<region>.amazonaws.com``, REST-JSON) through :mod:`pipeline.simulation.wire`,
so the shapes are botocore's (service-2.json of bedrock 2023-04-20 and bedrock-runtime
2023-09-30, documented in docs/…/bedrock.md §4 and §10): requests are decoded by the model and
responses are checked against it. The state machine's ``aws-sdk:bedrock:*`` tasks, its ``.sync``
job integration and the handlers' boto3 clients all reach it the same way.

What it simulates (times are on the simulation's :class:`~pipeline.simulation.clock.SimClock`):

- **Customization jobs** (CreateModelCustomizationJob, Get by name or ARN, List, Stop).
  ``clientRequestToken`` makes creation idempotent: the same token with the same request returns the
  same job; with a different request it is refused (ConflictException, an assumption: Bedrock
  documents the token but not the mismatch error). A job is ``InProgress`` for
  ``job.durationSeconds``, then ``Completed`` (the custom model appears, ``Active``), ``Failed``
  (``failureMessage``) or ``Stopping`` → ``Stopped`` 60 s later (as if someone stopped it in the
  console). StopModelCustomizationJob does the same from now; stopping a job that is not in
  progress is a ConflictException [bedrock.md §4.3]. A job whose training data is missing in S3
  fails 5 minutes in, like a real one that cannot read its data.
- **Metrics files**, written to the job's output prefix when it completes [bedrock.md §5]:
  ``model-customization-job-<id>/training_artifacts/step_wise_training_metrics.csv`` and, with
  validation data, a ``validation_metrics.csv`` whose folder varies by model family as in the
  AWS samples (Nova: ``validation_artifacts/post_fine_tuning_validation/validation/``, Llama:
  ``validation_artifacts/``, others: ``validation_artifacts/post_fine_tuning_validation/``).
  Columns ``step_number, epoch_number, training_loss|validation_loss, perplexity``. The final
  losses are also reported by GetModelCustomizationJob (``trainingMetrics``,
  ``validationMetrics``).
- **Provisioned Throughput** (Create, Get by ARN or name, List, Delete). ``clientRequestToken``
  makes a purchase idempotent the same way. ``Creating`` for ``throughput.creatingSeconds``, then
  ``InService`` or ``Failed``; outcome ``Creating`` never leaves Creating. The model must be an
  ``Active`` custom model of this account. A commitment cannot be deleted before its term ends
  (ConflictException [bedrock.md §4.5]); deleting a no-commitment purchase works in any status
  unless ``throughput.deleteWhileCreating`` is false (whether Bedrock allows deleting a purchase
  that is still Creating is UNCONFIRMED).
- **Custom model deployments** (on-demand serving of a custom model [bedrock.md §4.6, §12]: Create,
  Get by ARN or name, List, Delete). ``clientRequestToken`` makes creation idempotent the same way;
  a name is unique per account and Region among live deployments (a duplicate is a
  ConflictException: UNCONFIRMED, the operation models no ConflictException). ``modelArn`` must be
  the ARN of an ``Active`` custom model of this account and Region, whose base deploys on demand
  in this Region (``ModelInfo.deploys_on_demand``; ValidationException otherwise). ``Creating``
  for ``deployment.creatingSeconds`` (default 480 s: a third party saw Active after ~8 min), then
  ``Active`` or ``Failed``; outcome ``Creating`` never leaves Creating. Deleting works in any
  status; a deleted deployment is gone (ResourceNotFoundException).
- **Converse** on a Provisioned Throughput ARN (it must be InService: ModelNotReadyException
  while Creating), a custom model deployment ARN (it must be Active: ModelNotReadyException while
  Creating, UNCONFIRMED), both answering as the custom model, or an on-demand base model: its id,
  its foundation-model ARN, or a cross-Region inference profile (``us.<id>``, ``eu.``, ``apac.``
  for a Region of that geography, or its ``inference-profile/`` ARN). A base that is served only
  through a profile (``ModelInfo.invoked_through_profile``) refuses its plain id with Bedrock's
  "on-demand throughput isn't supported" ValidationException. ``models.baseError`` makes the base
  unreachable: every call on it fails with that error code and Bedrock's message for it, except
  that a ValidationException (the on-demand-throughput refusal) still lets the inference profile
  answer. The answer is the reference answer the model "learned" (see :meth:`FakeBedrock.learn`)
  cut to the model's quality: a prefix of k of the n reference words has ROUGE-L F = 2k/(n+k), so
  k = q·n/(2-q) gives quality q. Usage counts ~4 characters per token; ``metrics.latencyMs`` is a
  base latency plus a per-output-token time, with a deterministic ±10 % spread; the simulated
  clock advances by that latency.

Every call is logged (simulated time, operation, subject, outcome; a Converse call's subject is its
``modelId``) and every create, delete and stop goes into the ledger the money invariants are checked
against, with every Converse call classified by what it reached (see :meth:`FakeBedrock.ledger`).
Faults (throttling bursts, lost answers) are injected per :mod:`pipeline.simulation.faults` before
or after a call takes effect.
"""

from __future__ import annotations

import copy
import csv
import functools
import hashlib
import io
import json
import math
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import boto3

from pipeline import graders, scoring
from pipeline.catalog import PROFILE_GEOGRAPHIES, TEACHERS, UnknownModelError, all_models, get_model
from pipeline.plan import base_model_invoke_id
from pipeline.simulation.clock import SimClock
from pipeline.simulation.faults import FaultInjector
from pipeline.simulation.wire import HttpResponse, Request, RestJsonCodec, ServiceError

RFT: Final = "REINFORCEMENT_FINE_TUNING"
# The reward columns of an RFT job's step-wise metrics, named as the guide names the metrics (UNCONFIRMED
# as CSV columns; pipeline.metrics reads them).
RFT_REWARD_COLUMNS: Final = ("critic/rewards/mean", "critic/rewards/min", "critic/rewards/max")
_WRONG_RFT_ANSWER: Final = "I am not sure which one."
CONTROL: Final = "bedrock"
RUNTIME: Final = "bedrock-runtime"
_HOSTS: Final = {
    CONTROL: re.compile(r"^bedrock\.([a-z0-9-]+)\.amazonaws\.com$"),
    RUNTIME: re.compile(r"^bedrock-runtime\.([a-z0-9-]+)\.amazonaws\.com$"),
}
# The customization types GetFoundationModel reports [BC] (no REINFORCEMENT_FINE_TUNING).
_REPORTED_TYPES: Final = frozenset({"FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"})
JOB_TERMINAL: Final = frozenset({"Completed", "Failed", "Stopped"})
STOPPING_SECONDS: Final = 60
MISSING_DATA_FAIL_SECONDS: Final = 300
_JOB_NAME: Final = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*$")
_MODEL_NAME: Final = re.compile(r"^([0-9a-zA-Z][_-]?){1,63}$")
_TOKEN: Final = re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?$")
_EVALUATION_JOB_NAME: Final = re.compile(r"^[a-z0-9](-*[a-z0-9]){0,62}$")  # lowercase only [BC]
_COMMITMENT_DAYS: Final = {"OneMonth": 30, "SixMonths": 182}
_UNKNOWN_ANSWER: Final = "I do not know the answer to that question."
# CreateCustomModelDeployment's modelArn (botocore's CustomModelArn pattern, with named parts).
_CUSTOM_MODEL_ARN: Final = re.compile(
    r"arn:aws:bedrock:(?P<region>[a-z0-9-]{1,20}):(?P<account>[0-9]{12}):custom-model/"
    r"(imported|[a-z0-9-]{1,63}[.][a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}"
    r"([:][a-z0-9-]{1,63}){0,2})/[a-z0-9]{12}"
)
# A base model named by ARN in Converse: the foundation model itself, or a system-defined profile.
_BASE_ARN: Final = re.compile(
    r"arn:aws:bedrock:(?P<region>[a-z0-9-]{1,20}):(?P<account>[0-9]{12})?:"
    r"(?P<kind>foundation-model|inference-profile)/(?P<id>.+)"
)
# Cross-Region inference profile ids are the model id with a geography prefix ("us.amazon.nova-...");
# a profile serves the Regions of its geography.
# What Bedrock answers when the base model cannot be invoked, per error code (as seen in the wild).
_BASE_ERROR_MESSAGES: Final = {
    "AccessDeniedException": "You don't have access to the model with the specified model ID.",
    "ValidationException": (
        "Invocation of model ID {model} with on-demand throughput isn\u2019t supported. Retry your "
        "request with the ID or ARN of an inference profile that contains this model."
    ),
    "ResourceNotFoundException": (
        "This model version has reached the end of its life. Please refer to the AWS documentation "
        "for more details."
    ),
    "ThrottlingException": "Too many requests, please wait before trying again.",
}


# --------------------------------------------------------------------------------------------------
# Behaviour: what the simulated service does in a scenario
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobBehaviour:
    """How customization jobs end. Losses are (first step, final) of a smooth decreasing curve."""

    duration_seconds: int = 3 * 3600
    outcome: str = "Completed"  # Completed | Failed | Stopped
    failure_message: str = "Training failed: an internal error occurred (simulated)"
    training_loss: tuple[float, float] = (2.4, 0.9)
    validation_loss: tuple[float, float] = (2.6, 1.1)
    steps: int = 40
    # Reinforcement fine-tuning: the share of sampled answers that are right, first step to last (the
    # grader's mean reward follows it); at most ``steps`` steps, one grader call per step.
    reward: tuple[float, float] = (0.3, 0.85)


@dataclass(frozen=True)
class ThroughputBehaviour:
    creating_seconds: int = 15 * 60
    outcome: str = "InService"  # InService | Failed | Creating (stays Creating)
    failure_message: str = "Insufficient capacity for the requested model units (simulated)"
    delete_while_creating: bool = True


@dataclass(frozen=True)
class DeploymentBehaviour:
    """How custom model deployments (on-demand serving) end up."""

    creating_seconds: int = 8 * 60  # a third party saw Active after ~8 min [bedrock.md §12]
    outcome: str = "Active"  # Active | Failed | Creating (stays Creating)
    failure_message: str = "The custom model deployment could not be created: an internal error occurred"


@dataclass(frozen=True)
class ModelBehaviour:
    """Answer quality (ROUGE-L against the reference, 0-1) and latency of each kind of model.

    ``base_error``: an error code (one Converse models, e.g. AccessDeniedException) that every
    Converse call on the on-demand base model fails with; None: the base model answers.
    """

    custom_quality: float = 0.85
    base_quality: float = 0.45
    custom_latency_ms: int = 300
    base_latency_ms: int = 450
    ms_per_output_token: float = 8.0
    base_error: str | None = None
    # Every Nth Converse call on the base model fails with ModelErrorException (the model could not
    # answer that prompt; evaluated as a failed call, never retried); None: none fail.
    base_error_every: int | None = None
    # What GetFoundationModel says of the base model: ACTIVE, LEGACY, or GONE (not found).
    live_lifecycle: str = "ACTIVE"


@dataclass(frozen=True)
class JudgeBehaviour:
    """How LLM-judge evaluation jobs end and what the judge scores (0..1, mean over prompts and
    metrics) for the custom model's answers and for the base model's."""

    seconds: int = 25 * 60
    outcome: str = "Completed"  # Completed | Failed
    custom_score: float = 0.85
    base_score: float = 0.6
    failure_message: str = "The evaluator model could not be invoked: access denied (simulated)"


@dataclass(frozen=True)
class BedrockBehaviour:
    job: JobBehaviour = JobBehaviour()
    throughput: ThroughputBehaviour = ThroughputBehaviour()
    deployment: DeploymentBehaviour = DeploymentBehaviour()
    models: ModelBehaviour = ModelBehaviour()
    judge: JudgeBehaviour = JudgeBehaviour()


# --------------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------------


@dataclass
class Job:
    arn: str
    job_id: str
    name: str
    token: str
    request: dict[str, Any]
    created: float
    # (elapsed, status, failure message) in time order; the status at t is the last entry <= t.
    timeline: list[tuple[float, str, str | None]]
    create_requests: int = 1
    stop_requests: int = 0
    output_model_arn: str | None = None
    metrics_written: list[str] = field(default_factory=list)
    # Reinforcement fine-tuning: (step, epoch, mean, min, max reward) per training step, and the grader
    # invocations made for them.
    rewards: list[tuple[int, int, float, float, float]] = field(default_factory=list)
    grader_calls: int = 0


@dataclass
class RftRun:
    """What a simulated reinforcement fine-tuning job did: its reward per step, or where it failed."""

    rewards: list[tuple[int, int, float, float, float]] = field(default_factory=list)
    calls: int = 0
    failure: str | None = None
    failed_at: float = 0.0


@dataclass
class CustomModel:
    arn: str
    name: str
    job_arn: str
    created: float


@dataclass
class Throughput:
    arn: str
    name: str
    token: str
    request: dict[str, Any]
    model_arn: str
    model_units: int
    commitment: str | None
    created: float
    ready_at: float | None  # when it leaves Creating (None: never)
    outcome: str
    create_requests: int = 1
    deleted: float | None = None
    delete_refusals: int = 0

    def status(self, now: float) -> str:
        if self.ready_at is None or now < self.ready_at:
            return "Creating"
        return self.outcome


@dataclass
class Deployment:
    """A custom model deployment: on-demand serving of a custom model."""

    arn: str
    name: str
    token: str
    request: dict[str, Any]
    model_arn: str
    created: float
    ready_at: float | None  # when it leaves Creating (None: never)
    outcome: str
    create_requests: int = 1
    deleted: float | None = None

    def status(self, now: float) -> str:
        if self.ready_at is None or now < self.ready_at:
            return "Creating"
        return self.outcome


@dataclass
class EvaluationJob:
    """An LLM-judge model evaluation job over precomputed responses."""

    arn: str
    name: str
    token: str
    request: dict[str, Any]
    created: float
    done_at: float
    outcome: str
    create_requests: int = 1
    results: list[str] = field(default_factory=list)

    stopped_at: float | None = None

    def status(self, now: float) -> str:
        if self.stopped_at is not None and self.stopped_at <= self.done_at:
            return "Stopped" if now >= self.stopped_at else "InProgress"
        return "InProgress" if now < self.done_at else self.outcome


@dataclass(frozen=True)
class Call:
    """One request the simulated Bedrock received."""

    elapsed: float
    service: str
    operation: str
    subject: str
    outcome: str  # "ok", an error code, or "fault:<code>" / "fault-after:<code>"


class FakeBedrock:
    """The simulated service. Thread-safe: the interpreter and the handlers call it concurrently."""

    def __init__(
        self,
        *,
        clock: SimClock,
        account: str,
        region: str,
        behaviour: BedrockBehaviour | None = None,
        faults: FaultInjector | None = None,
        client_factory: Callable[[str], Any] | None = None,
    ) -> None:
        self.clock = clock
        self.account = account
        self.region = region
        self.behaviour = behaviour or BedrockBehaviour()
        self.faults = faults or FaultInjector()
        self._client_factory = client_factory or (lambda name: boto3.client(name, region_name=region))
        self._clients: dict[str, Any] = {}
        self._codecs = {CONTROL: RestJsonCodec(CONTROL), RUNTIME: RestJsonCodec(RUNTIME)}
        self._lock = threading.RLock()
        self.jobs: dict[str, Job] = {}
        self.custom_models: dict[str, CustomModel] = {}
        # Converse calls the base model has received (baseErrorEvery counts them).
        self._base_calls = 0
        self.throughputs: dict[str, Throughput] = {}
        self.deployments: dict[str, Deployment] = {}
        self.evaluation_jobs: dict[str, EvaluationJob] = {}
        self.calls: list[Call] = []
        self._references: dict[str, str] = {}

    # -- the oracle ------------------------------------------------------------------------------

    def learn(self, prompt: str, reference: str) -> None:
        """What a perfect model answers to ``prompt`` (the simulation's ground truth)."""
        self._references[" ".join(scoring.tokens(prompt))] = reference

    # -- HTTP entry point ------------------------------------------------------------------------

    def serves(self, request: Request) -> str | None:
        for service, pattern in _HOSTS.items():
            if pattern.match(request.host):
                return service
        return None

    def handle(self, request: Request) -> HttpResponse | None:
        """The HTTP response to a Bedrock request, or None when the request is not for Bedrock."""
        service = self.serves(request)
        if service is None:
            return None
        codec = self._codecs[service]
        routed = codec.route(request)
        if routed is None:
            error = ServiceError(
                "UnknownOperationException", f"{request.method} {request.path} is not a {service} API"
            )
            self._log(service, "?", request.path, error.code)
            return codec.encode_error(error)
        operation, labels = routed
        params = codec.decode(operation, labels, request)
        subject = _subject(params)
        fault = self.faults.check(service, operation, params)
        if fault is not None and not fault.after:
            self._log(service, operation, subject, f"fault:{fault.code}")
            return codec.encode_error(ServiceError(fault.code, fault.message))
        handler = getattr(self, f"_{service.replace('-', '_')}_{_snake(operation)}", None)
        try:
            if handler is None:
                raise ServiceError(
                    "UnknownOperationException",
                    f"{service}:{operation} is not simulated (the workflow does not use it)",
                    status=501,
                )
            with self._lock:
                output = handler(params)
        except ServiceError as error:
            self._log(service, operation, subject, error.code)
            return codec.encode_error(error)
        if fault is not None:
            self._log(service, operation, subject, f"fault-after:{fault.code}")
            return codec.encode_error(ServiceError(fault.code, fault.message))
        self._log(service, operation, subject, "ok")
        return codec.encode(operation, output)

    def _log(self, service: str, operation: str, subject: str, outcome: str) -> None:
        with self._lock:
            self.calls.append(Call(self.clock.elapsed(), service, operation, subject, outcome))

    def _client(self, name: str) -> Any:
        if name not in self._clients:
            self._clients[name] = self._client_factory(name)
        return self._clients[name]

    # -- ARNs and ids ----------------------------------------------------------------------------

    def _arn(self, kind: str, *parts: str, account: bool = True) -> str:
        return f"arn:aws:bedrock:{self.region}:{self.account if account else ''}:{kind}/{'/'.join(parts)}"

    def foundation_model_arn(self, model_id: str) -> str:
        return self._arn("foundation-model", model_id, account=False)

    @staticmethod
    def _id(*seed: str) -> str:
        digest = hashlib.sha256("\x00".join(seed).encode("utf-8")).hexdigest()
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        number = int(digest, 16)
        chars = []
        for _ in range(12):
            number, index = divmod(number, len(alphabet))
            chars.append(alphabet[index])
        return "".join(chars)

    # -- customization jobs ----------------------------------------------------------------------

    def _bedrock_create_model_customization_job(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["jobName"]
        token = params.get("clientRequestToken") or self._id("token", name, str(self.clock.elapsed()))
        _check(_JOB_NAME.match(name) and len(name) <= 63, "jobName", name)
        _check(_MODEL_NAME.match(params["customModelName"]), "customModelName", params["customModelName"])
        _check(_TOKEN.match(token), "clientRequestToken", token)
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
        return _page(summaries, params, "modelCustomizationJobSummaries")

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

    # -- custom models ---------------------------------------------------------------------------

    def _custom_model(self, identifier: str) -> CustomModel:
        for model in self.custom_models.values():
            if identifier in (model.arn, model.name):
                return model
        raise ServiceError("ResourceNotFoundException", f"custom model {identifier} not found")

    def _bedrock_get_foundation_model(self, params: dict[str, Any]) -> dict[str, Any]:
        """A foundation model as the catalog knows it, in this region; the scenario sets its lifecycle.

        Customization ids (``:128k``) and teachers are foundation models too. Past its end of life a
        model is not returned (ResourceNotFoundException), like a real one.
        """
        identifier = str(params["modelIdentifier"]).rsplit("foundation-model/", 1)[-1]
        models = {m.model_id: m for m in all_models()}
        model = models.get(identifier)
        teacher = TEACHERS.get(identifier)
        regions = model.regions if model is not None else teacher.regions if teacher is not None else ()
        lifecycle = self.behaviour.models.live_lifecycle if model is not None else "ACTIVE"
        if self.region not in regions or lifecycle == "GONE":
            raise ServiceError("ResourceNotFoundException", f"The model {identifier} is not found.")
        customizations = [t for t in (model.customization_types if model else ()) if t in _REPORTED_TYPES]
        on_demand = (
            not model.invoked_through_profile
            if model is not None
            else teacher is not None and teacher.on_demand
        )
        details: dict[str, Any] = {
            "modelArn": self.foundation_model_arn(identifier),
            "modelId": identifier,
            "modelName": model.name
            if model is not None
            else teacher.name
            if teacher is not None
            else identifier,
            "providerName": (model.provider if model is not None else identifier.split(".")[0].title()),
            "inputModalities": ["TEXT"],
            "outputModalities": ["TEXT"],
            "customizationsSupported": customizations,
            "inferenceTypesSupported": ["PROVISIONED", *(["ON_DEMAND"] if on_demand else [])],
            "modelLifecycle": {"status": "LEGACY" if lifecycle == "LEGACY" else "ACTIVE"},
        }
        return {"modelDetails": details}

    def _bedrock_get_custom_model(self, params: dict[str, Any]) -> dict[str, Any]:
        for job in self.jobs.values():
            self._advance(job)
        model = self._custom_model(params["modelIdentifier"])
        job = self.jobs[model.job_arn]
        described = self.describe_job(job)
        out: dict[str, Any] = {
            "modelArn": model.arn,
            "modelName": model.name,
            "jobName": job.name,
            "jobArn": job.arn,
            "baseModelArn": described["baseModelArn"],
            "customizationType": described["customizationType"],
            "trainingDataConfig": described["trainingDataConfig"],
            "outputDataConfig": described["outputDataConfig"],
            "creationTime": self.clock.at(model.created),
            "modelStatus": "Active",
        }
        for key in (
            "hyperParameters",
            "validationDataConfig",
            "trainingMetrics",
            "validationMetrics",
            "customizationConfig",
        ):
            if described.get(key):
                out[key] = described[key]
        if described.get("outputModelKmsKeyArn"):
            out["modelKmsKeyArn"] = described["outputModelKmsKeyArn"]
        return out

    # -- provisioned throughput ------------------------------------------------------------------

    def _bedrock_create_provisioned_model_throughput(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["provisionedModelName"]
        token = params.get("clientRequestToken") or self._id("token", name, str(self.clock.elapsed()))
        _check(_MODEL_NAME.match(name), "provisionedModelName", name)
        _check(_TOKEN.match(token), "clientRequestToken", token)
        units = params["modelUnits"]
        _check(isinstance(units, int) and units >= 1, "modelUnits", units)
        commitment = params.get("commitmentDuration")
        _check(commitment in (None, *_COMMITMENT_DAYS), "commitmentDuration", commitment)
        for pt in self.throughputs.values():
            if pt.token == token:
                if pt.request != params:
                    raise ServiceError(
                        "ConflictException",
                        f"clientRequestToken {token} was already used for {pt.name} with different "
                        "parameters",
                    )
                pt.create_requests += 1
                return {"provisionedModelArn": pt.arn}
            if pt.name == name and pt.deleted is None:
                raise ServiceError("ConflictException", f"a provisioned model named {name} already exists")
        for job in self.jobs.values():
            self._advance(job)
        model = self._custom_model(params["modelId"])
        now = self.clock.elapsed()
        behaviour = self.behaviour.throughput
        if behaviour.outcome not in ("InService", "Failed", "Creating"):
            raise ValueError(f"throughput outcome {behaviour.outcome!r} is not InService, Failed or Creating")
        pt = Throughput(
            arn=self._arn("provisioned-model", self._id("pt", token)),
            name=name,
            token=token,
            request=params,
            model_arn=model.arn,
            model_units=units,
            commitment=commitment,
            created=now,
            ready_at=None if behaviour.outcome == "Creating" else now + behaviour.creating_seconds,
            outcome=behaviour.outcome,
        )
        self.throughputs[pt.arn] = pt
        if pt.ready_at is not None:
            self.clock.schedule(pt.ready_at)
        return {"provisionedModelArn": pt.arn}

    def _throughput(self, identifier: str) -> Throughput:
        for pt in self.throughputs.values():
            if pt.deleted is None and identifier in (pt.arn, pt.name):
                return pt
        raise ServiceError(
            "ResourceNotFoundException", f"provisioned model throughput {identifier} not found"
        )

    def _describe_throughput(self, pt: Throughput, *, summary: bool = False) -> dict[str, Any]:
        now = self.clock.elapsed()
        status = pt.status(now)
        changed = pt.created if status == "Creating" else (pt.ready_at or pt.created)
        job = self.jobs[self.custom_models[pt.model_arn].job_arn]
        foundation = self.foundation_model_arn(self._base_model(job.request["baseModelIdentifier"]).model_id)
        out: dict[str, Any] = {
            "modelUnits": pt.model_units,
            "desiredModelUnits": pt.model_units,
            "provisionedModelName": pt.name,
            "provisionedModelArn": pt.arn,
            "modelArn": pt.model_arn,
            "desiredModelArn": pt.model_arn,
            "foundationModelArn": foundation,
            "status": status,
            "creationTime": self.clock.at(pt.created),
            "lastModifiedTime": self.clock.at(changed),
        }
        if pt.commitment:
            out["commitmentDuration"] = pt.commitment
            out["commitmentExpirationTime"] = self.clock.at(
                pt.created + _COMMITMENT_DAYS[pt.commitment] * 86400
            )
        if status == "Failed" and not summary:
            out["failureMessage"] = self.behaviour.throughput.failure_message
        return out

    def _bedrock_get_provisioned_model_throughput(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._describe_throughput(self._throughput(params["provisionedModelId"]))

    def _bedrock_list_provisioned_model_throughputs(self, params: dict[str, Any]) -> dict[str, Any]:
        items = []
        for pt in sorted(self.throughputs.values(), key=lambda p: p.created):
            if pt.deleted is not None:
                continue
            described = self._describe_throughput(pt, summary=True)
            if params.get("statusEquals") not in (None, described["status"]):
                continue
            if params.get("nameContains") and params["nameContains"] not in pt.name:
                continue
            if params.get("modelArnEquals") not in (None, pt.model_arn):
                continue
            items.append(described)
        if params.get("sortOrder") == "Descending":
            items.reverse()
        return _page(items, params, "provisionedModelSummaries")

    def _bedrock_delete_provisioned_model_throughput(self, params: dict[str, Any]) -> dict[str, Any]:
        pt = self._throughput(params["provisionedModelId"])
        now = self.clock.elapsed()
        if pt.commitment and now < pt.created + _COMMITMENT_DAYS[pt.commitment] * 86400:
            pt.delete_refusals += 1
            raise ServiceError(
                "ConflictException",
                f"{pt.name} has a {pt.commitment} commitment; it cannot be deleted before the term ends",
            )
        if pt.status(now) == "Creating" and not self.behaviour.throughput.delete_while_creating:
            pt.delete_refusals += 1
            raise ServiceError("ConflictException", f"{pt.name} is still Creating; try again when it is not")
        pt.deleted = now
        return {}

    # -- custom model deployments (on-demand serving) --------------------------------------------

    def _bedrock_create_custom_model_deployment(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["modelDeploymentName"]
        token = params.get("clientRequestToken") or self._id("token", name, str(self.clock.elapsed()))
        _check(_MODEL_NAME.match(name) and len(name) <= 63, "modelDeploymentName", name)
        _check(_TOKEN.match(token), "clientRequestToken", token)
        description = params.get("description")
        _check(description is None or 1 <= len(description) <= 2048, "description", description)
        for deployment in self.deployments.values():
            if deployment.token == token:
                if deployment.request != params:
                    raise ServiceError(
                        "ConflictException",
                        f"clientRequestToken {token} was already used for {deployment.name} with "
                        "different parameters",
                    )
                deployment.create_requests += 1
                return {"customModelDeploymentArn": deployment.arn}
            if deployment.name == name and deployment.deleted is None:
                # UNCONFIRMED: the operation models no ConflictException; the real service may answer
                # a duplicate name with a ValidationException instead.
                raise ServiceError(
                    "ConflictException", f"a custom model deployment named {name} already exists"
                )
        model_arn = params["modelArn"]
        found = _CUSTOM_MODEL_ARN.fullmatch(model_arn)
        _check(found, "modelArn", model_arn)
        if found and found["region"] != self.region:
            raise ServiceError(
                "ValidationException", f"The model {model_arn} is not in this Region ({self.region})"
            )
        for job in self.jobs.values():
            self._advance(job)
        model = self._custom_model(model_arn)  # ResourceNotFoundException: not a model of this account
        base = self._base_model(model.arn)
        if not base.deploys_on_demand(self.region):
            # The wording is UNCONFIRMED; the rule is [UG:deploy-custom-model-on-demand].
            raise ServiceError(
                "ValidationException",
                f"On-demand deployment isn't supported for custom models of {base.model_id} in "
                f"{self.region}. Purchase Provisioned Throughput to use this model.",
            )
        now = self.clock.elapsed()
        behaviour = self.behaviour.deployment
        if behaviour.outcome not in ("Active", "Failed", "Creating"):
            raise ValueError(f"deployment outcome {behaviour.outcome!r} is not Active, Failed or Creating")
        deployment = Deployment(
            arn=self._arn("custom-model-deployment", self._id("deployment", token)),
            name=name,
            token=token,
            request=params,
            model_arn=model.arn,
            created=now,
            ready_at=None if behaviour.outcome == "Creating" else now + behaviour.creating_seconds,
            outcome=behaviour.outcome,
        )
        self.deployments[deployment.arn] = deployment
        if deployment.ready_at is not None:
            self.clock.schedule(deployment.ready_at)
        return {"customModelDeploymentArn": deployment.arn}

    def _deployment(self, identifier: str) -> Deployment:
        for deployment in self.deployments.values():
            if deployment.deleted is None and identifier in (deployment.arn, deployment.name):
                return deployment
        raise ServiceError("ResourceNotFoundException", f"custom model deployment {identifier} not found")

    def _describe_deployment(self, deployment: Deployment, *, summary: bool = False) -> dict[str, Any]:
        status = deployment.status(self.clock.elapsed())
        changed = deployment.created if status == "Creating" else (deployment.ready_at or deployment.created)
        out: dict[str, Any] = {
            "customModelDeploymentArn": deployment.arn,
            "customModelDeploymentName" if summary else "modelDeploymentName": deployment.name,
            "modelArn": deployment.model_arn,
            "createdAt": self.clock.at(deployment.created),
            "status": status,
            "lastUpdatedAt": self.clock.at(changed),
        }
        if deployment.request.get("description") and not summary:
            out["description"] = deployment.request["description"]
        if status == "Failed":
            out["failureMessage"] = self.behaviour.deployment.failure_message
        return out

    def _bedrock_get_custom_model_deployment(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._describe_deployment(self._deployment(params["customModelDeploymentIdentifier"]))

    def _bedrock_list_custom_model_deployments(self, params: dict[str, Any]) -> dict[str, Any]:
        items = []
        for deployment in sorted(self.deployments.values(), key=lambda d: d.created):
            if deployment.deleted is not None:
                continue
            described = self._describe_deployment(deployment, summary=True)
            if params.get("statusEquals") not in (None, described["status"]):
                continue
            if params.get("nameContains") and params["nameContains"] not in deployment.name:
                continue
            if params.get("modelArnEquals") not in (None, deployment.model_arn):
                continue
            if params.get("createdAfter") and not described["createdAt"] > params["createdAfter"]:
                continue
            if params.get("createdBefore") and not described["createdAt"] < params["createdBefore"]:
                continue
            items.append(described)
        if params.get("sortOrder") == "Descending":
            items.reverse()
        return _page(items, params, "modelDeploymentSummaries")

    def _bedrock_delete_custom_model_deployment(self, params: dict[str, Any]) -> dict[str, Any]:
        deployment = self._deployment(params["customModelDeploymentIdentifier"])
        deployment.deleted = self.clock.elapsed()
        return {}

    # -- runtime ---------------------------------------------------------------------------------

    # -- LLM-judge evaluation jobs ---------------------------------------------------------------

    def _bedrock_create_evaluation_job(self, params: dict[str, Any]) -> dict[str, Any]:
        """Judge precomputed responses: one model identifier per job, datasets read from S3 now."""
        name = params["jobName"]
        token = params.get("clientRequestToken") or self._id("token", name, str(self.clock.elapsed()))
        _check(_EVALUATION_JOB_NAME.match(name), "jobName", name)
        _check(_TOKEN.match(token), "clientRequestToken", token)
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
        mean = behaviour.base_score if source.startswith("base") else behaviour.custom_score
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

    def _bedrock_runtime_converse(self, params: dict[str, Any]) -> dict[str, Any]:
        model_id = params["modelId"]
        models = self.behaviour.models
        if ":provisioned-model/" in model_id or ":custom-model-deployment/" in model_id:
            self._serving(model_id)
            quality, latency = models.custom_quality, models.custom_latency_ms
        else:
            self._check_base_reachable(model_id)
            self._base_calls += 1
            every = models.base_error_every
            if every is not None and self._base_calls % every == 0:
                raise ServiceError(
                    "ModelErrorException", "The model could not process the request (simulated failure)"
                )
            quality, latency = models.base_quality, models.base_latency_ms
        prompt = _last_user_text(params.get("messages") or [])
        reference = self._references.get(" ".join(scoring.tokens(prompt)))
        answer = _degrade(reference, quality) if reference is not None else _UNKNOWN_ANSWER
        max_tokens = int((params.get("inferenceConfig") or {}).get("maxTokens") or 4096)
        stop_reason = "end_turn"
        if _token_count(answer) > max_tokens:
            answer, stop_reason = answer[: max_tokens * 4], "max_tokens"
        input_tokens, output_tokens = _token_count(prompt), _token_count(answer)
        spread = 0.9 + 0.2 * (
            int(hashlib.sha256(f"{model_id}|{prompt}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        )
        latency_ms = round((latency + models.ms_per_output_token * output_tokens) * spread)
        # The caller waits for the answer: simulated time passes by the model's latency.
        self.clock.sleep(latency_ms / 1000)
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": answer}]}},
            "stopReason": stop_reason,
            "usage": {
                "inputTokens": input_tokens,
                "outputTokens": output_tokens,
                "totalTokens": input_tokens + output_tokens,
            },
            "metrics": {"latencyMs": latency_ms},
        }

    def _serving(self, model_id: str) -> CustomModel:
        """The custom model a Provisioned Throughput or deployment ARN serves, if it can serve now."""
        now = self.clock.elapsed()
        if ":provisioned-model/" in model_id:
            pt = self._throughput(model_id)
            status = pt.status(now)
            if status == "Creating":
                raise ServiceError("ModelNotReadyException", f"{pt.name} is not ready yet (Creating)")
            if status != "InService":
                raise ServiceError("ValidationException", f"{pt.name} is {status}; it cannot serve requests")
            return self.custom_models[pt.model_arn]
        deployment = self._deployment(model_id)
        status = deployment.status(now)
        if status == "Creating":
            # UNCONFIRMED which error a deployment that is still Creating answers: ModelNotReadyException
            # is the runtime's "not ready to serve inference requests" (HTTP 429; boto3 retries it,
            # so a caller sees it only after its retries), ValidationException the other candidate.
            raise ServiceError(
                "ModelNotReadyException", f"{deployment.name} is not ready yet (Creating); retry when Active"
            )
        if status != "Active":
            raise ServiceError(
                "ValidationException", f"{deployment.name} is {status}; it cannot serve requests"
            )
        return self.custom_models[deployment.model_arn]

    def _check_base_reachable(self, model_id: str) -> None:
        """Refuse a base-model call the way Bedrock would; return when the base model answers it."""
        invoke_id, via_profile = self._base_invocation(model_id)
        if invoke_id is None:
            raise ServiceError("ValidationException", "The provided model identifier is invalid.")
        if not via_profile and _needs_profile(invoke_id):
            raise ServiceError("ValidationException", _base_error_message("ValidationException", invoke_id))
        code = self.behaviour.models.base_error
        # The on-demand-throughput refusal (a ValidationException) is what a profile gets around.
        if code is not None and not (via_profile and code == "ValidationException"):
            raise ServiceError(code, _base_error_message(code, invoke_id))

    def _base_invocation(self, model_id: str) -> tuple[str | None, bool]:
        """(the base model's on-demand id or None when there is none, whether through a profile)."""
        body, via_profile = model_id, False
        arn = _BASE_ARN.fullmatch(model_id)
        if arn:
            if arn["region"] != self.region or (arn["kind"] == "inference-profile") != bool(arn["account"]):
                return None, False
            body = arn["id"]
        geography, dot, rest = body.partition(".")
        if dot and geography in PROFILE_GEOGRAPHIES and (not arn or arn["kind"] == "inference-profile"):
            if not self.region.startswith(PROFILE_GEOGRAPHIES[geography]):
                return None, True
            body, via_profile = rest, True
        elif arn and arn["kind"] == "inference-profile":
            return None, True
        return (body if body in _on_demand_ids() else None), via_profile

    # -- checks ----------------------------------------------------------------------------------

    def _base_model(self, identifier: str) -> Any:
        model_id = identifier.rsplit("foundation-model/", 1)[-1]
        try:
            return get_model(model_id)
        except UnknownModelError:
            pass
        for model in self.custom_models.values():
            if identifier in (model.arn, model.name):
                job = self.jobs[model.job_arn]
                return self._base_model(job.request["baseModelIdentifier"])
        raise ServiceError("ValidationException", f"{identifier} is not a customizable base model")

    def _check_role(self, role_arn: str) -> None:
        name = role_arn.rsplit("/", 1)[-1]
        try:
            self._client("iam").get_role(RoleName=name)
        except Exception:
            raise ServiceError(
                "ValidationException", f"Bedrock cannot assume {role_arn}: the role does not exist"
            ) from None

    def _check_key(self, key_id: str) -> None:
        try:
            self._client("kms").describe_key(KeyId=key_id)
        except Exception:
            raise ServiceError("ValidationException", f"KMS key {key_id} does not exist") from None

    # -- ledger ----------------------------------------------------------------------------------

    def ledger(self) -> dict[str, Any]:
        """Everything bought, created, stopped or deleted: what the money invariants are checked on.

        Times are simulated seconds since the start. Keys:

        - ``jobs``: one per customization job (``name, arn, clientRequestToken, customizationType,
          createdAt, createRequests, stopRequests, status, failureMessage, outputModelArn,
          metricsFiles``).
        - ``throughputs``: one per purchase (``name, arn, clientRequestToken, modelArn, modelUnits,
          commitment, createdAt, createRequests, status`` ("Deleted" once deleted), ``deletedAt,
          deleteRefusals, alive``).
        - ``deployments``: one per custom model deployment (``name, arn, clientRequestToken,
          modelArn, createdAt, createRequests, readyAt`` (when it leaves Creating, Active or Failed;
          None: never), ``status`` (Creating | Active | Failed, "Deleted" once deleted),
          ``deletedAt, alive``).
        - ``invocations``: every Converse call in order (``at, modelId, target`` (``throughput``,
          ``deployment`` or ``base``), ``customModelArn`` (what the throughput or deployment
          serves; None for the base or an unknown ARN), ``outcome`` ("ok", an error code, or
          "fault:<code>" / "fault-after:<code>")).
        """
        with self._lock:
            now = self.clock.elapsed()
            jobs = []
            for job in self.jobs.values():
                self._advance(job)
                status, failure, _ = self.job_status(job)
                jobs.append(
                    {
                        "name": job.name,
                        "arn": job.arn,
                        "clientRequestToken": job.token,
                        "customizationType": job.request.get("customizationType", "FINE_TUNING"),
                        "createdAt": job.created,
                        "createRequests": job.create_requests,
                        "stopRequests": job.stop_requests,
                        "status": status,
                        "failureMessage": failure,
                        "outputModelArn": job.output_model_arn,
                        "metricsFiles": list(job.metrics_written),
                    }
                )
            throughputs = [
                {
                    "name": pt.name,
                    "arn": pt.arn,
                    "clientRequestToken": pt.token,
                    "modelArn": pt.model_arn,
                    "modelUnits": pt.model_units,
                    "commitment": pt.commitment or "none",
                    "createdAt": pt.created,
                    "createRequests": pt.create_requests,
                    "status": "Deleted" if pt.deleted is not None else pt.status(now),
                    "deletedAt": pt.deleted,
                    "deleteRefusals": pt.delete_refusals,
                    "alive": pt.deleted is None,
                }
                for pt in self.throughputs.values()
            ]
            deployments = [
                {
                    "name": deployment.name,
                    "arn": deployment.arn,
                    "clientRequestToken": deployment.token,
                    "modelArn": deployment.model_arn,
                    "createdAt": deployment.created,
                    "createRequests": deployment.create_requests,
                    "readyAt": deployment.ready_at,
                    "status": "Deleted" if deployment.deleted is not None else deployment.status(now),
                    "deletedAt": deployment.deleted,
                    "alive": deployment.deleted is None,
                }
                for deployment in self.deployments.values()
            ]
            invocations = []
            for call in self.calls:
                if call.operation != "Converse":
                    continue
                served: Throughput | Deployment | None = None
                if ":provisioned-model/" in call.subject:
                    target, served = "throughput", self.throughputs.get(call.subject)
                elif ":custom-model-deployment/" in call.subject:
                    target, served = "deployment", self.deployments.get(call.subject)
                else:
                    target = "base"
                invocations.append(
                    {
                        "at": call.elapsed,
                        "modelId": call.subject,
                        "target": target,
                        "customModelArn": served.model_arn if served is not None else None,
                        "outcome": call.outcome,
                    }
                )
            evaluation_jobs = [
                {
                    "name": job.name,
                    "arn": job.arn,
                    "clientRequestToken": job.token,
                    "createdAt": job.created,
                    "createRequests": job.create_requests,
                    "status": job.status(now),
                    "results": list(job.results),
                }
                for job in self.evaluation_jobs.values()
            ]
            return {
                "jobs": jobs,
                "throughputs": throughputs,
                "deployments": deployments,
                "invocations": invocations,
                "evaluationJobs": evaluation_jobs,
            }


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _check(ok: Any, field_name: str, value: Any) -> None:
    if not ok:
        raise ServiceError(
            "ValidationException", f"1 validation error detected: Value {value!r} at '{field_name}'"
        )


def _subject(params: Mapping[str, Any]) -> str:
    for key in (
        "jobName",
        "jobIdentifier",
        "provisionedModelName",
        "provisionedModelId",
        "modelDeploymentName",
        "customModelDeploymentIdentifier",
        "modelId",
        "modelIdentifier",
    ):
        if params.get(key):
            return str(params[key])
    return ""


def _page(items: list[dict[str, Any]], params: Mapping[str, Any], key: str) -> dict[str, Any]:
    start = int(params.get("nextToken") or 0)
    size = int(params.get("maxResults") or 100)
    out: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        out["nextToken"] = str(start + size)
    return out


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


def _on_demand_ids() -> frozenset[str]:
    return frozenset(base_model_invoke_id(model) for model in all_models())


def _needs_profile(invoke_id: str) -> bool:
    """Whether Converse serves this base on demand only through a cross-Region inference profile."""
    return any(
        model.invoked_through_profile for model in all_models() if base_model_invoke_id(model) == invoke_id
    )


def _base_error_message(code: str, model_id: str) -> str:
    default = f"The model {model_id} cannot be invoked ({code}, simulated)"
    return _BASE_ERROR_MESSAGES.get(code, default).format(model=model_id)


@functools.cache
def converse_error_codes() -> frozenset[str]:
    """The error codes Converse models (what ``models.baseError`` may be)."""
    return frozenset(shape.name for shape in RestJsonCodec(RUNTIME).operation("Converse").error_shapes)


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            blocks = message.get("content") or []
            return "\n".join(
                b["text"] for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str)
            )
    return ""


def _degrade(reference: str, quality: float) -> str:
    """The first k words of the reference, k chosen so that ROUGE-L against it is about ``quality``."""
    words = reference.split()
    if not words or quality >= 1:
        return reference
    quality = max(0.0, quality)
    keep = round(quality * len(words) / (2 - quality))
    return " ".join(words[: max(1, keep)]) if quality > 0 else _UNKNOWN_ANSWER


def _token_count(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _on_scale(score: float, ratings: list[float] | None) -> float:
    """A 0..1 score as the nearest rating of a custom metric's numeric scale (itself without one)."""
    if not ratings:
        return score
    low, high = min(ratings), max(ratings)
    return min(ratings, key=lambda value: abs(value - (low + score * (high - low))))

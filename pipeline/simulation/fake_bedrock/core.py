"""The simulated Bedrock's shared plumbing: its state, the HTTP entry point that decodes a request
with botocore's model and routes it to the operation's method, ids and ARNs, and the checks every
area makes (a role Bedrock can assume, a KMS key, a base or custom model of this account).

It serves the real HTTP API (``bedrock.<region>.amazonaws.com`` and
``bedrock-runtime.<region>.amazonaws.com``, REST-JSON) through :mod:`pipeline.simulation.wire`,
so the shapes are botocore's (service-2.json of bedrock 2023-04-20 and bedrock-runtime
2023-09-30, documented in docs/…/bedrock.md §4 and §10): requests are decoded by the model and
responses are checked against it. The state machine's ``aws-sdk:bedrock:*`` tasks, its ``.sync``
job integration and the handlers' boto3 clients all reach it the same way.

An operation ``Op`` of service ``bedrock`` is the method ``_bedrock_op`` (``bedrock-runtime``:
``_bedrock_runtime_op``) of the composed :class:`~pipeline.simulation.fake_bedrock.FakeBedrock`;
each service area is a class of its own module that adds its operations.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final

import boto3

from pipeline.catalog import UnknownModelError, get_model
from pipeline.simulation.clock import SimClock
from pipeline.simulation.fake_bedrock.behaviour import BedrockBehaviour
from pipeline.simulation.fake_bedrock.records import (
    Call,
    CustomModel,
    Deployment,
    EvaluationJob,
    Job,
    ModelChange,
    Throughput,
)
from pipeline.simulation.faults import Fault, FaultInjector
from pipeline.simulation.wire import HttpResponse, Request, RestJsonCodec, ServiceError

CONTROL: Final = "bedrock"
RUNTIME: Final = "bedrock-runtime"
_HOSTS: Final = {
    CONTROL: re.compile(r"^bedrock\.([a-z0-9-]+)\.amazonaws\.com$"),
    RUNTIME: re.compile(r"^bedrock-runtime\.([a-z0-9-]+)\.amazonaws\.com$"),
}
# Resource names and idempotency tokens, as botocore's shapes constrain them.
MODEL_NAME: Final = re.compile(r"^([0-9a-zA-Z][_-]?){1,63}$")
CLIENT_TOKEN: Final = re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?$")


class BedrockCore:
    """The service's state and what every area shares. Thread-safe: the interpreter and the handlers
    call it concurrently; every operation runs under one lock."""

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
        # TagResource's additions (e.g. a serving slot's tag on a promoted endpoint), by ARN.
        self.added_tags: dict[str, dict[str, str]] = {}
        # UntagResource's removals (the CLI's `throughput`/`sweep` use Tag/Untag), by ARN.
        self.removed_tags: dict[str, set[str]] = {}
        # What an earlier execution of the run id created before the run (FakeBedrock.seed_earlier_run).
        self.seeded: set[str] = set()
        self._references: dict[str, str] = {}
        # The ids the run invokes its distillation teacher by (answers at ModelBehaviour.teacher_quality).
        self.teachers: set[str] = set()
        self._eventual: Fault | None = None

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
        subject = subject_of(params)
        fault = self.faults.check(service, operation, params)
        # An "eventually" fault lets the call through; the change it starts fails later.
        eventual = fault if fault is not None and fault.eventually else None
        if eventual is not None:
            fault = None
        if fault is not None and not fault.after:
            self._log(service, operation, subject, f"fault:{fault.code}")
            return codec.encode_error(ServiceError(fault.code, fault.message))
        handler = getattr(self, f"_{service.replace('-', '_')}_{snake(operation)}", None)
        try:
            if handler is None:
                raise ServiceError(
                    "UnknownOperationException",
                    f"{service}:{operation} is not simulated (the workflow does not use it)",
                    status=501,
                )
            with self._lock:
                self._eventual = eventual
                try:
                    output = handler(params)
                finally:
                    self._eventual = None
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

    # -- checks ----------------------------------------------------------------------------------

    def _custom_model(self, identifier: str) -> CustomModel:
        for model in self.custom_models.values():
            if identifier in (model.arn, model.name):
                return model
        raise ServiceError("ResourceNotFoundException", f"custom model {identifier} not found")

    def _base_model(self, identifier: str) -> Any:
        model_id = identifier.rsplit("foundation-model/", 1)[-1]
        try:
            return get_model(model_id)
        except UnknownModelError:
            pass
        for model in self.custom_models.values():
            if identifier in (model.arn, model.name):
                if model.base_model_id:
                    return get_model(model.base_model_id)
                job = self.jobs[model.job_arn]
                return self._base_model(job.request["baseModelIdentifier"])
        raise ServiceError("ValidationException", f"{identifier} is not a customizable base model")

    def _eventual_failure(self) -> str | None:
        """The failure message an "eventually" fault gives the change this call starts, or None."""
        fault, self._eventual = self._eventual, None
        return fault.message if fault is not None else None

    def _start_change(self, changes: list[ModelChange], target: str, current: str, seconds: float) -> None:
        """An endpoint's in-place model change from ``current`` to ``target``, done ``seconds`` from
        now (failed then, if an "eventually" fault was set for this call)."""
        now = self.clock.elapsed()
        change = ModelChange(
            target_model_arn=target,
            previous_model_arn=current,
            started=now,
            done_at=now + seconds,
            failure=self._eventual_failure(),
        )
        changes.append(change)
        self.clock.schedule(change.done_at)

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


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def check_field(ok: Any, field_name: str, value: Any) -> None:
    if not ok:
        raise ServiceError(
            "ValidationException", f"1 validation error detected: Value {value!r} at '{field_name}'"
        )


def subject_of(params: Mapping[str, Any]) -> str:
    for key in (
        "jobName",
        "jobIdentifier",
        "provisionedModelName",
        "provisionedModelId",
        "modelDeploymentName",
        "customModelDeploymentIdentifier",
        "modelId",
        "modelIdentifier",
        "resourceARN",
    ):
        if params.get(key):
            return str(params[key])
    return ""


def page(items: list[dict[str, Any]], params: Mapping[str, Any], key: str) -> dict[str, Any]:
    start = int(params.get("nextToken") or 0)
    size = int(params.get("maxResults") or 100)
    out: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        out["nextToken"] = str(start + size)
    return out

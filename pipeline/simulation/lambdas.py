"""The workflow's Lambda functions, registered in moto and executed in-process.

Each ``AWS::Lambda::Function`` of the template becomes a moto function (same handler string,
environment variables resolved to the simulation's bucket and topic, same timeout), so the state
machine invokes real function ARNs and an unknown ARN fails as it would in AWS. moto cannot run
code without Docker; this module takes over its Invoke for those functions and calls the
handler (``lambdas.<name>.handler.lambda_handler``, read from the template's Handler property)
in this process, as the Lambda Python runtime would:

- from the function's own asset in the cloud assembly (the template's ``Code``), alone: its code
  is imported in a namespace of its own (:mod:`pipeline.simulation.asset_loader`), never from the
  repository, so an asset missing a module it needs fails here as it would in Lambda;

- the function's environment variables are set for the duration of the call, plus the runtime's
  own (``AWS_LAMBDA_FUNCTION_NAME`` and friends);
- the event is the JSON the state machine sent; the context has the request id, the function's
  ARN and memory, and ``get_remaining_time_in_millis()`` counting down from the function timeout;
- a return value is serialized to JSON (an unserializable one is ``Runtime.MarshalError``); an
  exception becomes an ``Unhandled`` function error with ``errorType`` = the exception's class
  name, ``errorMessage`` and ``stackTrace``, which is how Step Functions names the error;
- what the handler logs is captured per invocation (the function's "CloudWatch logs").

Fault rules on ``lambda:<name>`` make the Invoke API itself fail (TooManyRequestsException,
ServiceException, ...), before or after the handler ran.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import os
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from unittest import mock

from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import JsonRESTError

from infra.lambda_runtime import AssetError, FunctionAsset
from pipeline.simulation.asset_loader import PREFIX, namespace
from pipeline.simulation.clock import SimClock
from pipeline.simulation.faults import Fault, FaultInjector
from pipeline.simulation.result import SimulationError
from pipeline.simulation.wire import error_status

_HANDLER_PREFIX: Final = "lambdas."
_LOGGER_ROOTS: Final = ("lambdas", "pipeline", PREFIX)


class FunctionLoadError(SimulationError):
    """A function's handler cannot be loaded from its asset (in Lambda: Runtime.ImportModuleError)."""


@dataclass(frozen=True)
class FunctionSpec:
    """One workflow function as the template defines it."""

    logical_id: str
    function_name: str
    handler: str
    environment: Mapping[str, str]
    timeout_seconds: int
    memory_mb: int
    runtime: str
    # The function's asset in the cloud assembly (a zip, or a folder); set when the function is
    # registered for a simulation.
    asset: Path | None = None

    @property
    def short_name(self) -> str:
        """The handler folder: ``lambdas.evaluate_loss.handler.lambda_handler`` → ``evaluate_loss``."""
        parts = self.handler.split(".")
        return parts[1] if len(parts) >= 3 and parts[0] == "lambdas" else self.function_name

    def load(self) -> Callable[[Any, Any], Any]:
        """The handler, imported from the function's asset alone."""
        module_name, _, attribute = self.handler.rpartition(".")
        if not module_name.startswith(_HANDLER_PREFIX):
            raise ValueError(
                f"{self.logical_id}: handler {self.handler!r} is not one of this project's lambdas.*"
            )
        if self.asset is None:
            raise FunctionLoadError(f"{self.logical_id}: no asset to load {self.handler} from")
        try:
            module = namespace(self.asset).load(module_name)
        except Exception as error:
            raise FunctionLoadError(
                f"{self.logical_id} ({self.handler}): its asset {self.asset.name} does not import: "
                f"{type(error).__name__}: {error}"
            ) from error
        handler = getattr(module, attribute, None)
        if not callable(handler):
            raise FunctionLoadError(f"{self.logical_id}: {self.handler} is not a function in its asset")
        return handler  # type: ignore[no-any-return]

    def runtime_module(self) -> Any:
        """The asset's ``lambdas.common.runtime`` if the handler loaded it (its clients, its logger)."""
        return None if self.asset is None else namespace(self.asset).loaded("lambdas.common.runtime")


@dataclass
class Invocation:
    function: str
    request_id: str
    started: float
    event: Any
    result: Any = None
    error: dict[str, Any] | None = None
    api_error: str | None = None
    logs: list[str] = field(default_factory=list)


class LambdaContext:
    """The parts of the Lambda context object handlers use.

    The remaining time counts down on the simulation's clock (a handler's backoff sleeps spend it),
    never on the host's: how fast this machine runs must not change what a handler decides.
    """

    def __init__(self, spec: FunctionSpec, arn: str, request_id: str, clock: SimClock) -> None:
        self.function_name = spec.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = str(spec.memory_mb)
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{spec.function_name}"
        self.log_stream_name = f"simulation/[$LATEST]{request_id.replace('-', '')}"
        self._clock = clock
        self._deadline = clock.elapsed() + spec.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock.elapsed()) * 1000))


class _InvokeApiError(JsonRESTError):
    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.code, fault.message)
        self.code = error_status("lambda", fault.code)


class InProcessLambdas:
    """Registry of the workflow's functions and the in-process Invoke."""

    def __init__(
        self, clock: SimClock, faults: FaultInjector, region: str, assets: Mapping[str, FunctionAsset]
    ) -> None:
        self.clock = clock
        self.faults = faults
        self.region = region
        self.assets = dict(assets)
        self.invocations: list[Invocation] = []
        self._by_arn: dict[str, FunctionSpec] = {}
        self._loaded: dict[str, Callable[[Any, Any], Any]] = {}
        # Re-entrant: a handler may invoke another function (the preflight's dry call of the grader)
        # in the same thread.
        self._lock = threading.RLock()

    def register(self, spec: FunctionSpec, arn: str) -> FunctionSpec:
        """Take the function's asset from the cloud assembly and import its handler from it: at setup,
        so a broken asset fails the simulation before the run starts."""
        asset = self.assets.get(spec.logical_id)
        if asset is None:
            raise FunctionLoadError(f"{spec.logical_id}: the cloud assembly has no asset for it")
        spec = dataclasses.replace(spec, asset=asset.path)
        self._loaded[spec.logical_id] = spec.load()
        self._by_arn[arn] = spec
        runtime = spec.runtime_module()
        if runtime is not None:
            # A namespace outlives one simulation (assets are immutable): no client of a previous one.
            runtime.reset_clients()
        return spec

    def reset_clients(self) -> None:
        """Forget the boto3 clients every loaded handler cached (they belong to one simulation)."""
        for spec in self._by_arn.values():
            runtime = spec.runtime_module()
            if runtime is not None:
                runtime.reset_clients()

    def module_prefixes(self) -> tuple[str, ...]:
        """The module-name prefixes of the loaded handlers' code (for patching their sleeps)."""
        return tuple(sorted({f"{namespace(s.asset).prefix}." for s in self._by_arn.values() if s.asset}))

    @property
    def lock(self) -> threading.RLock:
        """Held for the whole of each invocation (environment swapped in and put back)."""
        return self._lock

    @property
    def functions(self) -> dict[str, FunctionSpec]:
        return dict(self._by_arn)

    @contextlib.contextmanager
    def patched(self) -> Iterator[None]:
        original = LambdaSimpleBackend.invoke
        registry = self

        def invoke(
            backend: Any,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: Any,
        ) -> Any:
            function = backend.get_function(function_name, qualifier)
            # A published version (what the grader's aliases point at) runs its function's handler.
            function_arn = _unqualified(function.function_arn)
            spec = registry._by_arn.get(function_arn)
            if spec is None:
                return original(backend, function_name, qualifier, body, headers, response_headers)
            invoked = _invoked_arn(function_arn, function_name, qualifier)
            payload, errored = registry._invoke(spec, invoked, body)
            if errored:
                response_headers["x-amz-function-error"] = "Unhandled"
            response_headers["Content-Length"] = str(len(payload))
            return payload

        with mock.patch.object(LambdaSimpleBackend, "invoke", invoke):
            yield

    def _invoke(self, spec: FunctionSpec, arn: str, body: Any) -> tuple[bytes, bool]:
        text = body.decode("utf-8") if isinstance(body, bytes) else (body or "{}")
        event = json.loads(text) if text.strip() else {}
        request_id = str(uuid.uuid4())
        invocation = Invocation(spec.short_name, request_id, self.clock.elapsed(), event)
        with self._lock:
            self.invocations.append(invocation)
            fault = self.faults.check("lambda", spec.short_name, event)
            if fault is not None and not fault.after:
                invocation.api_error = fault.code
                raise _InvokeApiError(fault)
            payload, errored = self._run(spec, arn, event, invocation)
            if fault is not None:
                invocation.api_error = fault.code
                raise _InvokeApiError(fault)
            return payload, errored

    def _run(self, spec: FunctionSpec, arn: str, event: Any, invocation: Invocation) -> tuple[bytes, bool]:
        handler = self._loaded[spec.logical_id]
        context = LambdaContext(spec, arn, invocation.request_id, self.clock)
        with _environment(spec, self.region), _captured_logs() as buffer:
            try:
                result = handler(event, context)
            except Exception as error:
                invocation.error = {
                    "errorMessage": str(error),
                    "errorType": type(error).__name__,
                    "requestId": invocation.request_id,
                    "stackTrace": traceback.format_tb(error.__traceback__),
                }
                traceback.print_exc(file=buffer)
            finally:
                invocation.logs = buffer.getvalue().splitlines()
        if invocation.error is not None:
            return json.dumps(invocation.error).encode("utf-8"), True
        try:
            payload = json.dumps(result)
        except (TypeError, ValueError) as error:
            invocation.error = {
                "errorMessage": f"Unable to marshal response: {error}",
                "errorType": "Runtime.MarshalError",
                "requestId": invocation.request_id,
                "stackTrace": [],
            }
            return json.dumps(invocation.error).encode("utf-8"), True
        invocation.result = result
        return payload.encode("utf-8"), False


def _unqualified(function_arn: str) -> str:
    """``arn:aws:lambda:<region>:<account>:function:<name>`` without a ``:<version>`` qualifier."""
    parts = function_arn.split(":")
    return ":".join(parts[:7]) if len(parts) > 7 else function_arn


def function_assets_of(template_path: Path) -> dict[str, FunctionAsset]:
    """The template's functions and their assets, or a FunctionLoadError that says what to do."""
    from infra.lambda_runtime import function_assets

    try:
        return function_assets(template_path)
    except (AssetError, OSError) as error:
        raise FunctionLoadError(str(error)) from error


def _invoked_arn(function_arn: str, requested: str, qualifier: str | None) -> str:
    """The ARN the caller invoked, as the context's ``invoked_function_arn`` reports it: the function
    ARN, or with the version or alias it was invoked through (``...:function:grader:exact-match``)."""
    if requested.startswith("arn:"):
        invoked = requested
    else:
        _, _, in_name = requested.partition(":")
        invoked = f"{function_arn}:{in_name}" if in_name else function_arn
    if qualifier and invoked.count(":") == function_arn.count(":"):
        invoked = f"{invoked}:{qualifier}"
    return invoked


@contextlib.contextmanager
def _environment(spec: FunctionSpec, region: str) -> Iterator[None]:
    values = {
        **spec.environment,
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _captured_logs() -> Iterator[io.StringIO]:
    """Everything the handler logs or prints goes to a buffer instead of the terminal."""
    buffer = io.StringIO()
    swapped: dict[int, tuple[logging.StreamHandler[Any], Any]] = {}
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if not isinstance(logger, logging.Logger) or not name.startswith(_LOGGER_ROOTS):
            continue
        for handler in logger.handlers:
            # A handler may serve several loggers: swap (and later restore) each one once.
            if isinstance(handler, logging.StreamHandler) and id(handler) not in swapped:
                swapped[id(handler)] = (handler, handler.stream)
                _set_stream(handler, buffer)
    root_handler = logging.StreamHandler(buffer)
    root_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(root_handler)
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield buffer
    finally:
        root.removeHandler(root_handler)
        for handler, stream in swapped.values():
            _set_stream(handler, stream)


def _set_stream(handler: logging.StreamHandler[Any], stream: Any) -> None:
    """Swap a handler's stream without flushing the old one (``setStream`` flushes, and the stream a
    handler captured at import time may be closed by now, e.g. a test's captured stdout)."""
    handler.acquire()
    try:
        handler.stream = stream
    finally:
        handler.release()

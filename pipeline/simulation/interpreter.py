"""Make moto's ASL interpreter run the synthesized definition the way AWS Step Functions would.

moto 5.2.5 carries a port of LocalStack's Step Functions interpreter
(``moto/stepfunctions/parser``). Used as is, it cannot run this project's state machine faithfully:
it sleeps in real time, it has no Bedrock integration, and a few of its behaviours differ from
the service's documented ones. :func:`interpreter_patches` changes the *interpreter*, never the
definition: every state of the synthesized template runs as written. Each change, and why:

Time (all waits run on the :class:`~pipeline.simulation.clock.SimClock`, none in real time)

- Wait states advance the clock by their Seconds/SecondsPath (``WaitFunction._wait_interval``).
- Retry backoff (IntervalSeconds, BackoffRate, MaxDelaySeconds, JitterStrategy as moto computes
  them) advances the clock instead of ``time.sleep`` (``retrier_decl.time``).
- TimeoutSeconds / TimeoutSecondsPath of a task and the task-token wait of
  ``.waitForTaskToken`` use clock deadlines (``execute_state.threading.Event``,
  ``callback.Event``): a 24-hour approval timeout fires when the clock reaches it. moto starts a
  task's worker thread before it waits on the task's timeout; the task's event holds the clock from
  its creation until that wait (``SimClock.hold``), so whichever thread runs first, no time passes
  before the timeout is in place (thread timing never moves where a timeout lands).
- History event timestamps are simulated time (``EventManager._get_current_timestamp``), so the
  timeline shows how long each state would really take.
- Outside the interpreter: botocore's retry sleeps in the handlers' clients
  (``botocore.endpoint.time``) and every ``time.sleep`` the project's handler code holds a
  reference to (a module attribute or a parameter default in ``lambdas.*`` and ``pipeline.*``,
  e.g. the Converse backoff of the evaluation) advance the clock too
  (:func:`handler_sleep_patches`).

Randomness (the simulation's outcome must not depend on what ran before it in the process)

- Retry jitter (a Retry's ``JitterStrategy: FULL``, ``jitter_strategy_decl.random``) and the
  handlers' boto3 standard-mode retry backoff (``ExponentialBackoff``) draw from a random
  generator of the simulation's own, seeded per scenario, instead of Python's global one: the
  same values as before in distribution, but the same sequence every time the scenario runs.

Service integrations

- ``arn:aws:states:::bedrock:createModelCustomizationJob(.sync)``: moto lists Bedrock as an
  unsupported optimized integration and cannot run ``.sync`` for it. :class:`BedrockIntegration`
  adds it, modelled on moto's own ``.sync`` integrations (Glue, Step Functions) and on the Bedrock
  docs [bedrock.md §7]: Parameters are the API's fields in PascalCase (unknown fields fail the
  state instead of being dropped silently); the task calls CreateModelCustomizationJob (so the
  ``ClientRequestToken`` makes it idempotent), then polls GetModelCustomizationJob by job ARN until
  the job is Completed, Failed or Stopped. Output: the Get response with PascalCase keys and
  timestamps as epoch milliseconds (the convention of the SageMaker and Glue ``.sync`` outputs).
  Failed or Stopped fail the task with ``States.TaskFailed`` and the Get response as JSON cause,
  like moto's Glue ``.sync``. API errors of the create call are ``Bedrock.<ErrorCode>``. The
  output shape and the failure mapping of the real integration are UNCONFIRMED [bedrock.md §7];
  these are the assumptions. Polling errors that are transient are retried inside the
  integration (Step Functions does not surface its own polling).
- ``arn:aws:states:::aws-sdk:<service>:<action>``: moto passes the state's PascalCase Parameters
  straight to boto3 and returns boto3's camelCase response, so for camelCase APIs such as Bedrock
  (``provisionedModelId``) every call fails with a parameter error. :class:`AwsSdkIntegration`
  maps Parameters to the API's member names and the response back to PascalCase through the
  botocore service model (what LocalStack's original does and what AWS documents for SDK
  integrations), with timestamps as ISO-8601 strings. Errors are named
  ``<ServiceId>.<ErrorCode>`` with ``Exception`` appended when missing (``Bedrock.ThrottlingException``),
  where moto would say ``bedrock.ThrottlingException`` and miss every Retry on ``Bedrock.*``.
- Lambda tasks whose Resource is a function ARN: an error of the Invoke API itself is named
  ``Lambda.<ErrorCode>`` (``Lambda.TooManyRequestsException``), as AWS documents, and a
  Parameters path that finds nothing is ``States.Runtime``; moto names both ``Exception``.

Error handling

- A Choice rule whose Variable path finds nothing (other than ``IsPresent``) fails the execution
  with ``States.Runtime`` ("The choice state's condition path references an invalid value"), as
  AWS does; moto quietly treats the rule as false and takes the Default branch.
- ``States.ALL`` in a Retry or Catch does not match ``States.Runtime`` or
  ``States.DataLimitExceeded``: AWS documents both as uncatchable (a JSONPath that finds nothing in
  Parameters fails the execution). moto's ``ErrorEqualsDecl`` catches them, which would hide
  exactly the defects the simulation exists to find.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import inspect
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Final
from unittest import mock

import botocore.endpoint
import botocore.session
from botocore.exceptions import ClientError
from botocore.model import OperationModel
from botocore.retries.standard import ExponentialBackoff
from moto.stepfunctions.parser.api import (
    ExecutionFailedEventDetails,
    HistoryEventType,
    TaskFailedEventDetails,
)
from moto.stepfunctions.parser.asl.component.common.error_name import error_equals_decl
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.retry import jitter_strategy_decl, retrier_decl
from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_operator_type import (
    ComparisonOperatorType,
)
from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_variable import (
    ComparisonVariable,
)
from moto.stepfunctions.parser.asl.component.state.choice.comparison.variable import NoSuchVariable
from moto.stepfunctions.parser.asl.component.state.exec import execute_state
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_factory,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (  # noqa: E501
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.callback import callback as callback_module
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError

from pipeline.simulation.clock import SimClock

JOB_TERMINAL: Final = frozenset({"Completed", "Failed", "Stopped"})
JOB_FAILED: Final = frozenset({"Failed", "Stopped"})
# The .sync integration looks at the job again at its next announced status change, and at least
# this often (Step Functions' own polling interval is not documented; it costs no transitions).
SYNC_POLL_SECONDS: Final = 600.0
_TRANSIENT: Final = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailableException",
        "InternalServerException",
    }
)
_UNCATCHABLE: Final = frozenset(
    t.to_name()
    for t in (StatesErrorNameType.StatesRuntime, StatesErrorNameType.StatesStatesDataLimitExceeded)
)
# service name in the Resource ARN -> boto3 service name
_BOTO_NAMES: Final = {"sfn": "stepfunctions", "states": "stepfunctions", "bedrockruntime": "bedrock-runtime"}


@functools.cache
def _service_model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def _operation(service: str, action: str) -> OperationModel:
    model = _service_model(service)
    name = action[:1].upper() + action[1:]
    if name not in model.operation_names:
        raise ValueError(f"{service} has no API action {action!r}")
    return model.operation_model(name)


def _error_name(service: str, code: str) -> str:
    """``Bedrock.ThrottlingException``: the service id without spaces, the code, 'Exception' appended."""
    prefix = {"dynamodb": "DynamoDb", "stepfunctions": "Sfn"}.get(service)
    if prefix is None:
        prefix = str(_service_model(service).metadata.get("serviceId", service)).replace(" ", "")
    name = f"{prefix}.{code}"
    return name if name.endswith("Exception") else f"{name}Exception"


def _details(**details: Any) -> Any:
    """A history event's details (moto's ``EventDetails``, a TypedDict that is a plain dict at runtime)."""
    return dict(details)


def _timestamps(value: Any, convert: Callable[[dt.datetime], Any]) -> Any:
    if isinstance(value, dt.datetime):
        return convert(value)
    if isinstance(value, dict):
        return {k: _timestamps(v, convert) for k, v in value.items()}
    if isinstance(value, list):
        return [_timestamps(v, convert) for v in value]
    return value


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _epoch_ms(value: dt.datetime) -> int:
    return round(value.timestamp() * 1000)


class _AnyErrorName(ErrorName):
    """An error name as a state reports it, without moto's check on the reserved prefix."""


def error_name_of(error: str) -> ErrorName:
    """``States.*`` names as the interpreter's own, anything else as a custom error name."""
    if error.startswith("States."):
        try:
            return StatesErrorName.from_name(error)
        except ValueError:
            return _AnyErrorName(error)
    return CustomErrorName(error)


def _task_failed(state: Any, env: Any, error: str, cause: str) -> FailureEvent:
    return FailureEvent(
        env=env,
        error_name=error_name_of(error),
        event_type=HistoryEventType.TaskFailed,
        event_details=_details(
            taskFailedEventDetails=TaskFailedEventDetails(
                resource=state._get_sfn_resource(),
                resourceType=state._get_sfn_resource_type(),
                error=error,
                cause=cause,
            )
        ),
    )


class AwsSdkIntegration(StateTaskServiceAwsSdk):
    """``aws-sdk:<service>:<action>`` with AWS's PascalCase mapping of Parameters and results."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def _boto_operation(self) -> OperationModel:
        return _operation(self._get_boto_service_name(), self.resource.api_action)

    def _get_boto_service_name(self, boto_service_name: str | None = None) -> str:
        name = boto_service_name or self.resource.api_name
        return _BOTO_NAMES.get(name, name)

    def _normalise_parameters(
        self,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        shape = self._boto_operation().input_shape
        if shape is not None:
            self._to_boto_request(parameters, shape)

    def _normalise_response(
        self, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        shape = self._boto_operation().output_shape
        if shape is not None and isinstance(response, dict):
            self._from_boto_response(response, shape)
            converted = _timestamps(response, _iso)
            response.clear()
            response.update(converted)

    def _from_error(self, env: Any, ex: Exception) -> FailureEvent:
        if isinstance(ex, ClientError):
            error = _error_name(self._get_boto_service_name(), ex.response["Error"]["Code"])
            meta = ex.response.get("ResponseMetadata", {})
            cause = (
                f"{ex.response['Error'].get('Message', '')} (Service: {error.split('.')[0]}, "
                f"Status Code: {meta.get('HTTPStatusCode')}, Request ID: {meta.get('RequestId')})"
            )
            return _task_failed(self, env, error, cause)
        return super()._from_error(env=env, ex=ex)


class BedrockIntegration(StateTaskServiceCallback):
    """``arn:aws:states:::bedrock:createModelCustomizationJob`` and its ``.sync`` form."""

    ACTIONS: Final = {"createModelCustomizationJob": "GetModelCustomizationJob"}

    def __init__(self, clock: SimClock) -> None:
        # WaitForTaskToken is listed only because moto's .sync machinery needs a callback endpoint;
        # the resource check below refuses .waitForTaskToken, as AWS does for Bedrock.
        patterns: set[Any] = {ResourceCondition.WaitForTaskToken, ResourceCondition.Sync}
        super().__init__(supported_integration_patterns=patterns)
        self._clock = clock

    def _validate_service_integration_is_supported(self) -> None:
        action, condition = self.resource.api_action, self.resource.condition
        if action not in self.ACTIONS:
            raise ValueError(
                f"bedrock:{action} is not simulated; the simulation runs "
                f"{', '.join('bedrock:' + a for a in self.ACTIONS)} (and .sync)"
            )
        if condition not in (None, ResourceCondition.Sync):
            raise ValueError(
                f"bedrock:{action}.{condition} is not a Step Functions integration pattern for Bedrock"
            )

    def _operation_model(self) -> OperationModel:
        return _operation("bedrock", self.resource.api_action)

    def _get_supported_parameters(self) -> set[str]:
        shape = self._operation_model().input_shape
        return {name[:1].upper() + name[1:] for name in shape.members}

    def _eval_parameters(self, env: Any) -> dict[str, Any]:
        parameters: dict[str, Any] = {}
        if self.parargs is not None:
            self.parargs.eval(env=env)
            parameters = env.stack.pop()
        unknown = sorted(set(parameters) - self._get_supported_parameters())
        if unknown:
            error = StatesErrorNameType.StatesRuntime
            raise FailureEventException(
                _task_failed(
                    self,
                    env,
                    error.to_name(),
                    f"The field(s) {', '.join(unknown)} are not supported by Step Functions for "
                    f"bedrock:{self.resource.api_action}",
                )
            )
        return parameters

    def _normalise_parameters(
        self,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        self._to_boto_request(parameters, self._operation_model().input_shape)

    def _from_error(self, env: Any, ex: Exception) -> FailureEvent:
        if isinstance(ex, ClientError):
            return _task_failed(
                self, env, f"Bedrock.{ex.response['Error']['Code']}", ex.response["Error"]["Message"]
            )
        return super()._from_error(env=env, ex=ex)

    def _eval_service_task(
        self,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        client = boto_client_for(
            service="bedrock", region=resource_runtime_part.region, state_credentials=state_credentials
        )
        response = client.create_model_customization_job(**normalised_parameters)
        response.pop("ResponseMetadata", None)
        self._from_boto_response(response, self._operation_model().output_shape)
        env.stack.append(response)

    def _build_sync_resolver(
        self,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> Callable[[], Any]:
        submitted: dict[str, Any] = env.stack.pop()
        job_arn = submitted["JobArn"]
        # This attempt's own deadline (TimeoutSeconds / TimeoutSecondsPath): polling never moves the
        # clock past it; once it is reached the interpreter ends the task and the loop below stops.
        self.timeout.eval(env=env)
        deadline = self._clock.elapsed() + float(env.stack.pop())
        client = boto_client_for(
            service="bedrock", region=resource_runtime_part.region, state_credentials=state_credentials
        )
        output_shape = _operation("bedrock", self.ACTIONS[self.resource.api_action]).output_shape

        def resolve() -> Any:
            while env.is_running():
                try:
                    job = client.get_model_customization_job(jobIdentifier=job_arn)
                except ClientError as error:
                    if error.response["Error"]["Code"] not in _TRANSIENT:
                        raise
                    self._clock.sleep(5)
                    continue
                job.pop("ResponseMetadata", None)
                if job.get("status") not in JOB_TERMINAL:
                    left = deadline - self._clock.elapsed()
                    if left > 0:
                        self._clock.sleep_until_next(min(SYNC_POLL_SECONDS, left))
                    else:
                        # Timed out: the interpreter is ending this task, and simulated time must
                        # not move on behalf of a task that no longer waits.
                        time.sleep(0.005)
                    continue
                self._from_boto_response(job, output_shape)
                output = _timestamps(job, _epoch_ms)
                if output.get("Status") in JOB_FAILED:
                    raise FailureEventException(
                        _task_failed(
                            self, env, StatesErrorNameType.StatesTaskFailed.to_name(), to_json_str(output)
                        )
                    )
                return output
            return None

        return resolve


def _lambda_from_error(original: Callable[..., FailureEvent]) -> Callable[..., FailureEvent]:
    def failed(env: Any, error: str, cause: str) -> FailureEvent:
        return FailureEvent(
            env=env,
            error_name=error_name_of(error),
            event_type=HistoryEventType.LambdaFunctionFailed,
            event_details=_details(lambdaFunctionFailedEventDetails={"error": error, "cause": cause}),
        )

    def from_error(self: Any, env: Any, ex: Exception) -> FailureEvent:
        if isinstance(ex, NoSuchJsonPathError):
            return failed(
                env,
                StatesErrorNameType.StatesRuntime.to_name(),
                f"The JSONPath '{ex.json_path}' specified in the state's Parameters could not be found "
                "in the input",
            )
        if isinstance(ex, ClientError):
            return failed(env, f"Lambda.{ex.response['Error']['Code']}", ex.response["Error"]["Message"])
        return original(self, env, ex)

    return from_error


def _error_equals(original: Callable[..., None]) -> Callable[..., None]:
    def eval_body(self: Any, env: Any) -> None:
        error_name = env.stack[-1]
        if getattr(error_name, "error_name", None) in _UNCATCHABLE:
            env.stack.pop()
            env.stack.append(error_name in self.error_names)
            return
        original(self, env)

    return eval_body


def _choice_variable(self: Any, env: Any) -> None:
    self.variable.eval(env)
    value = env.stack[-1]
    if (
        isinstance(value, NoSuchVariable)
        and self.comparison_function.operator_type != ComparisonOperatorType.IsPresent
    ):
        path = self.variable.string_sampler.literal_value
        error = StatesErrorNameType.StatesRuntime
        raise FailureEventException(
            FailureEvent(
                env=env,
                error_name=StatesErrorName(typ=error),
                event_type=HistoryEventType.ExecutionFailed,
                event_details=_details(
                    executionFailedEventDetails=ExecutionFailedEventDetails(
                        error=error.to_name(),
                        cause=f"Invalid path '{path}': The choice state's condition path references an "
                        "invalid value.",
                    )
                ),
            )
        )
    self.comparison_function.eval(env)


@contextlib.contextmanager
def interpreter_patches(
    clock: SimClock, seed: int = 0, invocations: threading.RLock | None = None
) -> Iterator[None]:
    """Apply every change described in the module docstring for the duration of a simulation.

    ``seed``: of the simulation's own random numbers (see "Randomness" in the module docstring).
    ``invocations``: the lock an in-process Lambda invocation holds (InProcessLambdas.lock). A task
    waiting for its token goes on only once the invocation that sent the token (the approval
    answer, run from another thread) is over: that invocation swaps the process's environment
    variables for the function's, and the run must not go on while they are being put back (a
    botocore client created meanwhile read a key as it was being removed: KeyError 'TRAINING_BUCKET').
    """

    def after_token_wait() -> None:
        if invocations is not None:
            with invocations:
                pass

    rng = random.Random(seed)  # noqa: S311 - retry jitter, not security
    original_backoff_init = ExponentialBackoff.__init__

    def backoff_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_backoff_init(self, *args, **kwargs)
        self._random = rng.random

    def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        if wait_seconds > 0 and env.is_running():
            clock.sleep(wait_seconds)

    original_service_for = state_task_service_factory.state_task_service_for

    def service_for(service_name: str) -> Any:
        if service_name == "aws-sdk":
            return AwsSdkIntegration()
        if service_name == "bedrock":
            return BedrockIntegration(clock)
        return original_service_for(service_name)

    with contextlib.ExitStack() as stack:
        for target, attribute, value in (
            (WaitFunction, "_wait_interval", wait_interval),
            (retrier_decl, "time", clock.time_module()),
            (jitter_strategy_decl, "random", rng),
            (ExponentialBackoff, "__init__", backoff_init),
            # held: the task's timeout is in place before its worker thread can move the clock.
            (execute_state, "threading", clock.threading_module(held=True)),
            (callback_module, "Event", clock.event_class(after_wait=after_token_wait)),
            (EventManager, "_get_current_timestamp", staticmethod(clock.now)),
            (botocore.endpoint, "time", clock.time_module()),
            (state_task_factory, "state_task_service_for", service_for),
            (StateTaskLambda, "_from_error", _lambda_from_error(StateTaskLambda._from_error)),
            (ComparisonVariable, "_eval_body", _choice_variable),
            (
                error_equals_decl.ErrorEqualsDecl,
                "_eval_body",
                _error_equals(error_equals_decl.ErrorEqualsDecl._eval_body),
            ),
        ):
            stack.enter_context(mock.patch.object(target, attribute, value))
        yield


# The repository's own handler-side modules (the handlers themselves run from their assets, whose
# module prefixes the simulation adds: InProcessLambdas.module_prefixes).
HANDLER_MODULES: Final = ("lambdas.", "pipeline.")


@contextlib.contextmanager
def handler_sleep_patches(clock: SimClock, prefixes: tuple[str, ...] = HANDLER_MODULES) -> Iterator[int]:
    """Point every reference to ``time.sleep`` held by already imported project modules at the clock.

    Handlers inject their sleep (``SLEEP = time.sleep``, ``sleep: Sleep = time.sleep``), which binds
    the real function at import time; patching ``time.sleep`` itself would not reach them. Yields
    how many references were replaced.
    """
    real_sleep = time.sleep
    with contextlib.ExitStack() as stack:
        count = 0
        for name, module in list(sys.modules.items()):
            if module is None or not name.startswith(prefixes) or name.startswith("pipeline.simulation"):
                continue
            for attribute, value in list(vars(module).items()):
                if value is real_sleep:
                    stack.enter_context(mock.patch.object(module, attribute, clock.sleep))
                    count += 1
                for function in _functions_of(value, module.__name__):
                    kwdefaults = function.__kwdefaults__ or {}
                    replaced = {k: clock.sleep for k, v in kwdefaults.items() if v is real_sleep}
                    if replaced:
                        stack.enter_context(mock.patch.dict(kwdefaults, replaced))
                        count += len(replaced)
                    defaults = function.__defaults__ or ()
                    if any(v is real_sleep for v in defaults):
                        patched = tuple(clock.sleep if v is real_sleep else v for v in defaults)
                        stack.enter_context(mock.patch.object(function, "__defaults__", patched))
                        count += 1
        yield count


def _functions_of(value: Any, module_name: str) -> list[Any]:
    """The plain functions defined in ``module_name``: a module-level function, or a class's methods."""
    if inspect.isfunction(value) and value.__module__ == module_name:
        return [value]
    if inspect.isclass(value) and value.__module__ == module_name:
        return [v for v in vars(value).values() if inspect.isfunction(v)]
    return []

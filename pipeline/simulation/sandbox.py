"""A local AWS stand-in holding the synthesized stack as if deployed: ``bedrock-customize sandbox``.

The simulation (:mod:`pipeline.simulation.runner`) runs one scenario end to end and prints what
happened. The sandbox exposes the same world as an HTTP endpoint on 127.0.0.1 so the real CLI can
operate it, command by command, the way a platform team rehearses against LocalStack:

    bedrock-customize sandbox --port 4599          # one terminal, until Ctrl-C
    export AWS_ENDPOINT_URL=http://127.0.0.1:4599 AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox
    bedrock-customize start examples/runs/fine-tuning.yaml --env sandbox --yes

How it is put together (one process):

- ``mock_aws`` is active for the whole session, so every AWS call made *inside* the process (the
  state machine's tasks in moto's interpreter, the project's Lambda handlers through
  ``lambdas.common.runtime.client``, the fake Bedrock's own S3 reads) goes straight to moto's
  in-memory backends, exactly as in the simulation. The handlers' clients are not pointed at the
  HTTP endpoint: in-process is what the simulation already proves, it needs no credentials or
  port, and a handler calling back into the server that is invoking it would only add a hop.
- moto's WSGI application (its server mode, ``DomainDispatcherApplication``) serves the *same*
  backends over HTTP on 127.0.0.1:PORT for the CLI, wrapped by :class:`SandboxApp`, which routes
  three kinds of request elsewhere:

  * requests signed for ``bedrock`` / ``bedrock-runtime`` (the service of the SigV4 credential
    scope in the Authorization header) go to :meth:`FakeBedrock.handle` — the simulated Bedrock that
    the state machine's in-process calls reach too (:func:`pipeline.simulation.runner.aws_routes`);
  * ``POST /_sandbox/approval-url/`` and ``POST /_sandbox/start-url/`` are the approval-answer and
    start function URLs (``approvalUrl`` and ``startUrl`` in the manifest). Like a Lambda function
    URL with ``AuthType: AWS_IAM`` they want a SigV4 signature for ``lambda`` (403 otherwise) and hand
    the function the caller as ``requestContext.authorizer.iam``: the identity moto's STS gives the
    request's access key (``sts get-caller-identity`` says the same). The signature itself is not
    verified: the sandbox has no secret keys to check it with (:mod:`pipeline.simulation.function_urls`).
    Each person is an access key: ``sandbox`` is ``user/moto``, who may not approve what they
    started; the sandbox creates the IAM user ``sandbox-approver`` and prints its key (a note after
    the ready line) to approve with.
  * requests for the Price List API (``pricing``), which moto lacks, are refused with
    AccessDeniedException: the CLI then uses the catalog's prices, as it does for a caller without
    ``pricing:GetProducts``;
  * ``StartExecution`` is passed on unchanged, after the run's local datasets have been read from
    the sandbox bucket to give the simulated models their ground truth (as the simulation does).

- The state machine, bucket, topic, key, roles and functions are created from the synthesized
  template by :func:`pipeline.simulation.template.provision`; each function's handler is imported
  from its own asset of the cloud assembly, alone (:mod:`pipeline.simulation.asset_loader`), and a
  function whose asset does not import stops the sandbox before it serves; the discovery manifest is the
  template's own ``/bedrock-customization/<env>/deployment`` value, resolved, for the environment
  ``sandbox`` (SSM parameter ``/bedrock-customization/sandbox/deployment``), and the stack
  ``BedrockCustomization-sandbox`` has the same outputs.
- Time: a :class:`~pipeline.simulation.realtime.ScaledClock` — every wait is real but ``speed``
  times shorter (a 3-hour job lasts 18 s at the default 600x; a 24-hour approval timeout, 144 s).
  Every timestamp is wall-clock time (``ScaledClock.now``): the execution history, moto's own
  start and stop dates, the handlers' (an approval's ``requestedAt``) and the simulated Bedrock's
  (a job created now reports its end 18 s later). The CLI compares them with each other (an
  approval request against the moment its wait began) and with its own clock (ages, costs so far).
- EventBridge: when an execution ends, the sandbox delivers the execution-status event to the
  function the template's rule targets (:func:`pipeline.simulation.actors.deliver_status_event`).

Nothing listens beyond 127.0.0.1; a port already in use is refused with :class:`SandboxError`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import io
import json
import logging
import os
import re
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Final, TextIO

from pipeline import naming
from pipeline.simulation import DEFAULT_TEMPLATE
from pipeline.simulation.function_urls import ANSWER_HANDLER, START_HANDLER, signed_for
from pipeline.simulation.sandbox_tags import tagging_bedrock

ENVIRONMENT: Final = "sandbox"
HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 4599
DEFAULT_SPEED: Final = 600.0
DEFAULT_REGION: Final = "us-east-1"
DEFAULT_OUT: Final = "build/sandbox"
APPROVAL_PATH: Final = "/_sandbox/approval-url/"
START_PATH: Final = "/_sandbox/start-url/"
# An IAM user of the sandbox other than the one the default key is: who approves what that one starts.
APPROVER: Final = "sandbox-approver"
# What the CLI should use: anything works as credentials, the sandbox only needs SigV4 to be present.
CREDENTIALS: Final = {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox"}
_BEDROCK: Final = frozenset({"bedrock", "bedrock-runtime"})
_MONITOR_SECONDS: Final = 0.5
_TEACH_MAX_LINES: Final = 5000

LOG = logging.getLogger("pipeline.simulation.sandbox")


class SandboxError(RuntimeError):
    """The sandbox cannot start (port taken, no template, unknown scenario)."""


def check_port_free(port: int, host: str = HOST) -> None:
    """Refuse a port that something already listens on, with a message that says what to do."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        if probe.connect_ex((host, port)) == 0:
            raise SandboxError(
                f"port {port} on {host} is already in use (another sandbox, or another local server): "
                f"stop it, or choose another port with --port"
            )


@dataclass
class Sandbox:
    """The sandbox's world: moto backends, fake Bedrock, functions and the deployed stack."""

    port: int
    region: str
    speed: float
    scenario: Any
    template: Any
    out: Path
    endpoint: str = ""
    manifest: dict[str, Any] = field(default_factory=dict)
    fake: Any = None
    functions: Any = None
    provisioned: Any = None
    clients: dict[str, Any] = field(default_factory=dict)
    delivered: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    answer_arn: str | None = None
    start_arn: str | None = None
    announced: int = 0

    @property
    def approval_url(self) -> str:
        return f"{self.endpoint}{APPROVAL_PATH}"

    @property
    def start_url(self) -> str:
        return f"{self.endpoint}{START_PATH}"

    def environment_line(self) -> str:
        """The exact environment the CLI needs, as a shell would take it."""
        values = {
            "AWS_ENDPOINT_URL": self.endpoint,
            **CREDENTIALS,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }
        return " ".join(f"{k}={v}" for k, v in values.items())

    # -- setting up ------------------------------------------------------------------------------

    def provision(self) -> None:
        import boto3

        from pipeline.simulation.actors import ACCOUNT
        from pipeline.simulation.template import PROVISIONED_SERVICES, Resolver, provision

        # The template's services, and SSM (the deployment manifest) and CloudFormation (its stack).
        services = (*PROVISIONED_SERVICES, "ssm", "cloudformation")
        self.clients = {name: boto3.client(name, region_name=self.region) for name in services}
        resolver = Resolver(region=self.region, account=ACCOUNT, stack_name=self.template.stack_name)
        self.provisioned = provision(self.template, resolver, self.clients)
        for function, arn in self.provisioned.functions.values():
            # The sandbox is the stack deployed as environment "sandbox": functions that know their
            # environment (serving slots' parameters, the --env of the commands they print) know it
            # as such, as a deployment for it would.
            if naming.DEPLOYMENT_ENVIRONMENT_VARIABLE in function.environment:
                environment = {**function.environment, naming.DEPLOYMENT_ENVIRONMENT_VARIABLE: ENVIRONMENT}
                function = dataclasses.replace(function, environment=environment)
            self.functions.register(function, arn)
        from pipeline.simulation.function_urls import function_arn

        self.answer_arn = function_arn(self.provisioned, ANSWER_HANDLER)
        self.start_arn = function_arn(self.provisioned, START_HANDLER)
        # What CloudFormation would know after a deployment: the state machine, the function URLs.
        machine_id, _ = self.template.state_machine()
        resolver.refs[machine_id] = self.provisioned.state_machine_arn
        served = {self.answer_arn: self.approval_url, self.start_arn: self.start_url}
        for logical_id, resource in self.template.of_type("AWS::Lambda::Url").items():
            target = resolver.resolve((resource.get("Properties") or {}).get("TargetFunctionArn"))
            resolver.attributes[(logical_id, "FunctionUrl")] = served.get(target, self.approval_url)
        self.manifest = self._manifest(resolver)
        name = f"/bedrock-customization/{ENVIRONMENT}/deployment"
        self.clients["ssm"].put_parameter(
            Name=name, Value=json.dumps(self.manifest), Type="String", Overwrite=True
        )
        self._stack_outputs(resolver)
        self._second_person()

    def _second_person(self) -> None:
        """An IAM user who may approve what ``sandbox`` (``user/moto``) starts: the starter may not."""
        key = None
        with contextlib.suppress(Exception):  # a moto without IAM users: the note is left out
            self.clients["iam"].create_user(UserName=APPROVER)
            key = self.clients["iam"].create_access_key(UserName=APPROVER)["AccessKey"]
        if key is not None:
            self.notes.append(
                f"runs started with the sandbox key may not be approved by it (self-approval); approve as "
                f"{APPROVER}: AWS_ACCESS_KEY_ID={key['AccessKeyId']} "
                f"AWS_SECRET_ACCESS_KEY={key['SecretAccessKey']} bedrock-customize approve RUN_ID "
                f"--env {ENVIRONMENT}"
            )

    def _manifest(self, resolver: Any) -> dict[str, Any]:
        from pipeline.simulation.template import TemplateError

        manifest: dict[str, Any] = {}
        for resource in self.template.of_type("AWS::SSM::Parameter").values():
            props = resource.get("Properties", {})
            if str(props.get("Name", "")).endswith("/deployment"):
                try:
                    manifest = json.loads(resolver.resolve(props.get("Value")))
                except (TemplateError, TypeError, json.JSONDecodeError) as error:
                    self.notes.append(
                        f"the template's manifest did not resolve ({error}); built from outputs"
                    )
        for key, output in (self.template.body.get("Outputs") or {}).items():
            wanted = key[:1].lower() + key[1:]
            if wanted not in manifest and key != "ManifestParameter":
                with contextlib.suppress(TemplateError):
                    manifest[wanted] = resolver.resolve(output.get("Value"))
        manifest.update(
            environment=ENVIRONMENT,
            stackName=f"BedrockCustomization-{ENVIRONMENT}",
            region=self.region,
            approvalUrl=self.approval_url,
            **({"startUrl": self.start_url} if self.start_arn else {}),
            # The CLI shows deadlines on the wall clock and in sandbox time (pipeline.operate.discovery).
            sandboxSpeed=self.speed,
        )
        manifest.setdefault("version", 1)
        return manifest

    def _stack_outputs(self, resolver: Any) -> None:
        """The stack ``BedrockCustomization-sandbox`` with the manifest's values as outputs (discovery's
        fallback when the SSM parameter cannot be read). A stand-in resource holds it up."""
        outputs = {
            key[:1].upper() + key[1:]: {"Value": str(value)}
            for key, value in self.manifest.items()
            if isinstance(value, str) and key not in ("environment", "stackName", "region", "account")
        }
        body = {
            "Resources": {"Deployed": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": outputs,
        }
        try:
            with warnings.catch_warnings():  # moto: "WaitConditionHandle is not supported" (it needs none)
                warnings.simplefilter("ignore")
                self.clients["cloudformation"].create_stack(
                    StackName=self.manifest["stackName"], TemplateBody=json.dumps(body)
                )
        except Exception as error:  # the SSM manifest is what the CLI reads first
            self.notes.append(f"no stack outputs: {type(error).__name__}: {error}")

    # -- HTTP ------------------------------------------------------------------------------------

    def bedrock(
        self, service: str, region: str, environ: dict[str, Any], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        from pipeline.simulation.wire import Request

        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        if "?" not in raw and environ.get("QUERY_STRING"):
            raw = f"{raw}?{environ['QUERY_STRING']}"
        # botocore signs bedrock-runtime requests for "bedrock" too: behind one endpoint the path
        # tells the two apart (their first path segments are disjoint).
        if raw.split("/")[1].split("?")[0] in _runtime_path_roots():
            service = "bedrock-runtime"
        url = f"https://{service}.{region}.amazonaws.com{raw}"
        response = self.fake.handle(
            Request(environ.get("REQUEST_METHOD", "GET"), url, _headers(environ), body)
        )
        if response is None:
            return 404, {"Content-Type": "application/json"}, b'{"message": "not a Bedrock request"}'
        status, headers, payload = response
        return status, dict(headers), payload if isinstance(payload, bytes) else str(payload).encode()

    def approve(self, environ: dict[str, Any], body: bytes) -> tuple[int, dict[str, str], bytes]:
        """The approval-answer function URL with IAM auth, as Lambda serves it."""
        return self._function_url(environ, body, self.answer_arn, "approval-answer")

    def start(self, environ: dict[str, Any], body: bytes) -> tuple[int, dict[str, str], bytes]:
        """The start function URL with IAM auth; the run's datasets teach the simulated models first."""
        with contextlib.suppress(json.JSONDecodeError, AttributeError, TypeError):
            text = json.loads(body or b"{}").get("input")
            if isinstance(text, str):
                self.before_start(json.dumps({"input": text}).encode("utf-8"))
        return self._function_url(environ, body, self.start_arn, "start")

    def _function_url(
        self, environ: dict[str, Any], body: bytes, arn: str | None, what: str
    ) -> tuple[int, dict[str, str], bytes]:
        from pipeline.simulation import function_urls
        from pipeline.simulation.actors import ACCOUNT

        signed = signed_for(environ.get("HTTP_AUTHORIZATION", ""))
        json_type = {"Content-Type": "application/json"}
        if signed is None or signed[2] != "lambda":
            return 403, json_type, json.dumps({"Message": "Forbidden"}).encode()
        if arn is None:
            return 404, json_type, json.dumps({"Message": f"the template has no {what} function"}).encode()
        event = function_urls.url_event(
            method=environ.get("REQUEST_METHOD", "POST"),
            path=environ.get("PATH_INFO", "/"),
            query=environ.get("QUERY_STRING", ""),
            headers=_headers(environ),
            body=body.decode("utf-8", errors="replace"),
            caller=function_urls.caller_arn(signed[0], signed[1], ACCOUNT),
            access_key=signed[0],
            account=ACCOUNT,
        )
        return function_urls.invoke(self.clients["lambda"], arn, event)

    def before_start(self, body: bytes) -> None:
        """A run is being started: teach the simulated models the reference answers of its datasets."""
        try:
            request = json.loads(body or b"{}")
            spec = json.loads(request.get("input") or "{}").get("runSpec") or {}
        except (json.JSONDecodeError, AttributeError):
            return
        for uri in sorted(set(_s3_uris(spec))):
            bucket, _, key = uri[len("s3://") :].partition("/")
            if bucket != self.provisioned.bucket or not key.endswith((".jsonl", ".json")):
                continue
            try:
                data = self.clients["s3"].get_object(Bucket=bucket, Key=key)["Body"].read()
            except Exception as error:  # the run fails on it later, as it would in AWS
                LOG.warning("cannot read %s to teach the simulated models: %s", uri, error)
                continue
            self._teach(data)

    def _teach(self, data: bytes) -> None:
        from pipeline import evaluation

        for number, line in enumerate(data.splitlines()):
            if number >= _TEACH_MAX_LINES:
                break
            try:
                pair = evaluation.extract_pair(json.loads(line))
            except (json.JSONDecodeError, UnicodeDecodeError, TypeError, AttributeError):
                continue
            if pair is not None:
                self.fake.learn(*pair)

    # -- EventBridge -----------------------------------------------------------------------------

    def deliver_ended(self) -> None:
        """The execution-status event of every execution that ended since the last look."""
        from pipeline.simulation.actors import deliver_status_event

        sfn = self.clients["stepfunctions"]
        paginator = sfn.get_paginator("list_executions")
        for page in paginator.paginate(stateMachineArn=self.provisioned.state_machine_arn):
            for execution in page.get("executions", []):
                arn = execution["executionArn"]
                if execution["status"] == "RUNNING" or arn in self.delivered:
                    continue
                self.delivered.add(arn)
                description = sfn.describe_execution(executionArn=arn)
                notes: list[str] = []
                deliver_status_event(
                    self.template,
                    self.provisioned,
                    self.clients["lambda"],
                    description,
                    execution["name"],
                    notes,
                )
                for note in notes:
                    LOG.warning("%s: %s", execution["name"], note)

    # -- SNS -------------------------------------------------------------------------------------

    def announce_notifications(self, out: TextIO) -> int:
        """Print what the topic sent since the last look, as a subscriber would have received it."""
        from moto.sns.models import sns_backends

        from pipeline.simulation.actors import ACCOUNT

        topic = sns_backends[ACCOUNT][self.region].topics.get(self.provisioned.topic_arn)
        sent = list(topic.sent_notifications) if topic is not None else []
        fresh = sent[self.announced :]
        self.announced = len(sent)
        now = dt.datetime.now(dt.UTC)
        for entry in fresh:
            out.write(notification_text(str(entry[2] or ""), str(entry[1] or ""), now, self.speed))
        if fresh:
            out.flush()
        return len(fresh)

    def write_logs(self) -> None:
        logs = self.out / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        lines: dict[str, list[str]] = {}
        for invocation in list(self.functions.invocations):
            lines.setdefault(invocation.function, []).extend(
                [f"--- {invocation.request_id} at +{invocation.started:.0f}s", *invocation.logs]
            )
        for name, text in lines.items():
            (logs / f"{name}.log").write_text("\n".join(text) + "\n", encoding="utf-8")


_DEADLINE: Final = re.compile(r"\(until (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\)")


def notification_text(subject: str, message: str, now: dt.datetime, speed: float) -> str:
    """One notification as the sandbox prints it: when, the subject, the message indented, and
    each deadline it names on the wall clock too (the functions write them in sandbox time: a
    "1 day" approval wait lasts 2.4 minutes at 600x)."""
    stamp = now.strftime("%H:%M:%S UTC")
    lines = [f"[{stamp}] notification (SNS): {subject or '(no subject)'}"]
    added = False
    for line in message.strip().splitlines():
        # The functions do not know how an operator reaches them: their commands name no
        # environment. Pasted from here they must act on the sandbox, so it is added (and said).
        if "bedrock-customize " in line and "--env" not in line:
            line, added = f"{line} --env {ENVIRONMENT}", True
        lines.append(f"    {line}".rstrip())
    if added:
        lines.append(f"    (--env {ENVIRONMENT} added by the sandbox to the commands above)")
    for match in _DEADLINE.finditer(message):
        until = dt.datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
        span = max(0.0, (until - now).total_seconds())
        real = now + dt.timedelta(seconds=span / speed)
        lines.append(
            f"    (sandbox time: {match.group(1)} is {_duration(span)} of sandbox time away; at {speed:g}x "
            f"that is {real.strftime('%H:%M:%S UTC')}, in {_duration(span / speed)})"
        )
    return "\n".join(lines) + "\n"


def _duration(seconds: float) -> str:
    from pipeline.simulation.clock import format_duration

    return format_duration(seconds)


def _s3_uris(value: Any) -> Iterable[str]:
    if isinstance(value, str) and value.startswith("s3://"):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _s3_uris(item)
    elif isinstance(value, list):
        for item in value:
            yield from _s3_uris(item)


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").title(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").title()] = str(environ[key])
    return headers


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    body: bytes = stream.read(length) if stream is not None and length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


class SandboxApp:
    """moto's WSGI application with the sandbox's own routes in front of it."""

    def __init__(self, moto_app: Callable[..., Any], sandbox: Sandbox) -> None:
        self.moto_app = moto_app
        self.sandbox = sandbox

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        signed = signed_for(environ.get("HTTP_AUTHORIZATION", ""))
        try:
            if path.startswith(APPROVAL_PATH) or path == APPROVAL_PATH.rstrip("/"):
                return self._respond(start_response, *self.sandbox.approve(environ, _read_body(environ)))
            if path.startswith(START_PATH) or path == START_PATH.rstrip("/"):
                return self._respond(start_response, *self.sandbox.start(environ, _read_body(environ)))
            if signed is not None and signed[2] == "pricing":
                # moto has no Price List API. Refuse it the way AWS refuses a caller without
                # pricing:GetProducts, so the CLI says so and uses the catalog's prices (and never
                # caches an empty price list in the user's real cache).
                message = "the sandbox has no AWS Price List API: the catalog's prices are used"
                body = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
                return self._respond(
                    start_response, 400, {"Content-Type": "application/x-amz-json-1.1"}, body
                )
            if signed is not None and signed[2] in _BEDROCK:
                body = _read_body(environ)
                return self._respond(
                    start_response, *self.sandbox.bedrock(signed[2], signed[1], environ, body)
                )
            if (
                signed is not None
                and signed[2] == "states"
                and str(environ.get("HTTP_X_AMZ_TARGET", "")).endswith(".StartExecution")
            ):
                self.sandbox.before_start(_read_body(environ))
        except Exception as error:  # a defect of the sandbox: say so instead of dropping the connection
            LOG.exception("sandbox route failed")
            body = json.dumps({"message": f"sandbox error: {type(error).__name__}: {error}"}).encode()
            return self._respond(start_response, 500, {"Content-Type": "application/json"}, body)
        result: Iterable[bytes] = self.moto_app(environ, start_response)
        return result

    @staticmethod
    def _respond(
        start_response: Callable[..., Any], status: int, headers: dict[str, str], body: bytes
    ) -> list[bytes]:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
        start_response(f"{status} {phrase}", [*headers.items(), ("Content-Length", str(len(body)))])
        return [body]


@contextlib.contextmanager
def running(
    *,
    port: int = DEFAULT_PORT,
    speed: float = DEFAULT_SPEED,
    template_path: str | Path = DEFAULT_TEMPLATE,
    scenario_name: str = "happy",
    region: str = DEFAULT_REGION,
    out_dir: str | Path = DEFAULT_OUT,
) -> Iterator[Sandbox]:
    """Start the sandbox; it serves until the block ends."""
    from moto import mock_aws
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from lambdas.common import runtime
    from pipeline.simulation.actors import ACCOUNT
    from pipeline.simulation.fake_bedrock import FakeBedrock
    from pipeline.simulation.faults import FaultInjector
    from pipeline.simulation.interpreter import HANDLER_MODULES, handler_sleep_patches, interpreter_patches
    from pipeline.simulation.lambdas import FunctionLoadError, InProcessLambdas, function_assets_of
    from pipeline.simulation.realtime import ScaledClock
    from pipeline.simulation.runner import _captured_logger, _isolated_environment, aws_routes
    from pipeline.simulation.scenarios import ScenarioError, get_scenario
    from pipeline.simulation.template import Template

    check_port_free(port)
    try:
        scenario = get_scenario(scenario_name)
    except ScenarioError as error:
        raise SandboxError(str(error)) from None
    template = Template.load(template_path)
    clock = ScaledClock(speed)
    faults = FaultInjector(scenario.faults)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(port=port, region=region, speed=speed, scenario=scenario, template=template, out=out)
    with contextlib.ExitStack() as stack:
        stack.enter_context(_isolated_environment(region))
        os.environ["MOTO_PORT"] = str(port)
        stack.enter_context(
            mock_aws(
                config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
            )
        )
        runtime.reset_clients()
        stack.callback(runtime.reset_clients)
        try:
            assets = function_assets_of(template.path)
        except FunctionLoadError as error:
            raise SandboxError(str(error)) from None
        sandbox.functions = InProcessLambdas(clock, faults, region, assets)
        stack.callback(sandbox.functions.reset_clients)
        sandbox.fake = tagging_bedrock(FakeBedrock)(
            clock=clock,
            account=ACCOUNT,
            region=region,
            behaviour=scenario.bedrock,
            faults=faults,
            client_factory=lambda name: sandbox.clients[name],
        )
        stack.enter_context(interpreter_patches(clock, invocations=sandbox.functions.lock))
        stack.enter_context(sandbox.functions.patched())
        stack.enter_context(aws_routes(sandbox.fake, faults, None))
        interpreter_log = stack.enter_context(_captured_logger("moto"))
        stack.enter_context(_quiet("werkzeug"))
        try:
            server = make_server(
                HOST,
                port,
                SandboxApp(DomainDispatcherApplication(create_backend_app), sandbox),
                threaded=True,
                request_handler=MotoRequestHandler,
            )
        except OSError as error:
            raise SandboxError(f"cannot listen on {HOST}:{port}: {error.strerror or error}") from None
        sandbox.port = int(server.server_address[1])
        os.environ["MOTO_PORT"] = str(sandbox.port)
        sandbox.endpoint = f"http://{HOST}:{sandbox.port}"
        try:
            sandbox.provision()
        except FunctionLoadError as error:
            # A function whose asset does not import: Lambda could not run it either.
            server.server_close()
            raise SandboxError(str(error)) from None
        stack.enter_context(
            handler_sleep_patches(clock, HANDLER_MODULES + sandbox.functions.module_prefixes())
        )
        thread = threading.Thread(target=server.serve_forever, name="sandbox-http", daemon=True)
        thread.start()
        stop = threading.Event()
        monitor = threading.Thread(target=_monitor, args=(sandbox, stop), name="sandbox-events", daemon=True)
        monitor.start()

        def shut_down() -> None:
            stop.set()
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            monitor.join(timeout=5)
            with contextlib.suppress(Exception):
                sandbox.write_logs()
                (out / "logs" / "interpreter.log").write_text(interpreter_log.getvalue(), encoding="utf-8")

        stack.callback(shut_down)
        yield sandbox


def _monitor(sandbox: Sandbox, stop: threading.Event) -> None:
    while not stop.wait(_MONITOR_SECONDS):
        try:
            sandbox.deliver_ended()
        except Exception:
            LOG.exception("delivering execution-status events failed")
        try:
            sandbox.announce_notifications(sys.stdout)
        except Exception:
            LOG.exception("printing the topic's notifications failed")


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    logger = logging.getLogger(name)
    saved = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(saved)


@functools.cache
def _runtime_path_roots() -> frozenset[str]:
    """The first path segments of bedrock-runtime's operations, from botocore's service model."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    return frozenset(
        model.operation_model(name).http["requestUri"].split("/")[1].split("?")[0]
        for name in model.operation_names
    )


def serve(
    *,
    port: int,
    speed: float,
    template_path: str | Path,
    scenario_name: str,
    region: str = DEFAULT_REGION,
    out_dir: str | Path = DEFAULT_OUT,
) -> int:
    """Run the sandbox in the foreground until interrupted (Ctrl-C or SIGTERM)."""
    import signal

    def interrupted(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGTERM, interrupted)
        # SIGINT too: a process started in the background by a non-interactive shell (CI, make, a
        # test runner) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt.
        signal.signal(signal.SIGINT, interrupted)
    said: list[bool] = []

    def stopped() -> None:
        if not said:
            said.append(True)
            print(
                "sandbox stopped: its runs, data and resources lived in memory and are gone "
                f"(the functions' logs are in {Path(out_dir) / 'logs'})",
                file=sys.stderr,
                flush=True,
            )

    try:
        with running(
            port=port,
            speed=speed,
            template_path=template_path,
            scenario_name=scenario_name,
            region=region,
            out_dir=out_dir,
        ) as sandbox:
            print(
                f"sandbox ready on {sandbox.endpoint} (environment {ENVIRONMENT}, scenario "
                f"{scenario_name}, {speed:g}x): {sandbox.environment_line()} "
                f"bedrock-customize <command> --env {ENVIRONMENT}",
                flush=True,
            )
            print(
                f"time: every wait runs {speed:g}x faster than the wall clock ({_duration(3600 / speed)} for "
                "an hour of the workflow); the CLI shows deadlines on your clock and in sandbox time\n"
                "memory: runs, data and resources live in this process only; stopping it forgets them\n"
                "notifications the topic sends are printed here as they are sent",
                flush=True,
            )
            for note in sandbox.notes:
                print(f"note: {note}", file=sys.stderr, flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                # Said before the teardown: on a loaded machine, stopping the server and its threads
                # can take longer than whoever stopped it waits.
                stopped()
    except KeyboardInterrupt:
        stopped()
    return 0

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
  backends over HTTP on 127.0.0.1:PORT for the CLI, wrapped by
  :class:`~pipeline.simulation.sandbox_routes.SandboxApp`, which routes
  these requests elsewhere:

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
  * requests for Bedrock's Service Quotas (GetServiceQuota, ListServiceQuotas; moto knows no Bedrock
    quota and lacks the listing) are answered with the simulated account's quotas, the same the
    preflight reads in-process (:mod:`pipeline.simulation.service_quotas`);
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

The modules, one capability each:

- this one: the server's lifecycle, :func:`running` (mock_aws, the clock, the functions, the HTTP
  server and the background thread, started and stopped together) and :func:`serve` (the command
  in the foreground: what it prints when ready, Ctrl-C and SIGTERM, what it says when it stops);
- :mod:`pipeline.simulation.sandbox_stack`: :class:`~pipeline.simulation.sandbox_stack.Sandbox`,
  the world, and the template deployed into it as environment ``sandbox`` (manifest, stack
  outputs, the second person);
- :mod:`pipeline.simulation.sandbox_routes`: the HTTP routes in front of moto's server;
- :mod:`pipeline.simulation.sandbox_events`: between requests, EventBridge's execution-status
  events and the topic's notifications printed, and the functions' logs written at the end;
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from pipeline.simulation import DEFAULT_TEMPLATE
from pipeline.simulation.sandbox_events import monitor as _monitor
from pipeline.simulation.sandbox_events import write_logs
from pipeline.simulation.sandbox_routes import SandboxApp
from pipeline.simulation.sandbox_stack import ENVIRONMENT, Sandbox

HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 4599
DEFAULT_SPEED: Final = 600.0
DEFAULT_REGION: Final = "us-east-1"
DEFAULT_OUT: Final = "build/sandbox"


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
        sandbox.fake = FakeBedrock(
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
                write_logs(sandbox)
                (out / "logs" / "interpreter.log").write_text(interpreter_log.getvalue(), encoding="utf-8")

        stack.callback(shut_down)
        yield sandbox


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    logger = logging.getLogger(name)
    saved = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(saved)


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

    from pipeline.simulation.clock import format_duration as _duration

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

"""Run the synthesized state machine offline, end to end, on a laptop: ``bedrock-customize simulate``.

One simulation, step by step:

1. Load the run spec and merge the scenario's overrides into it (a scenario sets what its path
   needs, e.g. an approval policy); an invalid result is an invalid spec (exit 2).
2. Read the synthesized template (:mod:`pipeline.simulation.template`): create its bucket, topic,
   key, roles and Lambda functions in moto, resolve the definition's tokens to them and create
   the state machine from the definition exactly as synthesized.
3. Upload the spec's local datasets content-addressed, as ``bedrock-customize start`` does
   (:mod:`pipeline.operate.start`), so the run id is the one a real start would use:
   ``pipeline.naming.run_id(name, spec_hash(spec with s3:// URIs))``.
4. Start the execution ``{"runSpec": ...}`` named by the run id in moto's ASL interpreter, with
   the project's handlers running in-process (:mod:`pipeline.simulation.lambdas`), Bedrock served by
   :mod:`pipeline.simulation.fake_bedrock` and every wait compressed on a simulated clock
   (:mod:`pipeline.simulation.interpreter`).
5. Play the people and services around it (:mod:`pipeline.simulation.actors`): the run is started
   through the start function by an IAM user (its starter record), the approver answers each
   request through the approval-answer function as the approver role, with an identity proof STS
   (moto's) checks, after the
   scenario's simulated think time (or never, so the task times out); an operator may stop the
   execution from outside at a chosen Bedrock call; EventBridge's execution-status event goes to
   the function the template's rule targets. With ``duplicateStart``, start the same run again
   while it runs (same execution) and after it ended (ExecutionAlreadyExists).
6. Collect the execution history, the notifications (moto's SNS backend), the run's S3 objects
   (downloaded next to the HTML report rendered from them), the simulated Bedrock's calls and
   ledger (:mod:`pipeline.simulation.result`), and check the money invariants
   (:mod:`pipeline.simulation.invariants`); :mod:`pipeline.simulation.text` prints the summary.

The state transition count is what a Standard workflow is billed for: one per state entered,
plus one per retry attempt. Training is a native ``.sync`` wait, so it costs none however long
the job runs.

The printed summary ends with the execution's final status alone on the last line
(SUCCEEDED, FAILED or ABORTED).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import logging
import os
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, Final
from unittest import mock
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.models import botocore_stubber
from moto.sns.models import sns_backends

from lambdas.common import runtime
from pipeline import naming, plan, promotion
from pipeline.runspec import RunSpec, load_run_spec_data, spec_hash
from pipeline.simulation import (
    DEFAULT_OUT,
    DEFAULT_TEMPLATE,
    earlier_runs,
    ground_truth,
    service_quotas,
    serving_slot,
)
from pipeline.simulation.actors import (
    ACCOUNT,
    ApprovalDriver,
    Operator,
    People,
    approval_records_of,
    deliver_status_event,
    execution_history,
    start_run,
)
from pipeline.simulation.clock import SimClock, format_elapsed
from pipeline.simulation.fake_bedrock import FakeBedrock
from pipeline.simulation.faults import Fault, FaultInjector
from pipeline.simulation.interpreter import HANDLER_MODULES, handler_sleep_patches, interpreter_patches
from pipeline.simulation.invariants import FAILURE_PATH_START, money_checks
from pipeline.simulation.lambdas import InProcessLambdas, function_assets_of
from pipeline.simulation.result import (
    Check,
    Notification,
    SimulationError,
    SimulationResult,
    Visit,
)
from pipeline.simulation.scenarios import Scenario
from pipeline.simulation.template import PROVISIONED_SERVICES, Provisioned, Resolver, Template, provision
from pipeline.simulation.text import key_outputs, render_text
from pipeline.simulation.trust import trust_checks
from pipeline.simulation.wire import Request, error_status

REAL_TIME_LIMIT_SECONDS: Final = 300.0
_POLL_REAL_SECONDS: Final = 0.01
# Environment that could send a request past moto to a real endpoint or account.
_UNSAFE_ENV: Final = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_STEPFUNCTIONS",
    "AWS_ENDPOINT_URL_BEDROCK",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "AWS_ENDPOINT_URL_LAMBDA",
    "AWS_ENDPOINT_URL_SNS",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


__all__ = [
    "FAILURE_PATH_START",
    "Check",
    "Notification",
    "SimulationError",
    "SimulationResult",
    "Visit",
    "aws_routes",
    "key_outputs",
    "money_checks",
    "render_text",
    "simulate",
]

# --------------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------------


def simulate(
    spec_path: str | Path,
    scenario: Scenario,
    template_path: str | Path = DEFAULT_TEMPLATE,
    *,
    out_dir: str | Path | None = None,
    report: bool = True,
    real_time_limit: float = REAL_TIME_LIMIT_SECONDS,
) -> SimulationResult:
    """Run one scenario against the synthesized template. Raises RunSpecError for a bad spec,
    TemplateError / SimulationError when the simulation cannot run."""
    started = time.monotonic()
    spec_path = Path(spec_path)
    data = scenario.apply(load_run_spec_data(spec_path))
    spec = RunSpec.from_dict(data, base_dir=spec_path.resolve().parent)
    template = Template.load(template_path)
    out = Path(out_dir) if out_dir is not None else Path(DEFAULT_OUT) / scenario.name
    clock = SimClock()
    faults = FaultInjector(scenario.faults)
    region = spec.region
    with contextlib.ExitStack() as stack:
        stack.enter_context(_isolated_environment(region))
        stack.enter_context(
            mock_aws(
                config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
            )
        )
        runtime.reset_clients()
        stack.callback(runtime.reset_clients)
        clients = {name: boto3.client(name, region_name=region) for name in PROVISIONED_SERVICES}
        fake = FakeBedrock(
            clock=clock,
            account=ACCOUNT,
            region=region,
            behaviour=scenario.bedrock,
            faults=faults,
            client_factory=lambda name: clients[name],
        )
        functions = InProcessLambdas(clock, faults, region, function_assets_of(template.path))
        stack.callback(functions.reset_clients)
        stack.enter_context(
            interpreter_patches(clock, seed=zlib.crc32(scenario.name.encode()), invocations=functions.lock)
        )
        stack.enter_context(functions.patched())
        operator = Operator(scenario)
        stack.enter_context(aws_routes(fake, faults, operator))
        interpreter_log = stack.enter_context(_captured_logger("moto"))
        resolver = Resolver(region=region, account=ACCOUNT, stack_name=template.stack_name)
        provisioned = provision(template, resolver, clients)
        for function, arn in provisioned.functions.values():
            functions.register(function, arn)
        stack.enter_context(handler_sleep_patches(clock, HANDLER_MODULES + functions.module_prefixes()))
        spec_s3 = _upload_datasets(spec, scenario, clients["s3"], provisioned.bucket)
        _teach(fake, spec)
        slot_parameter = serving_slot.slot_parameter(spec, provisioned)
        ssm = boto3.client("ssm", region_name=region)
        serving_slot.declare_slot(fake, spec, scenario, ssm, slot_parameter)
        slot_before = serving_slot.read_slot(ssm, slot_parameter)
        run_id = naming.run_id(spec_s3.name, spec_hash(spec_s3))
        if scenario.reused_run_id:
            earlier_runs.seed(fake, template, resolver, spec_s3, run_id, provisioned.state_machine_arn)
        document: dict[str, Any] = {"runSpec": spec_s3.to_dict()}
        if scenario.promotion:
            # As `promote` starts it: the earlier run trained the model, this one promotes it.
            source, run_id = run_id, promotion.promotion_id(run_id, 1)
            earlier_runs.seed_promotion_source(
                fake, template, resolver, spec_s3, source, provisioned, clients["s3"]
            )
            document[promotion.PROMOTE_FROM] = source
        execution_input = json.dumps(document, ensure_ascii=False)
        sfn = clients["stepfunctions"]
        people = People(region, clients["lambda"], provisioned)
        if people.can_start:
            # As `bedrock-customize start` does: through the start function, which records the starter.
            execution_arn = start_run(people, provisioned.bucket, run_id, execution_input)
        else:
            execution_arn = sfn.start_execution(
                stateMachineArn=provisioned.state_machine_arn, name=run_id, input=execution_input
            )["executionArn"]
        operator.stop = lambda: sfn.stop_execution(
            executionArn=execution_arn, error="Operator.Stopped", cause="stopped from the console (simulated)"
        )
        duplicates: list[str] = []
        if scenario.duplicate_start:
            duplicates.append(
                _start_again(sfn, provisioned, run_id, execution_input, execution_arn, "while it runs")
            )
        driver = ApprovalDriver(
            scenario,
            clock,
            clients["s3"],
            sfn,
            provisioned.bucket,
            run_id,
            clients["lambda"],
            provisioned,
            people,
        )
        notes: list[str] = []
        description = _wait_for_end(sfn, execution_arn, driver, real_time_limit, notes)
        driver.finish()
        ended = deliver_status_event(template, provisioned, clients["lambda"], description, run_id, notes)
        # What the cleanups handed over keeps being released after the run ended: wait for it too.
        releases = _wait_for_releases(sfn, provisioned.release_state_machine_arn, real_time_limit, notes)
        if scenario.duplicate_start:
            duplicates.append(
                _start_again(sfn, provisioned, run_id, execution_input, execution_arn, "after it ended")
            )
        history = execution_history(sfn, execution_arn)
        visits = _visits(history, provisioned.definition)
        notifications = _notifications(region, provisioned.topic_arn)
        artifacts = _download(clients["s3"], provisioned.bucket, run_id, out)
        records = approval_records_of(clients["s3"], provisioned.bucket, run_id)
        records["allowSelfApproval"] = any(
            spec.environment.get("ALLOW_SELF_APPROVAL") == "true"
            for spec, _ in provisioned.functions.values()
        )
        result = SimulationResult(
            scenario=scenario,
            spec_path=str(spec_path),
            template_path=str(template.path),
            run_id=run_id,
            execution_arn=execution_arn,
            status=str(description["status"]),
            error=description.get("error"),
            cause=description.get("cause"),
            output=_json_or_none(description.get("output")),
            visits=visits,
            notifications=notifications,
            ledger=fake.ledger(),
            bedrock_calls=[
                {
                    "at": round(c.elapsed, 3),
                    "call": f"{c.service}:{c.operation}",
                    "subject": c.subject,
                    "outcome": c.outcome,
                }
                for c in fake.calls
            ],
            lambda_invocations=[
                {
                    "function": i.function,
                    "at": round(i.started, 3),
                    "error": (i.error or {}).get("errorType"),
                    "apiError": i.api_error,
                    "logLines": len(i.logs),
                }
                for i in functions.invocations
            ],
            faults_injected=dict(faults.injected),
            approval=driver.record,
            duplicate_starts=duplicates,
            ended=ended,
            artifacts=artifacts,
            report={},
            notes=notes,
            simulated_seconds=clock.elapsed(),
            real_seconds=0.0,
            plan=_plan_of(visits),
            definition=provisioned.definition,
            approval_records=records,
            releases=releases,
            slot={
                "parameter": slot_parameter,
                "before": slot_before,
                "after": serving_slot.read_slot(ssm, slot_parameter),
                "lockAtEnd": serving_slot.lock_holder(clients["dynamodb"], provisioned, spec.serving.slot),
            }
            if slot_parameter is not None
            else {},
        )
        _write_logs(functions, out, interpreter_log.getvalue())
    if report:
        result.report = _render_report(out / "runs" / run_id, out / "report", result.notes)
    result.checks = money_checks(result) + trust_checks(result) + serving_slot.slot_checks(result)
    result.real_seconds = time.monotonic() - started
    out.mkdir(parents=True, exist_ok=True)
    (out / "simulation.json").write_text(
        json.dumps(result.to_dict(), indent=2, default=str), encoding="utf-8"
    )
    return result


@contextlib.contextmanager
def _isolated_environment(region: str) -> Iterator[None]:
    """Nothing in the simulation may reach a real endpoint or account, whatever the shell has set."""
    saved = dict(os.environ)
    for name in _UNSAFE_ENV:
        os.environ.pop(name, None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "simulation",
            "AWS_SECRET_ACCESS_KEY": "simulation",
            "AWS_SESSION_TOKEN": "simulation",
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def aws_routes(fake: FakeBedrock, faults: FaultInjector, operator: Operator | None = None) -> Iterator[None]:
    """Serve Bedrock and Bedrock's Service Quotas from the simulation and inject SNS faults;
    everything else goes to moto."""
    original: Callable[[Any], Any] = botocore_stubber.process_request

    def process_request(request: Any) -> Any:
        host = urlsplit(request.url).hostname or ""
        if host.startswith(("bedrock.", "bedrock-runtime.")):
            response = fake.handle(
                Request(request.method, request.url, dict(request.headers.items()), request.body)
            )
            if operator is not None:
                operator.after_call(fake)
            return response
        if host.startswith("servicequotas."):
            # moto knows no Bedrock quotas and has no ListServiceQuotas: the simulated account's.
            headers = {k.lower(): v for k, v in request.headers.items()}
            payload = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
            answered = service_quotas.answer(
                str(headers.get("x-amz-target", "")), payload, host.split(".")[1], ACCOUNT
            )
            if answered is not None:
                return answered
        if host.startswith("sns."):
            body = (
                request.body.decode("utf-8") if isinstance(request.body, bytes) else str(request.body or "")
            )
            form = parse_qs(body)
            fault = faults.check("sns", form.get("Action", [""])[0], form)
            if fault is not None and not fault.after:
                return _query_error(fault)
            response = original(request)
            return _query_error(fault) if fault is not None else response
        return original(request)

    with mock.patch.object(botocore_stubber, "process_request", process_request):
        yield


def _query_error(fault: Fault) -> tuple[int, dict[str, str], str]:
    body = (
        '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>'
        f"<Code>{escape(fault.code)}</Code><Message>{escape(fault.message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return error_status("sns", fault.code), {"Content-Type": "text/xml"}, body


def _upload_datasets(spec: RunSpec, scenario: Scenario, s3: Any, bucket: str) -> RunSpec:
    """Put each local dataset at its content address, exactly where ``bedrock-customize start`` would."""
    from pipeline.operate.start import Upload, content_key, rewrite

    uploads = []
    for role, given in spec.dataset_locations():
        source = spec.resolve(given)
        if source.startswith("s3://"):
            raise SimulationError(
                f"{role}={given}: the simulation runs on local dataset files only (it never reads real S3)"
            )
        path = Path(source)
        if not path.is_file():
            raise SimulationError(f"{role}={given}: {path} does not exist")
        body = path.read_bytes()
        extra = scenario.datasets.get(role)
        if extra:
            if body and not body.endswith(b"\n"):
                body += b"\n"
            body += "".join(f"{line}\n" for line in extra).encode("utf-8")
        digest = hashlib.sha256(body).hexdigest()
        key = content_key(digest, path.name)
        s3.put_object(
            Bucket=bucket, Key=key, Body=body, ContentType="application/jsonl", Metadata={"sha256": digest}
        )
        uploads.append(Upload(role, given, source, digest, bucket, key, len(body), local=True))
    return rewrite(spec, uploads)


def _teach(fake: FakeBedrock, spec: RunSpec) -> None:
    """Give the simulated models their ground truth from the run's local dataset files."""
    made_up = ground_truth.meet_the_teacher(fake, spec)
    for _, given in spec.dataset_locations():
        with Path(spec.resolve(given)).open("rb") as handle:
            ground_truth.teach(fake, handle, made_up=made_up)


def _start_again(
    sfn: Any, provisioned: Provisioned, run_id: str, body: str, first_arn: str, when: str
) -> str:
    try:
        arn = sfn.start_execution(stateMachineArn=provisioned.state_machine_arn, name=run_id, input=body)[
            "executionArn"
        ]
    except ClientError as error:
        return f"started again {when}: refused with {runtime.error_code(error)}"
    same = "the same execution" if arn == first_arn else f"A SECOND EXECUTION {arn}"
    return f"started again {when}: {same}"


def _wait_for_end(
    sfn: Any, execution_arn: str, driver: ApprovalDriver, limit: float, notes: list[str]
) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while True:
        description: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if description["status"] != "RUNNING":
            return description
        driver.poll(execution_arn, notes)
        if driver.record.get("outcome") == "waits-forever" or time.monotonic() > deadline:
            reason = (
                "the approval would never time out"
                if driver.record.get("outcome") == "waits-forever"
                else f"still running after {limit:.0f} s of real time"
            )
            sfn.stop_execution(executionArn=execution_arn, error="Simulation.Stopped", cause=reason)
            notes.append(f"the simulation stopped the execution: {reason}")
            time.sleep(0.2)
            stopped: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            return stopped
        time.sleep(_POLL_REAL_SECONDS)


# The earlier run's evaluation a promotion's preflight reads (runs/<id>/evaluation.json): it passed.
def _wait_for_releases(sfn: Any, machine_arn: str, limit: float, notes: list[str]) -> list[dict[str, Any]]:
    """Each execution of the retrying release once it ended (its Waits pass on the simulated
    clock): status, attempts made, what its last attempt still found pending."""
    if not machine_arn:
        return []
    deadline = time.monotonic() + limit
    while True:
        executions = sfn.list_executions(stateMachineArn=machine_arn)["executions"]
        running = [e for e in executions if e["status"] == "RUNNING"]
        if not running or time.monotonic() > deadline:
            break
        time.sleep(_POLL_REAL_SECONDS)
    releases = []
    for execution in sorted(executions, key=lambda e: e["startDate"]):
        if execution["status"] == "RUNNING":
            sfn.stop_execution(executionArn=execution["executionArn"], error="Simulation.Stopped")
            notes.append(f"the simulation stopped the retrying release {execution['name']}: still running")
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        last = (_json_or_none(described.get("output")) or {}).get("attempt") or {}
        releases.append(
            {
                "name": execution["name"],
                "status": described["status"],
                "attempts": last.get("attempt"),
                "pending": [p["arn"] for p in last.get("pending") or []],
            }
        )
    return releases


def _visits(history: Sequence[Mapping[str, Any]], definition: Mapping[str, Any]) -> list[Visit]:
    """The states entered, in order, with simulated times, attempts, errors and outputs."""
    start = history[0]["timestamp"] if history else None
    states = definition.get("States", {})

    def at(event: Mapping[str, Any]) -> float:
        stamp = event["timestamp"]
        return float((stamp - start).total_seconds()) if isinstance(stamp, dt.datetime) and start else 0.0

    visits: list[Visit] = []
    for event in history:
        kind = str(event["type"])
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            if visits and visits[-1].next is None:
                visits[-1].next = name
            visits.append(
                Visit(name, str(states.get(name, {}).get("Type", kind[: -len("StateEntered")])), at(event))
            )
        elif not visits:
            continue
        elif kind.endswith("StateExited"):
            visits[-1].exited = at(event)
            visits[-1].output = _json_or_none(event["stateExitedEventDetails"].get("output"))
        elif kind in ("TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"):
            visits[-1].attempts += 1
        elif kind.endswith(("Failed", "TimedOut")) and not kind.startswith("Execution"):
            details: Mapping[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            visits[-1].errors.append(str(details.get("error", kind)))
            visits[-1].causes.append(str(details.get("cause", "")))
    return visits


def _json_or_none(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _plan_of(visits: Sequence[Visit]) -> dict[str, Any] | None:
    for visit in visits:
        if isinstance(visit.output, dict):
            found = (visit.output.get("preflight") or {}).get("plan")
            if isinstance(found, dict):
                return found
    return None


def _notifications(region: str, topic_arn: str) -> list[Notification]:
    topic = sns_backends[ACCOUNT][region].topics.get(topic_arn)
    if topic is None:
        return []
    return [Notification(subject=sent[2], message=sent[1]) for sent in topic.sent_notifications]


def _download(s3: Any, bucket: str, run_id: str, out: Path) -> dict[str, str]:
    """Copy what the run wrote (runs/<runId>/ and outputs/<runId>/) to ``out``; s3 URI -> local path."""
    found: dict[str, str] = {}
    for prefix in (f"{plan.RUNS_PREFIX}{run_id}/", f"{plan.OUTPUTS_PREFIX}{run_id}/"):
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                key = item["Key"]
                target = out.joinpath(*PurePosixPath(key).parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
                found[f"s3://{bucket}/{key}"] = str(target)
    return found


@contextlib.contextmanager
def _captured_logger(name: str) -> Iterator[io.StringIO]:
    """moto's interpreter logs every caught error at WARNING; keep it in a file, not on the terminal."""
    buffer = io.StringIO()
    logger = logging.getLogger(name)
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    saved = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield buffer
    finally:
        logger.removeHandler(handler)
        logger.propagate = saved


def _write_logs(functions: InProcessLambdas, out: Path, interpreter_log: str) -> None:
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    (logs / "interpreter.log").write_text(interpreter_log, encoding="utf-8")
    lines: dict[str, list[str]] = {}
    for invocation in functions.invocations:
        lines.setdefault(invocation.function, []).extend(
            [f"--- {invocation.request_id} at {format_elapsed(invocation.started)}", *invocation.logs]
        )
    for name, text in lines.items():
        (logs / f"{name}.log").write_text("\n".join(text) + "\n", encoding="utf-8")


def _render_report(run_dir: Path, report_dir: Path, notes: list[str]) -> dict[str, str]:
    """The run's HTML/Markdown report, rendered from the downloaded artifacts (as `report` does)."""
    if not run_dir.is_dir():
        return {}
    try:
        from pipeline.operate import report as run_report

        written = run_report.render_run(run_report.load_dir(run_dir), report_dir)
    except Exception as error:
        notes.append(f"the run report could not be rendered: {type(error).__name__}: {error}")
        return {}
    paths = {k: str(v) for k, v in vars(written).items() if isinstance(v, str | Path)}
    return paths

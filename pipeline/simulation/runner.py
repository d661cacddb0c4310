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
5. Play the human: when the approval handler has stored its request at
   ``runs/<runId>/approval-request.json``, wait the scenario's simulated think time, then answer
   the task token with SendTaskSuccess ``{"approved", "approver", "reason"}``, or never answer
   (the clock then runs to the task's timeout). With ``duplicateStart``, start the same run again
   while it runs (same execution) and after it ended (ExecutionAlreadyExists).
6. Collect the execution history, the notifications (moto's SNS backend), the run's S3 objects
   (downloaded next to the HTML report rendered from them), the simulated Bedrock's calls and
   ledger, and check the money invariants.

The state transition count is what a Standard workflow is billed for: one per state entered,
plus one per retry attempt. Training is a native ``.sync`` wait, so it costs none however long
the job runs.

The printed summary ends with the execution's final status alone on the last line
(SUCCEEDED or FAILED).
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
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
from pipeline import evaluation, naming, plan
from pipeline.runspec import RunSpec, load_run_spec_data, spec_hash
from pipeline.simulation import DEFAULT_OUT, DEFAULT_TEMPLATE
from pipeline.simulation.clock import SimClock, format_duration, format_elapsed
from pipeline.simulation.fake_bedrock import FakeBedrock
from pipeline.simulation.faults import Fault, FaultInjector
from pipeline.simulation.interpreter import handler_sleep_patches, interpreter_patches
from pipeline.simulation.lambdas import InProcessLambdas
from pipeline.simulation.scenarios import Scenario
from pipeline.simulation.template import Provisioned, Resolver, Template, provision
from pipeline.simulation.wire import Request, error_status

ACCOUNT: Final = "123456789012"
REAL_TIME_LIMIT_SECONDS: Final = 300.0
_POLL_REAL_SECONDS: Final = 0.01
# "Never answers": the clock runs until the pending timeout fires (it stops there).
_FOREVER_SECONDS: Final = 10 * 365 * 86400
_TEACH_MAX_LINES: Final = 5000
_CLIENTS: Final = ("s3", "sns", "kms", "iam", "lambda", "stepfunctions")
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
FAILURE_PATH_START: Final = "Release what this run bought"
BUY_PREFIX: Final = "Buy provisioned throughput"
_KEY_FIELDS: Final = (
    "valid",
    "errorCount",
    "Status",
    "JobArn",
    "passed",
    "trainingLoss",
    "validationLoss",
    "approved",
    "approver",
    "ProvisionedModelArn",
    "attempt",
    "waitSeconds",
    "Error",
    "deleted",
    "kept",
    "jobStopped",
    "recordUri",
    "requestUri",
    "summary",
    "Cause",
)


class SimulationError(RuntimeError):
    """The simulation itself could not run (missing template, a hang, an unsupported dataset)."""


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


@dataclass
class Visit:
    """One state entered, from the execution history."""

    name: str
    kind: str
    entered: float
    exited: float | None = None
    output: Any = None
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)
    next: str | None = None

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)

    @property
    def duration(self) -> float:
        return (self.exited if self.exited is not None else self.entered) - self.entered


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Notification:
    subject: str | None
    message: str


@dataclass
class SimulationResult:
    scenario: Scenario
    spec_path: str
    template_path: str
    run_id: str
    execution_arn: str
    status: str
    error: str | None
    cause: str | None
    output: Any
    visits: list[Visit]
    notifications: list[Notification]
    ledger: dict[str, Any]
    bedrock_calls: list[dict[str, Any]]
    lambda_invocations: list[dict[str, Any]]
    faults_injected: dict[str, int]
    approval: dict[str, Any]
    duplicate_starts: list[str]
    artifacts: dict[str, str]
    report: dict[str, str]
    notes: list[str]
    simulated_seconds: float
    real_seconds: float
    plan: dict[str, Any] | None
    definition: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    @property
    def path(self) -> list[str]:
        return [visit.name for visit in self.visits]

    @property
    def retries(self) -> int:
        return sum(visit.retries for visit in self.visits)

    @property
    def transitions(self) -> int:
        """Billed state transitions: every state entered plus every retry attempt."""
        return len(self.visits) + self.retries

    def expectation_problems(self, *, outcome_only: bool = False) -> list[str]:
        """Where the run differs from the scenario's ``expect`` (empty when it matches)."""
        expect = self.scenario.expect
        problems = []
        if self.status != expect.get("status"):
            problems.append(f"status {self.status}, expected {expect.get('status')}")
        if "error" in expect and self.error != expect["error"]:
            problems.append(f"error {self.error!r}, expected {expect['error']!r}")
        if outcome_only:
            return problems
        for text in expect.get("causeContains", []):
            if text not in (self.cause or ""):
                problems.append(f"cause does not contain {text!r}: {self.cause!r}")
        if "transitions" in expect and self.transitions != expect["transitions"]:
            problems.append(f"{self.transitions} state transitions, expected {expect['transitions']}")
        if "path" in expect and self.path != list(expect["path"]):
            problems.append(f"path {self.path}, expected {list(expect['path'])}")
        subjects = [n.subject or "" for n in self.notifications]
        wanted = list(expect.get("notifications", []))
        if "notifications" in expect and (
            len(subjects) != len(wanted) or any(w not in s for w, s in zip(wanted, subjects, strict=False))
        ):
            problems.append(f"notification subjects {subjects}, expected ones containing {wanted}")
        jobs, throughputs = self.ledger["jobs"], self.ledger["throughputs"]
        for key, actual in (
            ("jobs", len(jobs)),
            ("purchases", len(throughputs)),
            ("aliveAtEnd", sum(1 for t in throughputs if t["alive"])),
        ):
            if key in expect and actual != expect[key]:
                problems.append(f"{key} {actual}, expected {expect[key]}")
        if "jobStatus" in expect and [j["status"] for j in jobs] != [expect["jobStatus"]]:
            problems.append(f"job status {[j['status'] for j in jobs]}, expected [{expect['jobStatus']!r}]")
        if "approval" in expect and self.approval.get("outcome") != expect["approval"]:
            problems.append(f"approval {self.approval.get('outcome')!r}, expected {expect['approval']!r}")
        return problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.name,
            "runId": self.run_id,
            "executionArn": self.execution_arn,
            "status": self.status,
            "error": self.error,
            "cause": self.cause,
            "path": self.path,
            "transitions": self.transitions,
            "stateEntries": len(self.visits),
            "retries": self.retries,
            "simulatedSeconds": round(self.simulated_seconds, 3),
            "realSeconds": round(self.real_seconds, 3),
            "timeline": [
                {
                    "state": v.name,
                    "type": v.kind,
                    "enteredAt": round(v.entered, 3),
                    "durationSeconds": round(v.duration, 3),
                    "attempts": v.attempts,
                    "errors": v.errors,
                    "causes": v.causes,
                    "next": v.next,
                }
                for v in self.visits
            ],
            "notifications": [{"subject": n.subject, "message": n.message} for n in self.notifications],
            "ledger": self.ledger,
            "bedrockCalls": self.bedrock_calls,
            "lambdaInvocations": self.lambda_invocations,
            "faultsInjected": self.faults_injected,
            "approval": self.approval,
            "duplicateStarts": self.duplicate_starts,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "artifacts": self.artifacts,
            "report": self.report,
            "notes": self.notes,
        }


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
        clients = {name: boto3.client(name, region_name=region) for name in _CLIENTS}
        fake = FakeBedrock(
            clock=clock,
            account=ACCOUNT,
            region=region,
            behaviour=scenario.bedrock,
            faults=faults,
            client_factory=lambda name: clients[name],
        )
        functions = InProcessLambdas(clock, faults, region)
        stack.enter_context(interpreter_patches(clock))
        stack.enter_context(functions.patched())
        stack.enter_context(aws_routes(fake, faults))
        interpreter_log = stack.enter_context(_captured_logger("moto"))
        resolver = Resolver(region=region, account=ACCOUNT, stack_name=template.stack_name)
        provisioned = provision(template, resolver, clients)
        for function, arn in provisioned.functions.values():
            functions.register(function, arn)
        stack.enter_context(handler_sleep_patches(clock))
        spec_s3 = _upload_datasets(spec, scenario, clients["s3"], provisioned.bucket)
        _teach(fake, spec)
        run_id = naming.run_id(spec_s3.name, spec_hash(spec_s3))
        execution_input = json.dumps({"runSpec": spec_s3.to_dict()}, ensure_ascii=False)
        sfn = clients["stepfunctions"]
        execution_arn = sfn.start_execution(
            stateMachineArn=provisioned.state_machine_arn, name=run_id, input=execution_input
        )["executionArn"]
        duplicates: list[str] = []
        if scenario.duplicate_start:
            duplicates.append(
                _start_again(sfn, provisioned, run_id, execution_input, execution_arn, "while it runs")
            )
        driver = _ApprovalDriver(scenario, clock, clients["s3"], sfn, provisioned.bucket, run_id)
        notes: list[str] = []
        description = _wait_for_end(sfn, execution_arn, driver, real_time_limit, notes)
        driver.finish()
        if scenario.duplicate_start:
            duplicates.append(
                _start_again(sfn, provisioned, run_id, execution_input, execution_arn, "after it ended")
            )
        history = _history(sfn, execution_arn)
        visits = _visits(history, provisioned.definition)
        notifications = _notifications(region, provisioned.topic_arn)
        artifacts = _download(clients["s3"], provisioned.bucket, run_id, out)
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
            artifacts=artifacts,
            report={},
            notes=notes,
            simulated_seconds=clock.elapsed(),
            real_seconds=0.0,
            plan=_plan_of(visits),
            definition=provisioned.definition,
        )
        _write_logs(functions, out, interpreter_log.getvalue())
    if report:
        result.report = _render_report(out / "runs" / run_id, out / "report", result.notes)
    result.checks = money_checks(result)
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
def aws_routes(fake: FakeBedrock, faults: FaultInjector) -> Iterator[None]:
    """Serve Bedrock from the simulation and inject SNS faults; everything else goes to moto."""
    original: Callable[[Any], Any] = botocore_stubber.process_request

    def process_request(request: Any) -> Any:
        host = urlsplit(request.url).hostname or ""
        if host.startswith(("bedrock.", "bedrock-runtime.")):
            return fake.handle(
                Request(request.method, request.url, dict(request.headers.items()), request.body)
            )
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
    """Give the simulated models their ground truth: the reference answers in the run's datasets."""
    for _, given in spec.dataset_locations():
        path = Path(spec.resolve(given))
        with path.open("rb") as handle:
            for number, line in enumerate(handle):
                if number >= _TEACH_MAX_LINES:
                    break
                try:
                    pair = evaluation.extract_pair(json.loads(line))
                except (json.JSONDecodeError, UnicodeDecodeError):
                    continue
                if pair is not None:
                    fake.learn(*pair)


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


class _ApprovalDriver:
    """The human who answers the approval request, per the scenario.

    It acts only while a ``.waitForTaskToken`` task is actually waiting (its TaskSubmitted event
    is the last word on it in the history) and the approval request is in S3, as a person reading
    the notification would; a decision that arrives after the task ended is refused like in AWS.
    """

    _DONE_EVENTS: Final = ("TaskSucceeded", "TaskFailed", "TaskTimedOut", "TaskAborted")

    def __init__(
        self, scenario: Scenario, clock: SimClock, s3: Any, sfn: Any, bucket: str, run_id: str
    ) -> None:
        self.approval = scenario.approval
        self.clock = clock
        self.s3 = s3
        self.sfn = sfn
        self.bucket = bucket
        self.key = f"{plan.RUNS_PREFIX}{run_id}/approval-request.json"
        self.record: dict[str, Any] = {"outcome": "not-asked"}
        self.done = False

    def waiting(self, execution_arn: str) -> bool:
        """Is a task of this execution waiting for its task token right now?"""
        waiting = False
        for event in _history(self.sfn, execution_arn):
            kind = event["type"]
            if kind == "TaskSubmitted":
                resource = event.get("taskSubmittedEventDetails", {}).get("resource", "")
                waiting = str(resource).endswith(".waitForTaskToken")
            elif kind in self._DONE_EVENTS or kind.endswith("StateExited"):
                waiting = False
        return waiting

    def poll(self, execution_arn: str, notes: list[str]) -> None:
        if self.done or not self.waiting(execution_arn):
            return
        self.done = True
        try:
            request = json.loads(self.s3.get_object(Bucket=self.bucket, Key=self.key)["Body"].read())
        except ClientError:
            self.record = {"outcome": "no-request"}
            notes.append(f"a task waits for its token but {self.key} does not exist: nobody can answer it")
            return
        self.record = {
            "outcome": "asked",
            "requestedAt": round(self.clock.elapsed(), 3),
            "decision": self.approval.decision,
            "request": f"s3://{self.bucket}/{self.key}",
        }
        token = request.get("taskToken")
        if not token:
            self.record["outcome"] = "no-token"
            notes.append(f"the approval request {self.key} holds no taskToken: nobody could answer it")
            return
        if self.approval.decision == "none":
            self._never_answer(notes)
            return
        self.clock.sleep(self.approval.after_seconds)
        output = self.approval.output()
        if not self.waiting(execution_arn):
            self.record["outcome"] = "too-late"
            notes.append(
                f"the {self.approval.decision} decision came {format_duration(self.approval.after_seconds)} "
                "after the request, when the task no longer waited"
            )
            return
        try:
            self.sfn.send_task_success(taskToken=token, output=json.dumps(output))
        except ClientError as error:
            self.record["outcome"] = f"answer refused ({runtime.error_code(error)})"
            notes.append(f"the {self.approval.decision} decision was refused: {runtime.error_code(error)}")
            return
        self.record.update(
            outcome="approved" if output["approved"] else "rejected",
            answeredAt=round(self.clock.elapsed(), 3),
            approver=output["approver"],
        )

    def _never_answer(self, notes: list[str]) -> None:
        if not self.clock.has_deadline():
            self.record["outcome"] = "waits-forever"
            notes.append("the approval task has no timeout: without an answer the run would wait forever")
            return
        waited = self.clock.sleep(_FOREVER_SECONDS)
        self.record.update(outcome="timed-out", waitedSeconds=round(waited, 3))

    def finish(self) -> None:
        """After the run: a request written by a task that never got to wait for its answer."""
        if self.record["outcome"] != "not-asked":
            return
        try:
            self.s3.head_object(Bucket=self.bucket, Key=self.key)
        except ClientError:
            return
        self.record = {"outcome": "request-not-awaited", "request": f"s3://{self.bucket}/{self.key}"}


def _wait_for_end(
    sfn: Any, execution_arn: str, driver: _ApprovalDriver, limit: float, notes: list[str]
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


def _history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        if token:
            kwargs["nextToken"] = token
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events


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


# --------------------------------------------------------------------------------------------------
# Money invariants
# --------------------------------------------------------------------------------------------------


def money_checks(result: SimulationResult) -> list[Check]:
    """The invariants that keep a run from spending money it should not (checked on every run)."""
    jobs = result.ledger["jobs"]
    throughputs = result.ledger["throughputs"]
    visited = set(result.path)
    failure_start = next((v.entered for v in result.visits if v.name == FAILURE_PATH_START), None)
    checks = [
        Check(
            "at most one customization job per run",
            len(jobs) <= 1,
            f"{len(jobs)} job(s), {sum(j['createRequests'] for j in jobs)} create request(s)",
        ),
        Check(
            "at most one throughput purchase per run",
            len(throughputs) <= 1,
            f"{len(throughputs)} purchase(s), "
            f"{sum(t['createRequests'] for t in throughputs)} create request(s)",
        ),
    ]
    if result.status != "SUCCEEDED":
        alive = [t["arn"] for t in throughputs if t["alive"] and t["commitment"] == "none"]
        checks.append(
            Check(
                "no no-commitment throughput left alive after a failure",
                not alive,
                f"still billed: {', '.join(alive)}" if alive else "none alive",
            )
        )
    late = [
        c
        for c in result.bedrock_calls
        if failure_start is not None
        and c["at"] > failure_start
        and c["call"].split(":", 1)[1].startswith("Create")
        and c["outcome"] == "ok"
    ]
    bought_without_buying = bool(throughputs) and not any(name.startswith(BUY_PREFIX) for name in visited)
    checks.append(
        Check(
            "nothing bought after a failed gate",
            not late and not bought_without_buying,
            (
                f"created after the failure path began: {[c['call'] for c in late]}"
                if late
                else "a purchase without a Buy state"
                if bought_without_buying
                else "no create call after the failure path began"
            ),
        )
    )
    approval_required = bool(((result.plan or {}).get("approval") or {}).get("required"))
    if throughputs and approval_required:
        checks.append(
            Check(
                "a purchase that needs approval was approved",
                result.approval.get("outcome") == "approved",
                f"approval outcome: {result.approval.get('outcome')}",
            )
        )
    kept_commitments = [t for t in throughputs if t["commitment"] != "none"]
    checks.append(
        Check(
            "a commitment is never deleted",
            all(t["alive"] for t in kept_commitments),
            f"{len(kept_commitments)} commitment(s), all kept"
            if kept_commitments
            else "no commitment bought",
        )
    )
    running = [j["name"] for j in jobs if j["status"] == "InProgress"]
    checks.append(
        Check(
            "no training job left running when the run ends",
            not running,
            f"still InProgress: {running}" if running else "none running",
        )
    )
    if result.status == "SUCCEEDED":
        lost = [t["arn"] for t in throughputs if not t["alive"] or t["status"] != "InService"]
        checks.append(
            Check(
                "a successful run keeps the throughput it bought in service",
                not lost,
                f"not in service: {lost}" if lost else f"{len(throughputs)} in service",
            )
        )
    return checks


# --------------------------------------------------------------------------------------------------
# Text output
# --------------------------------------------------------------------------------------------------


def _short(value: Any, width: int = 70) -> str:
    if isinstance(value, bool) or value is None:
        text = json.dumps(value)
    elif isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, list | dict):
        text = json.dumps(value, default=str)
    elif isinstance(value, str) and value.startswith("arn:") and value.count(":") >= 5:
        text = value.split(":", 5)[5]  # the resource part: provisioned-model/abc123
    elif isinstance(value, str) and value.startswith("s3://"):
        parts = value.split("/")
        text = f"s3://…/{'/'.join(parts[-2:])}" if len(parts) > 5 else value
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _result_at(output: Any, result_path: Any) -> Any:
    if not isinstance(result_path, str) or not result_path.startswith("$") or not isinstance(output, dict):
        return None
    value: Any = output
    for part in [p for p in result_path[1:].split(".") if p]:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def key_outputs(visit: Visit, definition: Mapping[str, Any]) -> str:
    """The few output fields worth a glance for one state."""
    state = definition.get("States", {}).get(visit.name, {})
    if visit.kind == "Choice":
        return f"→ {visit.next}" if visit.next else ""
    if visit.kind in ("Wait", "Succeed"):
        return ""
    if visit.kind == "Fail":
        return ""
    value = _result_at(visit.output, state.get("ResultPath", "$"))
    parts: list[str] = []
    if isinstance(value, dict):
        for key in _KEY_FIELDS:
            if key in value and value[key] not in (None, [], {}):
                parts.append(f"{key}={_short(value[key], 60 if key in ('summary', 'Cause') else 48)}")
            if len(parts) == 4:
                break
    if visit.retries:
        parts.append(f"retried {visit.retries}x ({', '.join(sorted(set(visit.errors)))})")
    elif visit.errors:
        parts.append(f"error {', '.join(visit.errors)}")
    return " · ".join(parts)


def render_text(result: SimulationResult) -> str:
    """The readable summary the CLI prints; the last line is the final status alone."""
    definition = result.definition
    scenario = result.scenario
    lines = [
        f"Simulated run {result.run_id} · scenario {scenario.name}",
        f"  {scenario.description}",
        f"  run spec  {result.spec_path}",
        f"  template  {result.template_path}",
    ]
    if scenario.faults:
        lines.append(
            "  faults    "
            + "; ".join(
                f"{r.call} → {r.error} x{r.times} per {r.per}"
                + (" (after the call acted)" if r.effect == "after" else "")
                for r in scenario.faults
            )
        )
    lines += ["", "Timeline (simulated time; waits are compressed, nothing sleeps)"]
    width = max((len(v.name) for v in result.visits), default=10)
    for visit in result.visits:
        outputs = key_outputs(visit, definition)
        lines.append(
            f"  {format_elapsed(visit.entered):>12}  {visit.name:<{width}}  "
            f"{format_duration(visit.duration):>7}" + (f"  {outputs}" if outputs else "")
        )
    if result.status != "SUCCEEDED":
        lines += ["", f"Error: {result.error}", f"Cause: {_short(result.cause, 400)}"]
    lines += ["", f"Notifications ({len(result.notifications)})"]
    for number, sent in enumerate(result.notifications, start=1):
        first = sent.message.strip().splitlines()[0] if sent.message.strip() else ""
        lines.append(f"  {number}. {sent.subject or '(no subject)'}")
        if first:
            lines.append(f"     {_short(first, 100)}")
    lines += ["", "Approval", f"  {_approval_text(result.approval)}"]
    lines += _ledger_text(result)
    lines += ["", "Money invariants"]
    lines += [f"  {'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in result.checks]
    lines += ["", "Written"]
    record = next((p for uri, p in result.artifacts.items() if uri.endswith("/record.json")), None)
    lines.append(f"  run record  {record or 'none (the record step did not run)'}")
    for label, path in sorted(result.report.items()):
        lines.append(f"  report      {path}  ({label})")
    lines.append(f"  all files   {len(result.artifacts)} object(s) from S3, handler logs and simulation.json")
    for note in result.notes:
        lines.append(f"  note: {note}")
    lines += [
        "",
        f"State transitions: {result.transitions} "
        f"({len(result.visits)} states entered + {result.retries} retries)"
        f" · simulated {format_duration(result.simulated_seconds)} in {result.real_seconds:.1f} s",
        result.status,
    ]
    return "\n".join(lines)


def _approval_text(record: Mapping[str, Any]) -> str:
    outcome = record.get("outcome")
    if outcome == "not-asked":
        return "not asked (the run buys nothing, or its policy needs no approval)"
    if outcome in ("approved", "rejected"):
        waited = float(record.get("answeredAt", 0)) - float(record.get("requestedAt", 0))
        return f"{outcome} by {record.get('approver')} after {format_duration(waited)}"
    if outcome == "timed-out":
        return f"no answer: timed out after {format_duration(float(record.get('waitedSeconds', 0)))}"
    return str(outcome)


def _ledger_text(result: SimulationResult) -> list[str]:
    jobs, throughputs = result.ledger["jobs"], result.ledger["throughputs"]
    lines = ["", "Simulated Bedrock"]
    for job in jobs:
        lines.append(
            f"  job         {job['name']}: {job['status']}"
            + (f" ({_short(job['failureMessage'], 80)})" if job.get("failureMessage") else "")
            + f" · {job['createRequests']} create request(s)"
        )
    if not jobs:
        lines.append("  job         none created")
    for pt in throughputs:
        state = "deleted" if not pt["alive"] else f"{pt['status']}, still billed"
        lines.append(
            f"  throughput  {pt['name']}: {pt['modelUnits']} MU, "
            + ("no commitment" if pt["commitment"] == "none" else f"{pt['commitment']} commitment")
            + f", {state}"
            f" · {pt['createRequests']} create request(s)"
        )
    if not throughputs:
        lines.append("  throughput  none bought")
    calls = result.bedrock_calls
    faulted = sum(1 for c in calls if c["outcome"].startswith("fault"))
    lines.append(f"  API calls   {len(calls)} ({faulted} answered with an injected fault)")
    for text in result.duplicate_starts:
        lines.append(f"  duplicate   {text}")
    return lines

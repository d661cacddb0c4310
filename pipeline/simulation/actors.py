"""The people and services around a simulated run: who starts it, an approver, an operator who stops
it from the console, and EventBridge delivering the execution-status event.

People are IAM users of the simulated account (moto), with access keys of their own: the starter
starts the run through the start function's URL, the approver answers as the approver role, both the
way ``bedrock-customize`` does it (pipeline.operate.approvals), with identity proofs the functions
check against moto's STS.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from botocore.exceptions import ClientError

from pipeline import approval_records, plan
from pipeline.operate import approvals
from pipeline.simulation import function_urls
from pipeline.simulation.clock import SimClock, format_duration
from pipeline.simulation.fake_bedrock import FakeBedrock
from pipeline.simulation.scenarios import STARTER, Scenario
from pipeline.simulation.template import Provisioned, Template

ACCOUNT: Final = "123456789012"
# "Never answers": the clock runs until the pending timeout fires (it stops there).
_FOREVER_SECONDS: Final = 10 * 365 * 86400
START_URL: Final = "https://run-start.lambda-url.simulation/"
ANSWER_URL: Final = "https://approval-answer.lambda-url.simulation/"


class People:
    """IAM users of the simulated account, each with an access key, and how they call the URLs."""

    def __init__(self, region: str, lambda_client: Any, provisioned: Provisioned) -> None:
        import boto3

        self.region = region
        self.iam = boto3.client("iam", region_name=region)
        self.lambda_client = lambda_client
        self.urls = {
            url: arn
            for url, arn in (
                (START_URL, function_urls.function_arn(provisioned, function_urls.START_HANDLER)),
                (ANSWER_URL, function_urls.function_arn(provisioned, function_urls.ANSWER_HANDLER)),
            )
            if arn is not None
        }
        self.approver_role_arn = next(
            (
                spec.environment.get("APPROVER_ROLE_ARN")
                for spec, _ in provisioned.functions.values()
                if spec.environment.get("APPROVER_ROLE_ARN")
            ),
            None,
        )
        self._sessions: dict[str, Any] = {}

    def caller(self, name: str) -> function_urls.SimulatedUrlCaller:
        """``name``'s CLI: their own access key signs (a new IAM user the first time)."""
        import boto3

        if name not in self._sessions:
            self.iam.create_user(UserName=name)
            key = self.iam.create_access_key(UserName=name)["AccessKey"]
            self._sessions[name] = boto3.session.Session(
                aws_access_key_id=key["AccessKeyId"],
                aws_secret_access_key=key["SecretAccessKey"],
                region_name=self.region,
            )
        return function_urls.SimulatedUrlCaller(
            self.region, self._sessions[name], self.lambda_client, self.urls, ACCOUNT
        )

    @property
    def can_start(self) -> bool:
        return START_URL in self.urls


def start_run(people: People, bucket: str, run_id: str, execution_input: str) -> str:
    """``bedrock-customize start`` by the scenario's starter: the execution ARN the start function
    answered (the function starts the execution and records the starter)."""
    arn, _started, _starter = approvals.start_run(
        people.caller(STARTER), url=START_URL, audience=bucket, run_id=run_id, execution_input=execution_input
    )
    return arn


# How often (real time) to look for a task waiting for its token without any approval request.
_NO_REQUEST_CHECK_SECONDS: Final = 0.5


class Operator:
    """Someone who stops the execution from outside (console, API) at a scenario's chosen moment."""

    def __init__(self, scenario: Scenario) -> None:
        self.abort = scenario.abort
        self.seen = 0
        self.stop: Callable[[], None] | None = None
        self.stopped_at: float | None = None

    def after_call(self, fake: FakeBedrock) -> None:
        if self.abort is None or self.stop is None or self.stopped_at is not None or not fake.calls:
            return
        call = fake.calls[-1]
        if f"{call.service}:{call.operation}" != self.abort.on_call:
            return
        self.seen += 1
        if self.seen > self.abort.skip:
            self.stopped_at = call.elapsed
            self.stop()


class ApprovalDriver:
    """The human who answers the approval request, per the scenario.

    It acts only while a ``.waitForTaskToken`` task is actually waiting (its TaskSubmitted event
    is the last word on it in the history) and the approval request is in S3, as a person reading
    the notification would; a decision that arrives after the task ended is refused like in AWS.
    """

    _DONE_EVENTS: Final = ("TaskSucceeded", "TaskFailed", "TaskTimedOut", "TaskAborted")

    def __init__(
        self,
        scenario: Scenario,
        clock: SimClock,
        s3: Any,
        sfn: Any,
        bucket: str,
        run_id: str,
        lambda_client: Any,
        provisioned: Provisioned,
        people: People | None = None,
    ) -> None:
        self.approval = scenario.approval
        self.run_id = run_id
        self.lambda_client = lambda_client
        self.people = people
        # The approval-answer function behind the IAM-authenticated function URL, if the stack has one.
        self.answer_arn = function_urls.function_arn(provisioned, function_urls.ANSWER_HANDLER)
        self.clock = clock
        self.s3 = s3
        self.sfn = sfn
        self.bucket = bucket
        self.key = f"{plan.RUNS_PREFIX}{run_id}/approval-request.json"
        self.record: dict[str, Any] = {"outcome": "not-asked"}
        # A run may ask twice (to evaluate on a throughput, then to serve): each token once.
        self.answered: set[str] = set()
        self.asked = 0
        self._next_check_without_request = 0.0

    def waiting(self, execution_arn: str) -> bool:
        """Is a task of this execution waiting for its task token right now?"""
        waiting = False
        for event in execution_history(self.sfn, execution_arn):
            kind = event["type"]
            if kind == "TaskSubmitted":
                resource = event.get("taskSubmittedEventDetails", {}).get("resource", "")
                waiting = str(resource).endswith(".waitForTaskToken")
            elif kind in self._DONE_EVENTS or kind.endswith("StateExited"):
                waiting = False
        return waiting

    def poll(self, execution_arn: str, notes: list[str]) -> None:
        # The request in S3 first: reading the whole execution history (what `waiting` does) costs
        # far more, and the simulation polls often; the history is read for a new request only
        # (and, while there is none, now and then, to notice a task waiting with no request at all).
        try:
            request = json.loads(self.s3.get_object(Bucket=self.bucket, Key=self.key)["Body"].read())
        except ClientError:
            if time.monotonic() < self._next_check_without_request:
                return
            self._next_check_without_request = time.monotonic() + _NO_REQUEST_CHECK_SECONDS
            if self.waiting(execution_arn) and self.record.get("outcome") != "no-request":
                self.record = {"outcome": "no-request"}
                notes.append(
                    f"a task waits for its token but {self.key} does not exist: nobody can answer it"
                )
            return
        # Each request once: the pending request is identified by its stage and time.
        token = f"{request.get('stage')}@{request.get('requestedAt')}"
        if token in self.answered or not self.waiting(execution_arn):
            return
        self.asked += 1
        self.record = {
            "outcome": "asked",
            "requestedAt": round(self.clock.elapsed(), 3),
            "decision": self.approval.decision,
            "request": f"s3://{self.bucket}/{self.key}",
            "stage": (request.get("purchase") or {}).get("stage"),
            "requests": self.asked,
        }
        if "taskToken" in request:
            notes.append(f"the approval request {self.key} exposes the task token to whoever reads it")
        self.answered.add(token)
        if self.approval.decision == "none":
            self._never_answer(notes)
            return
        thought = self.clock.sleep(self.approval.after_seconds)
        if self.approval.decision in ("malformed", "forged"):
            self._answer_by_hand(execution_arn, notes)
            return
        output = self.approval.output()
        # Time stopped short of the think time at a deadline (the task's timeout): the answer comes
        # after it, whether or not the interpreter has written the timeout into the history yet.
        if thought < self.approval.after_seconds or not self.waiting(execution_arn):
            self.record["outcome"] = "too-late"
            notes.append(
                f"the {self.approval.decision} decision came {format_duration(self.approval.after_seconds)} "
                "after the request, when the task no longer waited"
            )
            return
        # The moment the answer is sent: once delivered, the run goes on (and its clock with it)
        # in the interpreter's thread, however soon this one gets to look at the clock again.
        answered_at = round(self.clock.elapsed(), 3)
        status, body = self._answer(output, request)
        if status != 200:
            self.record.update(outcome="refused", refusedWith=status, refusal=body.get("error"))
            notes.append(
                f"the {self.approval.decision} decision was refused (HTTP {status}): {body.get('error')}"
            )
            # Nobody else answers: the request stays open until it times out (nothing is bought).
            self._never_answer(notes, outcome="refused")
            return
        self.record.update(
            outcome="approved" if body["approved"] else "rejected",
            answeredAt=answered_at,
            approver=body["approver"],
            requestId=body.get("requestId"),
        )

    def _answer_by_hand(self, execution_arn: str, notes: list[str]) -> None:
        """Someone who got hold of the task token answers SendTaskSuccess directly, bypassing the
        answer function: "forged" claims an approval (``approved: true`` by a named approver),
        "malformed" sends something that is not an answer at all. The token is where anyone who may
        read the execution history finds it: the waiting task's TaskScheduled event."""
        token = scheduled_task_token(self.sfn, execution_arn)
        if self.approval.decision == "forged":
            output: dict[str, Any] = {
                "approved": True,
                "approver": self.approval.approver,
                "reason": self.approval.reason,
                "verified": True,
                "stage": self.record.get("stage"),
            }
        else:
            output = {"ok": "ship it"}
        answered_at = round(self.clock.elapsed(), 3)
        self.sfn.send_task_success(taskToken=token, output=json.dumps(output))
        self.record.update(outcome=self.approval.decision, answeredAt=answered_at)
        notes.append(
            "the approval was answered by hand with SendTaskSuccess (token from the execution history): "
            + json.dumps(output)
        )

    def _answer(self, output: Mapping[str, Any], request: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """What `bedrock-customize approve|reject` does, as the scenario's approver (an IAM user): assume
        the approver role as themselves and POST the answer, with an identity proof, to the answer URL."""
        if self.answer_arn is None or self.people is None or self.people.approver_role_arn is None:
            return 404, {"error": "the template has no approval-answer function or approver role"}
        caller = self.people.caller(self.approval.approver)
        own = caller.session.client("sts").get_caller_identity()["Arn"]
        response = approvals.send_answer(
            caller,
            url=ANSWER_URL,
            role_arn=self.people.approver_role_arn,
            caller_arn=own,
            run_id=self.run_id,
            request_id=request.get("requestId"),
            approved=bool(output["approved"]),
            reason=str(output["reason"]),
            audience=self.bucket,
        )
        return int(response.status), dict(response.body)

    def _never_answer(self, notes: list[str], *, outcome: str = "timed-out") -> None:
        if not self.clock.has_deadline():
            self.record["outcome"] = "waits-forever"
            notes.append("the approval task has no timeout: without an answer the run would wait forever")
            return
        waited = self.clock.sleep(_FOREVER_SECONDS)
        self.record.update(outcome=outcome, waitedSeconds=round(waited, 3))

    def finish(self) -> None:
        """After the run: a request written by a task that never got to wait for its answer."""
        if self.record["outcome"] != "not-asked":
            return
        try:
            self.s3.head_object(Bucket=self.bucket, Key=self.key)
        except ClientError:
            return
        self.record = {"outcome": "request-not-awaited", "request": f"s3://{self.bucket}/{self.key}"}


def scheduled_task_token(sfn: Any, execution_arn: str) -> str:
    """The task token of the latest waiting task, read from its TaskScheduled event's parameters."""
    token = ""
    for event in execution_history(sfn, execution_arn):
        details = event.get("taskScheduledEventDetails") or {}
        if str(details.get("resource", "")).endswith(".waitForTaskToken"):
            parameters = json.loads(details.get("parameters") or "{}")
            token = str((parameters.get("Payload") or {}).get("taskToken") or token)
    if not token:
        raise RuntimeError("no waiting task's token in the execution history")
    return token


def approval_records_of(s3: Any, bucket: str, run_id: str) -> dict[str, Any]:
    """The run's starter record and decisions of record (what the trust checks compare)."""
    found: dict[str, Any] = {"starter": None, "decisions": []}
    with contextlib.suppress(ClientError):
        found["starter"] = json.loads(
            s3.get_object(Bucket=bucket, Key=approval_records.starter_key(run_id))["Body"].read()
        )
    prefix = f"{approval_records.DECISIONS_PREFIX}{run_id}/"
    for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        found["decisions"].append(json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()))
    return found


STATUS_EVENT: Final = "Step Functions Execution Status Change"


def deliver_status_event(
    template: Template,
    provisioned: Provisioned,
    lambda_client: Any,
    description: Mapping[str, Any],
    run_id: str,
    notes: list[str],
) -> dict[str, Any] | None:
    """Play EventBridge: the execution-status event, to the function the template's rule targets.

    moto's interpreter emits no EventBridge events, so the simulation delivers the one the
    synthesized rule matches (same pattern: source, detail-type, state machine, status) to its target.
    """
    status = str(description.get("status"))
    for rule in template.of_type("AWS::Events::Rule").values():
        pattern = rule["Properties"].get("EventPattern") or {}
        if STATUS_EVENT not in pattern.get("detail-type", []) or status not in pattern.get("detail", {}).get(
            "status", []
        ):
            continue
        for target in rule["Properties"].get("Targets", []):
            logical_id = ((target.get("Arn") or {}).get("Fn::GetAtt") or [None])[0]
            function = provisioned.functions.get(str(logical_id))
            if function is None:
                continue
            event = {
                "version": "0",
                "source": "aws.states",
                "detail-type": STATUS_EVENT,
                "resources": [description.get("executionArn")],
                "detail": {
                    "executionArn": description.get("executionArn"),
                    "stateMachineArn": provisioned.state_machine_arn,
                    "name": run_id,
                    "status": status,
                    # EventBridge sends both as epoch milliseconds (the cleanup's ownership reads
                    # startDate: the execution's start is part of what its resources are tagged with).
                    "startDate": _epoch_ms(description.get("startDate")),
                    "stopDate": _epoch_ms(description.get("stopDate")),
                    "error": description.get("error"),
                    "cause": description.get("cause"),
                },
            }
            response = lambda_client.invoke(FunctionName=function[1], Payload=json.dumps(event).encode())
            payload = json.loads(response["Payload"].read() or b"null")
            if response.get("FunctionError"):
                notes.append(f"the execution-status handler failed: {payload}")
            return payload if isinstance(payload, dict) else None
    return None


def _epoch_ms(when: Any) -> int | None:
    return int(when.timestamp() * 1000) if hasattr(when, "timestamp") else None


def execution_history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
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

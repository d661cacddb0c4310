"""The people and services around a simulated run: an approver, an operator who stops it from the
console, and EventBridge delivering the execution-status event.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from botocore.exceptions import ClientError

from pipeline import plan
from pipeline.simulation.clock import SimClock, format_duration
from pipeline.simulation.fake_bedrock import FakeBedrock
from pipeline.simulation.scenarios import Scenario
from pipeline.simulation.template import Provisioned, Template

ACCOUNT: Final = "123456789012"
# "Never answers": the clock runs until the pending timeout fires (it stops there).
_FOREVER_SECONDS: Final = 10 * 365 * 86400
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
    ) -> None:
        self.approval = scenario.approval
        self.run_id = run_id
        self.lambda_client = lambda_client
        # The approval-answer function behind the IAM-authenticated function URL, if the stack has one.
        self.answer_arn = next(
            (
                arn
                for spec, arn in provisioned.functions.values()
                if spec.handler.startswith("lambdas.approval_answer.")
            ),
            None,
        )
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
        if self.approval.decision == "malformed":
            self._answer_by_hand(notes)
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
        answered = self._answer(output)
        if answered.get("statusCode") != 200:
            self.record["outcome"] = f"answer refused ({answered.get('statusCode')})"
            notes.append(f"the {self.approval.decision} decision was refused: {answered.get('body')}")
            return
        body = json.loads(answered["body"])
        self.record.update(
            outcome="approved" if body["approved"] else "rejected",
            answeredAt=answered_at,
            approver=body["approver"],
        )

    def _answer_by_hand(self, notes: list[str]) -> None:
        """Someone who got hold of the token answers SendTaskSuccess directly, with a bad answer."""
        pending = json.loads(
            self.s3.get_object(Bucket=self.bucket, Key=f"approvals/{self.run_id}.json")["Body"].read()
        )
        answered_at = round(self.clock.elapsed(), 3)
        self.sfn.send_task_success(taskToken=pending["taskToken"], output=json.dumps({"ok": "ship it"}))
        self.record.update(outcome="malformed", answeredAt=answered_at)
        notes.append("the approval was answered by hand, without approved/approver/reason")

    def _answer(self, output: Mapping[str, Any]) -> dict[str, Any]:
        """What `bedrock-customize approve|reject` does: a SigV4-signed POST to the function URL.

        Lambda verifies the signature and hands the function the caller's identity; here the
        simulation plays that part, as the approver role assumed under the approver's name.
        """
        if self.answer_arn is None:
            return {
                "statusCode": 404,
                "body": json.dumps({"error": "the template has no approval-answer function"}),
            }
        event = {
            "version": "2.0",
            "rawPath": "/",
            "requestContext": {
                "http": {"method": "POST", "path": "/"},
                "authorizer": {
                    "iam": {
                        "accountId": ACCOUNT,
                        "userArn": f"arn:aws:sts::{ACCOUNT}:assumed-role/approver/{output['approver']}",
                    }
                },
            },
            "body": json.dumps(
                {
                    "runId": self.run_id,
                    "decision": "approve" if output["approved"] else "reject",
                    "reason": output["reason"],
                }
            ),
            "isBase64Encoded": False,
        }
        response = self.lambda_client.invoke(FunctionName=self.answer_arn, Payload=json.dumps(event).encode())
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError") or not isinstance(payload, dict):
            return {"statusCode": 500, "body": json.dumps(payload)}
        return payload

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

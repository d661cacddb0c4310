"""approval_answer: only an IAM-verified caller answers, and the verified ARN is the approver.

The function URL (AuthType AWS_IAM) is where Lambda checks the signature; these tests hand the
handler the event Lambda would build. Step Functions' SendTaskSuccess is stubbed (moto has no task
waiting for the token); S3 is moto's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import ANY

from lambdas.approval_answer.handler import lambda_handler
from lambdas.common import runtime
from tests.handlers.helpers import FakeContext, read_json
from tests.handlers.plans import BUCKET, RUN_ID
from tests.stubs import PartialStubber

pytestmark = pytest.mark.usefixtures("aws")

APPROVER = "arn:aws:sts::123456789012:assumed-role/BedrockCustomizationApprover/ana"
TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAeXample-token"
PENDING = f"approvals/{RUN_ID}.json"


@pytest.fixture
def sfn() -> Iterator[PartialStubber]:
    stubber = PartialStubber(runtime.client("stepfunctions"), ("SendTaskSuccess",))
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def pending(stage: str = "serving") -> None:
    runtime.put_json(BUCKET, PENDING, {"runId": RUN_ID, "taskToken": TOKEN, "stage": stage})


def url_event(body: Any, *, caller: str | None = APPROVER, method: str = "POST") -> dict[str, Any]:
    context: dict[str, Any] = {"http": {"method": method, "path": "/"}}
    if caller is not None:
        context["authorizer"] = {"iam": {"userArn": caller, "accountId": "123456789012"}}
    return {
        "version": "2.0",
        "requestContext": context,
        "body": body if isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }


def call(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = lambda_handler(event, FakeContext())
    return response["statusCode"], json.loads(response["body"])


def expect_answer(sfn: PartialStubber) -> None:
    # The output's content is checked through the decision record, which is written from it.
    sfn.add_response("send_task_success", {}, {"taskToken": TOKEN, "output": ANY})


def test_the_verified_caller_is_the_approver_not_a_typed_name(sfn: PartialStubber) -> None:
    pending()
    expect_answer(sfn)

    status, body = call(url_event({"runId": RUN_ID, "decision": "approve", "reason": "within budget"}))

    assert status == 200
    assert body["approver"] == APPROVER and body["approved"] is True and body["stage"] == "serving"
    decision = read_json(f"runs/{RUN_ID}/approval-decision-serving.json")
    assert decision["approver"] == APPROVER and decision["verified"] is True
    # The token is used once: nothing pending is left to be answered again.
    with pytest.raises(Exception, match="NoSuchKey"):
        runtime.client("s3").get_object(Bucket=BUCKET, Key=PENDING)


def test_an_approver_field_in_the_body_is_refused(sfn: PartialStubber) -> None:
    pending()
    status, body = call(url_event({"runId": RUN_ID, "decision": "approve", "approver": "the-ceo"}))
    assert status == 400 and "unknown field(s) approver" in body["error"]


def test_without_a_verified_caller_nothing_is_answered(sfn: PartialStubber) -> None:
    pending()
    status, body = call(url_event({"runId": RUN_ID, "decision": "approve"}, caller=None))
    assert status == 403 and "SigV4" in body["error"]
    assert read_json(PENDING)["taskToken"] == TOKEN


def test_a_rejection_needs_a_reason_and_is_recorded_for_its_stage(sfn: PartialStubber) -> None:
    pending(stage="evaluation")
    status, body = call(url_event({"runId": RUN_ID, "decision": "reject"}))
    assert (status, body["error"]) == (400, "a rejection needs a reason")
    expect_answer(sfn)

    status, body = call(
        url_event({"runId": RUN_ID, "decision": "reject", "reason": "no budget this quarter"})
    )

    assert status == 200 and body["approved"] is False and body["stage"] == "evaluation"
    assert read_json(f"runs/{RUN_ID}/approval-decision-evaluation.json")["reason"] == "no budget this quarter"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("{not json", 400, "not JSON"),
        ([1, 2], 400, "JSON object"),
        ({"runId": "../etc", "decision": "approve"}, 400, "not a run id"),
        ({"runId": RUN_ID, "decision": "yes"}, 400, "approve, reject"),
        ({"runId": RUN_ID, "decision": "approve", "reason": "x" * 1001}, 400, "at most 1000"),
        ({"runId": "another-run-0123456789", "decision": "approve"}, 404, "no approval is pending"),
    ],
)
def test_malformed_or_unknown_requests_are_refused_with_what_is_wrong(
    sfn: PartialStubber, body: Any, status: int, message: str
) -> None:
    pending()
    got, answer = call(url_event(body))
    assert got == status and message in answer["error"]


def test_only_post_is_accepted(sfn: PartialStubber) -> None:
    pending()
    status, body = call(url_event({"runId": RUN_ID, "decision": "approve"}, method="GET"))
    assert status == 400 and "POST" in body["error"]


@pytest.mark.parametrize("code", ["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"])
def test_a_run_that_no_longer_waits_answers_409_and_forgets_the_token(sfn: PartialStubber, code: str) -> None:
    pending()
    sfn.add_client_error("send_task_success", code, "no longer waiting", 400)

    status, body = call(url_event({"runId": RUN_ID, "decision": "approve"}))

    assert status == 409 and code in body["error"]
    with pytest.raises(Exception, match="NoSuchKey"):
        runtime.client("s3").get_object(Bucket=BUCKET, Key=PENDING)

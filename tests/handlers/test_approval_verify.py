"""approval_verify: the workflow acts on the decision of record, never on the task token's answer."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.approval_verify.handler import lambda_handler
from lambdas.common import runtime
from pipeline import approval_records
from tests.handlers.helpers import FakeContext
from tests.handlers.plans import ACCOUNT, BUCKET, REGION, RUN_ID

pytestmark = pytest.mark.usefixtures("aws")

EXECUTION_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:Workflow:{RUN_ID}"
EXECUTION_START = "2026-11-30T08:00:00.123Z"
REQUEST = approval_records.request_id(EXECUTION_ARN, EXECUTION_START, "serving")
# What anyone with the task token can send by hand.
FORGED = {"approved": True, "approver": "mallory", "reason": "ship it", "verified": True}


def event(answer: Any = None, stage: str = "serving") -> dict[str, Any]:
    return {
        "runId": RUN_ID,
        "executionArn": EXECUTION_ARN,
        "executionStart": EXECUTION_START,
        "stage": stage,
        "answer": answer if answer is not None else FORGED,
    }


def record(decision: str = "approve", approver: str = "ana", **changes: Any) -> None:
    doc = {
        "runId": RUN_ID,
        "requestId": REQUEST,
        "stage": "serving",
        "executionArn": EXECUTION_ARN,
        "executionStart": EXECUTION_START,
        "decision": decision,
        "approved": decision == "approve",
        "approver": approver,
        "reason": "within budget" if decision == "approve" else "too expensive",
        "answeredAt": "2026-11-30T12:00:00Z",
        **changes,
    }
    runtime.put_json(BUCKET, approval_records.decision_key(RUN_ID, str(doc["requestId"])), doc)


def started_by(name: str) -> None:
    principal = approval_records.principal_of(f"arn:aws:iam::{ACCOUNT}:user/{name}", "AIDAX", ACCOUNT)
    runtime.put_json(
        BUCKET,
        approval_records.starter_key(RUN_ID),
        {
            "runId": RUN_ID,
            "executionArn": EXECUTION_ARN,
            "executionStart": EXECUTION_START,
            "starter": principal.to_dict(),
        },
    )


def verify(answer: Any = None, stage: str = "serving") -> dict[str, Any]:
    result: dict[str, Any] = lambda_handler(event(answer, stage), FakeContext())
    return result


def test_an_answer_sent_by_hand_without_a_record_is_not_verified() -> None:
    started_by("bo")

    result = verify(FORGED)

    assert result["verified"] is False and result["approved"] is False
    assert "no decision of record" in result["reason"] and REQUEST in result["reason"]
    assert result["requestId"] == REQUEST


def test_a_distinct_approvers_record_decides() -> None:
    started_by("bo")
    record("approve", "ana")

    result = verify({"approved": True, "approver": "ana", "reason": "within budget", "requestId": REQUEST})

    assert result["verified"] is True and result["approved"] is True
    assert result["approver"] == "ana" and result["reason"] == "within budget" and result["starter"] == "bo"
    assert result["decisionUri"] == f"s3://{BUCKET}/{approval_records.decision_key(RUN_ID, REQUEST)}"


def test_the_record_decides_even_when_the_answer_says_otherwise() -> None:
    # A rejection of record; someone then sent "approved: true" by hand before the real answer arrived.
    started_by("bo")
    record("reject", "ana")

    result = verify(FORGED)

    assert result["verified"] is True and result["approved"] is False and result["approver"] == "ana"


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"stage": "evaluation"}, "stage"),
        ({"executionArn": EXECUTION_ARN + "-earlier"}, "executionArn"),
        ({"runId": "another-run-0123456789"}, "runId"),
        ({"approver": ""}, "names no approver"),
        ({"approved": False}, "no clear decision"),
    ],
)
def test_a_record_that_is_not_about_this_request_is_not_verified(
    changes: dict[str, Any], fragment: str
) -> None:
    started_by("bo")
    record(**{"decision": "approve", "approver": "ana", **changes})

    result = verify()

    assert result["verified"] is False and fragment in result["reason"]


def test_the_evaluation_request_is_another_request() -> None:
    started_by("bo")
    record("approve", "ana")  # the serving request's decision

    result = verify(stage="evaluation")

    assert result["verified"] is False and "no decision of record" in result["reason"]


def test_an_approval_by_the_starter_is_not_verified() -> None:
    started_by("ana")
    record("approve", "ANA")  # IAM user names compare case-insensitively

    result = verify()

    assert result["verified"] is False and "ANA started this run" in result["reason"]


def test_an_approval_of_a_run_without_a_starter_record_is_not_verified() -> None:
    record("approve", "ana")

    result = verify()

    assert result["verified"] is False and "no starter record" in result["reason"]


def test_a_rejection_needs_no_starter_record() -> None:
    record("reject", "ana")

    result = verify()

    assert result["verified"] is True and result["approved"] is False


def test_self_approval_where_the_stack_allows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOW_SELF_APPROVAL", "true")
    started_by("ana")
    record("approve", "ana")

    result = verify()

    assert result["verified"] is True and result["approved"] is True


def test_a_record_s3_will_not_show_is_not_on_record() -> None:
    """Without s3:ListBucket, S3 answers a missing key with AccessDenied: still "not on record", a
    rejection, never a failure of the verification step itself."""
    from tests.stubs import PartialStubber

    stub = PartialStubber(runtime.client("s3"), ("GetObject",))
    stub.add_client_error("get_object", "AccessDenied", "Access Denied", 403)

    with stub:
        result = verify(FORGED)

    assert result["verified"] is False and "no decision of record" in result["reason"]

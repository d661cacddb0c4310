"""approval_answer: only a session of the approver role decides, as the person STS names, never the
run's starter; the decision of record is written once, then the waiting task is answered.

The caller is what moto's STS says about the identity proof in the body (the proof is replayed to
it as the function would replay it to AWS STS). Step Functions' SendTaskSuccess is stubbed (moto has
no task waiting for the token); S3 is moto's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.credentials import Credentials
from botocore.stub import ANY

from lambdas.approval_answer.handler import lambda_handler
from lambdas.common import runtime
from pipeline import approval_records
from tests.handlers import identities
from tests.handlers.helpers import read_json
from tests.handlers.plans import ACCOUNT, BUCKET, REGION, RUN_ID
from tests.stubs import PartialStubber

pytestmark = pytest.mark.usefixtures("aws")

TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAeXample-token"
EXECUTION_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:Workflow:{RUN_ID}"
EXECUTION_START = "2026-11-30T08:00:00.123Z"
REQUEST = approval_records.request_id(EXECUTION_ARN, EXECUTION_START, "serving")


@pytest.fixture
def sfn() -> Iterator[PartialStubber]:
    stubber = PartialStubber(runtime.client("stepfunctions"), ("SendTaskSuccess",))
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


@pytest.fixture
def approver_role(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    role = identities.role()
    monkeypatch.setenv("APPROVER_ROLE_ARN", role["arn"])
    monkeypatch.setenv("APPROVER_ROLE_ID", role["id"])
    return role


@pytest.fixture
def ana(approver_role: dict[str, str]) -> Credentials:
    """Ana, an IAM user, as the approver role (session name and source identity: her user name)."""
    return identities.session(identities.user("ana"), approver_role["arn"], "ana")


def pending(stage: str = "serving", request: str = REQUEST) -> None:
    runtime.put_json(
        BUCKET,
        approval_records.pending_key(RUN_ID),
        {
            "runId": RUN_ID,
            "requestId": request,
            "taskToken": TOKEN,
            "stage": stage,
            "executionArn": EXECUTION_ARN,
            "executionStart": EXECUTION_START,
        },
    )


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


def body(decision: str = "approve", reason: str = "within budget", request: str = REQUEST) -> dict[str, Any]:
    return {"runId": RUN_ID, "requestId": request, "decision": decision, "reason": reason}


def binding(answer: dict[str, Any]) -> str:
    return approval_records.answer_binding(
        BUCKET, answer["runId"], answer["requestId"], answer["decision"], answer["reason"]
    )


def call(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = lambda_handler(event, identities.LambdaContext())
    return response["statusCode"], json.loads(response["body"])


def answer(credentials: Credentials | None, answer_body: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    answer_body = answer_body or body()
    return call(identities.url_event(answer_body, credentials, binding(answer_body), **kwargs))


def expect_answer(sfn: PartialStubber) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    sfn.add_response("send_task_success", {}, {"taskToken": TOKEN, "output": ANY})
    sfn.client.meta.events.register(
        "provide-client-params.sfn.SendTaskSuccess", lambda params, **_: sent.append(dict(params))
    )
    return sent


def test_the_approver_of_record_is_the_role_session_sts_names(sfn: PartialStubber, ana: Credentials) -> None:
    # Given Bo started the run, and its serving request waits
    started_by("bo")
    pending()
    sent = expect_answer(sfn)

    # When Ana answers as the approver role
    status, result = answer(ana)

    # Then the decision of record names Ana (her session name, bound to her IAM user name) ...
    assert status == 200, result
    record = read_json(approval_records.decision_key(RUN_ID, REQUEST))
    assert record["approver"] == "ana" and record["approved"] is True and record["decision"] == "approve"
    assert record["requestId"] == REQUEST and record["executionArn"] == EXECUTION_ARN
    assert record["approverIdentity"]["bound"] is True
    assert record["approverIdentity"]["arn"].endswith(
        ":assumed-role/BedrockCustomization-dev-ApproverRole/ana"
    )
    assert record["starter"]["person"] == "bo"
    # ... the waiting task gets an answer naming the request and its record ...
    output = json.loads(sent[0]["output"])
    assert output["requestId"] == REQUEST and output["decisionKey"] == approval_records.decision_key(
        RUN_ID, REQUEST
    )
    assert result["decisionUri"] == f"s3://{BUCKET}/{approval_records.decision_key(RUN_ID, REQUEST)}"
    # ... and the token is used once: nothing pending is left to be answered again.
    with pytest.raises(Exception, match="NoSuchKey"):
        runtime.client("s3").get_object(Bucket=BUCKET, Key=approval_records.pending_key(RUN_ID))
    assert read_json(f"runs/{RUN_ID}/approval-decision-serving.json")["approver"] == "ana"


def test_an_iam_user_who_is_not_the_approver_role_is_refused(approver_role: dict[str, str]) -> None:
    started_by("bo")
    pending()

    status, result = answer(identities.user("carol"))

    assert status == 403
    assert "not a session of this pipeline's approver role" in result["error"]
    assert approver_role["arn"] in result["error"]


def test_another_roles_session_of_the_same_name_is_refused(approver_role: dict[str, str]) -> None:
    # A role whose trust lets the caller choose any session name: "ana" there proves nothing.
    admin = identities.role("Admin")
    started_by("bo")
    pending()

    status, result = answer(identities.session(identities.user("mallory"), admin["arn"], "ana"))

    assert status == 403 and "approver role" in result["error"]


def test_a_recreated_role_of_the_same_name_is_not_the_approver_role(
    ana: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stack knows its role by id too: a role deleted and re-created by hand has another one.
    monkeypatch.setenv("APPROVER_ROLE_ID", "AROAOTHERROLEID000000")
    started_by("bo")
    pending()

    status, _ = answer(ana)

    assert status == 403


def test_a_hand_built_event_without_a_proof_names_nobody(ana: Credentials) -> None:
    """A direct invoke (lambda:InvokeFunction, not through the URL) can claim any userArn."""
    started_by("bo")
    pending()
    forged_caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/BedrockCustomization-dev-ApproverRole/ana"

    status, result = answer(None, caller=forged_caller)

    assert status == 403 and "proof" in result["error"]
    with pytest.raises(Exception, match="NoSuchKey"):
        runtime.client("s3").get_object(Bucket=BUCKET, Key=approval_records.decision_key(RUN_ID, REQUEST))


def test_a_claimed_caller_that_differs_from_the_proofs_signer_is_refused(ana: Credentials) -> None:
    started_by("bo")
    pending()
    mallory = identities.user("mallory")

    # Mallory's own proof, with a hand-built context that claims Ana's session.
    status, result = answer(mallory, caller=identities.arn_of(ana))

    assert status == 403 and "name different callers" in result["error"]


def test_no_url_caller_at_all_is_refused(ana: Credentials) -> None:
    started_by("bo")
    pending()
    answer_body = body()
    event = identities.url_event(answer_body, ana, binding(answer_body))
    del event["requestContext"]["authorizer"]

    status, result = call(event)

    assert status == 403 and "no IAM-authenticated caller" in result["error"]


def test_a_proof_made_for_a_rejection_cannot_approve(ana: Credentials) -> None:
    started_by("bo")
    pending()
    approve = body()
    proof_for_reject = approval_records.answer_binding(BUCKET, RUN_ID, REQUEST, "reject", "no")
    event = identities.url_event(approve, ana, proof_for_reject)

    status, result = call(event)

    assert status == 403 and "made for another request" in result["error"]


def test_an_expired_proof_is_refused(ana: Credentials) -> None:
    from pipeline.operate import approvals

    started_by("bo")
    pending()
    answer_body = body()
    proof = approvals.identity_proof(ana, REGION, binding(answer_body))
    # Dated beyond SigV4's 15-minute window (STS would refuse it too, as an expired signature).
    proof["headers"]["X-Amz-Date"] = "20260101T000000Z"

    status, result = call(
        identities.url_event(answer_body, None, "", caller=identities.arn_of(ana), proof=proof)
    )

    assert status == 403 and "more than 15 minutes from now" in result["error"]


def test_a_stale_or_foreign_request_id_is_refused(ana: Credentials) -> None:
    started_by("bo")
    pending()
    # The evaluation request of the same run, answered after the run moved on to serving.
    stale = approval_records.request_id(EXECUTION_ARN, EXECUTION_START, "evaluation")

    status, result = answer(ana, body(request=stale))

    assert status == 409 and "stale or foreign" in result["error"] and REQUEST in result["error"]


def test_the_starter_may_not_approve_their_own_run(approver_role: dict[str, str]) -> None:
    started_by("ana")
    pending()
    ana = identities.session(identities.user("ana"), approver_role["arn"], "ana")

    status, result = answer(ana)

    assert status == 403
    assert "ana started this run" in result["error"] and "self-approval" in result["error"]
    # Nothing recorded, nothing answered: the run keeps waiting for another approver.
    with pytest.raises(Exception, match="NoSuchKey"):
        runtime.client("s3").get_object(Bucket=BUCKET, Key=approval_records.decision_key(RUN_ID, REQUEST))
    assert read_json(approval_records.pending_key(RUN_ID))["taskToken"] == TOKEN


def test_the_starter_may_reject_their_own_run(sfn: PartialStubber, approver_role: dict[str, str]) -> None:
    started_by("ana")
    pending()
    expect_answer(sfn)
    ana = identities.session(identities.user("ana"), approver_role["arn"], "ana")

    status, result = answer(ana, body("reject", "changed my mind"))

    assert status == 200 and result["approved"] is False and result["approver"] == "ana"


def test_self_approval_is_a_stack_setting(
    sfn: PartialStubber, approver_role: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOW_SELF_APPROVAL", "true")
    started_by("ana")
    pending()
    expect_answer(sfn)
    ana = identities.session(identities.user("ana"), approver_role["arn"], "ana")

    status, result = answer(ana)

    assert status == 200 and result["approved"] is True


def test_without_a_starter_record_an_approval_cannot_be_verified_as_distinct(ana: Credentials) -> None:
    pending()  # started by StartExecution directly: no starter record

    status, result = answer(ana)

    assert status == 403 and "no starter record" in result["error"]


def test_a_decision_is_recorded_once(ana: Credentials) -> None:
    started_by("bo")
    pending()
    # Someone (an earlier answer whose SendTaskSuccess failed) recorded a rejection for this request.
    runtime.put_json(
        BUCKET,
        approval_records.decision_key(RUN_ID, REQUEST),
        {"decision": "reject", "approver": "dan", "approved": False},
    )

    status, result = answer(ana)

    assert status == 409 and "already answered: reject by dan" in result["error"]


def test_an_answer_the_run_no_longer_waits_for_is_a_conflict(sfn: PartialStubber, ana: Credentials) -> None:
    started_by("bo")
    pending()
    sfn.add_client_error("send_task_success", "TaskTimedOut", "Task Timed Out", 400)

    status, result = answer(ana)

    assert status == 409 and "TaskTimedOut" in result["error"]
    with pytest.raises(Exception, match="NoSuchKey"):
        runtime.client("s3").get_object(Bucket=BUCKET, Key=approval_records.pending_key(RUN_ID))


def test_nothing_pending_is_not_found(ana: Credentials) -> None:
    status, result = answer(ana)

    assert status == 404 and RUN_ID in result["error"]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({**body(), "approver": "someone-else"}, "unknown field(s) approver"),
        ({**body(), "runId": "Not A Run"}, "is not a run id"),
        ({**body(), "requestId": "serving-1"}, "is not an approval request id"),
        ({**body(), "decision": "maybe"}, "must be one of approve, reject"),
        (body("reject", "  "), "a rejection needs a reason"),
    ],
)
def test_a_malformed_answer_is_refused_before_anything_else(
    ana: Credentials, payload: dict[str, Any], fragment: str
) -> None:
    event = identities.url_event(payload, ana, "irrelevant")

    status, result = call(event)

    assert status == 400 and fragment in result["error"]


def test_only_post_is_answered(ana: Credentials) -> None:
    event = identities.url_event(body(), ana, binding(body()))
    event["requestContext"]["http"]["method"] = "GET"

    status, result = call(event)

    assert status == 400 and "use POST" in result["error"]

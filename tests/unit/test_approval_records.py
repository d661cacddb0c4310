"""pipeline.approval_records: request ids, identity proofs, persons, starters and decisions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.credentials import Credentials

from pipeline import approval_records as records

REGION = "us-east-1"
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:Workflow:support-bot-v1-3f9a2c1b7d"
START = "2026-11-30T08:00:00.123Z"
SIGNED = (
    "AWS4-HMAC-SHA256 Credential=AKIA/20261130/{region}/sts/aws4_request, SignedHeaders={names}, Signature=0"
)
ALL_NAMES = "host;x-amz-date;x-bedrock-customize-binding"


def identity_proof(credentials: Credentials, region: str, binding: str) -> dict[str, Any]:
    """A signed GetCallerIdentity as the CLI makes one (pipeline.operate.approvals.identity_proof)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(
        method="POST",
        url=records.sts_url(region),
        data=records.STS_BODY.encode(),
        headers={"content-type": records.STS_CONTENT_TYPE, records.PROOF_HEADER: binding},
    )
    SigV4Auth(credentials, "sts", region).add_auth(request)
    return {
        "method": "POST",
        "url": records.sts_url(region),
        "headers": dict(request.headers.items()),
        "body": records.STS_BODY,
    }


def proof(binding: str = "b", **changes: Any) -> dict[str, Any]:
    made = identity_proof(Credentials("AKIAEXAMPLE", "secret"), REGION, binding)
    made["headers"]["X-Amz-Date"] = NOW.strftime("%Y%m%dT%H%M%SZ")
    for key, value in changes.items():
        if key == "headers":
            made["headers"].update(value)
        else:
            made[key] = value
    return made


def test_a_well_formed_proof_yields_the_headers_sent_on_to_sts() -> None:
    headers = records.check_proof(proof(), region=REGION, binding="b", now=NOW)

    assert set(headers) == {"authorization", "x-amz-date", "content-type", records.PROOF_HEADER}
    assert headers[records.PROOF_HEADER] == "b"


def test_a_proof_keeps_only_the_headers_sts_needs() -> None:
    headers = records.check_proof(
        proof(headers={"Host": "evil.example.com", "X-Forwarded-For": "1.2.3.4"}),
        region=REGION,
        binding="b",
        now=NOW,
    )

    assert "host" not in headers and "x-forwarded-for" not in headers


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"url": "https://sts.amazonaws.com/"}, "must be a POST to https://sts.us-east-1.amazonaws.com/"),
        ({"method": "GET"}, "must be a POST"),
        ({"body": "Action=AssumeRole&Version=2011-06-15"}, "body must be exactly"),
        ({"headers": {"Authorization": "Bearer x"}}, "not signed with SigV4"),
        (
            {"headers": {"Authorization": SIGNED.format(region="us-east-1", names="host;x-amz-date")}},
            "must sign host, x-amz-date and x-bedrock-customize-binding",
        ),
        (
            {"headers": {"Authorization": SIGNED.format(region="eu-west-1", names=ALL_NAMES)}},
            "signed for sts in us-east-1",
        ),
        ({"headers": {records.PROOF_HEADER: "another"}}, "made for another request"),
        ({"headers": {"X-Amz-Date": "20261130T113000Z"}}, "more than 15 minutes from now"),
        ({"headers": {"X-Amz-Date": "yesterday"}}, "no valid X-Amz-Date"),
    ],
)  # fmt: skip
def test_a_proof_that_does_not_hold_up_is_refused_before_sts_is_asked(
    changes: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(records.RecordError, match=fragment.replace("(", r"\(")):
        records.check_proof(proof(**changes), region=REGION, binding="b", now=NOW)


@pytest.mark.parametrize("given", [None, "text", {"url": records.sts_url(REGION), "body": records.STS_BODY}])
def test_no_proof_at_all_is_refused(given: Any) -> None:
    with pytest.raises(records.RecordError):
        records.check_proof(given, region=REGION, binding="b", now=NOW)


def test_bindings_name_the_deployment_the_run_and_the_exact_request() -> None:
    start = records.start_binding("bucket", "run-1", '{"runSpec": {}}')
    assert start != records.start_binding("bucket", "run-1", '{"runSpec": {"a": 1}}')
    assert start != records.start_binding("other-bucket", "run-1", '{"runSpec": {}}')
    answer = records.answer_binding("bucket", "run-1", "serving-" + "0" * 20, "approve", "ok")
    assert answer != records.answer_binding("bucket", "run-1", "serving-" + "0" * 20, "reject", "ok")
    assert answer != records.answer_binding("bucket", "run-1", "serving-" + "1" * 20, "approve", "ok")


def test_a_request_id_derives_from_the_execution_and_the_stage() -> None:
    first = records.request_id(EXECUTION, START, "serving")

    assert records.REQUEST_ID.fullmatch(first)
    assert first == records.request_id(EXECUTION, START, "serving")
    assert first != records.request_id(EXECUTION, START, "evaluation")
    # The same name, started again after 90 days: another execution, another request.
    assert first != records.request_id(EXECUTION, "2027-03-01T00:00:00Z", "serving")
    with pytest.raises(records.RecordError):
        records.request_id(EXECUTION, START, "purchase")


@pytest.mark.parametrize(
    ("arn", "user_id", "kind", "name", "bound"),
    [
        ("arn:aws:iam::123456789012:user/ops/jdoe", "AIDAX", "user", "jdoe", True),
        ("arn:aws:iam::123456789012:root", "123456789012", "root", "root", True),
        (
            "arn:aws:sts::123456789012:assumed-role/Approver/ana",
            "AROAAPPROVER:ana",
            "assumed-role",
            "ana",
            True,
        ),
        # Same role name, another role id: re-created by hand, not the stack's role.
        (
            "arn:aws:sts::123456789012:assumed-role/Approver/ana",
            "AROAOTHER:ana",
            "assumed-role",
            "ana",
            False,
        ),
        ("arn:aws:sts::123456789012:assumed-role/Admin/ana", "AROAADMIN:ana", "assumed-role", "ana", False),
        ("arn:aws:sts::123456789012:federated-user/bob", "123456789012:bob", "federated-user", "bob", False),
    ],
)
def test_the_person_behind_a_caller(arn: str, user_id: str, kind: str, name: str, bound: bool) -> None:
    person = records.principal_of(arn, user_id, "123456789012", bound_roles={"Approver": "AROAAPPROVER"})

    assert (person.kind, person.name, person.bound) == (kind, name, bound)
    assert records.Principal.from_dict(person.to_dict()) == person


def starter_record(start: str = START, execution: str = EXECUTION) -> dict[str, Any]:
    person = records.principal_of("arn:aws:iam::123456789012:user/bo", "AIDAX", "123456789012")
    return {"executionArn": execution, "executionStart": start, "starter": person.to_dict()}


def test_a_starter_record_counts_for_its_own_execution_only() -> None:
    found = records.starter_of(
        starter_record(), execution_arn=EXECUTION, execution_start="2026-11-30T08:00:00.123000+00:00"
    )
    assert found is not None and found.name == "bo"
    assert records.starter_of(starter_record(), execution_arn=EXECUTION + "x", execution_start=START) is None
    assert (
        records.starter_of(
            starter_record("2026-08-01T00:00:00Z"), execution_arn=EXECUTION, execution_start=START
        )
        is None
    )
    assert records.starter_of(None, execution_arn=EXECUTION, execution_start=START) is None


def test_self_approval_is_refused_unless_allowed() -> None:
    bo = records.starter_of(starter_record(), execution_arn=EXECUTION, execution_start=START)

    assert records.self_approval_refusal(bo, "ana", allowed=False) is None
    refusal = records.self_approval_refusal(bo, "BO", allowed=False)
    assert refusal is not None and "started this run" in refusal
    assert records.self_approval_refusal(bo, "bo", allowed=True) is None
    unknown = records.self_approval_refusal(None, "ana", allowed=False)
    assert unknown is not None and "no starter record" in unknown
    assert records.self_approval_refusal(None, "ana", allowed=True) is None


def test_a_decision_decides_only_its_own_request() -> None:
    request = records.request_id(EXECUTION, START, "serving")
    record = {
        "runId": "run-1",
        "requestId": request,
        "stage": "serving",
        "executionArn": EXECUTION,
        "decision": "approve",
        "approved": True,
        "approver": "ana",
    }
    expected = {"run_id": "run-1", "request": request, "stage": "serving", "execution_arn": EXECUTION}

    assert records.check_decision(record, **expected) is None
    assert "stage" in str(records.check_decision({**record, "stage": "evaluation"}, **expected))
    assert "no clear decision" in str(records.check_decision({**record, "approved": False}, **expected))
    assert "no clear decision" in str(records.check_decision({**record, "decision": "maybe"}, **expected))
    assert "names no approver" in str(records.check_decision({**record, "approver": " "}, **expected))
    assert "not a JSON object" in str(records.check_decision([], **expected))


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        ("arn:aws:sts::123456789012:assumed-role/Admin/jane.doe@example.com", "jane.doe@example.com"),
        ("arn:aws:sts::123456789012:assumed-role/Admin/jane doe!", "jane-doe-"),
        ("arn:aws:iam::123456789012:user/ops/jdoe", "jdoe"),
        (None, "bedrock-customize"),
    ],
)
def test_a_callers_own_name_as_a_session_name(arn: str | None, name: str) -> None:
    assert records.session_name(arn) == name

"""The function URL caller: SigV4 for the lambda service, an identity proof for STS, the approver role."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.httpsession import URLLib3Session

from pipeline.operate import approvals
from tests.operate.helpers import APPROVAL_URL, APPROVER_ROLE_ARN, REGION


class Sent:
    status_code = 200
    content = b'{"approved": true, "approver": "arn:aws:sts::123456789012:assumed-role/R/jdoe"}'


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    requests: list[Any] = []

    def send(self: URLLib3Session, request: Any) -> Sent:
        requests.append(request)
        return Sent()

    monkeypatch.setattr(URLLib3Session, "send", send)
    return requests


@pytest.mark.usefixtures("moto")
def test_posts_the_answer_signed_for_lambda_with_an_identity_proof_signed_for_sts(sent: list[Any]) -> None:
    caller = approvals.UrlCaller(REGION)

    response = caller.post(
        APPROVAL_URL,
        {"runId": "r-0123456789", "decision": "approve"},
        credentials=caller.credentials(),
        binding="answer;bucket;r-0123456789;serving-0;approve;digest",
    )

    (request,) = sent
    assert request.method == "POST" and request.url == APPROVAL_URL
    body = json.loads(request.body)
    assert {k: v for k, v in body.items() if k != "proof"} == {"runId": "r-0123456789", "decision": "approve"}
    authorization = request.headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=")
    assert f"/{REGION}/lambda/aws4_request" in authorization
    # The proof: GetCallerIdentity for this region's STS, signed (not sent) with the same credentials,
    # its binding header among the signed headers, so STS names the signer for the function.
    proof = body["proof"]
    assert proof["url"] == f"https://sts.{REGION}.amazonaws.com/"
    assert proof["body"] == "Action=GetCallerIdentity&Version=2011-06-15"
    assert f"/{REGION}/sts/aws4_request" in proof["headers"]["Authorization"]
    assert "x-bedrock-customize-binding" in proof["headers"]["Authorization"].split("SignedHeaders=")[1]
    assert (
        proof["headers"]["x-bedrock-customize-binding"]
        == "answer;bucket;r-0123456789;serving-0;approve;digest"
    )
    assert response == approvals.UrlResponse(200, json.loads(Sent.content))


@pytest.mark.usefixtures("moto")
def test_assumes_the_approver_role_with_a_source_identity_when_asked() -> None:
    credentials = approvals.UrlCaller(REGION).credentials(role_arn=APPROVER_ROLE_ARN, source_identity="jdoe")

    # moto's assumed-role keys start with ASIA (temporary credentials), unlike the test's own key.
    assert credentials.access_key.startswith("ASIA") and credentials.token


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        ("arn:aws:sts::123456789012:assumed-role/Admin/jane.doe@example.com", "jane.doe@example.com"),
        ("arn:aws:sts::123456789012:assumed-role/Admin/jane doe!", "jane-doe-"),
        ("arn:aws:iam::123456789012:user/ops/jdoe", "jdoe"),
        ("arn:aws:iam::123456789012:root", "root"),
        (None, "bedrock-customize"),
    ],
)
def test_the_session_name_says_who_answered(arn: str | None, name: str) -> None:
    assert approvals.session_name(arn) == name


def test_approving_a_promotion_into_a_slot_says_what_changes_and_that_nothing_is_bought() -> None:
    from pipeline.operate.run_actions import ApprovalRequest

    model = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/z9y8x7w6v5u4"
    in_place = ApprovalRequest(
        "run-1",
        None,
        {
            "purchase": {
                "stage": "serving",
                "modelUnits": 1,
                "slot": "faq",
                "inPlace": True,
                "customModelArn": model,
            }
        },
    )
    line = in_place.decision_line()
    assert line.startswith("Approving changes the model behind serving slot faq to z9y8x7w6v5u4 in place")
    assert "nothing is bought" in line and "model unit" not in line
    on_demand = ApprovalRequest(
        "run-1",
        None,
        {
            "purchase": {
                "stage": "serving",
                "modelUnits": None,
                "slot": "faq",
                "inPlace": False,
                "customModelArn": model,
            }
        },
    )
    assert "on-demand deployment as serving slot faq's endpoint" in on_demand.decision_line()
    # A first promotion on throughput is a purchase like any other
    bought = ApprovalRequest(
        "run-1",
        None,
        {
            "purchase": {
                "stage": "serving",
                "modelUnits": 1,
                "slot": "faq",
                "inPlace": False,
                "customModelArn": model,
            }
        },
    )
    assert bought.decision_line().startswith("Approving buys 1 model unit(s) for z9y8x7w6v5u4 to serve it")

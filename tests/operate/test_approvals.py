"""The approval URL caller: SigV4 for the lambda service, the approver role when asked."""

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
def test_posts_the_answer_signed_for_lambda(sent: list[Any]) -> None:
    response = approvals.UrlCaller(REGION).post(
        APPROVAL_URL, {"runId": "r-0123456789", "decision": "approve"}
    )

    (request,) = sent
    assert request.method == "POST" and request.url == APPROVAL_URL
    assert json.loads(request.body) == {"runId": "r-0123456789", "decision": "approve"}
    authorization = request.headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=")
    assert f"/{REGION}/lambda/aws4_request" in authorization
    assert response == approvals.UrlResponse(200, json.loads(Sent.content))


@pytest.mark.usefixtures("moto")
def test_signs_as_the_approver_role_when_asked(sent: list[Any]) -> None:
    approvals.UrlCaller(REGION).post(APPROVAL_URL, {}, role_arn=APPROVER_ROLE_ARN, session_name="jdoe")

    (request,) = sent
    # moto's assumed-role keys start with ASIA (temporary credentials), unlike the test's own key.
    assert "Credential=ASIA" in request.headers["Authorization"]
    assert "X-Amz-Security-Token" in request.headers


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

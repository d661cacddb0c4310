"""approval_request: the token lands in S3 for the CLI, the question lands on the topic."""

from __future__ import annotations

from typing import Any

import pytest
from moto.sns.models import sns_backends

from lambdas.approval_request.handler import lambda_handler
from lambdas.common.runtime import MissingSettingError
from tests.handlers import plans
from tests.handlers.helpers import FakeContext, key_of, read_json

pytestmark = pytest.mark.usefixtures("aws")

TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAd8p...task-token-for-the-approval-state"


def event(**plan_args: Any) -> dict[str, Any]:
    loss = plans.state()["loss"]
    return {"taskToken": TOKEN, "runId": plans.RUN_ID, "plan": plans.plan(**plan_args), "loss": loss}


def published() -> list[tuple[str, str | None]]:
    topic = sns_backends[plans.ACCOUNT][plans.REGION].topics[plans.TOPIC_ARN]
    return [(message, subject) for _id, message, subject, _attrs, _group in topic.sent_notifications]


def test_request_is_stored_with_the_token_and_published_without_it() -> None:
    # When
    result = lambda_handler(event(), FakeContext())
    # Then the CLI finds the token where the contract says
    assert result == {"requestUri": f"s3://{plans.BUCKET}/runs/{plans.RUN_ID}/approval-request.json"}
    request = read_json(key_of(result["requestUri"]))
    assert request["taskToken"] == TOKEN
    assert request["runId"] == plans.RUN_ID
    assert request["commands"] == {
        "approve": f"bedrock-customize approve {plans.RUN_ID}",
        "reject": f'bedrock-customize reject {plans.RUN_ID} --reason "..."',
    }
    assert request["estimate"] == plans.plan()["estimate"]
    assert request["requestedAt"].endswith("Z")
    # And the people subscribed to the topic get the question, but never the token
    [(message, subject)] = published()
    assert TOKEN not in message
    assert subject is not None and plans.RUN_ID in subject and len(subject) <= 100
    assert request["summary"] == message


def test_message_says_what_is_bought_at_what_cost_and_how_to_answer() -> None:
    lambda_handler(event(), FakeContext())
    [(message, _)] = published()
    for expected in (
        plans.RUN_ID,
        plans.BASE_MODEL,
        plans.CUSTOM_MODEL_ARN,
        "Training loss:   0.52",
        "Validation loss: 0.91 (bar 1.20)",
        "1 model unit(s) of Provisioned Throughput, no commitment",
        "per hour:        unknown",
        "per month:       unknown",
        "commitment term: none (no commitment)",
        "model storage:   $1.95 per month",
        "Decide within 1 day (until ",
        "no decision counts as a rejection",
        f"Approve: bedrock-customize approve {plans.RUN_ID}",
        f'Reject:  bedrock-customize reject {plans.RUN_ID} --reason "..."',
    ):
        assert expected in message, expected
    # An unknown price must never read as free.
    assert "$0.00" not in message


def test_a_commitment_is_spelled_out_with_its_term_cost() -> None:
    estimate = {"throughputHourlyUsd": 20.5, "throughputMonthlyUsd": 14965.0, "commitmentTermUsd": 89790.0}
    lambda_handler(event(commitment="SixMonths", estimate=estimate), FakeContext())
    [(message, _)] = published()
    assert "SixMonths commitment" in message
    assert "cannot be deleted before the term ends" in message
    assert "per hour:        $20.50" in message
    assert "per month:       $14,965.00" in message
    assert "commitment term: $89,790.00" in message


def test_subject_stays_within_the_sns_limit_for_long_run_ids() -> None:
    long_id = "a-very-long-run-name-that-uses-most-of-the-execution-name-limit-0123-3f9a2c1b7d"
    lambda_handler(event() | {"runId": long_id}, FakeContext())
    [(message, subject)] = published()
    assert subject is not None and len(subject) <= 100
    assert long_id in message


def test_a_retried_request_replaces_the_token() -> None:
    # Step Functions issues a new token when it retries the state; only the latest one is valid.
    lambda_handler(event(), FakeContext())
    lambda_handler(event() | {"taskToken": "second-token"}, FakeContext())
    request = read_json(f"runs/{plans.RUN_ID}/approval-request.json")
    assert request["taskToken"] == "second-token"


def test_missing_topic_setting_is_a_deployment_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOPIC_ARN")
    with pytest.raises(MissingSettingError, match="TOPIC_ARN"):
        lambda_handler(event(), FakeContext())

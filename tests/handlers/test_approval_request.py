"""approval_request: the token lands in S3 for the CLI, the question lands on the topic."""

from __future__ import annotations

from typing import Any

import pytest
from moto.sns.models import sns_backends

from lambdas.approval_request.handler import lambda_handler
from lambdas.common.runtime import MissingSettingError, put_json
from pipeline import approval_records, judge
from tests.handlers import plans
from tests.handlers.helpers import FakeContext, key_of, read_json

pytestmark = pytest.mark.usefixtures("aws")

TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAd8p...task-token-for-the-approval-state"
EXECUTION_ARN = f"arn:aws:states:{plans.REGION}:{plans.ACCOUNT}:execution:Workflow:{plans.RUN_ID}"
EXECUTION_START = "2026-11-30T08:00:00.123Z"


def event(stage: str = "serving", **plan_args: Any) -> dict[str, Any]:
    """What the workflow's approval states send: $.evaluation is null before the evaluation."""
    run = plans.state()
    return {
        "taskToken": TOKEN,
        "runId": plans.RUN_ID,
        "executionArn": EXECUTION_ARN,
        "executionStart": EXECUTION_START,
        "plan": plans.plan(**plan_args),
        "loss": run["loss"],
        "evaluation": run["evaluation"] if stage == "serving" else None,
        "stage": stage,
    }


def published() -> list[tuple[str, str | None]]:
    topic = sns_backends[plans.ACCOUNT][plans.REGION].topics[plans.TOPIC_ARN]
    return [(message, subject) for _id, message, subject, _attrs, _group in topic.sent_notifications]


def test_the_token_goes_only_where_the_answer_function_reads_it() -> None:
    # When
    result = lambda_handler(event(), FakeContext())
    # Then the token waits under approvals/, which only the approval-answer function may read ...
    assert result == {"requestUri": f"s3://{plans.BUCKET}/runs/{plans.RUN_ID}/approval-request.json"}
    pending = read_json(f"approvals/{plans.RUN_ID}.json")
    assert pending["taskToken"] == TOKEN and pending["stage"] == "serving"
    # ... and the request people read (and the notice) never holds it
    request = read_json(key_of(result["requestUri"]))
    assert "taskToken" not in request and TOKEN not in str(request)
    assert request["runId"] == plans.RUN_ID and request["stage"] == "serving"
    assert request["commands"] == {
        "approve": f"bedrock-customize approve {plans.RUN_ID}",
        "reject": f'bedrock-customize reject {plans.RUN_ID} --reason "..."',
    }
    assert request["estimate"] == plans.plan()["estimate"]
    assert request["requestedAt"].endswith("Z")
    assert request["purchase"] == {
        "stage": "serving",
        "modelUnits": 1,
        "commitment": "none",
        "provisionedModelName": plans.PT_NAME,
        "customModelArn": plans.CUSTOM_MODEL_ARN,
        "slot": None,
        "inPlace": False,
    }
    # And the people subscribed to the topic get the question, but never the token
    [(message, subject)] = published()
    assert TOKEN not in message
    assert subject is not None and plans.RUN_ID in subject and len(subject) <= 100
    assert request["summary"] == message


def test_message_says_what_is_bought_at_what_cost_and_how_to_answer() -> None:
    lambda_handler(event(), FakeContext())
    [(message, subject)] = published()
    assert subject == f"Approve Bedrock throughput purchase? Run {plans.RUN_ID}"
    for expected in (
        f"Run {plans.RUN_ID} asks to buy Provisioned Throughput to serve its custom model.",
        "Quality gate:    Custom model meets the bar (rougeL): improvement over the base model +0.140.",
        f"Name:            {plans.PT_NAME}",
        "deleted (this run deletes it only if it fails)",
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
    assert read_json(f"approvals/{plans.RUN_ID}.json")["taskToken"] == "second-token"


def test_missing_topic_setting_is_a_deployment_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOPIC_ARN")
    with pytest.raises(MissingSettingError, match="TOPIC_ARN"):
        lambda_handler(event(), FakeContext())


def test_the_evaluation_purchase_is_asked_before_the_evaluation() -> None:
    # Given a base without on-demand deployment, served later on two units (a separate purchase)
    result = lambda_handler(
        event("evaluation", vehicle="throughput", model_units=2, estimate={"evaluationUsd": 41.0}),
        FakeContext(),
    )
    [(message, subject)] = published()
    # Then the question is about the 1-MU evaluation throughput, with what it costs for the evaluation
    assert subject == f"Approve Bedrock evaluation throughput purchase? Run {plans.RUN_ID}"
    for expected in (
        f"Run {plans.RUN_ID} asks to buy Provisioned Throughput to evaluate its custom model on.",
        "1 model unit(s) of Provisioned Throughput, no commitment, to evaluate the custom model on "
        "(its base cannot be deployed on demand): billed every hour until deleted; released right "
        "after the comparison with the base model, before the verdict, the judge and any further approval",
        f"Name:            {plans.EVAL_PT_NAME}",
        "  evaluation:      $41.00",
        "model storage:   $1.95 per month",
        "Validation loss: 0.91 (bar 1.20)",
    ):
        assert expected in message, expected
    # And nothing about a serving purchase or a verdict that does not exist yet
    for absent in (
        "per hour:",
        "per month:",
        "commitment term:",
        "Quality gate:",
        "to serve its custom model",
    ):
        assert absent not in message, absent
    request = read_json(key_of(result["requestUri"]))
    assert request["purchase"] == {
        "stage": "evaluation",
        "modelUnits": 1,
        "commitment": "none",
        "provisionedModelName": plans.EVAL_PT_NAME,
        "customModelArn": plans.CUSTOM_MODEL_ARN,
        "slot": None,
        "inPlace": False,
    }


def test_an_evaluation_throughput_kept_for_serving_says_so() -> None:
    lambda_handler(event("evaluation", vehicle="throughput"), FakeContext())
    [(message, _)] = published()
    assert "it is kept to serve with if the model passes its bar, deleted otherwise" in message
    assert f"Name:            {plans.PT_NAME}" in message  # the one purchase, named for serving


def test_the_evaluation_stage_never_shows_the_serving_commitment() -> None:
    # The serving purchase is a SixMonths commitment; the evaluation throughput has none
    lambda_handler(event("evaluation", vehicle="throughput", commitment="SixMonths"), FakeContext())
    [(message, _)] = published()
    request = read_json(f"runs/{plans.RUN_ID}/approval-request.json")
    assert request["purchase"]["commitment"] == "none"
    assert "SixMonths" not in message
    assert "  evaluation:      unknown" in message  # an unknown price never reads as free


def test_the_serving_question_carries_the_evaluation_verdict() -> None:
    verdict = "Custom model meets the bar (rougeL): custom model quality 0.810 meets the minimum 0.600."
    lambda_handler(
        event() | {"evaluation": {"passed": True, "judged": True, "summary": verdict}}, FakeContext()
    )
    [(message, _)] = published()
    assert f"Quality gate:    {verdict}" in message


def test_a_request_without_a_stage_is_about_serving() -> None:
    plain = {k: v for k, v in event().items() if k not in ("stage", "evaluation")}
    lambda_handler(plain, FakeContext())
    [(message, _)] = published()
    assert "to serve its custom model." in message
    assert "Quality gate:" not in message


def test_the_serving_question_carries_the_judges_verdict_and_cost() -> None:
    verdict = "Judge amazon.nova-pro-v1:0: Correctness 0.900 (base 0.500); every bar met."
    base = event()
    base["plan"]["estimate"]["judgeUsd"] = 0.29
    lambda_handler(base | {"judge": {"passed": True, "summary": verdict}}, FakeContext())
    [(message, _)] = published()
    assert f"LLM judge:       {verdict}" in message
    assert "  LLM judge:       $0.29 (2 evaluation jobs)" in message


def test_in_a_slot_the_request_shows_the_judges_scores_of_base_champion_and_custom_and_three_jobs() -> None:
    plan = {
        "model": "amazon.nova-pro-v1:0",
        "metrics": ["Builtin.Correctness"],
        "bars": {"Builtin.Correctness": {"minScore": 0.5, "minImprovementOverChampion": 0.0}},
    }

    def scored(value: float) -> dict[str, Any]:
        return {"metrics": {"Correctness": {"mean": value, "scored": 2, "unscored": 0}}, "prompts": []}

    verdict = judge.verdict(plan, scored(0.8), scored(0.5), scored(0.75))
    base = event()
    base["plan"]["estimate"]["judgeUsd"] = 0.44
    base["plan"]["judge"] = {"jobs": {"custom": {}, "base": {}, "champion": {}}}
    lambda_handler(base | {"judge": verdict}, FakeContext())
    [(message, _)] = published()
    assert (
        "LLM judge:       Judge amazon.nova-pro-v1:0: Correctness 0.800 (base 0.500, champion 0.750)"
        in message
    )
    assert "  LLM judge:       $0.44 (3 evaluation jobs: custom, base, champion)" in message


def test_without_a_judge_the_request_says_nothing_of_one() -> None:
    lambda_handler(event(), FakeContext())
    [(message, _)] = published()
    assert "LLM judge" not in message


def test_each_request_has_an_id_derived_from_its_execution_and_stage() -> None:
    lambda_handler(event(), FakeContext())
    lambda_handler(event("evaluation", vehicle="throughput") | {"taskToken": "t2"}, FakeContext())

    pending = read_json(f"approvals/{plans.RUN_ID}.json")
    request = read_json(f"runs/{plans.RUN_ID}/approval-request.json")
    expected = approval_records.request_id(EXECUTION_ARN, EXECUTION_START, "evaluation")
    assert pending["requestId"] == request["requestId"] == expected
    assert pending["executionArn"] == EXECUTION_ARN and pending["executionStart"] == EXECUTION_START
    # The serving request of the same execution, or the same stage of another execution of the same
    # name (names recur after 90 days), is another request.
    assert expected != approval_records.request_id(EXECUTION_ARN, EXECUTION_START, "serving")
    assert expected != approval_records.request_id(EXECUTION_ARN, "2027-03-01T00:00:00Z", "evaluation")


def starter(name: str = "ana", *, start: str = EXECUTION_START) -> None:
    principal = approval_records.principal_of(
        f"arn:aws:iam::{plans.ACCOUNT}:user/{name}", "AIDAEXAMPLE", plans.ACCOUNT
    )
    put_json(
        plans.BUCKET,
        approval_records.starter_key(plans.RUN_ID),
        {
            "runId": plans.RUN_ID,
            "executionArn": EXECUTION_ARN,
            "executionStart": start,
            "starter": principal.to_dict(),
        },
    )


def test_the_request_names_who_started_the_run_and_that_they_may_not_approve_it() -> None:
    starter("ana")

    lambda_handler(event(), FakeContext())

    request = read_json(f"runs/{plans.RUN_ID}/approval-request.json")
    assert request["startedBy"]["person"] == "ana" and request["selfApprovalAllowed"] is False
    (message, _subject) = published()[0]
    assert f"Started by:      ana (arn:aws:iam::{plans.ACCOUNT}:user/ana, verified by STS)" in message
    assert "they may not approve it themselves" in message


def test_a_run_without_a_starter_record_for_this_execution_can_only_be_rejected() -> None:
    # A record of an earlier execution of the same name says nothing about this one.
    starter("ana", start="2026-08-01T00:00:00Z")

    lambda_handler(event(), FakeContext())

    request = read_json(f"runs/{plans.RUN_ID}/approval-request.json")
    assert request["startedBy"] is None
    (message, _subject) = published()[0]
    assert "Started by:      not on record (started without the start command of the CLI)" in message
    assert "can only be rejected" in message


def test_where_self_approval_is_allowed_the_request_says_nothing_against_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALLOW_SELF_APPROVAL", "true")
    starter("ana")

    lambda_handler(event(), FakeContext())

    (message, _subject) = published()[0]
    assert "Started by:      ana" in message and "may not approve" not in message


SLOT_ENDPOINT = f"arn:aws:bedrock:{plans.REGION}:{plans.ACCOUNT}:provisioned-model/faqslot"
CHAMPION_MODEL = f"arn:aws:bedrock:{plans.REGION}:{plans.ACCOUNT}:custom-model/champion"


def _slot_event(*, exists: bool, serving: str = "provisioned") -> dict[str, Any]:
    sent = event(serving=serving)
    sent["plan"]["slot"] = {
        "name": "faq",
        "kind": "throughput" if serving == "provisioned" else "deployment",
        "exists": exists,
        "endpointArn": SLOT_ENDPOINT if exists else None,
        "championModelArn": CHAMPION_MODEL if exists else None,
        "championRunId": "faq-earlier-run" if exists else None,
    }
    if exists:
        sent["plan"]["serving"]["promotesInPlace"] = True
        sent["evaluation"] = {**sent["evaluation"], "champion": {"modelId": SLOT_ENDPOINT, "quality": 0.701}}
    return sent


def test_a_promotion_into_a_slot_asks_to_change_the_model_in_place_and_buys_nothing() -> None:
    result = lambda_handler(_slot_event(exists=True), FakeContext())
    [(message, subject)] = published()
    assert subject == f"Approve promotion into serving slot faq? Run {plans.RUN_ID}"
    assert f"Run {plans.RUN_ID} asks to promote its custom model into serving slot faq." in message
    assert f"Would buy:       nothing: the model behind serving slot faq ({SLOT_ENDPOINT})" in message
    assert f"from its champion {CHAMPION_MODEL} (run faq-earlier-run)" in message
    # Side by side: the challenger, the champion it must beat, the base
    custom = plans.state()["evaluation"]["custom"]["quality"]
    base = plans.state()["evaluation"]["base"]["quality"]
    assert f"Quality:         custom {custom:.3f} | champion 0.701 | base {base:.3f}" in message
    # Nothing hourly is offered for a decision that buys nothing
    assert "per hour:" not in message and "commitment term:" not in message and "Name:" not in message
    request = read_json(key_of(result["requestUri"]))
    assert request["purchase"]["slot"] == "faq" and request["purchase"]["inPlace"] is True


def test_a_first_promotion_on_throughput_is_a_purchase_that_becomes_the_slot() -> None:
    lambda_handler(_slot_event(exists=False), FakeContext())
    [(message, subject)] = published()
    assert subject == f"Approve Bedrock throughput purchase? Run {plans.RUN_ID}"
    assert "it becomes serving slot faq's endpoint" in message
    assert "per hour:" in message


def test_a_first_promotion_on_demand_keeps_the_deployment_as_the_slot() -> None:
    lambda_handler(_slot_event(exists=False, serving="on-demand"), FakeContext())
    [(message, subject)] = published()
    assert subject == f"Approve promotion into serving slot faq? Run {plans.RUN_ID}"
    assert "the run's on-demand deployment becomes serving slot faq's endpoint" in message
    assert "per hour:" not in message

"""A run in words: cost sums that name what has no price, the LLM judge in status, ended runs that
say so, and the list that says why a run ended. RunViews as load_run builds them, without AWS."""

from __future__ import annotations

import pytest

from pipeline import money
from pipeline.operate import run_text
from tests.operate import watch_views
from tests.operate.watch_views import ENV, JUDGE, LOSS, RUN_ID, view


@pytest.mark.parametrize(
    ("parts", "text"),
    [
        ({"training": None}, "unknown (no price for training)"),
        ({"training": None, "storage": None}, "unknown (no price for training, storage)"),
        ({"training": None, "evaluation calls": 0.0029}, "at least $0.0029 + training (no price)"),
        ({"training": 8.0, "evaluation calls": 0.0029}, "$8.00"),
        ({"evaluation calls": 0.00002}, "< $0.0001"),
        ({"training": None, "evaluation calls": 0.00002}, "< $0.0001 + training (no price)"),
        ({}, "$0.00"),
    ],
)
def test_a_sum_names_the_parts_without_a_price(parts: dict[str, float | None], text: str) -> None:
    summed = money.Money.of(parts)

    assert str(summed) == text
    assert ">= $0.00" not in str(summed) and "$0.0000" not in str(summed)


def test_an_all_unknown_sum_has_no_known_total_in_json() -> None:
    doc = money.Money.of({"training": None}).to_dict()

    assert doc["knownUsd"] is None and doc["usd"] is None and doc["unknownParts"] == ["training"]


def test_a_rate_reads_as_a_sentence() -> None:
    assert money.Money.of({"a1": 492.0}).per("day") == "$492.00 per day"
    assert money.Money.of({"a1": None}).per("day") == "unknown per day (no price for a1)"
    assert money.Money.of({"a1": 1.0, "b2": None}).per("day") == "at least $1.00 per day + b2 (no price)"
    assert money.usd_rate(None, "hour") == "unknown/hour"


def test_status_shows_the_llm_judge_and_counts_its_estimate() -> None:
    judged = view(
        55,
        "Ask for approval to serve",
        job="Completed",
        doc={
            "loss": LOSS,
            "evaluation": watch_views.EVALUATION,
            "judgeJobs": {"custom": "a"},
            "judge": JUDGE,
        },
    )

    text = judged.render()
    doc = judged.to_dict()

    assert "LLM judge:" in text and "passed: Builtin.Correctness 0.820 (base 0.610, bar 0.7)" in text
    assert doc["judge"]["metrics"]["Builtin.Correctness"]["custom"] == 0.82
    assert doc["costParts"]["LLM judge"] == pytest.approx(0.286)
    assert "LLM judge estimate $0.29" in text
    # Training has no price for Nova Micro: named, and the total is a lower bound, not unknown.
    cost = next(line for line in text.splitlines() if line.startswith("Cost so far:"))
    assert "at least $0.29" in cost and "training estimate no price" in cost


def test_status_shows_the_champions_judged_scores_beside_base_and_custom() -> None:
    champion = {
        "passed": False,
        "summary": "Judge ...: JudgeBelowBar",
        "reasons": [
            "Correctness: custom 0.710 is 0.040 below the champion's 0.750 (minImprovementOverChampion +0)"
        ],
        "metrics": {
            "Correctness": {"custom": 0.71, "base": 0.6, "champion": 0.75, "minScore": 0.5, "passed": False}
        },
    }

    text = run_text.judge_text(champion)

    assert text.startswith("failed: Correctness 0.710 (base 0.600, champion 0.750, bar 0.5)")
    assert "0.040 below the champion's 0.750" in text


def test_a_failed_run_says_what_was_not_bought_and_why_it_ended() -> None:
    failed = view(
        61,
        "Run failed",
        status="FAILED",
        job="Completed",
        doc={"loss": LOSS, "failure": {"Error": "EvaluationBelowBar", "Cause": "below the bar"}},
        ended_in="Custom model below the bar",
    )

    text = failed.render()
    listed = run_text.render_list([failed])

    assert "not bought (the run ended)" in text and "not bought yet" not in text
    assert "FAILED: failed at: below the quality bar" in text
    assert "EvaluationBelowBar" in listed and "WHY IT ENDED" in listed
    assert "failed at: below the quality bar" in listed


def test_list_shows_stages_in_plain_words() -> None:
    judging = view(47, "Check the judge", job="Completed", doc={"loss": LOSS, "judgeJobs": {"custom": "a"}})

    listed = run_text.render_list([judging])

    assert "waiting for the LLM judge" in listed and "Check the judge" not in listed


def test_an_ended_run_suggests_only_what_works() -> None:
    stopped_early = view(1, "Start the run", status="ABORTED", job=None)
    stopped_early.state = {}  # stopped before its preflight wrote anything
    stopped = view(2, "Train the custom model", status="ABORTED")
    stopped.state["preflight"]["reportUri"] = f"s3://bucket/runs/{RUN_ID}/preflight.json"

    assert stopped_early.next_steps() == []
    assert stopped.next_steps() == [f"bedrock-customize report {RUN_ID} --env {ENV}"]


@pytest.mark.parametrize("columns", [80, 100])
def test_list_on_a_narrow_terminal_shows_one_block_per_run(
    columns: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    looks = watch_views.sequence()

    text = run_text.render_list([looks[3], looks[8], looks[-1]])

    assert max(len(line) for line in text.splitlines()) <= columns
    assert text.count(f"{RUN_ID}  ") == 3  # each run whole, on its own line
    assert "  why it ended: SmokeCheckFailed" in text


def test_list_where_its_rows_fit_is_a_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    looks = watch_views.sequence()

    text = run_text.render_list([looks[3], looks[-1]])

    assert text.splitlines()[0].split()[:3] == ["RUN", "STATUS", "STAGE"]
    assert len(text.splitlines()) == 4  # header, rule, one line per run

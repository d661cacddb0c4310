"""Model lifecycle: status by date, what a Legacy or end-of-life model may still do, and the refusals
that check, start and the workflow share through the run spec [UG:model-lifecycle],
[UG:model-lifecycle-legacy], the model cards and the fine-tuning table (checked 2026-11-28)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pipeline import catalog, cli
from pipeline.catalog import (
    ACTIVE,
    END_OF_LIFE,
    FINE_TUNING,
    LEGACY,
    LIFECYCLE,
    LIFECYCLE_STATES,
    NEW_CUSTOMIZATION,
    NOT_OFFERED,
    ON_DEMAND_DEPLOYMENT_OF_CUSTOM_MODEL,
    TEACHER_USE,
    TEACHERS,
    THROUGHPUT_PURCHASE,
    all_models,
    current_alternatives,
    get_model,
    lifecycle_of,
    lifecycle_problems,
)
from pipeline.runspec import parse_run_spec

ROOT = Path(__file__).resolve().parents[2]
CLAUDE_DATA = ROOT / "examples" / "datasets" / "claude-messages-train.jsonl"
TODAY = dt.date(2026, 11, 28)

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0:200k"
NOVA_MICRO = "amazon.nova-micro-v1:0:128k"
NOVA_CANVAS = "amazon.nova-canvas-v1:0"
LLAMA33 = "meta.llama3-3-70b-instruct-v1:0:128k"
LLAMA32_11B = "meta.llama3-2-11b-instruct-v1:0:128k"
TITAN_EXPRESS = "amazon.titan-text-express-v1:0:8k"
NOVA_PREMIER = "amazon.nova-premier-v1:0"


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# --------------------------------------------------------------------------------------------------
# The data
# --------------------------------------------------------------------------------------------------


def test_every_catalog_model_and_teacher_has_a_sourced_lifecycle() -> None:
    for model_id in [m.model_id for m in all_models()] + list(TEACHERS):
        lifecycle = LIFECYCLE[model_id]
        assert lifecycle.source.startswith("[UG:"), model_id
        assert lifecycle.status(TODAY) in LIFECYCLE_STATES


@pytest.mark.parametrize(
    ("model_id", "legacy", "end_of_life"),
    [
        (CLAUDE, "2026-03-10", "2026-09-10"),  # [UG:model-lifecycle-legacy]
        (NOVA_PREMIER, "2026-03-13", "2026-09-14"),
        (NOVA_CANVAS, "2026-03-30", "2026-09-30"),
        ("meta.llama3-1-405b-instruct-v1:0", None, "2026-07-07"),  # card reading UNCONFIRMED
        (LLAMA32_11B, None, "2026-07-07"),  # model cards
        ("amazon.titan-image-generator-v2:0", None, "2026-06-30"),
        (LLAMA33, None, "2027-03-30"),
    ],
)
def test_documented_dates(model_id: str, legacy: str | None, end_of_life: str) -> None:
    lifecycle = lifecycle_of(model_id)

    assert lifecycle.legacy == (day(legacy) if legacy else None)
    assert lifecycle.end_of_life == day(end_of_life)


def test_claude_3_haiku_status_on_both_sides_of_each_date() -> None:
    lifecycle = lifecycle_of(CLAUDE)

    assert lifecycle.public_extended_access == day("2026-06-10")
    assert [lifecycle.status(day(d)) for d in ("2026-03-09", "2026-03-10", "2026-09-09", "2026-09-10")] == [
        ACTIVE,
        LEGACY,
        LEGACY,
        END_OF_LIFE,
    ]


def test_a_published_end_of_life_without_a_legacy_date_means_legacy_until_then() -> None:
    # An end-of-life date is published only when a model enters Legacy [UG:model-lifecycle].
    assert lifecycle_of(LLAMA33).status(TODAY) == LEGACY
    assert lifecycle_of(LLAMA33).status(day("2027-03-30")) == END_OF_LIFE
    assert lifecycle_of(LLAMA33).unconfirmed


@pytest.mark.parametrize(
    "model_id", [TITAN_EXPRESS, "amazon.titan-text-lite-v1:0:4k", "amazon.titan-image-generator-v1:0"]
)
def test_models_gone_from_the_fine_tuning_table_are_not_offered_unconfirmed(model_id: str) -> None:
    lifecycle = lifecycle_of(model_id)

    assert lifecycle.removed_from_guide == TODAY
    assert lifecycle.status(TODAY) == NOT_OFFERED
    assert lifecycle.status(day("2026-11-27")) == ACTIVE
    assert "[UG:custom-model-fine-tuning]" in lifecycle.source
    assert lifecycle.unconfirmed


@pytest.mark.parametrize(
    "model_id",
    [
        NOVA_MICRO,
        "amazon.nova-lite-v1:0:300k",
        "amazon.nova-pro-v1:0:300k",
        "amazon.nova-2-lite-v1:0:256k",
        "amazon.titan-embed-image-v1:0",
        "meta.llama3-1-8b-instruct-v1:0:128k",
        "meta.llama3-1-70b-instruct-v1:0:128k",
    ],
)
def test_current_models_are_active(model_id: str) -> None:
    assert get_model(model_id).lifecycle.status(TODAY) == ACTIVE
    assert lifecycle_problems(model_id, purpose=NEW_CUSTOMIZATION, today=TODAY) == []


def test_to_dict_carries_the_lifecycle_as_of_the_day() -> None:
    document = json.loads(json.dumps(get_model(CLAUDE).to_dict(today=TODAY)))

    assert document["lifecycle"] == {
        "status": END_OF_LIFE,
        "asOf": "2026-11-28",
        "legacyDate": "2026-03-10",
        "publicExtendedAccessDate": "2026-06-10",
        "endOfLifeDate": "2026-09-10",
        "removedFromGuideOn": None,
        "source": "[UG:model-lifecycle-legacy]",
        "unconfirmed": None,
        "checkedOn": "2026-11-28",
    }


@pytest.mark.parametrize(
    ("foundation_model", "entry"),
    [
        ("amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0:300k"),
        ("meta.llama3-1-70b-instruct-v1:0", "meta.llama3-1-70b-instruct-v1:0:128k"),
        ("meta.llama3-3-70b-instruct-v1:0", LLAMA33),
    ],
)
def test_a_teacher_or_judge_that_is_a_catalog_model_has_that_entrys_lifecycle(
    foundation_model: str, entry: str
) -> None:
    # One statement per foundation model: its catalog entry; the teacher and the judge read it.
    stated = get_model(entry).lifecycle

    assert TEACHERS[foundation_model].own_lifecycle is None
    assert TEACHERS[foundation_model].lifecycle is stated
    assert lifecycle_of(foundation_model) is stated
    judge = catalog.judge_of(foundation_model)
    assert judge is not None and judge.lifecycle is stated


def test_the_claude_3_haiku_judge_has_the_customizable_models_dates() -> None:
    judge = catalog.JUDGES["anthropic.claude-3-haiku-20240307-v1:0"]

    assert judge.lifecycle is get_model(CLAUDE).lifecycle
    assert judge.lifecycle.end_of_life == day("2026-09-10")


# --------------------------------------------------------------------------------------------------
# What each status allows
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "purpose", "refused"),
    [
        # A Legacy model takes no new fine-tuning job and no new Provisioned Throughput, but custom models
        # of it may still be deployed on demand; at end of life nothing works [UG:model-lifecycle].
        (LLAMA33, NEW_CUSTOMIZATION, True),
        (LLAMA33, THROUGHPUT_PURCHASE, True),
        (LLAMA33, ON_DEMAND_DEPLOYMENT_OF_CUSTOM_MODEL, False),
        (CLAUDE, NEW_CUSTOMIZATION, True),
        (CLAUDE, THROUGHPUT_PURCHASE, True),
        (CLAUDE, ON_DEMAND_DEPLOYMENT_OF_CUSTOM_MODEL, True),
        (TITAN_EXPRESS, NEW_CUSTOMIZATION, True),
        (TITAN_EXPRESS, THROUGHPUT_PURCHASE, False),  # not offered for new jobs; its lifecycle is unknown
        (NOVA_MICRO, NEW_CUSTOMIZATION, False),
        (NOVA_MICRO, THROUGHPUT_PURCHASE, False),
        ("meta.llama3-3-70b-instruct-v1:0", TEACHER_USE, False),  # Legacy teachers still answer
        (NOVA_PREMIER, TEACHER_USE, True),
    ],
)
def test_what_each_status_refuses(model_id: str, purpose: str, refused: bool) -> None:
    assert bool(lifecycle_problems(model_id, purpose=purpose, today=TODAY)) is refused


def test_end_of_life_message_names_the_dates_the_source_and_current_replacements() -> None:
    (problem,) = lifecycle_problems(
        CLAUDE, purpose=NEW_CUSTOMIZATION, today=TODAY, customization_type=FINE_TUNING
    )

    assert problem.field == "baseModel" and problem.value == CLAUDE
    assert "reached end of life on 2026-09-10" in problem.message
    assert "Legacy since 2026-03-10" in problem.message
    assert "[UG:model-lifecycle-legacy]" in problem.message
    # Claude 3 Haiku has no Anthropic successor in the catalog: Llama 3.1 (same region) comes first.
    assert problem.allowed.split(", ")[0] == "meta.llama3-1-8b-instruct-v1:0:128k"
    assert "use a current model with FINE_TUNING instead, e.g. meta.llama3-1-8b" in problem.message


def test_legacy_message_says_why_and_when_it_ends() -> None:
    (problem,) = lifecycle_problems(LLAMA33, purpose=THROUGHPUT_PURCHASE, today=TODAY, field="serving")

    assert problem.field == "serving"
    assert "is Legacy" in problem.message and "end of life on 2027-03-30" in problem.message
    assert "a Legacy model cannot be used for a new Provisioned Throughput" in problem.message
    assert "UNCONFIRMED" in problem.message  # the legacy start is not published


def test_not_offered_message_gives_the_date_checked_and_the_source() -> None:
    (problem,) = lifecycle_problems(TITAN_EXPRESS, purpose=NEW_CUSTOMIZATION, today=TODAY)

    assert "no longer offered for customization: checked on 2026-11-28" in problem.message
    assert "[UG:custom-model-fine-tuning]" in problem.message and "UNCONFIRMED" in problem.message


def test_replacements_are_current_and_can_do_the_same_job() -> None:
    vision = get_model(LLAMA32_11B)

    alternatives = current_alternatives(vision, customization_type=FINE_TUNING, today=TODAY)

    assert alternatives  # Llama 3.3 is Legacy: image fine-tuning moves to Nova
    for model_id in alternatives:
        model = get_model(model_id)
        assert model.lifecycle.status(TODAY) == ACTIVE
        assert model.supports(FINE_TUNING) and "image" in model.input_modalities


def test_a_model_with_no_current_replacement_says_so() -> None:
    (problem,) = lifecycle_problems(NOVA_CANVAS, purpose=NEW_CUSTOMIZATION, today=TODAY)

    assert "reached end of life on 2026-09-30" in problem.message
    assert "no current catalog model" in problem.message


def test_an_end_of_life_teacher_points_at_a_current_teacher_for_the_student() -> None:
    (problem,) = lifecycle_problems(
        "us.amazon.nova-premier-v1:0",
        purpose=TEACHER_USE,
        today=TODAY,
        field="teacher",
        student=get_model("amazon.nova-lite-v1:0:300k"),
    )

    assert problem.value == "us.amazon.nova-premier-v1:0"
    assert "reached end of life on 2026-09-14" in problem.message
    assert "use a current teacher instead: amazon.nova-pro-v1:0" in problem.message


def test_today_defaults_to_catalog_today_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "today_utc", lambda: day("2026-03-09"))
    assert lifecycle_problems(CLAUDE, purpose=NEW_CUSTOMIZATION) == []

    monkeypatch.setattr(catalog, "today_utc", lambda: day("2026-09-10"))
    assert "end of life" in lifecycle_problems(CLAUDE, purpose=NEW_CUSTOMIZATION)[0].message


def test_an_unknown_purpose_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="purpose must be one of"):
        lifecycle_problems(NOVA_MICRO, purpose="inference")


# --------------------------------------------------------------------------------------------------
# The run spec: check, start and the workflow's preflight share it
# --------------------------------------------------------------------------------------------------


def haiku_spec(training: Path = CLAUDE_DATA) -> dict[str, object]:
    return {
        "name": "haiku-run",
        "region": "us-west-2",
        "baseModel": CLAUDE,
        "customizationType": FINE_TUNING,
        "training": str(training),
    }


def test_run_spec_refuses_an_end_of_life_base_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "today_utc", lambda: TODAY)

    parsed = parse_run_spec(haiku_spec())

    assert parsed.spec is None
    (problem,) = [p for p in parsed.problems if p.field == "baseModel"]
    assert "reached end of life on 2026-09-10" in problem.message


def test_run_spec_accepts_the_same_model_before_it_turned_legacy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "today_utc", lambda: day("2026-03-09"))

    parsed = parse_run_spec(haiku_spec())

    assert [p for p in parsed.problems if p.field == "baseModel"] == []


def test_run_spec_refuses_an_end_of_life_teacher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "today_utc", lambda: TODAY)
    data = {
        "name": "distill-run",
        "region": "us-east-1",
        "baseModel": NOVA_MICRO,
        "customizationType": "DISTILLATION",
        "training": "s3://my-bucket/prompts.jsonl",
        "teacher": "us.amazon.nova-premier-v1:0",
    }

    parsed = parse_run_spec(data)

    (problem,) = [p for p in parsed.problems if p.field == "teacher"]
    assert "reached end of life on 2026-09-14" in problem.message
    assert "amazon.nova-pro-v1:0" in problem.message


def test_check_exits_2_naming_the_end_of_life_date(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(catalog, "today_utc", lambda: TODAY)
    spec = tmp_path / "haiku.json"
    spec.write_text(json.dumps(haiku_spec()), encoding="utf-8")

    code = cli.main(["check", str(spec), "--json"])

    report = json.loads(capsys.readouterr().out)
    assert code == 2
    assert not report["ok"]
    (problem,) = report["specProblems"]
    assert problem["field"] == "baseModel"
    assert "reached end of life on 2026-09-10" in problem["message"]


def test_validate_warns_about_the_model_but_judges_the_data(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(catalog, "today_utc", lambda: TODAY)

    code = cli.main(["validate", "--model", CLAUDE, str(CLAUDE_DATA), "--json"])

    report = json.loads(capsys.readouterr().out)
    assert code == 0  # the data is valid; check and start refuse the model
    (finding,) = [f for f in report["runFindings"] if f["kind"] == "lifecycle"]
    assert finding["severity"] == "warning"
    assert "reached end of life on 2026-09-10" in finding["problem"]

"""pipeline.training_loss: metrics CSVs, where they are, which loss counts, and the loss gate."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import training_loss
from pipeline.training_loss import LossBar, decide_loss

JOB_ARN = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-micro-v1:0/a1b2c3d4e5f6"


def test_documented_training_csv_parses_in_step_order() -> None:
    text = "step_number,epoch_number,training_loss,perplexity\n2,1,1.4,4.06\n0,0,2.3,10.0\n1,0,1.9,6.7\n"
    curve = training_loss.parse_metrics_csv(text, training_loss.TRAINING, "s3://b/k.csv")
    assert [(p.step, p.loss) for p in curve.points] == [(0, 2.3), (1, 1.9), (2, 1.4)]
    assert curve.last == 1.4
    assert curve.points[0].perplexity == 10.0
    assert curve.by_epoch() == [
        {"epoch": 0, "meanLoss": pytest.approx(2.1), "points": 2},
        {"epoch": 1, "meanLoss": 1.4, "points": 1},
    ]


@pytest.mark.parametrize(
    "header",
    [
        "step_number,epoch_number,validation_loss,perplexity",
        "\ufeffStep Number,Epoch Number,Validation Loss,Validation Perplexity",
        "step,epoch,val_loss,val_perplexity",
        "global_step,epoch,eval_loss,ppl",
    ],
)
def test_column_name_variants_are_tolerated(header: str) -> None:
    curve = training_loss.parse_metrics_csv(f"{header}\n5,1,0.75,2.1\n", training_loss.VALIDATION)
    assert curve.points == (training_loss.LossPoint(step=5, epoch=1.0, loss=0.75, perplexity=2.1),)


def test_rows_without_a_usable_loss_are_skipped_and_counted() -> None:
    text = "step_number,epoch_number,training_loss\n0,0,2.0\n1,0,nan\n2,0,\n\n3,1,inf\n4,1,1.0\n5,1"
    curve = training_loss.parse_metrics_csv(text, training_loss.TRAINING)
    assert [p.loss for p in curve.points] == [2.0, 1.0]
    assert curve.skipped_rows == 4


def test_a_file_without_a_loss_column_is_refused_with_what_it_has() -> None:
    with pytest.raises(training_loss.MetricsFormatError, match="found step, accuracy"):
        training_loss.parse_metrics_csv(
            "step,accuracy\n1,0.9\n", training_loss.VALIDATION, "s3://b/validation_metrics.csv"
        )
    with pytest.raises(training_loss.MetricsFormatError, match="empty"):
        training_loss.parse_metrics_csv("\n\n", training_loss.TRAINING)


def test_a_training_loss_column_does_not_count_as_validation_loss() -> None:
    with pytest.raises(training_loss.MetricsFormatError):
        training_loss.parse_metrics_csv("step,training_loss\n1,0.5\n", training_loss.VALIDATION)


def test_metrics_files_are_picked_by_name_and_this_jobs_folder_wins() -> None:
    keys = [
        "outputs/run/model-customization-job-a1b2c3d4e5f6/training_artifacts/step_wise_training_metrics.csv",
        "outputs/run/model-customization-job-a1b2c3d4e5f6/validation_artifacts/x/y/validation_metrics.csv",
        "outputs/run/model-customization-job-zzzzzzzzzzzz/validation_artifacts/validation_metrics.csv",
        "outputs/run/model-customization-job-a1b2c3d4e5f6/validation_artifacts/validation_metrics.csv.bak",
        "outputs/run/model-customization-job-a1b2c3d4e5f6/training_artifacts/other.csv",
    ]
    found = training_loss.find_metrics_files(keys, JOB_ARN)
    assert found == {"training": [keys[0]], "validation": [keys[1]]}
    # Without the job ARN every file by that name counts.
    assert len(training_loss.find_metrics_files(keys)["validation"]) == 2


def test_job_id_is_the_last_segment_of_the_arn() -> None:
    assert training_loss.job_id_from_arn(JOB_ARN) == "a1b2c3d4e5f6"


def test_api_losses_take_the_worst_validator_and_ignore_non_numbers() -> None:
    job = {
        "trainingMetrics": {"trainingLoss": 0.4},
        "validationMetrics": [{"validationLoss": 0.7}, {"validationLoss": 1.1}, {}, {"validationLoss": "x"}],
    }
    assert training_loss.api_losses(job) == (0.4, 1.1)
    assert training_loss.api_losses({}) == (None, None)
    assert training_loss.api_losses({"trainingMetrics": {"trainingLoss": float("nan")}}) == (None, None)


def test_resolve_prefers_the_api_and_falls_back_to_the_last_csv_point() -> None:
    training = training_loss.parse_metrics_csv("step,training_loss\n0,2\n1,0.8\n", training_loss.TRAINING)
    validation_a = training_loss.parse_metrics_csv("step,validation_loss\n0,1.0\n", training_loss.VALIDATION)
    validation_b = training_loss.parse_metrics_csv("step,validation_loss\n0,1.3\n", training_loss.VALIDATION)
    curves = [training, validation_a, validation_b]
    from_api = training_loss.resolve_losses({"trainingMetrics": {"trainingLoss": 0.5}}, curves)
    assert (from_api.training, from_api.training_source) == (0.5, training_loss.FROM_API)
    assert (from_api.validation, from_api.validation_source) == (1.3, training_loss.FROM_CSV)
    nothing = training_loss.resolve_losses({}, [])
    assert (nothing.training, nothing.validation, nothing.training_source) == (None, None, None)


def test_loss_above_the_bar_fails_with_the_numbers() -> None:
    passed, summary = decide_loss(LossBar(max_validation_loss=1.2), 0.6, 1.84)
    assert passed is False
    assert summary == (
        "Loss gate failed: validation loss 1.84 is above the bar 1.20; training loss 0.60 (no bar set)."
    )


def test_a_loss_equal_to_the_bar_passes() -> None:
    assert decide_loss(LossBar(1.0, 1.2), 1.0, 1.2)[0] is True


def test_a_loss_just_above_the_bar_never_reads_as_equal_to_it() -> None:
    passed, summary = decide_loss(LossBar(max_validation_loss=1.2), None, 1.2004)
    assert passed is False
    assert "validation loss 1.2004 is above the bar 1.2000" in summary


def test_unknown_loss_with_a_bar_fails_and_without_a_bar_passes() -> None:
    passed, summary = decide_loss(LossBar(max_training_loss=0.9), None, None)
    assert passed is False
    assert "training loss is unknown" in summary
    assert "step_wise_training_metrics.csv" in summary
    assert decide_loss(LossBar(), None, None) == (
        True,
        "Loss within the bar: training loss unknown (no bar set); validation loss unknown (no bar set).",
    )


def test_bar_from_the_plan() -> None:
    assert LossBar.from_plan({"maxTrainingLoss": 1, "maxValidationLoss": None}) == LossBar(1.0, None)
    assert LossBar.from_plan(None) == LossBar()


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        ("Completed", None, None),
        ("Failed", "bad data", "customization job ended Failed: bad data"),
        ("Stopped", "ignored", "customization job ended Stopped"),
        ("InProgress", None, "customization job is InProgress, not Completed; its loss cannot be judged yet"),
    ],
)
def test_only_a_completed_job_is_judged(status: str, message: str | None, expected: str | None) -> None:
    assert training_loss.job_problem(status, message) == expected


finite = st.floats(min_value=0, max_value=100, allow_nan=False, allow_infinity=False)


@given(value=finite, bar=finite)
def test_gate_passes_exactly_when_the_loss_is_at_most_the_bar(value: float, bar: float) -> None:
    passed, summary = decide_loss(LossBar(max_validation_loss=bar), None, value)
    assert passed is (value <= bar)
    match = re.search(r"validation loss (\S+) is (above|within) the bar (\S+?)[;.]( |$)", summary)
    assert match is not None, summary
    # The printed numbers never contradict the decision, however close the loss is to the bar.
    if passed:
        assert float(match[1]) <= float(match[3]) and match[2] == "within"
    else:
        assert float(match[1]) > float(match[3]) and match[2] == "above"

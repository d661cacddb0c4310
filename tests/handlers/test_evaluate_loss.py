"""evaluate_loss: final losses from Bedrock, curves from whatever CSVs the job wrote, the loss gate."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.evaluate_loss.handler import lambda_handler
from tests.handlers import plans
from tests.handlers.helpers import FakeContext, create_job, key_of, put_text, read_json, set_job

pytestmark = pytest.mark.usefixtures("aws")

# moto names a job's ARN after its name, so Bedrock's output folder for it is named the same way.
JOB_FOLDER = f"{plans.OUTPUT_PREFIX}model-customization-job-{plans.RUN_ID}/"
TRAINING_CSV = (
    "step_number,epoch_number,training_loss,perplexity\n"
    "0,0,2.310,10.07\n"
    "1,0,1.905,6.72\n"
    "2,1,1.402,4.06\n"
    "3,1,0.988,2.69\n"
)
VALIDATION_CSV = "step_number,epoch_number,validation_loss,perplexity\n1,0,1.650,5.21\n3,1,1.105,3.02\n"


def event(**plan_args: Any) -> dict[str, Any]:
    return {"runId": plans.RUN_ID, "plan": plans.plan(**plan_args), "job": plans.job_result()}


def test_losses_within_the_bar_pass_and_curves_are_saved_for_reports() -> None:
    # Given a completed job that wrote both CSVs where Nova models put them
    create_job()
    set_job(status="Completed", training_loss=0.99, validation_losses=[1.1])
    put_text(f"{JOB_FOLDER}training_artifacts/step_wise_training_metrics.csv", TRAINING_CSV)
    put_text(
        f"{JOB_FOLDER}validation_artifacts/post_fine_tuning_validation/validation/validation_metrics.csv",
        VALIDATION_CSV,
    )
    # When
    result = lambda_handler(event(), FakeContext())
    # Then
    assert result["passed"] is True
    assert (result["trainingLoss"], result["validationLoss"]) == (0.99, 1.1)
    assert result["summary"] == (
        "Loss within the bar: validation loss 1.10 is within the bar 1.20; training loss 0.99 (no bar set)."
    )
    assert result["jobArn"].endswith(f"model-customization-job/{plans.RUN_ID}")
    assert result["outputModelArn"].startswith("arn:aws:bedrock:us-east-1:123456789012:custom-model/")
    assert result["curvesUri"] == f"s3://{plans.BUCKET}/runs/{plans.RUN_ID}/loss-curves.json"
    curves = read_json(key_of(result["curvesUri"]))
    assert [p["loss"] for p in curves["training"][0]["points"]] == [2.31, 1.905, 1.402, 0.988]
    assert curves["training"][0]["byEpoch"] == [
        {"epoch": 0, "meanLoss": pytest.approx(2.1075), "points": 2},
        {"epoch": 1, "meanLoss": pytest.approx(1.195), "points": 2},
    ]
    assert curves["validation"][0]["last"] == 1.105
    assert curves["final"]["validationLossSource"] == "GetModelCustomizationJob"


def test_validation_loss_above_the_bar_fails_with_both_numbers() -> None:
    create_job()
    set_job(status="Completed", training_loss=0.7, validation_losses=[1.84])
    result = lambda_handler(event(), FakeContext())
    assert result["passed"] is False
    assert "validation loss 1.84 is above the bar 1.20" in result["summary"]
    assert result["summary"].startswith("Loss gate failed: validation loss 1.84")


def test_training_bar_is_judged_too() -> None:
    create_job()
    set_job(status="Completed", training_loss=0.95, validation_losses=[0.9])
    result = lambda_handler(event(evaluation={"maxTrainingLoss": 0.5}), FakeContext())
    assert result["passed"] is False
    assert "training loss 0.95 is above the bar 0.50" in result["summary"]
    assert "validation loss 0.90 is within the bar 1.20" in result["summary"]


def test_several_validators_are_judged_by_the_worst_one() -> None:
    create_job()
    set_job(status="Completed", training_loss=0.5, validation_losses=[0.8, 1.3])
    result = lambda_handler(event(), FakeContext())
    assert result["validationLoss"] == 1.3
    assert result["passed"] is False


def test_missing_metrics_files_fall_back_to_the_final_losses() -> None:
    create_job()
    set_job(status="Completed", training_loss=0.6, validation_losses=[0.95])
    result = lambda_handler(event(), FakeContext())
    assert result["passed"] is True
    assert result["validationLoss"] == 0.95
    assert result["curvesUri"] is None


def test_final_losses_missing_from_the_api_come_from_the_last_csv_point() -> None:
    create_job()
    set_job(status="Completed")
    put_text(f"{JOB_FOLDER}training_artifacts/step_wise_training_metrics.csv", TRAINING_CSV)
    put_text(f"{JOB_FOLDER}validation_artifacts/validation_metrics.csv", VALIDATION_CSV)
    result = lambda_handler(event(), FakeContext())
    assert (result["trainingLoss"], result["validationLoss"]) == (0.988, 1.105)
    assert result["passed"] is True
    curves = read_json(key_of(result["curvesUri"]))
    assert curves["final"]["trainingLossSource"] == "last point of the metrics CSV"


def test_unknown_loss_with_a_bar_fails_rather_than_buying_blind() -> None:
    # Given no final losses from the API and no CSVs at all
    create_job()
    set_job(status="Completed")
    # When
    result = lambda_handler(event(), FakeContext())
    # Then
    assert result["passed"] is False
    assert result["validationLoss"] is None
    assert "validation loss is unknown" in result["summary"]
    assert "no validation_metrics.csv was found" in result["summary"]
    assert "nothing is bought on unknown quality" in result["summary"]


@pytest.mark.parametrize(
    ("training_path", "validation_path"),
    [
        # The user guide's layout
        ("training_artifacts/", "validation_artifacts/post_fine_tuning_validation/"),
        # Nova Micro sample notebook
        ("training_artifacts/", "validation_artifacts/post_fine_tuning_validation/validation/"),
        # Llama 3.1 sample notebook
        ("training_artifacts/", "validation_artifacts/"),
        # Some future layout nobody documented
        ("metrics/train/", "metrics/eval/nested/deeper/"),
    ],
)
def test_metrics_files_are_found_by_name_wherever_the_model_put_them(
    training_path: str, validation_path: str
) -> None:
    create_job()
    set_job(status="Completed")
    put_text(f"{JOB_FOLDER}{training_path}step_wise_training_metrics.csv", TRAINING_CSV)
    put_text(f"{JOB_FOLDER}{validation_path}validation_metrics.csv", VALIDATION_CSV)
    put_text(f"{JOB_FOLDER}{validation_path}unrelated.csv", "validation_loss\n99\n")
    result = lambda_handler(event(), FakeContext())
    assert (result["trainingLoss"], result["validationLoss"]) == (0.988, 1.105)


def test_another_jobs_metrics_in_the_same_prefix_are_ignored() -> None:
    create_job()
    set_job(status="Completed")
    put_text(f"{JOB_FOLDER}validation_artifacts/validation_metrics.csv", VALIDATION_CSV)
    put_text(
        f"{plans.OUTPUT_PREFIX}model-customization-job-older/validation_artifacts/validation_metrics.csv",
        "step_number,epoch_number,validation_loss,perplexity\n1,0,9.9,1\n",
    )
    result = lambda_handler(event(), FakeContext())
    assert result["validationLoss"] == 1.105


def test_an_unreadable_metrics_file_is_reported_not_fatal() -> None:
    create_job()
    set_job(status="Completed", training_loss=0.5, validation_losses=[0.9])
    put_text(f"{JOB_FOLDER}validation_artifacts/validation_metrics.csv", "step,accuracy\n1,0.9\n")
    result = lambda_handler(event(), FakeContext())
    assert result["passed"] is True
    assert "Unreadable metrics files" in result["summary"]
    assert "no loss column" in result["summary"]


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (
            "Failed",
            "Training data has 3 invalid records",
            "customization job ended Failed: Training data has 3",
        ),
        ("Stopped", None, "customization job ended Stopped"),
    ],
)
def test_a_job_that_did_not_complete_is_not_judged(status: str, message: str | None, expected: str) -> None:
    create_job()
    set_job(status=status, failure_message=message)
    result = lambda_handler(event(), FakeContext())
    assert result["passed"] is False
    assert expected in result["summary"]


def test_running_twice_gives_the_same_answer() -> None:
    # A retried invocation (the same execution name) must not change the decision or the file.
    create_job()
    set_job(status="Completed", training_loss=0.7, validation_losses=[1.84])
    put_text(f"{JOB_FOLDER}training_artifacts/step_wise_training_metrics.csv", TRAINING_CSV)
    first = lambda_handler(event(), FakeContext())
    second = lambda_handler(event(), FakeContext())
    assert first == second


def test_a_job_bedrock_does_not_know_is_an_operational_error() -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="ResourceNotFound"):
        lambda_handler(event(), FakeContext())

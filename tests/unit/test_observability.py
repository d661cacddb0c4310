"""Powertools plumbing (lambdas.common.runtime): JSON logs keyed by run, a tracer that stays off
outside Lambda, and the metrics the handlers emit as CloudWatch embedded metric format (EMF).

EMF is tested as Powertools' docs suggest: run the handler, read what it printed on stdout and
parse the ``_aws`` documents.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from botocore.stub import Stubber

from lambdas.common import metric_names, runtime
from lambdas.common import release as cleanup
from lambdas.evaluate_model import handler as evaluate_model
from lambdas.record import handler as record
from pipeline.ownership import Execution
from pipeline.release import Released
from tests.handlers import plans
from tests.handlers.conftest import aws  # noqa: F401  (the moto fixture of the handler tests)
from tests.handlers.helpers import FakeContext, throughput_description

ROOT_DIR = str(Path(__file__).resolve().parents[2])


def lines_of(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def emf(out: str) -> dict[str, dict[str, Any]]:
    """Metric name -> {"values", "unit", "dimensions", "namespace"} of every EMF document printed."""
    found: dict[str, dict[str, Any]] = {}
    for doc in lines_of(out):
        if "_aws" not in doc:
            continue
        (directive,) = doc["_aws"]["CloudWatchMetrics"]
        (dimensions,) = directive["Dimensions"]
        for metric in directive["Metrics"]:
            found[metric["Name"]] = {
                "values": doc[metric["Name"]],
                "unit": metric["Unit"],
                "dimensions": {name: doc[name] for name in dimensions},
                "namespace": directive["Namespace"],
            }
    return found


class Context:
    function_name = "BedrockCustomization-dev-Record"
    aws_request_id = "req-42"


@runtime.observed
def toy_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    log = runtime.get_logger(__name__)
    log.info("first", extra={"step": 1})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("second")
    return {"ok": True}


@pytest.fixture
def stdout(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    capsys.readouterr()
    yield capsys


# -- logs ------------------------------------------------------------------------------------------


def test_every_line_of_an_invocation_is_json_with_the_run_id_and_the_lambda_context(
    stdout: pytest.CaptureFixture[str],
) -> None:
    # When
    assert toy_handler({"runId": "support-bot-v1-3f9a2c1b7d"}, Context()) == {"ok": True}
    # Then
    lines = lines_of(stdout.readouterr().out)
    assert [line["message"] for line in lines] == ["first", "second"]
    for line in lines:
        assert line["runId"] == "support-bot-v1-3f9a2c1b7d"
        assert line["function_name"] == "BedrockCustomization-dev-Record"
        assert line["function_request_id"] == "req-42"
        assert line["service"] == runtime.SERVICE
        assert line["timestamp"].endswith("+00:00")
    assert lines[0]["step"] == 1
    assert lines[1]["level"] == "ERROR" and "ValueError: boom" in lines[1]["exception"]


def test_a_warm_invocation_forgets_the_previous_runs_keys(stdout: pytest.CaptureFixture[str]) -> None:
    toy_handler({"runId": "run-one"}, Context())
    stdout.readouterr()
    # When the next invocation carries no run id and no context
    toy_handler({"kind": "throughput"}, None)
    # Then
    for line in lines_of(stdout.readouterr().out):
        assert "runId" not in line and "function_request_id" not in line
        assert line["cold_start"] is False


@pytest.mark.parametrize(
    ("event", "run_id"),
    [
        ({"runId": "r-1", "plan": {}}, "r-1"),
        ({"runSpec": {}, "executionName": "r-2"}, "r-2"),
        ({"detail-type": "Step Functions Execution Status Change", "detail": {"name": "r-3"}}, "r-3"),
        ({"kind": "deployment", "arn": "arn:aws:bedrock:..."}, None),
        ("not an object", None),
    ],
)
def test_the_run_id_comes_from_every_kind_of_event(event: Any, run_id: str | None) -> None:
    assert runtime.run_id_of(event) == run_id


def test_a_handler_keeps_its_name_and_still_raises(stdout: pytest.CaptureFixture[str]) -> None:
    @runtime.observed
    def failing(event: Any, context: Any) -> None:
        runtime.add_metric(metric_names.RUNS_FAILED, 1)
        raise RuntimeError("operational failure")

    with pytest.raises(RuntimeError, match="operational failure"):
        failing({"runId": "r"}, None)
    assert failing.__name__ == "failing"
    # The metric added before the error is still flushed.
    assert emf(stdout.readouterr().out)[metric_names.RUNS_FAILED]["values"] == [1.0]


# -- tracing ---------------------------------------------------------------------------------------

_PROBE = """
import json
import botocore.client
original = botocore.client.BaseClient._make_api_call
from lambdas.common import runtime
print(json.dumps({
    "disabled": bool(runtime.TRACER.disabled),
    "patched": botocore.client.BaseClient._make_api_call is not original,
}))
"""


def _probe(env: dict[str, str]) -> dict[str, bool]:
    base = {"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "PYTHONPATH": ROOT_DIR}
    result = subprocess.run(
        [sys.executable, "-B", "-c", _PROBE], env=base | env, capture_output=True, text=True, check=True
    )
    return cast(dict[str, bool], json.loads(result.stdout.splitlines()[-1]))


def test_the_tracer_is_off_and_patches_nothing_outside_lambda() -> None:
    # This process (tests), and the environment the simulation gives a handler: no LAMBDA_TASK_ROOT.
    assert runtime.TRACER.disabled
    assert _probe({}) == {"disabled": True, "patched": False}
    simulated = {"AWS_LAMBDA_FUNCTION_NAME": "f", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14"}
    assert _probe(simulated) == {"disabled": True, "patched": False}


def test_in_lambda_the_tracer_patches_botocore_so_every_aws_call_is_a_subsegment() -> None:
    assert _probe({"LAMBDA_TASK_ROOT": "/var/task", "AWS_LAMBDA_FUNCTION_NAME": "f"}) == {
        "disabled": False,
        "patched": True,
    }


# -- metrics ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_record_counts_a_succeeded_run_its_training_hours_and_the_throughput_it_bought(
    stdout: pytest.CaptureFixture[str],
) -> None:
    # Given a run that trained from 08:00 to 10:30 and bought its serving throughput
    event = {"runId": plans.RUN_ID, "status": "SUCCEEDED", "state": plans.state()}
    # When
    record.lambda_handler(event, FakeContext())
    # Then
    metrics = emf(stdout.readouterr().out)
    assert metrics[metric_names.RUNS_SUCCEEDED]["values"] == [1.0]
    assert metric_names.RUNS_FAILED not in metrics
    assert metrics[metric_names.TRAINING_HOURS]["values"] == [2.5]
    assert metrics[metric_names.TRAINING_HOURS]["unit"] == "None"
    # 1 model unit, no commitment: bought, but no term of committed hours
    assert metrics[metric_names.THROUGHPUT_MODEL_UNITS_BOUGHT]["values"] == [1.0]
    assert metric_names.THROUGHPUT_COMMITTED_MU_HOURS not in metrics
    for metric in metrics.values():
        assert metric["namespace"] == metric_names.NAMESPACE
        assert metric["dimensions"] == {metric_names.SERVICE: runtime.SERVICE}


@pytest.mark.usefixtures("aws")
def test_record_counts_a_failed_run_by_its_error(stdout: pytest.CaptureFixture[str]) -> None:
    state = plans.state(
        with_throughput=False,
        with_evaluation=False,
        failure={"Error": "LossAboveBar", "Cause": "validation loss 1.4 is above the bar 1.2"},
    )
    record.lambda_handler({"runId": plans.RUN_ID, "status": "FAILED", "state": state}, FakeContext())
    metrics = emf(stdout.readouterr().out)
    assert metrics[metric_names.RUNS_FAILED]["values"] == [1.0]
    assert metrics[metric_names.RUNS_FAILED]["dimensions"] == {metric_names.SERVICE: runtime.SERVICE}
    by_error = metrics[metric_names.RUNS_FAILED_BY_ERROR]
    assert by_error["values"] == [1.0]
    assert by_error["dimensions"] == {
        metric_names.SERVICE: runtime.SERVICE,
        metric_names.ERROR: "LossAboveBar",
    }
    assert metric_names.RUNS_SUCCEEDED not in metrics
    assert metric_names.THROUGHPUT_MODEL_UNITS_BOUGHT not in metrics


def test_record_turns_a_commitment_into_the_model_unit_hours_of_its_term(
    stdout: pytest.CaptureFixture[str],
) -> None:
    doc = {
        "status": "SUCCEEDED",
        "timestamps": {"jobCreatedAt": None, "jobEndedAt": None},
        "resources": {"provisionedModelArn": plans.PT_ARN, "modelUnits": 2, "commitment": "SixMonths"},
    }
    runtime.observed(lambda event, context: record.emit_metrics(doc))({}, None)
    metrics = emf(stdout.readouterr().out)
    assert metrics[metric_names.THROUGHPUT_MODEL_UNITS_BOUGHT]["values"] == [2.0]
    assert metrics[metric_names.THROUGHPUT_COMMITTED_MU_HOURS]["values"] == [2 * 6 * 730.0]
    assert metric_names.TRAINING_HOURS not in metrics


def _result(*, judged: bool, passed: bool) -> evaluate_model.evaluation.EvaluationResult:
    return cast(
        Any,
        SimpleNamespace(
            judged=judged, passed=passed, custom={"quality": 0.62}, base={"quality": 0.48, "errors": 0}
        ),
    )


def test_evaluate_model_emits_the_verdict_and_the_scores_of_a_judged_comparison(
    stdout: pytest.CaptureFixture[str],
) -> None:
    runtime.observed(lambda event, context: evaluate_model.emit_metrics(_result(judged=True, passed=True)))(
        {"runId": "r"}, None
    )
    metrics = emf(stdout.readouterr().out)
    assert metrics[metric_names.EVALUATIONS_JUDGED]["values"] == [1.0]
    assert metrics[metric_names.EVALUATIONS_PASSED]["values"] == [1.0]
    assert metrics[metric_names.CUSTOM_MODEL_QUALITY] | {"dimensions": None} == {
        "values": [0.62],
        "unit": "None",
        "dimensions": None,
        "namespace": metric_names.NAMESPACE,
    }
    assert metrics[metric_names.BASE_MODEL_QUALITY]["values"] == [0.48]


def test_evaluate_model_leaves_out_the_scores_of_a_comparison_that_judged_nothing(
    stdout: pytest.CaptureFixture[str],
) -> None:
    runtime.observed(lambda event, context: evaluate_model.emit_metrics(_result(judged=False, passed=False)))(
        {"runId": "r"}, None
    )
    metrics = emf(stdout.readouterr().out)
    assert metrics[metric_names.EVALUATIONS_JUDGED]["values"] == [0.0]
    assert metrics[metric_names.EVALUATIONS_PASSED]["values"] == [0.0]
    assert metric_names.CUSTOM_MODEL_QUALITY not in metrics
    assert metric_names.BASE_MODEL_QUALITY not in metrics


def test_cleanup_measures_the_model_unit_hours_of_a_no_commitment_throughput_it_deletes(
    stdout: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a 1-MU throughput created at 09:00, deleted at 12:00
    monkeypatch.setattr(runtime, "utc_now", lambda: "2026-11-27T12:00:00Z")
    runtime.reset_clients()
    released = Released()
    owner = Execution(plans.EXECUTION_ARN, plans.EXECUTION_START)
    with Stubber(runtime.client("bedrock")) as bedrock:
        tags = [{"key": k, "value": v} for k, v in plans.EXECUTION_TAGS.items()]
        bedrock.add_response("list_tags_for_resource", {"tags": tags}, {"resourceARN": plans.PT_ARN})
        bedrock.add_response("get_provisioned_model_throughput", throughput_description())
        bedrock.add_response("delete_provisioned_model_throughput", {})
        # When
        runtime.observed(
            lambda event, context: cleanup.releaser(owner).release_throughput(plans.PT_ARN, released)
        )({}, None)
        runtime.observed(lambda event, context: cleanup.emit_metrics(released))({}, None)
    runtime.reset_clients()
    # Then
    assert released.deleted == [plans.PT_ARN]
    assert released.model_unit_hours == pytest.approx(3.0)
    assert emf(stdout.readouterr().out)[metric_names.THROUGHPUT_RELEASED_MU_HOURS]["values"] == [3.0]


def test_an_invocation_without_metrics_prints_no_metric_document(stdout: pytest.CaptureFixture[str]) -> None:
    toy_handler({"runId": "r"}, None)
    assert emf(stdout.readouterr().out) == {}


def test_hours_between_reads_what_the_records_hold() -> None:
    assert runtime.hours_between("2026-11-20T08:00:00Z", "2026-11-20T10:30:00Z") == 2.5
    assert (
        runtime.hours_between(dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC), "2026-11-27T12:00:00Z") == 3.0
    )
    assert runtime.hours_between(None, "2026-11-20T10:30:00Z") is None
    assert runtime.hours_between("2026-11-20T10:30:00Z", "2026-11-20T08:00:00Z") is None


@pytest.mark.parametrize(
    "name", sorted(p.parent.name for p in Path(ROOT_DIR, "lambdas").glob("*/handler.py"))
)
def test_every_handler_goes_through_the_powertools_plumbing(name: str) -> None:
    handler = importlib.import_module(f"lambdas.{name}.handler").lambda_handler
    chain = []  # (file, function) of each decorator layer, outermost first
    while handler is not None:
        chain.append((Path(handler.__code__.co_filename).name, handler.__code__.co_name))
        handler = getattr(handler, "__wrapped__", None)
    assert ("runtime.py", "invoke") in chain, chain
    assert chain[-1] == ("handler.py", "lambda_handler")

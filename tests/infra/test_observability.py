"""Observability in the template: Powertools from the AWS layer on every function, its settings, assets
without third-party code, and the dashboard of the pipeline's metrics, executions and alarm."""

from __future__ import annotations

import importlib.metadata
import json
import re
import tomllib
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.constructs.pipeline_function import (
    POWERTOOLS_LAYER_ACCOUNT,
    POWERTOOLS_LAYER_VERSION,
    POWERTOOLS_VERSION,
)
from lambdas.common import metric_names
from tests.infra.conftest import ROOT, Synthesized, resource_with_prefix, resources_of_type

ENVIRONMENTS = ("dev", "prod")
HANDLER_METRICS = sorted(
    value
    for name, value in vars(metric_names).items()
    if name.isupper() and name not in {"NAMESPACE", "SERVICE", "ERROR"}
)


def _layer(region: str = "us-east-1") -> str:
    return (
        f"arn:aws:lambda:{region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-python314-arm64:{POWERTOOLS_LAYER_VERSION}"
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_function_takes_powertools_from_the_aws_layer_for_its_runtime(
    synthesized: Synthesized, env: str
) -> None:
    functions = resources_of_type(synthesized.template(env), "AWS::Lambda::Function")
    assert functions
    for fn in functions.values():
        props = fn["Properties"]
        # The layer is built per Python version and architecture: it must match the function's.
        assert (props["Runtime"], props["Architectures"]) == ("python3.14", ["arm64"])
        assert props["Layers"] == [_layer()]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_function_names_its_service_and_metrics_namespace(synthesized: Synthesized, env: str) -> None:
    for fn in resources_of_type(synthesized.template(env), "AWS::Lambda::Function").values():
        variables = fn["Properties"]["Environment"]["Variables"]
        assert variables["POWERTOOLS_SERVICE_NAME"] == f"BedrockCustomization-{env}"
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == metric_names.NAMESPACE


def test_the_layer_and_the_package_the_tests_run_are_the_same_release() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = {
        group: [d for d in deps if d.startswith("aws-lambda-powertools")]
        for group, deps in project["optional-dependencies"].items()
        if group in {"dev", "simulate"}
    }
    assert pins == {
        "dev": [f"aws-lambda-powertools[tracer]=={POWERTOOLS_VERSION}"],
        "simulate": [f"aws-lambda-powertools[tracer]=={POWERTOOLS_VERSION}"],
    }
    assert importlib.metadata.version("aws-lambda-powertools") == POWERTOOLS_VERSION


def test_no_asset_ships_powertools_or_any_other_third_party_package(synthesized: Synthesized) -> None:
    from infra.lambda_runtime import asset_contents, function_assets, sdk_files

    assets = function_assets(synthesized.outdir / "BedrockCustomization-dev.template.json")
    assert assets
    for asset in assets.values():
        # The project's own code, and only where a handler needs a newer SDK than the runtime's, the
        # pinned boto3/botocore and their dependencies (infra.lambda_runtime): never Powertools.
        names = set(asset_contents(asset.path))
        own = {n for n in names if n.split("/")[0] in ("lambdas", "pipeline")}
        assert names - own in (set(), set(sdk_files())), asset
        assert not [n for n in names if n.startswith("aws_lambda_powertools")]
        assert all(n.endswith(".py") for n in own)


# -- dashboard -------------------------------------------------------------------------------------


def _render(value: Any) -> str:
    """The dashboard body as text: a ``Fn::Join`` of strings, ``Ref`` and ``Fn::GetAtt``."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    separator, parts = value["Fn::Join"]
    return str(separator).join(_render(p) for p in parts)


def _dashboard(template: Template) -> tuple[str, dict[str, Any]]:
    (dashboard,) = resources_of_type(template, "AWS::CloudWatch::Dashboard").values()
    body = json.loads(_render(dashboard["Properties"]["DashboardBody"]))
    return dashboard["Properties"]["DashboardName"], body


def _metrics(body: dict[str, Any]) -> list[list[Any]]:
    return [m for w in body["widgets"] for m in w["properties"].get("metrics", [])]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_dashboard_shows_every_handler_metric_of_its_environment(
    synthesized: Synthesized, env: str
) -> None:
    name, body = _dashboard(synthesized.template(env))
    assert name == f"BedrockCustomization-{env}-us-east-1"
    shown = {
        m[1]
        for m in _metrics(body)
        if m[0] == metric_names.NAMESPACE and m[2:4] == [metric_names.SERVICE, f"BedrockCustomization-{env}"]
    }
    # Failed runs by error: a search over the error dimension of this environment's series.
    (search,) = [
        m[0]["expression"]
        for m in _metrics(body)
        if isinstance(m[0], dict) and "SEARCH" in m[0].get("expression", "")
    ]
    assert f'MetricName="{metric_names.RUNS_FAILED_BY_ERROR}"' in search
    assert f'service="BedrockCustomization-{env}"' in search
    assert "{BedrockCustomization,error,service}" in search
    assert sorted(shown | {metric_names.RUNS_FAILED_BY_ERROR}) == HANDLER_METRICS


def test_the_dashboard_shows_the_executions_of_the_state_machine_and_the_failed_run_alarm(
    dev: Template,
) -> None:
    _, body = _dashboard(dev)
    state_machine = resource_with_prefix(dev, "AWS::StepFunctions::StateMachine", "WorkflowStateMachine")
    executions = {
        m[1]
        for m in _metrics(body)
        if m[0] == "AWS/States" and m[2:4] == ["StateMachineArn", f"<{state_machine}>"]
    }
    assert executions == {
        "ExecutionsStarted",
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionsAborted",
        "ExecutionsTimedOut",
    }
    alarm = resource_with_prefix(dev, "AWS::CloudWatch::Alarm", "WorkflowFailedRunsAlarm")
    alarms = [a for w in body["widgets"] for a in w["properties"].get("annotations", {}).get("alarms", [])]
    assert alarms == [f"<{alarm}.Arn>"]


def test_the_metric_names_are_valid_cloudwatch_names() -> None:
    for name in [*HANDLER_METRICS, metric_names.NAMESPACE]:
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,254}", name), name

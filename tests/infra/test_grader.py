"""The built-in reinforcement fine-tuning grader, and exactly which graders Bedrock may invoke."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from infra.app_builder import build_app
from infra.config import CONTEXT_KEY
from pipeline.graders import BUILTIN_GRADERS, GRADER_TIMEOUT_SECONDS
from tests.infra.conftest import cdk_json_context, resources_of_type

GRADER_HANDLER = "lambdas.grader.handler.lambda_handler"


def _grader_function(template: Template) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, f)
        for k, f in resources_of_type(template, "AWS::Lambda::Function").items()
        if f["Properties"]["Handler"] == GRADER_HANDLER
    ]
    return found


def _invoke_statements(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    """Every lambda:InvokeFunction statement of the policies attached to roles named ``role_prefix``."""
    found = []
    for policy in resources_of_type(template, "AWS::IAM::Policy").values():
        roles = [r.get("Ref", "") for r in policy["Properties"]["Roles"]]
        if not any(r.startswith(role_prefix) for r in roles):
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "lambda:InvokeFunction" in actions:
                found.append(statement)
    return found


def _alias_ids(template: Template) -> dict[str, str]:
    return {a["Properties"]["Name"]: k for k, a in resources_of_type(template, "AWS::Lambda::Alias").items()}


def test_one_grader_function_with_an_alias_per_builtin_grader(dev: Template) -> None:
    function_id, function = _grader_function(dev)
    props = function["Properties"]
    assert props["Timeout"] == GRADER_TIMEOUT_SECONDS == 900  # Lambda's maximum, the guide's limit
    # Bedrock scores a step's answers in parallel: no reservation throttles the job's grading.
    assert "ReservedConcurrentExecutions" not in props
    skips = {s["id"] for s in function["Metadata"]["checkov"]["skip"]}
    assert "CKV_AWS_115" in skips
    aliases = resources_of_type(dev, "AWS::Lambda::Alias")
    assert sorted(a["Properties"]["Name"] for a in aliases.values()) == sorted(BUILTIN_GRADERS)
    for alias in aliases.values():
        assert alias["Properties"]["FunctionName"] == {"Ref": function_id}


def test_every_grader_alias_points_at_the_one_published_version_never_latest(dev: Template) -> None:
    function_id, _ = _grader_function(dev)
    (version_id, version) = _grader_version(dev, function_id)
    assert version["Properties"]["FunctionName"] == {"Ref": function_id}
    # An earlier version stays when a deployment publishes a newer one: the reward function that
    # trained a model is kept, and a rollback has something to move back to.
    assert version["DeletionPolicy"] == "Retain" and version["UpdateReplacePolicy"] == "Retain"
    aliases = resources_of_type(dev, "AWS::Lambda::Alias")
    assert len(aliases) == len(BUILTIN_GRADERS)
    for alias in aliases.values():
        assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
    assert "$LATEST" not in json.dumps(dev.to_json())


def _grader_version(template: Template, function_id: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v)
        for k, v in resources_of_type(template, "AWS::Lambda::Version").items()
        if v["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    return found


def _grader_alone(monkeypatch: pytest.MonkeyPatch, asset: Path) -> Template:
    """A stack holding only the built-in grader, its code taken from ``asset``."""
    from aws_cdk import RemovalPolicy, Stack
    from aws_cdk import aws_logs as logs

    from infra.constructs import pipeline_function
    from infra.constructs.grader import BuiltinGrader

    monkeypatch.setattr(pipeline_function, "stage_asset", lambda handler: asset)
    stack = Stack(App(), "GraderProbe", env={"account": "123456789012", "region": "us-east-1"})
    BuiltinGrader(
        stack, "Grader", log_retention=logs.RetentionDays.ONE_WEEK, removal_policy=RemovalPolicy.DESTROY
    )
    return Template.from_stack(stack)


def test_a_change_of_the_graders_code_publishes_a_new_version_the_aliases_move_to(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from infra.constructs.pipeline_function import stage_asset

    # Given the grader's asset as the stack ships it (a zip), and a copy with one changed line.
    # A function deletes its staged asset's folder once synthesized: each synth gets its own copy.
    shipped = stage_asset("grader")
    original = shipped.read_bytes()
    shutil.rmtree(shipped.parent)

    def asset(name: str, *, changed: bool) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        target = folder / "grader.zip"
        target.write_bytes(original)
        if changed:
            with zipfile.ZipFile(io.BytesIO(original)) as source, zipfile.ZipFile(target, "w") as out:
                for info in source.infolist():
                    data = source.read(info)
                    if info.filename == "pipeline/grader_builtins.py":
                        edited = data.replace(
                            b"JSON_BUT_INVALID_SCORE: Final = 0.25", b"JSON_BUT_INVALID_SCORE: Final = 0.5"
                        )
                        assert edited != data, "the line this test changes is gone from grader_builtins.py"
                        data = edited
                    out.writestr(info, data)
        return target

    # When both are synthesized
    before = _grader_alone(monkeypatch, asset("before", changed=False))
    after = _grader_alone(monkeypatch, asset("after", changed=True))
    # Then the changed code is a new version resource (published on deploy, the old one retained),
    # and every alias points at the new one
    versions = [set(resources_of_type(t, "AWS::Lambda::Version")) for t in (before, after)]
    assert len(versions[0]) == len(versions[1]) == 1 and versions[0] != versions[1]
    (new_version,) = versions[1]
    for alias in resources_of_type(after, "AWS::Lambda::Alias").values():
        assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [new_version, "Version"]}
    # ...and the same code synthesizes to the same version: a deploy without a grader change moves nothing.
    again = _grader_alone(monkeypatch, asset("again", changed=False))
    assert set(resources_of_type(again, "AWS::Lambda::Version")) == versions[0]


def test_nothing_but_the_granted_roles_may_invoke_the_grader(dev: Template) -> None:
    # No resource-based policy: Bedrock invokes the grader with the service role's credentials, whose
    # identity policy names the aliases [UG:rft-access-security].
    function_id, _ = _grader_function(dev)
    permissions = resources_of_type(dev, "AWS::Lambda::Permission")
    assert not [p for p in permissions.values() if function_id in json.dumps(p)]


def test_the_bedrock_role_may_invoke_exactly_the_builtin_grader_aliases(dev: Template) -> None:
    (statement,) = _invoke_statements(dev, "BedrockServiceRole")
    assert statement["Sid"] == "InvokeReinforcementFineTuningGraders"
    assert statement["Effect"] == "Allow" and "Condition" not in statement
    expected = [{"Ref": alias_id} for alias_id in _alias_ids(dev).values()]
    assert sorted(statement["Resource"], key=json.dumps) == sorted(expected, key=json.dumps)
    assert "*" not in json.dumps(statement["Resource"])


def test_the_preflight_calls_the_same_graders_and_knows_the_builtin_one(dev: Template) -> None:
    function_id, _ = _grader_function(dev)
    (preflight,) = [
        f
        for f in resources_of_type(dev, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "lambdas.preflight.handler.lambda_handler"
    ]
    env = preflight["Properties"]["Environment"]["Variables"]
    assert env["BUILTIN_GRADER_ARN"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert env["GRADER_FUNCTION_NAMES"] == ""
    (statement,) = _invoke_statements(dev, "FunctionsPreflightRole")
    (bedrock,) = _invoke_statements(dev, "BedrockServiceRole")
    assert sorted(statement["Resource"], key=json.dumps) == sorted(bedrock["Resource"], key=json.dumps)


def test_the_manifest_names_the_builtin_grader(dev: Template) -> None:
    function_id, _ = _grader_function(dev)
    assert dev.to_json()["Outputs"]["BuiltinGraderArn"]["Value"] == {"Fn::GetAtt": [function_id, "Arn"]}


@pytest.fixture(scope="module")
def dev_with_team_graders() -> Template:
    """dev with two team grader names configured; synthesized with cdk-nag like the real app."""
    context = cdk_json_context()
    environments = context[CONTEXT_KEY]
    context[CONTEXT_KEY] = {
        "dev": {**environments["dev"], "graderFunctionNames": ["search-team-grader", "ml-*-reward"]}
    }
    app = App(context=context)
    (stack,) = build_app(app)
    return Template.from_stack(stack)  # raises if cdk-nag reports an unacknowledged finding


def test_team_graders_are_granted_by_configured_name_in_this_account_and_region(
    dev_with_team_graders: Template,
) -> None:
    (statement,) = _invoke_statements(dev_with_team_graders, "BedrockServiceRole")
    rendered = [json.dumps(r) for r in statement["Resource"]]
    team = [r for r in rendered if "function:" in r]
    assert len(team) == 4
    for name in ("search-team-grader", "ml-*-reward"):
        assert sum(name in r for r in team) == 2  # unqualified, and with any version or alias
        assert any(r.endswith(f':function:{name}"]]}}') for r in team)
        assert any(r.endswith(f':function:{name}:*"]]}}') for r in team)
    for r in team:
        assert '"arn:aws:lambda:us-east-1:"' in r and '{"Ref": "AWS::AccountId"}' in r
    (preflight,) = _invoke_statements(dev_with_team_graders, "FunctionsPreflightRole")
    assert sorted(map(json.dumps, preflight["Resource"])) == sorted(rendered)
    env = [
        f["Properties"]["Environment"]["Variables"]
        for f in resources_of_type(dev_with_team_graders, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "lambdas.preflight.handler.lambda_handler"
    ]
    assert env[0]["GRADER_FUNCTION_NAMES"] == "search-team-grader,ml-*-reward"

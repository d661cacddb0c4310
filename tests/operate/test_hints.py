"""Every command the CLI prints for a person to run carries the environment it ran with.

The commands run against an environment that is not the default (``qa``) with an explicit
``--region``: a suggestion that drops either would act elsewhere when pasted. The suggestions are
collected from everything the commands print (text, JSON, errors) across a run's life: waiting
for approval, approved, ended, plus the errors that suggest a command.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from pipeline.operate import hints
from tests.operate.helpers import (
    EXAMPLES,
    MANIFEST,
    PT_ARN,
    REGION,
    Result,
    answer_approval_request,
    bedrock_client,
    clients_with,
    deploy,
    execution_status,
    express_spec,
    plan_for,
    pt_summary,
    run_cli,
    tags,
    wait_for,
    workflow,
)
from tests.stubs import PartialStubber

pytestmark = pytest.mark.usefixtures("moto", "titan_offered")

ENV = "qa"
WHERE = ("--env", ENV, "--region", REGION)
RUN_ID = "support-express-0a1b2c3d4e"
# The command names a suggestion can start with, longest first (``throughput delete`` before ``throughput``).
NAMES = sorted(
    [*hints.ENV_COMMANDS, *hints.REGION_COMMANDS, "models", "check", "estimate", "validate", "compare"],
    key=len,
    reverse=True,
)
SUGGESTION = re.compile(r"bedrock-customize ((?:" + "|".join(re.escape(n) for n in NAMES) + r")\b[^`\n]*)")


def _deploy_qa(definition: dict[str, Any]) -> None:
    """The stack deployed as environment ``qa`` (its manifest under /bedrock-customization/qa/)."""
    deploy(definition=definition, with_manifest=False)
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=f"/bedrock-customization/{ENV}/deployment",
        Type="String",
        Value=json.dumps(MANIFEST | {"environment": ENV, "stackName": f"BedrockCustomization-{ENV}"}),
    )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def _texts(output: str) -> list[str]:
    """The output's text: a JSON document or JSON lines become the strings they hold."""
    try:
        return _strings(json.loads(output))
    except ValueError:
        pass
    texts: list[str] = []
    for line in output.splitlines():
        try:
            texts += _strings(json.loads(line))
        except ValueError:
            texts.append(line)
    return texts


def suggestions(result: Result) -> list[str]:
    """Every ``bedrock-customize <command> ...`` in a command's output, JSON values included."""
    found = []
    for text in _texts(result.out) + _texts(result.err):
        for line in text.splitlines():
            for match in SUGGESTION.finditer(line):
                found.append(match.group(0).split("   #")[0])
    return found


def _check(found: list[str]) -> None:
    for text in found:
        words = text.split()
        name = (
            f"{words[1]} {words[2]}" if words[1] in ("throughput", "grader") and len(words) > 2 else words[1]
        )
        if name in hints.ENV_COMMANDS:
            assert f"--env {ENV}" in text, f"suggested without the environment it ran with: {text}"
        if name in hints.REGION_COMMANDS:
            assert f"--region {REGION}" in text, f"suggested without the region it ran with: {text}"


def test_every_suggested_command_carries_the_environment_and_region(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plan = plan_for(express_spec(), RUN_ID)
    _deploy_qa(workflow(plan))
    boto3.client("stepfunctions", region_name=REGION).start_execution(
        stateMachineArn=MANIFEST["stateMachineArn"],
        name=RUN_ID,
        input=json.dumps({"runSpec": express_spec().to_dict()}),
    )
    answer_approval_request(plan, monkeypatch, stage="evaluation")
    collected: dict[str, list[str]] = {}

    def run(label: str, *argv: str) -> Result:
        result = run_cli(capsys, *argv)
        collected[label] = suggestions(result)
        return result

    # Waiting for a person: status (text and JSON), watch until the wait, list.
    run("status", "status", RUN_ID, *WHERE)
    run("status --json", "status", RUN_ID, *WHERE, "--json")
    watched = run(
        "watch --until approval", "watch", RUN_ID, *WHERE, "--until", "approval", "--interval", "0.05"
    )
    assert watched.code == 0, watched.err
    run("watch --json", "watch", RUN_ID, *WHERE, "--until", "approval", "--json")
    listing = bedrock_client()
    empty = PartialStubber(listing, ("ListProvisionedModelThroughputs",))
    empty.add_response("list_provisioned_model_throughputs", {"provisionedModelSummaries": []})
    with empty, clients_with(bedrock=listing):
        run("list", "list", *WHERE)
    # The approval prompt (the request's own Approve/Reject lines included), then its answer.
    approved = run("approve", "approve", RUN_ID, *WHERE, "--yes")
    assert approved.code == 0, approved.err
    wait_for(lambda: execution_status(RUN_ID) == "SUCCEEDED", what="the run to finish")

    # Ended, its throughput still billing: status suggests the report and deleting the throughput.
    created = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    client = bedrock_client()
    stub = PartialStubber(
        client, ("GetProvisionedModelThroughput", "ListProvisionedModelThroughputs", "ListTagsForResource")
    )

    def described() -> None:
        stub.add_response(
            "get_provisioned_model_throughput",
            pt_summary(run_id=RUN_ID, created=created),
            {"provisionedModelId": PT_ARN},
        )
        stub.add_response("list_tags_for_resource", tags(RUN_ID), {"resourceARN": PT_ARN})

    described()  # status
    described()  # watch
    stub.add_response(
        "list_provisioned_model_throughputs",
        {"provisionedModelSummaries": [pt_summary(run_id=RUN_ID, created=created)]},
    )
    stub.add_response("list_tags_for_resource", tags(RUN_ID), {"resourceARN": PT_ARN})
    described()  # cancel
    with stub, clients_with(bedrock=client):
        run("status (ended)", "status", RUN_ID, *WHERE)
        run("watch (ended)", "watch", RUN_ID, *WHERE, "--json")
        run("throughput list", "throughput", "list", *WHERE)
        # Errors that suggest a command.
        run("cancel (ended)", "cancel", RUN_ID, *WHERE, "--yes")
    run("approve (not waiting)", "approve", RUN_ID, *WHERE, "--yes")
    run("status (unknown run)", "status", "no-such-run-0000000000", *WHERE)
    run("status (bad id)", "status", "not a run!", *WHERE)
    run("report (no run)", "report", *WHERE)

    # start: its follow-up commands (the run spec names the region).
    spec = yaml.safe_load((EXAMPLES / "runs" / "fine-tuning.yaml").read_text(encoding="utf-8"))
    spec.update(
        training=str(EXAMPLES / "datasets" / "conversation-train.jsonl"),
        validation=str(EXAMPLES / "datasets" / "conversation-validation.jsonl"),
        evaluation={"maxValidationLoss": 2.5},
        serving={"mode": "none"},
    )
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    started = run("start", "start", str(path), *WHERE)
    assert started.code == 0, started.err
    run("start (again)", "start", str(path), *WHERE)

    for label in ("status", "status --json", "watch --until approval", "approve", "status (ended)", "start"):
        assert collected[label], f"{label} suggested nothing"
    everything = [text for found in collected.values() for text in found]
    assert {text.split()[1] for text in everything} >= {
        "approve",
        "reject",
        "report",
        "throughput",
        "watch",
        "status",
        "list",
        "sweep",
    }
    _check(everything)


def test_the_helper_adds_env_and_region_only_where_a_command_takes_them() -> None:
    with hints.targeting("prod", "eu-west-1"):
        assert hints.command("status", "r-1") == "bedrock-customize status r-1 --env prod --region eu-west-1"
        assert hints.command("throughput", "delete", "r-1", note="billed hourly") == (
            "bedrock-customize throughput delete r-1 --env prod --region eu-west-1   # billed hourly"
        )
        assert hints.command("check", "my run.yaml") == "bedrock-customize check 'my run.yaml'"
        assert hints.command("models") == "bedrock-customize models"
        # A run's view knows its own environment; the region stays the one given.
        assert (
            hints.command("watch", "r-1", env="qa")
            == "bedrock-customize watch r-1 --env qa --region eu-west-1"
        )
    with hints.targeting(None, None):
        assert hints.command("status", "r-1") == "bedrock-customize status r-1"


def test_the_commands_that_take_env_are_the_ones_the_helper_knows() -> None:
    """hints.ENV_COMMANDS and the parsers agree: a new command with --env needs its line there."""
    import argparse

    from pipeline import cli

    def leaves(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, argparse.ArgumentParser]:
        found: dict[str, argparse.ArgumentParser] = {}
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found |= leaves(sub, f"{prefix}{name} ") or {f"{prefix}{name}": sub}
        return found

    with_env = {
        name
        for name, parser in leaves(cli.build_parser()).items()
        if any("--env" in action.option_strings for action in parser._actions)
    }
    assert with_env == set(hints.ENV_COMMANDS)


def test_no_printed_command_is_built_outside_the_helper() -> None:
    """Commands for a person to run are made by pipeline.operate.hints.command, nowhere else.

    Allowed elsewhere: help examples (a literal line starting with two spaces), docstrings and
    help epilogs (triple-quoted), and the live panel's title."""
    from tests.operate.helpers import ROOT

    names = "|".join(re.escape(n) for n in sorted(hints.ENV_COMMANDS, key=len, reverse=True))
    built = re.compile(rf"(\{{CLI\}}|bedrock-customize) ({names})\b")
    example = re.compile(r'^\s*f?"  (\{CLI\}|bedrock-customize) ')
    offenders = []
    files = [*sorted((ROOT / "pipeline" / "operate").glob("*.py")), ROOT / "pipeline" / "cli.py"]
    for path in files:
        if path.name == "hints.py":
            continue
        quoted = False
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            toggles = line.count('"""') % 2 == 1
            if (
                not quoted
                and not toggles
                and built.search(line)
                and not example.match(line)
                and 'title=Text("bedrock-customize watch"' not in line
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
            quoted ^= toggles
    assert not offenders, "build these with pipeline.operate.hints.command:\n" + "\n".join(offenders)

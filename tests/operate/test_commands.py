"""The command surface: every command and option explained, exit codes and errors scripts rely on."""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from pipeline import cli
from pipeline.operate import commands
from pipeline.operate.errors import EXIT_INVALID, EXIT_OPERATIONAL, InvalidInputError, guarded
from tests.operate.helpers import ROOT

OPERATIONS = (
    "models",
    "compare",
    "deploy-info",
    "estimate",
    "start",
    "status",
    "watch",
    "list",
    "approve",
    "reject",
    "cancel",
    "report",
    "throughput",
    "sweep",
    "slots",
    "rollback",
    "promote",
)


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _leaf_parsers() -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for name, sub in _subparsers(commands.build_parser()).items():
        nested = _subparsers(sub)
        if nested:
            found |= {f"{name} {child}": parser for child, parser in nested.items()}
        else:
            found[name] = sub
    return found


def test_every_command_is_registered_with_a_handler() -> None:
    parsers = _leaf_parsers()

    assert {name.split()[0] for name in parsers} == set(OPERATIONS)
    assert {"throughput list", "throughput delete"} <= set(parsers)
    for name, parser in parsers.items():
        assert callable(parser.get_default("handler")), name


@pytest.mark.parametrize("name", sorted(_leaf_parsers()))
def test_every_command_and_option_is_explained(name: str) -> None:
    parser = _leaf_parsers()[name]

    assert parser.description and len(parser.description) > 40, name
    assert parser.epilog and "exit codes:" in parser.epilog and "examples:" in parser.epilog, name
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help and len(action.help) > 10, f"{name}: {action.dest} has no help"


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("status", {"--env", "--region", "--json"}),
        ("start", {"--env", "--region", "--json", "--yes", "--wait"}),
        ("approve", {"--env", "--region", "--json", "--yes", "--reason"}),
        ("sweep", {"--env", "--region", "--json", "--yes", "--dry-run", "--older-than"}),
        ("throughput delete", {"--env", "--region", "--json", "--yes"}),
    ],
)
def test_common_options(command: str, options: set[str]) -> None:
    parser = _leaf_parsers()[command]
    present = {s for action in parser._actions for s in action.option_strings}

    assert options <= present
    assert parser.get_default("env") == "dev"


def _args(**values: Any) -> argparse.Namespace:
    return argparse.Namespace(json=False, **values)


def test_aws_errors_become_exit_1_with_the_next_step(capsys: pytest.CaptureFixture[str]) -> None:
    @guarded
    def expired(args: argparse.Namespace) -> int:
        raise ClientError(
            {"Error": {"Code": "ExpiredTokenException", "Message": "expired"}}, "ListExecutions"
        )

    assert expired(_args()) == EXIT_OPERATIONAL
    err = capsys.readouterr().err
    assert err.startswith("error: AWS refused ListExecutions: ExpiredTokenException: expired")
    assert "next: your AWS credentials are expired or invalid: refresh them (`aws sso login`" in err


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (NoCredentialsError(), "run `aws configure` or `aws sso login`"),
        (EndpointConnectionError(endpoint_url="https://states.us-east-1.amazonaws.com"), "check the network"),
    ],
)
def test_sdk_errors_become_exit_1(capsys: pytest.CaptureFixture[str], error: Exception, text: str) -> None:
    @guarded
    def failing(args: argparse.Namespace) -> int:
        raise error

    assert failing(_args()) == EXIT_OPERATIONAL
    assert text in capsys.readouterr().err


def test_invalid_input_is_exit_2_and_json_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    @guarded
    def invalid(args: argparse.Namespace) -> int:
        raise InvalidInputError("bad thing", hint="do this")

    assert invalid(argparse.Namespace(json=True)) == EXIT_INVALID
    out, err = capsys.readouterr()
    assert out.strip() == '{"ok": false, "error": "bad thing", "next": "do this", "exitCode": 2}'
    assert err == "error: bad thing\n  next: do this\n"


def test_bugs_are_not_hidden() -> None:
    @guarded
    def buggy(args: argparse.Namespace) -> int:
        raise KeyError("oops")

    with pytest.raises(KeyError):
        buggy(_args())


def test_the_cli_registers_the_operations_commands() -> None:
    """pipeline.cli must call pipeline.operate.commands.register on its subparsers."""
    names = set(_subparsers(cli.build_parser()))

    assert set(OPERATIONS) <= names
    assert {"validate", "check"} <= names


def test_python_dash_m_pipeline_runs_them() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "models", "--type", "CONTINUED_PRE_TRAINING", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert '"modelId": "amazon.titan-text-express-v1:0:8k"' in done.stdout


def test_check_says_what_a_run_into_a_serving_slot_does(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["check", str(ROOT / "examples" / "runs" / "serving-slot.yaml")])

    out = capsys.readouterr().out
    assert code == 0
    serving = next(line for line in out.splitlines() if line.startswith("serving:"))
    assert (
        "into serving slot support-answers: where the slot exists, the model must beat its champion"
        in serving
    )
    assert "what serves becomes the slot's endpoint" in serving


def test_check_says_what_the_run_evaluates_on_and_how_it_serves(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["check", str(ROOT / "examples" / "runs" / "fine-tuning.yaml")])

    out = capsys.readouterr().out
    assert code == 0
    assert (
        "evaluation: on an on-demand deployment of the custom model (nothing bought, billed per token)" in out
    )
    assert "deleted after the evaluation; estimate $0.00" in out  # Nova Micro's token prices are known
    assert (
        "serving:    1 MU of provisioned throughput, no commitment: bought only after the quality bar (and "
        "the judge's bars, if any) "
        "passed; hourly price unknown"
    ) in out

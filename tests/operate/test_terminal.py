"""The command line as a terminal shows it: help that fits and says each thing once, usage errors
from the subcommand that was typed, a reader that goes away (``status | head``) ends quietly."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import cli
from pipeline.simulation.scenarios import get_scenario
from tests.operate.helpers import ROOT

BIN = str(Path(sys.executable).parent / "bedrock-customize")


def _parsers() -> dict[str, argparse.ArgumentParser]:
    def walk(parser: argparse.ArgumentParser, prefix: str) -> dict[str, argparse.ArgumentParser]:
        found = {prefix.strip() or "(top)": parser}
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found |= walk(sub, f"{prefix}{name} ")
        return found

    return walk(cli.build_parser(), "")


@pytest.mark.parametrize("name", sorted(_parsers()))
def test_help_lists_exit_codes_once_and_fits_80_columns(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    text = _parsers()[name].format_help()

    assert text.count("exit codes") == 1, name
    # Example commands are left whole (a broken command cannot be pasted); everything else fits.
    wide = [line for line in text.splitlines() if len(line) > 80 and not line.lstrip().startswith("bedrock-")]
    assert not wide, wide


def test_the_top_level_help_has_its_own_epilog_in_the_usual_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    text = cli.build_parser().format_help()

    order = [
        text.index(f"\n  {word}")
        for word in ("models", "check", "estimate", "start", "watch", "approve", "report")
    ]
    assert order == sorted(order)
    assert "--env" in text and "bedrock-customize sandbox" in text
    assert "validate --model" not in text and "0  valid\n" not in text  # not validate's epilog


def test_check_has_its_own_examples() -> None:
    text = _parsers()["check"].format_help()
    assert "bedrock-customize check" in text and "validate --model" not in text


def test_the_scenarios_sandbox_help_names_exist() -> None:
    text = _parsers()["sandbox"].format_help()
    named = re.findall(r"--scenario ([a-z0-9-]+)", text)
    assert named
    for name in named:
        get_scenario(name)  # raises for a scenario that does not exist


def test_watch_help_says_until_and_json_lines() -> None:
    text = _parsers()["watch"].format_help()
    assert "--until {end,approval}" in text and "JSON lines" in text
    assert "4  AWS could not be reached" in text


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["reject", "run-0123456789", "--reason", "x", "--bogus"], "usage: bedrock-customize reject"),
        (["throughput", "list", "--bogus"], "usage: bedrock-customize throughput list"),
        (["watch", "run-0123456789", "--until", "forever"], "usage: bedrock-customize watch"),
    ],
)
def test_a_subcommand_error_prints_the_subcommands_usage(
    argv: list[str], usage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)

    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.startswith(usage), err


def test_flags_are_consistent_across_commands() -> None:
    parsers = _parsers()
    options = {name: {o for a in p._actions for o in a.option_strings} for name, p in parsers.items()}
    assert "--env" in options["throughput list"] and "--yes" in options["reject"]
    # A command that may ask takes --yes.
    for name in ("start", "approve", "reject", "cancel", "throughput delete", "sweep"):
        assert "--yes" in options[name], name


@pytest.mark.parametrize(
    "argv",
    [
        ["models"],  # more than a pipe's buffer: the error comes while writing
        # A few lines: they sit in the buffer, and the error comes when it is flushed at the end.
        [
            "validate",
            "--model",
            "amazon.nova-micro-v1:0:128k",
            "examples/datasets/conversation-validation.jsonl",
        ],
    ],
)
def test_a_reader_that_goes_away_ends_the_command_quietly(argv: list[str]) -> None:
    """`bedrock-customize status RUN | head -1`: the pipe closes before everything is written."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte
    # Block-buffered stdout, as in a real pipe (PYTHONUNBUFFERED would hide the flush at exit).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"} | {
        "BEDROCK_CUSTOMIZE_OFFLINE": "1"
    }
    done = subprocess.run(
        [BIN, *argv], stdout=write, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env, timeout=120
    )
    os.close(write)

    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert done.stderr == ""
    assert done.returncode == 141  # 128 + SIGPIPE, as a shell reports a tool the pipe stopped

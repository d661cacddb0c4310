"""The README's commands work as written: each ``bedrock-customize ...`` line of its shell blocks
parses with the CLI's own parser, and ``make path`` puts the command on PATH (the sandbox steps
once failed with "command not found", an option ``throughput list`` refused, and the like)."""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from pipeline import cli
from tests.operate.helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
PLACEHOLDERS = {"RUN_ID": "support-nova-micro-5c12be67e1", "RUN": "support-nova-micro-5c12be67e1"}


def _commands() -> list[str]:
    found = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        logical = block.replace("\\\n", " ")
        for line in logical.splitlines():
            command = line.split("#", 1)[0].strip()
            if command.startswith("bedrock-customize "):
                found.append(command)
    return found


COMMANDS = _commands()


def test_the_readme_has_the_operator_flow() -> None:
    assert len(COMMANDS) > 30
    assert any("--until approval" in c for c in COMMANDS)
    assert any(c.startswith("bedrock-customize throughput list --env sandbox") for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_each_readme_command_parses(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    # What a pipe feeds (`... --json | jq .x`) is not the CLI's.
    words = [PLACEHOLDERS.get(w, w) for w in shlex.split(command.split(" | ", 1)[0])[1:]]
    try:
        cli.build_parser().parse_args(words)
    except SystemExit as exited:
        if exited.code != 0:  # --help and --version exit 0
            pytest.fail(f"{command}: {capsys.readouterr().err}")


def test_make_path_puts_the_command_on_path() -> None:
    done = subprocess.run(
        ["bash", "-c", 'eval "$(make -s path)" && command -v bedrock-customize'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(ROOT / ".venv" / "bin" / "bedrock-customize")

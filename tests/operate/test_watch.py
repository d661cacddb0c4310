"""``watch``: a live panel that fits the terminal, one line per change in a pipe, JSON lines, a stop
at the approval wait, and AWS trouble retried for a bounded time with an exit code of its own."""

from __future__ import annotations

import datetime as dt
import fcntl
import io
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from rich.console import Console

from pipeline.operate import runs, watch
from pipeline.operate.errors import EXIT_INVALID, EXIT_OK, EXIT_OPERATIONAL
from tests.operate import watch_views
from tests.operate.helpers import ROOT

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][A-Z0-9]")


def _follow(looks: list[Any], display: watch.Display, **options: Any) -> tuple[watch.Outcome, list[float]]:
    """Watch scripted looks (a RunView, or an exception to raise) with a fake clock."""
    queue = iter(looks)
    sleeps: list[float] = []
    clock = [0.0]

    def fetch() -> runs.RunView:
        look = next(queue)
        if isinstance(look, Exception):
            raise look
        return look  # type: ignore[no-any-return]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    outcome = watch.follow(
        fetch,
        display=display,
        interval=options.pop("interval", 30.0),
        sleep=sleep,
        clock=lambda: clock[0],
        now=lambda: dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC),
        **options,
    )
    return outcome, sleeps


# --------------------------------------------------------------------------------------------------
# A pipe: one line per change
# --------------------------------------------------------------------------------------------------


def test_in_a_pipe_one_line_per_change_never_per_check() -> None:
    looks = watch_views.sequence()
    stream = io.StringIO()

    outcome, sleeps = _follow(looks, watch.Display(stream))

    lines = stream.getvalue().splitlines()
    stages = [line.split("] ", 1)[1].split(" | ")[0] for line in lines]
    # 12 looks, 7 changes: the repeated checks of training, the deployment, the judge and the
    # approval wait print nothing (their clocks moved, their words did not).
    assert stages == [
        "RUNNING: checking the run spec and datasets",
        "RUNNING: training",
        "RUNNING: bringing the model online to evaluate it",
        "RUNNING: waiting for the LLM judge",
        "RUNNING: waiting for approval to serve",
        "RUNNING: waiting for the throughput to come online",
        "FAILED: failed at: smoke-checking the throughput",
    ]
    assert len(sleeps) == len(looks) - 1
    assert outcome.exit_code == EXIT_OPERATIONAL
    approval = lines[4]
    assert "waits for you: approve or reject buying throughput to serve with" in approval
    assert f"next: bedrock-customize approve {watch_views.RUN_ID} --env {watch_views.ENV}" in approval
    assert f"next: bedrock-customize status {watch_views.RUN_ID} --env {watch_views.ENV}" in lines[1]
    assert (
        "loss passed (validation 1.110), quality passed (0.846 vs base 0.434), LLM judge passed" in approval
    )
    assert "SmokeCheckFailed: Custom model below the bar" in lines[-1]
    # No stage is a raw state name.
    assert not any("Wait before checking" in line or "Check the judge" in line for line in lines)


def test_json_lines_one_object_per_change() -> None:
    looks = watch_views.sequence()
    stream = io.StringIO()

    outcome, _ = _follow(looks, watch.JsonLines(stream))

    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["changed"] * 6 + ["ended"]
    assert events[4]["waitsForAPerson"] is True
    assert events[4]["next"][0].endswith(f"--env {watch_views.ENV}")
    assert events[4]["deadline"].startswith("answer before it 2026-03-03 09:50 UTC")
    # The LLM judge's estimate counts in the cost so far once its jobs started.
    assert "LLM judge" in events[3]["costSoFar"]["pricedParts"]
    assert events[-1]["failure"].startswith("SmokeCheckFailed")
    assert outcome.exit_code == EXIT_OPERATIONAL


def test_until_approval_stops_at_the_human_wait() -> None:
    looks = watch_views.sequence()
    stream = io.StringIO()

    outcome, sleeps = _follow(looks, watch.Display(stream), until=watch.UNTIL_APPROVAL)

    assert outcome.exit_code == EXIT_OK
    assert outcome.view is not None and outcome.view.waiting_for_approval
    assert len(sleeps) == 8  # stopped at the 9th look, the first of the wait
    assert stream.getvalue().splitlines()[-1].split(" | ")[0].endswith("waiting for approval to serve")


def test_a_timeout_is_not_a_failed_run() -> None:
    looks = watch_views.sequence()

    outcome, _ = _follow(looks, watch.Display(io.StringIO()), timeout=60.0, interval=30.0)

    assert outcome.exit_code == watch.EXIT_STILL_RUNNING == 3
    assert outcome.view is not None and outcome.view.status == "RUNNING"


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        ("SUCCEEDED", None, EXIT_OK),
        ("FAILED", "PreflightFailed", EXIT_INVALID),
        ("FAILED", "LossAboveBar", EXIT_OPERATIONAL),
        ("ABORTED", None, EXIT_OPERATIONAL),
    ],
)
def test_watch_exits_with_the_runs_outcome(status: str, error: str | None, code: int) -> None:
    ended = watch_views.view(5, "Run failed", status=status)
    if error:
        ended.state["failure"] = {"Error": error, "Cause": "why"}

    outcome, _ = _follow([ended], watch.Display(io.StringIO()))

    assert outcome.exit_code == code


# --------------------------------------------------------------------------------------------------
# AWS trouble
# --------------------------------------------------------------------------------------------------


def _unreachable() -> EndpointConnectionError:
    return EndpointConnectionError(endpoint_url="http://127.0.0.1:4599/")


def test_transient_errors_are_retried_with_backoff_on_lines_of_their_own() -> None:
    looks = watch_views.sequence()
    stream = io.StringIO()
    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetExecutionHistory"
    )
    scripted = [looks[0], _unreachable(), _unreachable(), throttled, looks[1], looks[-1]]

    outcome, sleeps = _follow(scripted, watch.Display(stream), interval=30.0)

    assert outcome.exit_code == EXIT_OPERATIONAL  # the run's own outcome, reached after the blip
    assert sleeps == [30.0, 2.0, 4.0, 8.0, 30.0]
    lines = stream.getvalue().splitlines()
    retries = [line for line in lines if "retrying in" in line]
    assert len(retries) == 3
    assert all(" | " not in line and "RUNNING" not in line for line in retries)  # never glued to status
    assert "cannot reach AWS" in retries[0] and "giving up after 10m 00s" in retries[0]
    assert any("reading the run again after 3 retries" in line for line in lines)


def test_a_lost_endpoint_gives_up_after_a_bounded_time_with_its_own_exit_code() -> None:
    looks = watch_views.sequence()
    scripted: list[Any] = [looks[1], *([_unreachable()] * 50)]

    outcome, sleeps = _follow(scripted, watch.JsonLines(io.StringIO()), give_up_after=300.0)

    assert outcome.exit_code == watch.EXIT_LOST == 4
    assert outcome.exit_code not in (EXIT_OPERATIONAL, EXIT_INVALID, EXIT_OK)
    assert "gave up after 5m 00s" in outcome.reason and "cannot reach AWS" in outcome.reason
    assert sum(sleeps[1:]) == pytest.approx(300.0)  # backing off 2, 4, ... 60 s, never past the bound
    assert max(sleeps[1:]) <= 60.0


def test_a_refusal_is_not_retried() -> None:
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeExecution")

    outcome, sleeps = _follow([denied], watch.Display(io.StringIO()))

    assert outcome.exit_code == watch.EXIT_LOST
    assert sleeps == []
    assert "not an error that passes by itself" in outcome.reason


# --------------------------------------------------------------------------------------------------
# A terminal: the panel fits
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [80, 60, 120])
def test_the_live_panel_never_exceeds_the_terminal_width(width: int) -> None:
    stream = io.StringIO()
    console = Console(file=stream, width=width, force_terminal=True, color_system="standard")

    _follow(watch_views.sequence(), watch.LivePanel(stream, console))

    text = _ANSI.sub("", stream.getvalue())
    widths = [len(line) for chunk in text.split("\n") for line in chunk.split("\r")]
    assert max(widths) <= width
    assert "waiting for approval to serve" in text and "SmokeCheckFailed" in text
    # The 300-character cause and the long run id are wrapped inside the panel, not cut.
    assert "eval-prompts.jsonl" in text.replace("│", "").replace("\n", "").replace(" ", "")


def _read_all(fd: int, process: subprocess.Popen[bytes], timeout: float) -> bytes:
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed its side
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif process.poll() is not None:
            break
    return b"".join(chunks)


def test_in_an_80_column_pseudo_terminal_no_line_is_wider_than_the_terminal() -> None:
    """The real thing: the watch writes to a pty of 80 x 24, as in a terminal window."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env |= {"TERM": "xterm-256color", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.operate.watch_views"],
        cwd=ROOT,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    try:
        raw = _read_all(leader, process, timeout=60)
        code = process.wait(timeout=30)
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
    text = _ANSI.sub("", raw.decode("utf-8", errors="replace"))
    lines = [line for chunk in text.split("\n") for line in chunk.split("\r")]
    assert code == EXIT_OPERATIONAL, text[-2000:]
    assert "waiting for approval to serve" in text and "SmokeCheckFailed" in text
    too_wide = [line for line in lines if len(line) > 80]
    assert not too_wide, too_wide[:3]
    # It drew a panel (a box), redrawn in place (cursor moves), not a log of lines.
    assert "╭" in text and "\x1b[" in raw.decode("utf-8", errors="replace")

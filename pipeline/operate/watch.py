"""Following a run until it ends (or until a person must act): ``watch`` and ``start --wait``.

Three ways to show it, chosen by where the output goes:

- a terminal: a compact panel (rich ``Live``) redrawn in place, never wider than the terminal:
  the stage in plain words, elapsed time and the stage's time limit, the gates so far, what the run
  waits for, the cost so far and the next command;
- a pipe, a file, CI logs: one timestamped line per change (a new stage, gate, status or failure;
  not every poll);
- ``--json``: one JSON object per line per change, the last one with the run's full status.

AWS calls that fail for a reason that passes (no connection, throttling, a 5xx) are retried with
a doubling backoff, each retry on a line of its own, for ``give_up_after`` seconds at most; then
the watch stops with :data:`EXIT_LOST`: the run's outcome is unknown, not failed.

Exit codes (one list, shown by ``watch --help`` and ``start --help``): see :data:`EXIT_CODES`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TextIO

from pipeline import money, workflow_stages
from pipeline.operate import hints, output, run_text
from pipeline.operate.errors import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_OPERATIONAL,
    InvalidInputError,
    OperateError,
    describe_aws_error,
    transient,
)
from pipeline.retries import JOB_QUEUE_SCHEDULE

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from pipeline.operate.runs import RunView

EXIT_STILL_RUNNING: Final = 3
EXIT_LOST: Final = 4
EXIT_INTERRUPTED: Final = 130
EXIT_CODES: Final = f"""\
exit codes:
  {EXIT_OK}  the run succeeded (with --until approval: the run waits for a person to approve)
  {EXIT_OPERATIONAL}  the run failed, timed out or was cancelled
  {EXIT_INVALID}  invalid input: its preflight refused the run spec or data, an unknown run, bad options
  {EXIT_STILL_RUNNING}  still running when --timeout passed (watch it again: nothing is wrong)
  {EXIT_LOST}  AWS could not be reached or refused for --give-up-after seconds: the outcome is unknown
 {EXIT_INTERRUPTED}  stopped with Ctrl-C (the run goes on)
"""
UNTIL_END: Final = "end"
UNTIL_APPROVAL: Final = "approval"
UNTIL: Final = (UNTIL_END, UNTIL_APPROVAL)
DEFAULT_GIVE_UP_AFTER: Final = 600.0
_FIRST_RETRY: Final = 2.0
_MAX_RETRY: Final = 60.0


# --------------------------------------------------------------------------------------------------
# What one look at the run shows
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """One look at a run, in words: what the panel, the log line and the JSON line show."""

    run_id: str
    environment: str
    region: str
    status: str
    stage: str
    group: str
    at: dt.datetime
    elapsed: float | None
    in_stage: float | None
    stage_limit: float | None
    time_scale: float
    gates: tuple[str, ...]
    waiting_for: str
    deadline: str
    cost: money.Money
    next: tuple[str, ...]
    failure: str | None
    finished: bool
    waits_for_a_person: bool
    exit_code: int

    def key(self) -> tuple[Any, ...]:
        """What counts as a change: never the clock or a cost that grows by the hour."""
        return (self.status, self.stage, self.gates, self.waiting_for, self.failure)

    def time_text(self) -> str:
        parts = [f"{output.duration(self.elapsed)} elapsed"]
        if self.in_stage is not None and not self.finished:
            text = f"{output.duration(self.in_stage)} in this stage"
            if self.stage_limit:
                text += f" (at most {output.duration(self.stage_limit / self.time_scale)}"
                if self.time_scale != 1:
                    text += f"; {output.duration(self.stage_limit)} of sandbox time"
                text += ")"
            parts.append(text)
        if self.deadline:
            parts.append(self.deadline)
        return " · ".join(parts)

    def line(self) -> str:
        """One line for logs: time, elapsed, status and stage, then what changed."""
        parts = [
            f"{output.utc_seconds(self.at)} [{output.duration(self.elapsed)}] {self.status}: {self.stage}"
        ]
        if self.gates:
            parts.append(", ".join(self.gates))
        if self.waiting_for:
            parts.append(f"waits for {self.waiting_for}")
        if self.deadline:
            parts.append(self.deadline)
        if self.failure:
            parts.append(self.failure)
        parts.append(f"cost so far {self.cost}")
        if self.next:
            parts.append(f"next: {self.next[0]}")
        return " | ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": "ended" if self.finished else "changed",
            "at": output.iso(self.at),
            "runId": self.run_id,
            "environment": self.environment,
            "status": self.status,
            "stage": self.stage,
            "stageGroup": self.group,
            "elapsedSeconds": self.elapsed,
            "stageSeconds": self.in_stage,
            "stageLimitSeconds": self.stage_limit,
            "gates": list(self.gates),
            "waitingFor": self.waiting_for or None,
            "waitsForAPerson": self.waits_for_a_person,
            "deadline": self.deadline or None,
            "costSoFar": self.cost.to_dict(),
            "costSoFarText": str(self.cost),
            "failure": self.failure,
            "next": list(self.next),
        }

    def panel(self) -> RenderableType:
        """The live view: a panel as wide as the terminal, each value wrapping inside it."""
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(ratio=1, overflow="fold")
        style = {"SUCCEEDED": "green", "RUNNING": "cyan"}.get(self.status, "red")
        stage = Text(self.status, style=f"bold {style}")
        stage.append(f"  {self.stage}")
        if self.group and self.group != self.stage:
            stage.append(f"  ({self.group})", style="dim")
        grid.add_row("Run", Text(f"{self.run_id} (environment {self.environment}, {self.region})"))
        grid.add_row("Stage", stage)
        grid.add_row("Time", Text(self.time_text()))
        if self.gates:
            grid.add_row("Gates", Text(" · ".join(self.gates)))
        if self.waiting_for:
            grid.add_row(
                "Waits for", Text(self.waiting_for, style="bold yellow" if self.waits_for_a_person else "")
            )
        if self.failure:
            grid.add_row("Failure", Text(self.failure, style="red"))
        grid.add_row("Cost so far", Text(str(self.cost)))
        for i, command in enumerate(self.next):
            grid.add_row("Next" if i == 0 else "", Text(command, style="bold" if i == 0 else ""))
        return Panel(
            grid, title=Text("bedrock-customize watch", style="dim"), title_align="left", expand=True
        )


def _gates(view: RunView) -> tuple[str, ...]:
    gates: list[str] = []
    loss = view.loss
    if loss:
        validation = loss.get("validationLoss")
        gates.append(
            ("loss passed" if loss.get("passed") else "loss failed")
            + (f" (validation {run_text.num(validation)})" if validation is not None else "")
        )
    for slot, what in (("evaluationApproval", "purchase to evaluate"), ("approval", "purchase to serve")):
        answer = view.state.get(slot)
        if isinstance(answer, dict) and "approved" in answer:
            gates.append(f"{what} {'approved' if answer.get('approved') else 'rejected'}")
    evaluation = view.evaluation
    if evaluation:
        custom, base = evaluation.get("custom") or {}, evaluation.get("base") or {}
        gates.append(
            f"quality {run_text.verdict(evaluation)} "
            f"({run_text.num(custom.get('quality'))} vs base {run_text.num(base.get('quality'))})"
        )
    if view.judge:
        gates.append(f"LLM judge {run_text.verdict(view.judge)}")
    if view.smoke:
        gates.append("smoke check " + ("passed" if view.smoke.get("passed") else "failed"))
    return tuple(gates)


def _waiting_for(view: RunView) -> str:
    """What the run waits for now, without a clock in it (a change is a change of words)."""
    if view.finished:
        return ""
    if view.waiting_for_approval:
        what = "to evaluate on" if view.approval_stage == run_text.EVALUATION_STAGE else "to serve with"
        return f"you: approve or reject buying throughput {what}"
    group = workflow_stages.group(view.current_state)
    label = view.stage
    if view.queue is not None:
        # Each refusal is news: the attempt number changes the words.
        return f"a training slot ({run_text.queue_text(view)})"
    if group == workflow_stages.TRAINING and view.job is not None:
        details = [
            f"{name} {view.job.details[key].get('status')}"
            for key, name in (
                ("validationDetails", "validation"),
                ("dataProcessingDetails", "data processing"),
                ("trainingDetails", "training"),
            )
            if isinstance(view.job.details.get(key), dict) and view.job.details[key].get("status")
        ]
        return f"Bedrock's training job: {view.job.status or 'starting'}" + (
            f" ({', '.join(details)})" if details else ""
        )
    if label == workflow_stages.label("Check the evaluation vehicle"):
        what = "deployment" if view.vehicle_kind == run_text.DEPLOYMENT else "throughput"
        return f"the evaluation {what} to come online ({view.vehicle_status or 'requested'})"
    if label == workflow_stages.label("Check the throughput"):
        status = view.throughput.status if view.throughput is not None else "requested"
        return f"the serving throughput to come online ({status})"
    if group == workflow_stages.JUDGE:
        jobs = ((view.plan.get("judge") or {}).get("jobs")) or {}
        models = " and ".join(", ".join(jobs).rsplit(", ", 1)) if jobs else "both models"
        return f"the LLM judge's Bedrock evaluation jobs ({models})"
    if label == workflow_stages.label("Compare the custom model with its base model"):
        return "the custom and the base model to answer the evaluation prompts"
    return ""


def _stage_limit(view: RunView) -> float | None:
    """How long the workflow gives the current stage, in its own time (None: no limit of its own)."""
    plan = view.plan
    label = view.stage

    def waits(section: Any) -> float | None:
        schedule = (section or {}).get("pollSchedule") if isinstance(section, dict) else None
        if isinstance(schedule, list) and len(schedule) > 1:
            return float(sum(schedule[:-1]))
        return None

    if view.queue is not None:
        return JOB_QUEUE_SCHEDULE.nominal_total_s
    if workflow_stages.group(view.current_state) == workflow_stages.TRAINING and view.job is not None:
        timeout = plan.get("jobTimeoutSeconds")
        return float(timeout) if isinstance(timeout, int | float) else None
    if label == workflow_stages.label("Check the evaluation vehicle"):
        return waits(plan.get("vehicle"))
    if label == workflow_stages.label("Check the throughput"):
        return waits(plan.get("serving"))
    if label == workflow_stages.label("Check the judge"):
        return waits(plan.get("judge"))
    if view.waiting_for_approval:
        timeout = (plan.get("approval") or {}).get("timeoutSeconds")
        return float(timeout) if isinstance(timeout, int | float) else None
    return None


def _deadline(view: RunView) -> str:
    if not view.waiting_for_approval:
        return ""
    request = view.approval_request or {}
    requested = output.parse_time(request.get("requestedAt"))
    text = run_text.deadline_text(view, requested, output.parse_time(request.get("expiresAt")))
    return f"answer before it {text.removeprefix('expires ')}" if text.startswith("expires") else text


def _next(view: RunView) -> list[str]:
    """What to run next from the watch: answer a wait, look closer while it runs, or what is left
    to do once it ended."""
    status = hints.command("status", view.run_id, env=view.environment)
    if view.waiting_for_approval:
        return run_text.next_steps(view)[:2]
    if not view.finished:
        return [status]
    return run_text.next_steps(view) or [status]


def snapshot(view: RunView) -> Snapshot:
    steps = _next(view)
    since = view.stage_since or view.current_state_since
    return Snapshot(
        run_id=view.run_id,
        environment=view.environment,
        region=view.region,
        status=view.status,
        stage=view.stage,
        group="" if view.finished else workflow_stages.group(view.current_state),
        at=view.now,
        elapsed=view.elapsed_seconds(),
        in_stage=(view.now - since).total_seconds() if since is not None else None,
        stage_limit=_stage_limit(view),
        time_scale=view.time_scale,
        gates=_gates(view),
        waiting_for=_waiting_for(view),
        deadline=_deadline(view),
        cost=view.cost_so_far(),
        next=tuple(steps),
        failure=run_text.failure_text(view) if view.finished else None,
        finished=view.finished,
        waits_for_a_person=view.waiting_for_approval,
        exit_code=view.outcome_exit_code(),
    )


# --------------------------------------------------------------------------------------------------
# Where it is shown
# --------------------------------------------------------------------------------------------------


class Display:
    """How a watch shows changes and retries (a log by default: one line per change)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        yield

    def show(self, shot: Snapshot) -> None:
        self.stream.write(shot.line() + "\n")
        self.stream.flush()

    def trouble(self, at: dt.datetime, message: str) -> None:
        self.stream.write(f"{output.utc_seconds(at)} {message}\n")
        self.stream.flush()


class JsonLines(Display):
    def show(self, shot: Snapshot) -> None:
        self.stream.write(json.dumps(shot.to_dict(), ensure_ascii=False) + "\n")
        self.stream.flush()

    def trouble(self, at: dt.datetime, message: str) -> None:
        self.stream.write(json.dumps({"event": "retrying", "at": output.iso(at), "message": message}) + "\n")
        self.stream.flush()


class LivePanel(Display):
    """The panel, redrawn in place on a terminal; retries print above it, on lines of their own."""

    def __init__(self, stream: TextIO, console: Console | None = None) -> None:
        super().__init__(stream)
        self.console = console or _terminal_console(stream)
        self._live: Any = None

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        from rich.live import Live

        with Live(
            console=self.console,
            auto_refresh=False,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
            vertical_overflow="visible",
        ) as live:
            self._live = live
            try:
                yield
            finally:
                self._live = None

    def show(self, shot: Snapshot) -> None:
        if self._live is None:
            self.console.print(shot.panel())
            return
        self._live.update(shot.panel(), refresh=True)

    def trouble(self, at: dt.datetime, message: str) -> None:
        from rich.text import Text

        self.console.print(Text(f"{output.utc_seconds(at)} {message}", style="yellow"))


def _terminal_console(stream: TextIO) -> Console:
    from rich.console import Console

    return Console(file=stream, highlight=False, markup=False, emoji=False)


def display_for(stream: TextIO, *, as_json: bool, live: bool | None = None) -> Display:
    if as_json:
        return JsonLines(stream)
    if live is None:
        live = output.is_terminal(stream)
    return LivePanel(stream) if live else Display(stream)


# --------------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """How a watch ended: the last look at the run (None if there never was one) and the exit code."""

    view: RunView | None
    exit_code: int
    reason: str
    error: OperateError | None = None
    retries: int = 0
    shown: list[Snapshot] = field(default_factory=list)


def _describe(exc: Exception) -> OperateError | None:
    if isinstance(exc, OperateError):
        return exc
    return describe_aws_error(exc)


def follow(
    fetch: Callable[[], RunView],
    *,
    display: Display,
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    timeout: float | None = None,
    until: str = UNTIL_END,
    give_up_after: float = DEFAULT_GIVE_UP_AFTER,
) -> Outcome:
    """Look at the run every ``interval`` seconds until it ends (or waits for a person, with
    ``until="approval"``), showing each change; transient AWS trouble is retried with backoff for
    ``give_up_after`` seconds, then :data:`EXIT_LOST`."""
    started = clock()
    last_key: tuple[Any, ...] | None = None
    view: RunView | None = None
    failing_since: float | None = None
    retry_wait = _FIRST_RETRY
    retries = 0
    shown: list[Snapshot] = []
    with display.running():
        while True:
            try:
                view = fetch()
            except InvalidInputError:
                raise
            except Exception as exc:
                error = _describe(exc)
                if error is None:
                    raise
                if failing_since is None:
                    failing_since = clock()
                waited = clock() - failing_since
                passes = transient(exc)
                if not passes or waited >= give_up_after:
                    why = "" if passes else " (not an error that passes by itself)"
                    return Outcome(
                        view,
                        EXIT_LOST,
                        f"gave up after {output.duration(waited)}{why}: {error.message}",
                        error,
                        retries,
                        shown,
                    )
                wait = min(retry_wait, _MAX_RETRY, max(1.0, give_up_after - waited))
                retries += 1
                display.trouble(
                    now(),
                    f"cannot read the run ({error.message}); retrying in {output.duration(wait)}, "
                    f"giving up after {output.duration(give_up_after)} without an answer",
                )
                retry_wait *= 2
                sleep(wait)
                continue
            if failing_since is not None:
                display.trouble(
                    now(), f"reading the run again after {retries} retr{'y' if retries == 1 else 'ies'}"
                )
            failing_since, retry_wait = None, _FIRST_RETRY
            shot = snapshot(view)
            if shot.key() != last_key:
                display.show(shot)
                shown.append(shot)
                last_key = shot.key()
            elif isinstance(display, LivePanel):
                display.show(shot)  # the clock and the cost move even when nothing else does
            if view.finished:
                return Outcome(
                    view, view.outcome_exit_code(), f"the run ended {view.status}", None, retries, shown
                )
            if until == UNTIL_APPROVAL and view.waiting_for_approval:
                return Outcome(view, EXIT_OK, "the run waits for a person to approve", None, retries, shown)
            if timeout is not None and clock() - started >= timeout:
                return Outcome(
                    view, EXIT_STILL_RUNNING, f"still {view.status} after --timeout", None, retries, shown
                )
            sleep(interval)

"""Human output (tables, money, time) and machine output (--json), plus confirmations.

Rules every command follows:

- results go to stdout: a table or text by default, one JSON document with ``--json``;
- progress, prompts and warnings go to stderr, so ``--json`` output stays parseable;
- an unknown price prints as ``unknown``, never as ``$0.00`` (a zero reads as free).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, Final, TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline.operate.errors import InvalidInputError

DASH: Final = "-"
HOURS_PER_DAY: Final = 24


def utc(value: dt.datetime | None) -> str:
    if value is None:
        return DASH
    return as_utc(value).strftime("%Y-%m-%d %H:%M UTC")


def utc_seconds(value: dt.datetime | None) -> str:
    """To the second: for deadlines minutes away (the sandbox's)."""
    if value is None:
        return DASH
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")


def as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def iso(value: dt.datetime | None) -> str | None:
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def parse_time(value: Any) -> dt.datetime | None:
    """A timestamp from boto3 (datetime), a JSON document (ISO string) or epoch seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return as_utc(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    if isinstance(value, str):
        try:
            return as_utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def duration(seconds: float | None) -> str:
    """``3d 4h``, ``2h 05m``, ``7m 30s``, ``45s``."""
    if seconds is None:
        return DASH
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def short_arn(arn: str | None) -> str:
    """The resource id at the end of an ARN (what people compare), or '-'."""
    if not arn:
        return DASH
    return arn.rsplit("/", 1)[-1] if "/" in arn else arn


# Without a terminal (a pipe, a file, CI logs) output is never wrapped: a row stays one line for
# grep and friends, unless COLUMNS asks for a width.
UNWRAPPED_WIDTH: Final = 4096


def width_of(stream: TextIO | None = None) -> int | None:
    """The terminal's width for output to ``stream`` (stdout), or None when it is not a terminal."""
    target = stream or sys.stdout
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        if target.isatty():
            return os.get_terminal_size(target.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None
    return None


def console(stream: TextIO | None = None, *, width: int | None = None) -> Console:
    """A rich Console for ``stream``: the terminal's width on a terminal, unwrapped elsewhere.

    Text is never read as rich markup or highlighted: run ids, paths and spec values may hold
    brackets, and colour is kept for the live view.
    """
    target = stream or sys.stdout
    return Console(
        file=target,
        width=width or width_of(target) or UNWRAPPED_WIDTH,
        highlight=False,
        markup=False,
        emoji=False,
        no_color=not is_terminal(target),
        soft_wrap=False,
    )


def is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def render(renderable: Any, stream: TextIO | None = None, *, width: int | None = None) -> str:
    """What ``renderable`` prints as on ``stream`` (stdout), as plain text without trailing spaces."""
    out = io.StringIO()
    target = console(out, width=width or width_of(stream or sys.stdout) or UNWRAPPED_WIDTH)
    target.print(renderable)
    return "\n".join(line.rstrip() for line in out.getvalue().rstrip("\n").split("\n"))


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    right: Iterable[int] = (),
    width: int | None = None,
) -> str:
    """A table (rich) that fits the terminal: long cells wrap inside their column, never cut."""
    right_cols = set(right)
    grid = Table(
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0), header_style="bold"
    )
    for i, header in enumerate(headers):
        grid.add_column(header, justify="right" if i in right_cols else "left", overflow="fold")
    for row in rows:
        grid.add_row(*(Text(DASH if cell is None else str(cell)) for cell in row))
    return render(grid, width=width)


def table_width(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """How wide the table is with no cell wrapped (what ``table`` needs to show every row on one line)."""
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    for header in headers:
        grid.add_column(header, no_wrap=True)
    for row in rows:
        grid.add_row(*(Text(DASH if cell is None else str(cell)) for cell in row))
    measured = Console(width=UNWRAPPED_WIDTH, file=io.StringIO()).measure(grid)
    return int(measured.maximum)


def key_values(pairs: Iterable[tuple[str, Any]], *, width: int | None = None) -> str:
    """Aligned ``label: value`` lines; values may span several lines and wrap at the terminal's width."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in pairs:
        grid.add_row(Text(f"{label}:"), Text(DASH if value is None else str(value)))
    return render(grid, width=width)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return iso(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, default=_json_default)


def emit_json(doc: Any, stream: TextIO | None = None) -> None:
    print(dumps(doc), file=stream or sys.stdout)


def note(text: str) -> None:
    """Progress and warnings: stderr, so stdout stays the result."""
    print(text, file=sys.stderr, flush=True)


def confirm(question: str, *, assume_yes: bool, what: str = "this") -> bool:
    """Ask y/N on the terminal. Without a terminal, refuse unless --yes was given."""
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        raise InvalidInputError(
            f"{what} needs confirmation and there is no terminal to ask on",
            hint="run it interactively, or pass --yes to confirm in CI",
        )
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")

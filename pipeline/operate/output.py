"""Human output (tables, money, time) and machine output (--json), plus confirmations.

Rules every command follows:

- results go to stdout: a table or text by default, one JSON document with ``--json``;
- progress, prompts and warnings go to stderr, so ``--json`` output stays parseable;
- an unknown price prints as ``unknown``, never as ``$0.00`` (a zero reads as free).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TextIO

from pipeline.costs import format_usd
from pipeline.operate.errors import InvalidInputError

UNKNOWN: Final = "unknown"
DASH: Final = "-"
HOURS_PER_DAY: Final = 24


def usd(value: float | None) -> str:
    return format_usd(value) if value is not None else UNKNOWN


def usd_rate(value: float | None, unit: str) -> str:
    return f"{format_usd(value)}/{unit}" if value is not None else UNKNOWN


def utc(value: dt.datetime | None) -> str:
    if value is None:
        return DASH
    return as_utc(value).strftime("%Y-%m-%d %H:%M UTC")


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


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, right: Iterable[int] = ()) -> str:
    """A plain-text table; cells may hold several lines (split on newlines)."""
    right_cols = set(right)
    cell_rows = [[str(c) if c is not None else DASH for c in row] for row in rows]
    split_rows = [[cell.split("\n") for cell in row] for row in cell_rows]
    widths = [len(h) for h in headers]
    for row in split_rows:
        for i, lines in enumerate(row):
            widths[i] = max(widths[i], *(len(line) for line in lines))

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if i in right_cols else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    out = [line(list(headers)), line(["-" * w for w in widths])]
    for row in split_rows:
        height = max(len(lines) for lines in row)
        for n in range(height):
            out.append(line([lines[n] if n < len(lines) else "" for lines in row]))
    return "\n".join(out)


def key_values(pairs: Iterable[tuple[str, Any]]) -> str:
    """Aligned ``label: value`` lines; values may span several lines."""
    items = [(label, DASH if value is None else str(value)) for label, value in pairs]
    width = max((len(label) for label, _ in items), default=0) + 1
    lines = []
    for label, value in items:
        first, *rest = value.split("\n")
        lines.append(f"{label + ':':<{width}} {first}")
        lines += [f"{'':<{width}} {more}" for more in rest]
    return "\n".join(lines)


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


@dataclass(frozen=True)
class Money:
    """A sum of cost parts, some of which may be unknown: rendered as 'at least' rather than a lie."""

    known: float
    unknown_parts: tuple[str, ...] = ()

    @classmethod
    def of(cls, parts: Mapping[str, float | None]) -> Money:
        return cls(
            sum(v for v in parts.values() if v is not None),
            tuple(name for name, v in parts.items() if v is None),
        )

    @property
    def complete(self) -> bool:
        return not self.unknown_parts

    def __str__(self) -> str:
        if self.complete:
            return format_usd(self.known)
        if self.known == 0:
            return f"{UNKNOWN} ({', '.join(self.unknown_parts)} unknown)"
        return f">= {format_usd(self.known)} ({', '.join(self.unknown_parts)} unknown)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "knownUsd": round(self.known, 4),
            "complete": self.complete,
            "usd": round(self.known, 4) if self.complete else None,
            "unknownParts": list(self.unknown_parts),
        }

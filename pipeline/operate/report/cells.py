"""How a value of a run's artifacts reads in a report cell: a number, a latency, a price, a
difference. A value that is missing or not a number reads "unknown", never 0."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline import money


def number_cell(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return money.UNKNOWN
    return f"{value:,.{digits}f}"


def ms_cell(value: Any) -> str:
    return (
        f"{value:,.0f} ms"
        if isinstance(value, int | float) and not isinstance(value, bool)
        else money.UNKNOWN
    )


def diff_cell(custom: Any, base: Any, digits: int = 3, suffix: str = "") -> str:
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (custom, base)):
        return ""
    return f"{custom - base:+,.{digits}f}{suffix}"


def lookup(doc: Mapping[str, Any] | None, *path: str) -> Any:
    value: Any = doc
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value

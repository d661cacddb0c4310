"""What every section parser of a run spec shares: the problem list it writes into and the typed
leaves (a section mapping with known keys, an integer or a number in range).

Every parser collects problems instead of raising, so one ``check`` shows them all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.problems import DASH, Problem, did_you_mean, show


class Fields:
    """The problems found so far in one run spec, and the checks of its leaf values.

    ``require_s3``: every dataset must already be an s3:// URI (inside the workflow, where local
    paths mean nothing).
    """

    def __init__(self, *, require_s3: bool = False) -> None:
        self.require_s3 = require_s3
        self.problems: list[Problem] = []

    def problem(self, field_name: str, value: Any, allowed: str, message: str) -> None:
        self.problems.append(Problem(field_name, value, allowed, message))

    def unknown_keys(self, data: Mapping[Any, Any], allowed: Sequence[str], prefix: str) -> None:
        for key in data:
            if key not in allowed:
                where = f"{prefix}.{key}" if prefix else str(key)
                hint = (
                    "; the throughput section became serving: {mode: provisioned, modelUnits, commitment} "
                    "(or mode: on-demand | none)"
                    if where == "throughput"
                    else did_you_mean(str(key), allowed)
                )
                self.problem(
                    where,
                    key,
                    ", ".join(allowed),
                    f"unknown key {key!r}{hint}; allowed: {', '.join(allowed)}",
                )

    def section(self, value: Any, name: str, keys: Sequence[str]) -> Mapping[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.problem(
                name,
                value,
                f"a mapping with {', '.join(keys)}",
                f"{name} must be a mapping, got {kind(value)}",
            )
            return None
        self.unknown_keys(value, keys, name)
        return value

    def integer(
        self, value: Any, field_name: str, low: int | None, high: int | None, *, required: bool = False
    ) -> int | None:
        allowed = value_range(low, high)
        if value is None:
            if required:
                self.problem(field_name, None, allowed, f"{field_name} is required ({allowed})")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(
                field_name, value, allowed, f"{field_name}={show(value)} must be an integer ({allowed})"
            )
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            self.problem(field_name, value, allowed, f"{field_name}={value} is out of range {allowed}")
            return None
        return value

    def number(
        self,
        value: Any,
        field_name: str,
        low: float | None,
        high: float | None,
        *,
        exclusive_min: bool = False,
    ) -> float | None:
        allowed = (
            f"> {low:g}" if exclusive_min and high is None and low is not None else value_range(low, high)
        )
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.problem(
                field_name, value, allowed, f"{field_name}={show(value)} must be a number ({allowed})"
            )
            return None
        too_low = low is not None and (value <= low if exclusive_min else value < low)
        if too_low or (high is not None and value > high):
            self.problem(field_name, value, allowed, f"{field_name}={value} is out of range {allowed}")
            return None
        return float(value)


def value_range(low: float | None, high: float | None) -> str:
    """How a range reads in a problem: "1{DASH}10", "≥ 0", "≤ 1" or "any"."""
    if low is not None and high is not None:
        return f"{low:g}{DASH}{high:g}"
    if low is not None:
        return f"≥ {low:g}"
    if high is not None:
        return f"≤ {high:g}"
    return "any"


def kind(value: Any) -> str:
    """What a value of the wrong type is, in words: "a mapping", "a list", "nothing"."""
    if value is None:
        return "nothing"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)

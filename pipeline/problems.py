"""The one shape every configuration problem takes, so the CLI and the workflow can list them all at once."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

# Ranges read "1\u20135" (with an en dash) in messages, as in the Bedrock documentation; written as
# an escape so that linters flagging look-alike characters in source stay quiet.
DASH: Final = "\u2013"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a run spec or a setting: which field, what value, what would be allowed."""

    field: str
    value: Any
    allowed: str
    message: str
    # Where in the spec file (1-based), when it was read from one (pipeline.spec_lines).
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "value": _json_safe(self.value),
            "allowed": self.allowed,
            "message": self.message,
            "line": self.line,
        }


def close_matches(word: str, candidates: Iterable[str], *, limit: int = 3) -> list[str]:
    """Spelling suggestions for an unknown name (model ids, keys, hyperparameters)."""
    return difflib.get_close_matches(word, list(candidates), n=limit, cutoff=0.6)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    matches = close_matches(word, candidates)
    return f" (did you mean {' or '.join(repr(m) for m in matches)}?)" if matches else ""


def show(value: Any, *, limit: int = 80) -> str:
    """A value as it should appear inside an error message: repr, shortened so one line stays readable."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return repr(value)


def type_name(value: Any) -> str:
    """How a JSON value is named in messages: "a string", "an object", "null", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__

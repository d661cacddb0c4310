"""Where each field of a run spec file is: the line a problem points at (``run.yaml:14: ...``).

The parser (:mod:`pipeline.runspec`) works on plain data, as the workflow does, and names a
problem by its field (``hyperParameters.epochCount``, ``validation[1]``, ``evaluation.judge.bars``).
The CLI reads the file again as YAML nodes, whose marks say where each key and list item starts,
and puts that line on each problem. A field that is absent (a required key left out) points at
the section that should hold it; a problem with no field at all (the file itself) has no line.
JSON is read the same way (YAML's flow style covers it).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from pipeline.problems import Problem

# The last segment of a field path: ".key" or "[3]".
_LAST: Final = re.compile(r"(\.[^.\[\]]*|\[\d+\])$")


def field_lines(text: str) -> dict[str, int]:
    """``{field path: 1-based line}`` for every key and list item of a YAML (or JSON) document;
    empty when the text does not parse (its syntax error carries its own line)."""
    import yaml  # deferred: the Lambda runtime has no PyYAML and never reads YAML

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}
    if root is not None:
        _walk(root, "", lines)
    return lines


def _walk(node: Any, path: str, lines: dict[str, int]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(getattr(key_node, "value", ""))
            child = f"{path}.{key}" if path else key
            lines.setdefault(child, key_node.start_mark.line + 1)
            _walk(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = f"{path}[{index}]"
            lines.setdefault(child, item.start_mark.line + 1)
            _walk(item, child, lines)


def line_of(lines: Mapping[str, int], field: str) -> int | None:
    """The line of ``field``, else of the nearest section that holds it."""
    while field:
        if field in lines:
            return lines[field]
        shorter = _LAST.sub("", field)
        if shorter == field:
            return None
        field = shorter
    return None


def located(problems: Iterable[Problem], path: str | Path) -> list[Problem]:
    """The problems with the line of their field in the spec file (unchanged when it cannot be read)."""
    problems = list(problems)
    if all(p.line is not None or not p.field for p in problems):
        return problems
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return problems
    lines = field_lines(text)
    return [
        p if p.line is not None or not p.field else dataclasses.replace(p, line=line_of(lines, p.field))
        for p in problems
    ]

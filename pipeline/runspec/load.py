"""Run spec files: YAML (``.yaml``/``.yml``) or JSON read as plain data, then validated.

A syntax error or a duplicate key is a problem with the line it is on. PyYAML is imported only
when a YAML file is read: the Lambda runtime has no PyYAML and only ever receives JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.problems import Problem
from pipeline.runspec.model import RunSpec, RunSpecError
from pipeline.runspec.parse import parse_run_spec


def load_run_spec_data(path: str | Path) -> Any:
    """Read a spec file as plain data (YAML for .yaml/.yml, JSON otherwise); syntax errors → RunSpecError.

    Duplicate keys are errors: YAML and JSON parsers otherwise keep the last one silently.
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunSpecError(
            [Problem("", source, "an existing file", f"run spec file {source} does not exist")], source
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunSpecError(
            [Problem("", source, "a readable UTF-8 file", f"cannot read {source}: {exc}")], source
        ) from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        return _load_yaml(text, source)
    return _load_json(text, source)


def load_run_spec(path: str | Path) -> RunSpec:
    """Load and validate a spec file; relative dataset paths are relative to the file's folder."""
    path = Path(path)
    data = load_run_spec_data(path)
    parsed = parse_run_spec(data, base_dir=path.resolve().parent)
    if parsed.spec is None:
        raise RunSpecError(parsed.problems, str(path))
    return parsed.spec


class _DuplicateKeyError(ValueError):
    pass


def _load_json(text: str, source: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise _DuplicateKeyError(f"duplicate key {key!r}")
            result[key] = value
        return result

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except _DuplicateKeyError as exc:
        raise RunSpecError(
            [Problem("", source, "unique keys", f"{source} is not valid: {exc}")], source
        ) from exc
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} (column {exc.colno})"
        raise RunSpecError([Problem("", source, "valid JSON", message, exc.lineno)], source) from exc


def _load_yaml(text: str, source: str) -> Any:
    import yaml  # deferred: the Lambda runtime has no PyYAML and never reads YAML

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    mark = key_node.start_mark
                    raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        detail = getattr(exc, "problem", None) or str(exc)
        column = f" (column {mark.column + 1})" if mark is not None else ""
        line = mark.line + 1 if mark is not None else None
        raise RunSpecError(
            [Problem("", source, "valid YAML", f"not valid YAML: {detail}{column}", line)], source
        ) from exc

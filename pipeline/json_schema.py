"""A documented subset of JSON Schema, with no third-party code (the grader Lambda ships none).

``check_schema`` refuses a schema that uses anything not implemented (so a grader never silently
ignores a rule), ``schema_violations`` says why a value breaks a checked schema, and
``parse_json_answer`` reads a model's answer as JSON (a surrounding ```json fence removed).
Supported keywords: ``SCHEMA_KEYWORDS``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from pipeline.problems import type_name


class UnsupportedSchemaError(ValueError):
    """A schema the validator cannot apply faithfully."""


SCHEMA_KEYWORDS: Final = frozenset(
    {
        "$schema",
        "$id",
        "title",
        "description",
        "examples",
        "default",
        "type",
        "enum",
        "const",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "anyOf",
        "oneOf",
        "allOf",
    }
)
_TYPES: Final[Mapping[str, Callable[[Any], bool]]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_FENCE: Final = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n?(?P<body>.*?)\n?```$", re.DOTALL)


def check_schema(schema: Any, where: str = "json_schema") -> None:
    """Raise UnsupportedSchemaError when ``schema`` uses anything the validator does not implement."""
    if isinstance(schema, bool):
        return
    if not isinstance(schema, Mapping):
        raise UnsupportedSchemaError(f"{where} must be a JSON Schema object, got {type_name(schema)}")
    unknown = sorted(set(schema) - SCHEMA_KEYWORDS)
    if unknown:
        raise UnsupportedSchemaError(
            f"{where} uses {', '.join(unknown)}, which the built-in json-schema grader does not "
            f"implement (supported: {', '.join(sorted(SCHEMA_KEYWORDS))})"
        )
    types = schema.get("type")
    for name in types if isinstance(types, list) else [types] if types is not None else []:
        if name not in _TYPES:
            raise UnsupportedSchemaError(f"{where}.type {name!r} is not a JSON Schema type")
    if "pattern" in schema:
        try:
            re.compile(str(schema["pattern"]))
        except re.error as error:
            raise UnsupportedSchemaError(f"{where}.pattern is not a regular expression: {error}") from None
    for key, sub in (schema.get("properties") or {}).items():
        check_schema(sub, f"{where}.properties.{key}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), Mapping):
            check_schema(schema[key], f"{where}.{key}")
    for key in ("anyOf", "oneOf", "allOf"):
        for i, sub in enumerate(schema.get(key) or []):
            check_schema(sub, f"{where}.{key}[{i}]")


def schema_violations(value: Any, schema: Any, where: str = "$") -> list[str]:
    """Why ``value`` breaks ``schema`` (empty: valid). ``schema`` passed ``check_schema``."""
    if schema is True:
        return []
    if schema is False:
        return [f"{where}: no value is allowed here"]
    problems: list[str] = []
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        if not any(_TYPES[name](value) for name in names):
            return [f"{where}: expected {' or '.join(names)}, got {type_name(value)}"]
    if "const" in schema and value != schema["const"]:
        problems.append(f"{where}: must be {json.dumps(schema['const'])}")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: must be one of {json.dumps(schema['enum'])}")
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key in schema.get("required") or []:
            if key not in value:
                problems.append(f"{where}: missing required {key!r}")
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                problems += schema_violations(item, properties[key], f"{where}.{key}")
            elif extra is False:
                problems.append(f"{where}: unexpected key {key!r}")
            elif isinstance(extra, Mapping):
                problems += schema_violations(item, extra, f"{where}.{key}")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            problems.append(f"{where}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append(f"{where}: more than {schema['maxItems']} items")
        if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True) for v in value}) != len(value):
            problems.append(f"{where}: items are not unique")
        if isinstance(schema.get("items"), Mapping):
            for i, item in enumerate(value):
                problems += schema_violations(item, schema["items"], f"{where}[{i}]")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            problems.append(f"{where}: shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append(f"{where}: longer than {schema['maxLength']} characters")
        if "pattern" in schema and re.search(str(schema["pattern"]), value) is None:
            problems.append(f"{where}: does not match {schema['pattern']!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        for key, fails in (
            ("minimum", number.__lt__),
            ("maximum", number.__gt__),
            ("exclusiveMinimum", number.__le__),
            ("exclusiveMaximum", number.__ge__),
        ):
            if key in schema and fails(float(schema[key])):
                problems.append(f"{where}: breaks {key} {schema[key]}")
    if "allOf" in schema:
        for sub in schema["allOf"]:
            problems += schema_violations(value, sub, where)
    if "anyOf" in schema and not any(not schema_violations(value, sub, where) for sub in schema["anyOf"]):
        problems.append(f"{where}: matches none of anyOf")
    if (
        "oneOf" in schema
        and sum(1 for sub in schema["oneOf"] if not schema_violations(value, sub, where)) != 1
    ):
        problems.append(f"{where}: does not match exactly one of oneOf")
    return problems


def parse_json_answer(text: str) -> tuple[bool, Any]:
    """(parsed, value): the answer as JSON, a surrounding ```json fence removed."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group("body").strip()
    try:
        return True, json.loads(body)
    except ValueError:
        return False, None

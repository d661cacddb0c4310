"""The REST-JSON wire format of an AWS service, driven by botocore's own service model.

The simulated Bedrock answers HTTP requests exactly where the real one would, so every caller
(the state machine's ``aws-sdk:bedrock:*`` tasks, the ``.sync`` job integration, the handlers'
boto3 clients) goes through botocore's real serializer and parser. Routes, field names, status
codes, timestamp formats and error codes all come from ``botocore/data/<service>/.../service-2.json``
(bedrock 2023-04-20 and bedrock-runtime 2023-09-30 in the pinned botocore), not from hand-written
copies. Responses are checked against the output shape: a field the real API does not have is a
bug in the simulation and raises instead of silently vanishing in botocore's parser.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

import botocore.session
from botocore.model import OperationModel, Shape

HttpResponse = tuple[int, dict[str, str], bytes]

_DEFAULT_ERROR_STATUS: Final = {
    "ThrottlingException": 429,
    "TooManyRequestsException": 429,
    "ServiceUnavailableException": 503,
    "InternalServerException": 500,
    "ServiceException": 500,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
}


class ShapeMismatchError(RuntimeError):
    """The simulation produced a value the real API's shape does not allow."""


class ServiceError(Exception):
    """An error response of the simulated service (raised by its handlers, encoded by the codec)."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class Request:
    """One HTTP request as botocore sent it."""

    def __init__(self, method: str, url: str, headers: Mapping[str, str], body: bytes | str | None) -> None:
        self.method = method.upper()
        parts = urlsplit(url)
        self.host = parts.hostname or ""
        self.path = parts.path or "/"
        self.query = parse_qs(parts.query, keep_blank_values=True)
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body.encode("utf-8") if isinstance(body, str) else (body or b"")


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


class RestJsonCodec:
    """Routes, decodes and encodes the requests and responses of one rest-json service."""

    def __init__(self, service_name: str) -> None:
        self.model = _session().get_service_model(service_name)
        if self.model.protocol != "rest-json":
            raise ValueError(f"{service_name} is {self.model.protocol}, not rest-json")
        self.service_name = service_name
        routes = []
        for name in self.model.operation_names:
            operation = self.model.operation_model(name)
            uri = operation.http["requestUri"].split("?", 1)[0]
            literal = len(re.sub(r"\{[^}]+\}", "", uri))
            pattern = re.sub(
                r"\{([^}+]+)(\+?)\}",
                lambda m: f"(?P<{m.group(1)}>{'.+' if m.group(2) else '[^/]+'})",
                re.escape(uri).replace(r"\{", "{").replace(r"\}", "}"),
            )
            routes.append((literal, operation.http["method"].upper(), re.compile(f"^{pattern}/?$"), name))
        # The most literal route first, so /a/{b}/stop wins over /a/{b}.
        self._routes = [(m, p, n) for _, m, p, n in sorted(routes, key=lambda r: -r[0])]

    def operation(self, name: str) -> OperationModel:
        return self.model.operation_model(name)

    def route(self, request: Request) -> tuple[str, dict[str, str]] | None:
        for method, pattern, name in self._routes:
            if method != request.method:
                continue
            match = pattern.match(request.path)
            if match:
                return name, {k: unquote(v) for k, v in match.groupdict().items()}
        return None

    # -- requests --------------------------------------------------------------------------------

    def decode(self, name: str, labels: Mapping[str, str], request: Request) -> dict[str, Any]:
        """The API-level parameters of a request (member names, typed values)."""
        shape = self.operation(name).input_shape
        params: dict[str, Any] = {}
        if shape is None:
            return params
        body: Any = json.loads(request.body) if request.body.strip() else {}
        for member, member_shape in shape.members.items():
            location = member_shape.serialization.get("location")
            wire = member_shape.serialization.get("name", member)
            if location == "uri":
                if wire in labels:
                    params[member] = labels[wire]
            elif location == "querystring":
                if wire in request.query:
                    values = request.query[wire]
                    if member_shape.type_name == "list":
                        params[member] = [_scalar(v, member_shape.member) for v in values]
                    else:
                        params[member] = _scalar(values[0], member_shape)
            elif location == "header":
                if wire.lower() in request.headers:
                    params[member] = _scalar(request.headers[wire.lower()], member_shape)
            elif isinstance(body, dict) and wire in body:
                params[member] = _from_json(body[wire], member_shape)
        return params

    # -- responses -------------------------------------------------------------------------------

    def encode(self, name: str, output: Mapping[str, Any]) -> HttpResponse:
        operation = self.operation(name)
        status = int(operation.http.get("responseCode", 200))
        headers = {"Content-Type": "application/json"}
        shape = operation.output_shape
        if shape is None:
            if output:
                raise ShapeMismatchError(f"{self.service_name}:{name} has no output, got {sorted(output)}")
            return status, headers, b"{}"
        unknown = set(output) - set(shape.members)
        if unknown:
            raise ShapeMismatchError(f"{self.service_name}:{name} output has no member(s) {sorted(unknown)}")
        missing = [m for m in shape.required_members if output.get(m) is None]
        if missing:
            raise ShapeMismatchError(f"{self.service_name}:{name} output lacks required member(s) {missing}")
        body: dict[str, Any] = {}
        for member, value in output.items():
            if value is None:
                continue
            member_shape = shape.members[member]
            location = member_shape.serialization.get("location")
            if location == "header":
                headers[member_shape.serialization.get("name", member)] = str(value)
            elif location == "statusCode":
                status = int(value)
            else:
                body[member_shape.serialization.get("name", member)] = _to_json(
                    value, member_shape, f"{name}.{member}"
                )
        return status, headers, json.dumps(body).encode("utf-8")

    def encode_error(self, error: ServiceError) -> HttpResponse:
        status = error.status if error.status is not None else error_status(self.service_name, error.code)
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": error.code}
        return status, headers, json.dumps({"message": error.message}).encode("utf-8")


def error_status(service_name: str, code: str) -> int:
    """The HTTP status of an error code as the service model declares it (a sensible default otherwise)."""
    for shape in _session().get_service_model(service_name).error_shapes:
        if shape.name == code or shape.metadata.get("error", {}).get("code") == code:
            return int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
    return _DEFAULT_ERROR_STATUS.get(code, 400)


def _scalar(text: str, shape: Shape) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long"):
        return int(text)
    if kind in ("float", "double"):
        return float(text)
    if kind == "boolean":
        return text.lower() == "true"
    if kind == "timestamp":
        return _parse_timestamp(text)
    return text


def _parse_timestamp(value: Any) -> dt.datetime:
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _from_json(value: Any, shape: Shape) -> Any:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {
            name: _from_json(value[m.serialization.get("name", name)], m)
            for name, m in members.items()
            if m.serialization.get("name", name) in value
        }
    if kind == "list" and isinstance(value, list):
        return [_from_json(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _from_json(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        return _parse_timestamp(value)
    if kind == "blob" and isinstance(value, str):
        return base64.b64decode(value)
    return value


# Values the user guide documents that botocore's enum lacks: the LLM-judge examples
# [UG:model-evaluation-built-in-metrics] send and get back taskType "General" (botocore 1.44.8 lists
# Summarization | Classification | QuestionAndAnswer | Generation | Custom).
DOCUMENTED_BEYOND_ENUM: Final = frozenset({("EvaluationTaskType", "General")})


def _to_json(value: Any, shape: Shape, where: str) -> Any:
    kind = shape.type_name
    if shape.metadata.get("document"):
        return value
    if kind == "structure":
        if not isinstance(value, Mapping):
            raise ShapeMismatchError(f"{where}: expected an object, got {type(value).__name__}")
        members = shape.members
        unknown = set(value) - set(members)
        if unknown:
            raise ShapeMismatchError(f"{where}: no member(s) {sorted(unknown)} in {shape.name}")
        missing = [m for m in shape.required_members if value.get(m) is None]
        if missing:
            raise ShapeMismatchError(f"{where}: {shape.name} lacks required member(s) {missing}")
        return {
            members[k].serialization.get("name", k): _to_json(v, members[k], f"{where}.{k}")
            for k, v in value.items()
            if v is not None
        }
    if kind == "list":
        if not isinstance(value, list | tuple):
            raise ShapeMismatchError(f"{where}: expected a list, got {type(value).__name__}")
        return [_to_json(v, shape.member, f"{where}[]") for v in value]
    if kind == "map":
        return {str(k): _to_json(v, shape.value, f"{where}{{}}") for k, v in value.items()}
    if kind == "timestamp":
        if not isinstance(value, dt.datetime):
            raise ShapeMismatchError(f"{where}: expected a datetime, got {type(value).__name__}")
        if shape.serialization.get("timestampFormat") == "iso8601":
            return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        return value.timestamp()
    if kind == "blob":
        raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
        return base64.b64encode(raw).decode("ascii")
    if kind == "string":
        if not isinstance(value, str):
            raise ShapeMismatchError(f"{where}: expected a string, got {type(value).__name__}")
        enum = shape.enum
        if enum and value not in enum and (shape.name, value) not in DOCUMENTED_BEYOND_ENUM:
            raise ShapeMismatchError(f"{where}: {value!r} is not one of {enum}")
        return value
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ShapeMismatchError(f"{where}: expected an integer, got {value!r}")
        return value
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ShapeMismatchError(f"{where}: expected a number, got {value!r}")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ShapeMismatchError(f"{where}: expected a boolean, got {value!r}")
        return value
    return value

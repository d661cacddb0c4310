"""Plumbing for the functions behind a Lambda function URL: JSON bodies in, HTTP responses out."""

from __future__ import annotations

import base64
import json
from typing import Any, Final

MAX_BODY_BYTES: Final = 300_000  # StartExecution input is at most 256 KiB; a proof adds about 2 KiB


class UrlError(Exception):
    """Refuse the request with an HTTP status and a message for the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def json_body(event: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The POSTed JSON object, holding only ``fields`` (unknown fields are refused, not ignored)."""
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "POST")
    if method != "POST":
        raise UrlError(400, f"use POST, not {method}")
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode("utf-8", errors="replace")
    if len(raw) > MAX_BODY_BYTES:
        raise UrlError(400, f"the body is {len(raw)} bytes; at most {MAX_BODY_BYTES}")
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as error:
        raise UrlError(400, f"the body is not JSON: {error.msg} at line {error.lineno}") from None
    if not isinstance(body, dict):
        raise UrlError(400, f"the body must be a JSON object with {', '.join(fields)}")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise UrlError(400, f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(fields)}")
    return body

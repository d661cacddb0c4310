"""The sandbox's one HTTP endpoint: moto's server with the sandbox's own routes in front of it.

:class:`SandboxApp` wraps moto's WSGI application and routes by the request's SigV4 scope and path:
Bedrock and Bedrock Runtime to the simulated Bedrock (its HTTP request translated for
``FakeBedrock.handle``), the approval-answer and start function URLs to their functions with IAM
auth as Lambda serves them, the Price List API refused as for a caller without
``pricing:GetProducts``, and ``StartExecution`` passed on to moto after the run's datasets have
taught the simulated models their reference answers. Everything else is moto's.

Apart from :mod:`pipeline.simulation.sandbox` (which starts and stops the server) and
:mod:`pipeline.simulation.sandbox_stack` (what is deployed) because it is how a request finds its
way, and only that.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, Final

from pipeline.simulation import ground_truth, service_quotas
from pipeline.simulation.function_urls import signed_for
from pipeline.simulation.sandbox_stack import APPROVAL_PATH, START_PATH, Sandbox

_BEDROCK: Final = frozenset({"bedrock", "bedrock-runtime"})

LOG = logging.getLogger("pipeline.simulation.sandbox")


class SandboxApp:
    """moto's WSGI application with the sandbox's own routes in front of it."""

    def __init__(self, moto_app: Callable[..., Any], sandbox: Sandbox) -> None:
        self.moto_app = moto_app
        self.sandbox = sandbox

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        signed = signed_for(environ.get("HTTP_AUTHORIZATION", ""))
        try:
            if path.startswith(APPROVAL_PATH) or path == APPROVAL_PATH.rstrip("/"):
                return self._respond(start_response, *self.approve(environ, _read_body(environ)))
            if path.startswith(START_PATH) or path == START_PATH.rstrip("/"):
                return self._respond(start_response, *self.start(environ, _read_body(environ)))
            if signed is not None and signed[2] == "pricing":
                # moto has no Price List API. Refuse it the way AWS refuses a caller without
                # pricing:GetProducts, so the CLI says so and uses the catalog's prices (and never
                # caches an empty price list in the user's real cache).
                message = "the sandbox has no AWS Price List API: the catalog's prices are used"
                body = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
                return self._respond(
                    start_response, 400, {"Content-Type": "application/x-amz-json-1.1"}, body
                )
            if signed is not None and signed[2] == "servicequotas":
                # moto has no ListServiceQuotas and no Bedrock quotas: the simulated account answers
                # (the same quotas the preflight reads in-process; pipeline.simulation.service_quotas).
                from pipeline.simulation.actors import ACCOUNT

                answered = service_quotas.answer(
                    str(environ.get("HTTP_X_AMZ_TARGET", "")), _read_body(environ), signed[1], ACCOUNT
                )
                if answered is not None:
                    status, headers, text = answered
                    return self._respond(start_response, status, headers, text.encode("utf-8"))
            if signed is not None and signed[2] in _BEDROCK:
                body = _read_body(environ)
                return self._respond(start_response, *self.bedrock(signed[2], signed[1], environ, body))
            if (
                signed is not None
                and signed[2] == "states"
                and str(environ.get("HTTP_X_AMZ_TARGET", "")).endswith(".StartExecution")
            ):
                self.before_start(_read_body(environ))
        except Exception as error:  # a defect of the sandbox: say so instead of dropping the connection
            LOG.exception("sandbox route failed")
            body = json.dumps({"message": f"sandbox error: {type(error).__name__}: {error}"}).encode()
            return self._respond(start_response, 500, {"Content-Type": "application/json"}, body)
        result: Iterable[bytes] = self.moto_app(environ, start_response)
        return result

    @staticmethod
    def _respond(
        start_response: Callable[..., Any], status: int, headers: dict[str, str], body: bytes
    ) -> list[bytes]:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
        start_response(f"{status} {phrase}", [*headers.items(), ("Content-Length", str(len(body)))])
        return [body]

    def bedrock(
        self, service: str, region: str, environ: dict[str, Any], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        from pipeline.simulation.wire import Request

        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        if "?" not in raw and environ.get("QUERY_STRING"):
            raw = f"{raw}?{environ['QUERY_STRING']}"
        # botocore signs bedrock-runtime requests for "bedrock" too: behind one endpoint the path
        # tells the two apart (their first path segments are disjoint).
        if raw.split("/")[1].split("?")[0] in _runtime_path_roots():
            service = "bedrock-runtime"
        url = f"https://{service}.{region}.amazonaws.com{raw}"
        response = self.sandbox.fake.handle(
            Request(environ.get("REQUEST_METHOD", "GET"), url, _headers(environ), body)
        )
        if response is None:
            return 404, {"Content-Type": "application/json"}, b'{"message": "not a Bedrock request"}'
        status, headers, payload = response
        return status, dict(headers), payload if isinstance(payload, bytes) else str(payload).encode()

    def approve(self, environ: dict[str, Any], body: bytes) -> tuple[int, dict[str, str], bytes]:
        """The approval-answer function URL with IAM auth, as Lambda serves it."""
        return self._function_url(environ, body, self.sandbox.answer_arn, "approval-answer")

    def start(self, environ: dict[str, Any], body: bytes) -> tuple[int, dict[str, str], bytes]:
        """The start function URL with IAM auth; the run's datasets teach the simulated models first."""
        with contextlib.suppress(json.JSONDecodeError, AttributeError, TypeError):
            text = json.loads(body or b"{}").get("input")
            if isinstance(text, str):
                self.before_start(json.dumps({"input": text}).encode("utf-8"))
        return self._function_url(environ, body, self.sandbox.start_arn, "start")

    def _function_url(
        self, environ: dict[str, Any], body: bytes, arn: str | None, what: str
    ) -> tuple[int, dict[str, str], bytes]:
        from pipeline.simulation import function_urls
        from pipeline.simulation.actors import ACCOUNT

        signed = signed_for(environ.get("HTTP_AUTHORIZATION", ""))
        json_type = {"Content-Type": "application/json"}
        if signed is None or signed[2] != "lambda":
            return 403, json_type, json.dumps({"Message": "Forbidden"}).encode()
        if arn is None:
            return 404, json_type, json.dumps({"Message": f"the template has no {what} function"}).encode()
        event = function_urls.url_event(
            method=environ.get("REQUEST_METHOD", "POST"),
            path=environ.get("PATH_INFO", "/"),
            query=environ.get("QUERY_STRING", ""),
            headers=_headers(environ),
            body=body.decode("utf-8", errors="replace"),
            caller=function_urls.caller_arn(signed[0], signed[1], ACCOUNT),
            access_key=signed[0],
            account=ACCOUNT,
        )
        return function_urls.invoke(self.sandbox.clients["lambda"], arn, event)

    def before_start(self, body: bytes) -> None:
        """A run is being started: teach the simulated models the reference answers of its datasets."""
        try:
            request = json.loads(body or b"{}")
            spec = json.loads(request.get("input") or "{}").get("runSpec") or {}
        except (json.JSONDecodeError, AttributeError):
            return
        made_up = _meet_the_teacher(self.sandbox.fake, spec)
        for uri in sorted(set(_s3_uris(spec))):
            bucket, _, key = uri[len("s3://") :].partition("/")
            if bucket != self.sandbox.provisioned.bucket or not key.endswith((".jsonl", ".json")):
                continue
            try:
                data = self.sandbox.clients["s3"].get_object(Bucket=bucket, Key=key)["Body"].read()
            except Exception as error:  # the run fails on it later, as it would in AWS
                LOG.warning("cannot read %s to teach the simulated models: %s", uri, error)
                continue
            ground_truth.teach(self.sandbox.fake, data.splitlines(), made_up=made_up)


def _meet_the_teacher(fake: Any, spec: Any) -> bool:
    """Whether the run's teacher answers for its references (a spec that does not parse: no)."""
    from pipeline.runspec import RunSpec, RunSpecError

    try:
        return ground_truth.meet_the_teacher(fake, RunSpec.from_dict(spec))
    except (RunSpecError, ValueError, TypeError):
        return False


def _s3_uris(value: Any) -> Iterable[str]:
    if isinstance(value, str) and value.startswith("s3://"):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _s3_uris(item)
    elif isinstance(value, list):
        for item in value:
            yield from _s3_uris(item)


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").title(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").title()] = str(environ[key])
    return headers


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    body: bytes = stream.read(length) if stream is not None and length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


@functools.cache
def _runtime_path_roots() -> frozenset[str]:
    """The first path segments of bedrock-runtime's operations, from botocore's service model."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    return frozenset(
        model.operation_model(name).http["requestUri"].split("/")[1].split("?")[0]
        for name in model.operation_names
    )

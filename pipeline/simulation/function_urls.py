"""The pipeline's function URLs (``AuthType: AWS_IAM``) as the simulation and the sandbox serve them.

Lambda checks a URL request's SigV4 signature and the caller's permission, then hands the function
the caller in ``requestContext.authorizer.iam``. Here the caller is the identity moto's STS gives the
signing access key (what ``sts get-caller-identity`` says for it); the signature itself is not
verified (no secret keys to check it with), and nor is the IAM permission. The functions do not rely
on that context alone: each request carries an identity proof they send to STS (moto's here), which
names the same caller (lambdas.common.caller_proof).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from pipeline.operate.approvals import UrlCaller, UrlResponse

ANSWER_HANDLER: Final = "lambdas.approval_answer."
START_HANDLER: Final = "lambdas.run_start."
_CREDENTIAL: Final = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


def signed_for(authorization: str) -> tuple[str, str, str] | None:
    """(access key, region, service) of a SigV4 Authorization header, or None."""
    match = _CREDENTIAL.search(authorization or "")
    return (match.group(1), match.group(2), match.group(3)) if match else None


def function_arn(provisioned: Any, handler_prefix: str) -> str | None:
    """The ARN of the template's function whose handler starts with ``handler_prefix``."""
    return next(
        (arn for spec, arn in provisioned.functions.values() if spec.handler.startswith(handler_prefix)),
        None,
    )


def caller_arn(access_key: str, region: str, account: str) -> str:
    """Who the access key is, as moto's STS answers GetCallerIdentity for it."""
    from moto.sts.models import sts_backends

    _, arn, _ = sts_backends[account]["global"].get_caller_identity(access_key, region)
    return str(arn)


def url_event(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: str,
    caller: str,
    access_key: str,
    account: str,
) -> dict[str, Any]:
    """The event Lambda builds for a function URL request with IAM auth (payload format 2.0)."""
    return {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {k.lower(): v for k, v in headers.items() if k.lower() != "authorization"},
        "requestContext": {
            "accountId": account,
            "http": {"method": method, "path": path},
            "authorizer": {"iam": {"accountId": account, "accessKey": access_key, "userArn": caller}},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def invoke(lambda_client: Any, arn: str, event: Mapping[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Invoke the function behind a URL; its HTTP response (502 when the function failed)."""
    json_type = {"Content-Type": "application/json"}
    answered = lambda_client.invoke(FunctionName=arn, Payload=json.dumps(event).encode("utf-8"))
    payload = json.loads(answered["Payload"].read() or b"null")
    if answered.get("FunctionError") or not isinstance(payload, dict):
        return 502, json_type, json.dumps({"Message": "the function behind the URL failed"}).encode()
    headers = {str(k): str(v) for k, v in (payload.get("headers") or json_type).items()}
    return int(payload.get("statusCode", 200)), headers, str(payload.get("body") or "").encode("utf-8")


class SimulatedUrlCaller(UrlCaller):
    """What the CLI does, signing as one person (their boto3 session), with the URLs served in-process.

    ``urls`` maps each URL to the ARN of the function behind it.
    """

    def __init__(
        self, region: str, session: Any, lambda_client: Any, urls: Mapping[str, str], account: str
    ) -> None:
        super().__init__(region, session)
        self.lambda_client = lambda_client
        self.urls = dict(urls)
        self.account = account

    def send(self, request: Any) -> UrlResponse:
        signed = signed_for(str(request.headers.get("Authorization", "")))
        arn = self.urls.get(str(request.url))
        if signed is None or signed[2] != "lambda":
            return UrlResponse(403, {"Message": "Forbidden"})
        if arn is None:
            return UrlResponse(404, {"Message": f"no function behind {request.url}"})
        body = request.data.decode("utf-8") if isinstance(request.data, bytes) else str(request.data)
        event = url_event(
            method=str(request.method),
            path="/",
            query="",
            headers={str(k): str(v) for k, v in request.headers.items()},
            body=body,
            caller=caller_arn(signed[0], self.region, self.account),
            access_key=signed[0],
            account=self.account,
        )
        status, _headers, payload = invoke(self.lambda_client, arn, event)
        try:
            document = json.loads(payload or b"{}")
        except json.JSONDecodeError:
            document = {"error": payload.decode("utf-8", errors="replace")[:500]}
        return UrlResponse(status, document if isinstance(document, dict) else {"error": str(document)})

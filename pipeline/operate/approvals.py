"""Answering a run's approval: a SigV4-signed POST to the pipeline's approval-answer function URL.

The workflow keeps a pending approval's task token where only the approval-answer function
(lambdas/approval_answer) may read it. That function sits behind a Lambda function URL with IAM
auth: Lambda verifies the request's SigV4 signature and the caller's permission, and the function
records the verified caller ARN as the approver. The deployment manifest names the URL
(``approvalUrl``) and the role granted to call it (``approverRoleArn``).

The CLI signs with the caller's own credentials first; when Lambda refuses them (403) and the
manifest names the approver role, it assumes that role (session name: the caller's name, so the
recorded approver still says who answered) and tries once more.

Deployments from before the answer function kept the token in the run's approval request; for
them the CLI answers with SendTaskSuccess itself (pipeline.operate.runs).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from pipeline.operate import hints
from pipeline.operate.errors import InvalidInputError, OperationalError

SERVICE: Final = "approval-url"  # the pseudo-service name under which Clients hands out the caller
_SESSION_NAME_CHARS: Final = re.compile(r"[^\w+=,.@-]")


@dataclass(frozen=True)
class UrlResponse:
    status: int
    body: dict[str, Any]


class UrlCaller:
    """POSTs JSON to a Lambda function URL, signed with SigV4 for the ``lambda`` service."""

    def __init__(self, region: str) -> None:
        self.region = region

    def post(
        self,
        url: str,
        payload: dict[str, Any],
        *,
        role_arn: str | None = None,
        session_name: str | None = None,
    ) -> UrlResponse:
        import boto3
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        from botocore.httpsession import URLLib3Session

        session = boto3.session.Session()
        if role_arn:
            assumed = session.client("sts", region_name=self.region).assume_role(
                RoleArn=role_arn, RoleSessionName=session_name or "bedrock-customize", DurationSeconds=900
            )["Credentials"]
            credentials = Credentials(
                assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"]
            )
        else:
            found = session.get_credentials()
            if found is None:
                from botocore.exceptions import NoCredentialsError

                raise NoCredentialsError()
            credentials = found.get_frozen_credentials()
        request = AWSRequest(
            method="POST",
            url=url,
            data=json.dumps(payload).encode("utf-8"),
            headers={"content-type": "application/json"},
        )
        SigV4Auth(credentials, "lambda", self.region).add_auth(request)
        response = URLLib3Session(timeout=60).send(request.prepare())
        return UrlResponse(int(response.status_code), _json(response.content))


def _json(raw: bytes | str | None) -> dict[str, Any]:
    try:
        doc = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"error": str(raw)[:500]}
    return doc if isinstance(doc, dict) else {"error": str(doc)[:500]}


def session_name(caller_arn: str | None) -> str:
    """Who is answering, as an STS session name (2-64 of [\\w+=,.@-]): the end of the caller's ARN."""
    tail = (caller_arn or "").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    name = _SESSION_NAME_CHARS.sub("-", tail)[:64]
    return name if len(name) >= 2 else "bedrock-customize"


def answer(
    caller: Any,
    *,
    url: str,
    role_arn: str | None,
    caller_arn: str | None,
    run_id: str,
    approved: bool,
    reason: str,
) -> dict[str, Any]:
    """Answer the run's pending approval through the URL; the answer as the workflow received it."""
    payload = {"runId": run_id, "decision": "approve" if approved else "reject", "reason": reason}
    response = caller.post(url, payload)
    if response.status == 403 and role_arn:
        response = caller.post(url, payload, role_arn=role_arn, session_name=session_name(caller_arn))
    body: dict[str, Any] = dict(response.body)
    status = int(response.status)
    message = str(body.get("error") or body.get("Message") or body.get("message") or "")
    if status == 200:
        return body
    if status == 403:
        raise OperationalError(
            f"the approval URL refused your identity ({message or 'Forbidden'})",
            hint=(
                f"use credentials that may assume the approver role {role_arn} "
                "(sts:AssumeRole), e.g. a profile with that role_arn"
                if role_arn
                else "ask for lambda:InvokeFunctionUrl on the pipeline's approval-answer function"
            ),
        )
    if status == 404:
        raise InvalidInputError(
            f"no approval is pending for run {run_id} ({message})",
            hint=f"see where it is with `{hints.command('status', run_id)}`",
        )
    if status == 409:
        raise InvalidInputError(
            f"the approval request of run {run_id} can no longer be answered: {message} "
            "(it expired, counted as a rejection, or was already answered)",
            hint=f"see what happened with `{hints.command('status', run_id)}`",
        )
    if status == 400:
        raise InvalidInputError(f"the approval answer was refused as malformed: {message}")
    raise OperationalError(
        f"the approval URL answered HTTP {status}: {message or 'no detail'}",
        hint="run the command again; if it keeps failing, check the approval-answer function's logs",
    )

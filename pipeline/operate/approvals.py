"""The pipeline's function URLs as the CLI calls them: start a run, answer an approval.

Both URLs use ``AuthType: AWS_IAM``: each POST is signed with SigV4 for the ``lambda`` service, and
its body carries an *identity proof*: an STS ``GetCallerIdentity`` request signed (not sent) with
the same credentials, with a header binding it to this one request (pipeline.approval_records). The
function sends the proof to STS, which says who signed it; nothing the caller types names them.

- ``start``: signed with the caller's own credentials (whoever may invoke the start URL; the stack's
  ``starterPolicyArn`` grants it). The function starts the execution and records the caller as its
  starter.
- ``approve`` / ``reject``: signed as the stack's approver role, which the CLI assumes with the
  caller's IAM user name as source identity and session name (the role's trust accepts nothing
  else), passing an MFA code where the deployment requires MFA (``approverMfa``). The answer names the
  request it answers (``requestId`` of the run's approval request).

Deployments from before the answer function kept the task token in the run's approval request; for
them the CLI answers with SendTaskSuccess itself (pipeline.operate.run_actions).
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Final

from pipeline import approval_records
from pipeline.approval_records import session_name
from pipeline.operate import hints
from pipeline.operate.errors import InvalidInputError, OperationalError, error_code

SERVICE: Final = "approval-url"  # the pseudo-service name under which Clients hands out the caller
# Where an MFA device and code come from when the approver role requires MFA (besides the profile's
# mfa_serial and a prompt on a terminal).
MFA_SERIAL_ENV: Final = "BEDROCK_CUSTOMIZE_MFA_SERIAL"
MFA_CODE_ENV: Final = "BEDROCK_CUSTOMIZE_MFA_CODE"
_ROLE_SESSION_SECONDS: Final = 900

__all__ = [
    "SERVICE",
    "UrlCaller",
    "UrlResponse",
    "answer",
    "identity_proof",
    "send_answer",
    "session_name",
    "start_run",
]


@dataclass(frozen=True)
class UrlResponse:
    status: int
    body: dict[str, Any]


def identity_proof(credentials: Any, region: str, binding: str) -> dict[str, Any]:
    """A signed, unsent STS GetCallerIdentity bound to ``binding``: who we are, for STS to confirm."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(
        method="POST",
        url=approval_records.sts_url(region),
        data=approval_records.STS_BODY.encode("utf-8"),
        headers={
            "content-type": approval_records.STS_CONTENT_TYPE,
            approval_records.PROOF_HEADER: binding,
        },
    )
    SigV4Auth(credentials, "sts", region).add_auth(request)
    return {
        "method": "POST",
        "url": approval_records.sts_url(region),
        "headers": {str(k): str(v) for k, v in request.headers.items()},
        "body": approval_records.STS_BODY,
    }


class UrlCaller:
    """POSTs JSON to a Lambda function URL, signed with SigV4 for ``lambda``, with an identity proof."""

    def __init__(self, region: str, session: Any = None) -> None:
        self.region = region
        # A boto3 Session whose credentials sign (default: the caller's, from the environment).
        self.session = session

    def credentials(
        self,
        *,
        role_arn: str | None = None,
        source_identity: str | None = None,
        mfa_serial: str | None = None,
        mfa_code: str | None = None,
    ) -> Any:
        """The caller's own credentials, or a session of ``role_arn`` named ``source_identity``."""
        import boto3
        from botocore.credentials import Credentials

        session = self.session or boto3.session.Session()
        if not role_arn:
            found = session.get_credentials()
            if found is None:
                from botocore.exceptions import NoCredentialsError

                raise NoCredentialsError()
            return found.get_frozen_credentials()
        name = source_identity or "bedrock-customize"
        kwargs: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": name,
            "SourceIdentity": name,
            "DurationSeconds": _ROLE_SESSION_SECONDS,
        }
        if mfa_serial and mfa_code:
            kwargs |= {"SerialNumber": mfa_serial, "TokenCode": mfa_code}
        assumed = session.client("sts", region_name=self.region).assume_role(**kwargs)["Credentials"]
        return Credentials(assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"])

    def post(self, url: str, payload: dict[str, Any], *, credentials: Any, binding: str) -> UrlResponse:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        body = {**payload, "proof": identity_proof(credentials, self.region, binding)}
        request = AWSRequest(
            method="POST",
            url=url,
            data=json.dumps(body).encode("utf-8"),
            headers={"content-type": "application/json"},
        )
        SigV4Auth(credentials, "lambda", self.region).add_auth(request)
        return self.send(request)

    def send(self, request: Any) -> UrlResponse:
        """The HTTP exchange itself (tests and the simulation replace this, not the signing)."""
        from botocore.httpsession import URLLib3Session

        response = URLLib3Session(timeout=60).send(request.prepare())
        return UrlResponse(int(response.status_code), _json(response.content))


def _json(raw: bytes | str | None) -> dict[str, Any]:
    try:
        doc = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"error": str(raw)[:500]}
    return doc if isinstance(doc, dict) else {"error": str(doc)[:500]}


def _message(body: dict[str, Any]) -> str:
    return str(body.get("error") or body.get("Message") or body.get("message") or "")


# --------------------------------------------------------------------------------------------------
# Start
# --------------------------------------------------------------------------------------------------


def start_run(
    caller: Any, *, url: str, audience: str, run_id: str, execution_input: str
) -> tuple[str, bool, dict[str, Any]]:
    """(execution ARN, started now?, the starter on record) through the start function URL."""
    response = caller.post(
        url,
        {"runId": run_id, "input": execution_input},
        credentials=caller.credentials(),
        binding=approval_records.start_binding(audience, run_id, execution_input),
    )
    body, message = dict(response.body), _message(response.body)
    if response.status == 200:
        return str(body["executionArn"]), bool(body.get("started")), dict(body.get("starter") or {})
    if response.status == 409:
        raise InvalidInputError(
            f"run {run_id} cannot be started: {message}",
            hint=f"see it with `{hints.command('status', run_id)}`",
        )
    if response.status == 403:
        raise OperationalError(
            f"the start URL refused your identity ({message or 'Forbidden'})",
            hint="ask for the stack's starter policy (starterPolicyArn in `deploy-info`): "
            "lambda:InvokeFunctionUrl and lambda:InvokeFunction via the URL on the start function",
        )
    if response.status == 400:
        raise InvalidInputError(f"the start request was refused as malformed: {message}")
    raise OperationalError(
        f"the start URL answered HTTP {response.status}: {message or 'no detail'}",
        hint="run the command again (starting the same run is idempotent); if it keeps failing, check "
        "the start function's logs",
    )


# --------------------------------------------------------------------------------------------------
# Answer
# --------------------------------------------------------------------------------------------------


def approver_name(caller_arn: str | None) -> str:
    """The source identity the approver role accepts for this caller: their IAM user name (the
    role's trust compares it with ``${aws:username}``); ``BEDROCK_CUSTOMIZE_SOURCE_IDENTITY`` for a
    federated session whose identity provider set one (``approvals.federatedSourceIdentity``)."""
    return os.environ.get("BEDROCK_CUSTOMIZE_SOURCE_IDENTITY", "").strip() or session_name(caller_arn)


def mfa_for(required: bool) -> tuple[str | None, str | None]:
    """(MFA device, code) to assume the approver role with, when the deployment requires MFA."""
    if not required:
        return None, None
    serial = os.environ.get(MFA_SERIAL_ENV, "").strip() or _profile_mfa_serial()
    if not serial:
        # Credentials that are already an MFA session (aws sts get-session-token) need none.
        return None, None
    code = os.environ.get(MFA_CODE_ENV, "").strip()
    if not code and sys.stdin.isatty():
        code = getpass.getpass(f"MFA code for {serial}: ").strip()
    if not code:
        raise InvalidInputError(
            f"the approver role requires MFA: give the code of {serial} in {MFA_CODE_ENV}, or answer "
            "from a terminal to be asked for it"
        )
    return serial, code


def _profile_mfa_serial() -> str | None:
    try:
        import boto3

        value = boto3.session.Session()._session.get_scoped_config().get("mfa_serial")
    except Exception:  # no profile, or a profile that does not parse: no MFA device to offer
        return None
    return str(value) if value else None


def answer(
    caller: Any,
    *,
    url: str,
    role_arn: str | None,
    caller_arn: str | None,
    run_id: str,
    request_id: str | None,
    approved: bool,
    reason: str,
    audience: str,
    mfa_required: bool = False,
) -> dict[str, Any]:
    """Answer the run's pending approval through the URL, as the approver role; the answer recorded."""
    response = send_answer(
        caller,
        url=url,
        role_arn=role_arn,
        caller_arn=caller_arn,
        run_id=run_id,
        request_id=request_id,
        approved=approved,
        reason=reason,
        audience=audience,
        mfa_required=mfa_required,
    )
    body: dict[str, Any] = dict(response.body)
    status, message = int(response.status), _message(body)
    if status == 200:
        return body
    if status == 403:
        raise OperationalError(
            f"the approval was refused: {message or 'Forbidden'}",
            hint=f"see who started run {run_id} and what it waits for with "
            f"`{hints.command('status', run_id)}`",
        )
    if status == 404:
        raise InvalidInputError(
            f"no approval is pending for run {run_id} ({message})",
            hint=f"see where it is with `{hints.command('status', run_id)}`",
        )
    if status == 409:
        raise InvalidInputError(
            f"the approval request of run {run_id} can no longer be answered this way: {message}",
            hint=f"see what happened with `{hints.command('status', run_id)}`",
        )
    if status == 400:
        raise InvalidInputError(f"the approval answer was refused as malformed: {message}")
    raise OperationalError(
        f"the approval URL answered HTTP {status}: {message or 'no detail'}",
        hint="run the command again; if it keeps failing, check the approval-answer function's logs",
    )


def send_answer(
    caller: Any,
    *,
    url: str,
    role_arn: str | None,
    caller_arn: str | None,
    run_id: str,
    request_id: str | None,
    approved: bool,
    reason: str,
    audience: str,
    mfa_required: bool = False,
) -> UrlResponse:
    """Assume the approver role as the caller's own IAM user name and POST the answer with a proof."""
    if not role_arn:
        raise OperationalError(
            "the deployment names no approver role (approverRoleArn) to answer as",
            hint="redeploy the stack, then answer again",
        )
    if not request_id:
        raise OperationalError(
            f"the approval request of run {run_id} has no request id (asked before the stack was updated)",
            hint="let it time out (a rejection: nothing is bought), then start the run again; "
            f"`{hints.command('status', run_id)}` shows its deadline",
        )
    decision = "approve" if approved else "reject"
    name = approver_name(caller_arn)
    # Already a session of the approver role: answer with it as it is.
    is_role = f":assumed-role/{role_arn.rsplit('/', 1)[-1]}/" in (caller_arn or "")
    try:
        if is_role:
            credentials = caller.credentials()
        else:
            serial, code = mfa_for(mfa_required)
            credentials = caller.credentials(
                role_arn=role_arn, source_identity=name, mfa_serial=serial, mfa_code=code
            )
    except Exception as exc:
        if error_code(exc) in ("AccessDenied", "AccessDeniedException"):
            raise OperationalError(
                f"you may not assume the approver role {role_arn} as {name!r}",
                hint="the role trusts IAM users of this account with their own user name as source identity "
                "and session name"
                + (
                    f", with MFA (mfa_serial in your profile or {MFA_SERIAL_ENV}; the code in {MFA_CODE_ENV})"
                    if mfa_required
                    else ""
                )
                + "; your identity policy needs sts:AssumeRole and sts:SetSourceIdentity on it",
            ) from exc
        raise
    payload = {"runId": run_id, "requestId": request_id, "decision": decision, "reason": reason.strip()}
    response: UrlResponse = caller.post(
        url,
        payload,
        credentials=credentials,
        binding=approval_records.answer_binding(audience, run_id, request_id, decision, reason.strip()),
    )
    return response

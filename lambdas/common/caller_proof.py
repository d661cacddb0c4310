"""Who is calling, as STS says: replay a caller's signed ``GetCallerIdentity`` request to STS.

A function URL with ``AuthType: AWS_IAM`` hands its function the caller in
``requestContext.authorizer.iam`` (accessKey, accountId, callerId, userArn, userId, principalOrgId,
cognitoIdentity; no source identity). That context is only as good as the invocation: anyone whose
identity policy allows ``lambda:InvokeFunction`` on the function can invoke it directly with a
hand-built event naming any ``userArn``, and the function cannot tell the difference. So the
functions that decide (lambdas/run_start, lambdas/approval_answer) take the caller from a proof
STS checks instead: the caller signs, but does not send, ``GetCallerIdentity`` with a header that
binds it to the request (pipeline.approval_records); the function sends it to STS unchanged, and STS
answers with the signer's identity or refuses the signature. The URL context must name the same
caller, or the request is refused.

The request goes through a botocore client (unsigned: the caller's signature is the one sent) so
moto serves it in tests and the simulation as it serves every other call.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.config import Config

from lambdas.common import runtime
from pipeline import approval_records

# STS's answers to a signature it does not accept (expired, wrong key, tampered header).
_REFUSED = frozenset(
    {
        "SignatureDoesNotMatch",
        "InvalidClientTokenId",
        "ExpiredToken",
        "AccessDenied",
        "IncompleteSignature",
        "RequestExpired",
        "InvalidToken",
    }
)


class ProofRefusedError(Exception):
    """The caller could not be verified; the message says why (safe to show the caller)."""


@dataclass(frozen=True)
class Caller:
    arn: str
    user_id: str
    account: str


def verify(proof: Any, *, region: str, binding: str, now: dt.datetime | None = None) -> Caller:
    """The caller STS names for ``proof``, a signed GetCallerIdentity bound to ``binding``."""
    try:
        headers = approval_records.check_proof(
            proof, region=region, binding=binding, now=now or dt.datetime.now(tz=dt.UTC)
        )
    except approval_records.RecordError as error:
        raise ProofRefusedError(str(error)) from None
    sts = boto3.client(
        "sts",
        region_name=region,
        endpoint_url=approval_records.sts_url(region),
        config=Config(signature_version=UNSIGNED, retries={"mode": "standard", "max_attempts": 3}),
    )

    def replay(request: Any, **_: Any) -> None:
        # The caller's signature, headers and body, exactly as signed; nothing of this function's.
        for name in list(request.headers.keys()):
            del request.headers[name]
        for name, value in headers.items():
            request.headers[name] = value
        request.body = approval_records.STS_BODY.encode("utf-8")

    sts.meta.events.register_first("before-send.sts.GetCallerIdentity", replay)
    try:
        answer = sts.get_caller_identity()
    except Exception as error:
        code = runtime.error_code(error)
        if code in _REFUSED:
            raise ProofRefusedError(f"STS refused the identity proof ({code})") from None
        raise
    return Caller(str(answer["Arn"]), str(answer["UserId"]), str(answer["Account"]))


def url_caller_arn(event: Any) -> str | None:
    """The caller a function URL with IAM auth put in the event (None when the event has none)."""
    context = (event or {}).get("requestContext") if isinstance(event, dict) else None
    iam = ((context or {}).get("authorizer") or {}).get("iam") or {}
    arn = iam.get("userArn")
    return arn if isinstance(arn, str) and arn.startswith("arn:") else None


def bound_roles() -> dict[str, str]:
    """Roles whose trust binds the session name to the person (name -> role id): the stack's approver
    role, from APPROVER_ROLE_ARN and APPROVER_ROLE_ID (role ids change when a role is re-created)."""
    import os

    arn, role_id = os.environ.get("APPROVER_ROLE_ARN", ""), os.environ.get("APPROVER_ROLE_ID", "")
    return {arn.rsplit("/", 1)[-1]: role_id} if arn and role_id else {}


def verified_principal(
    event: Any, proof: Any, *, region: str, binding: str, account: str | None
) -> approval_records.Principal:
    """The person behind the request: the URL's IAM caller, confirmed by STS through ``proof``."""
    url_arn = url_caller_arn(event)
    if url_arn is None:
        raise ProofRefusedError(
            "no IAM-authenticated caller: call through the function URL, signed with SigV4"
        )
    caller = verify(proof, region=region, binding=binding)
    if caller.arn != url_arn:
        raise ProofRefusedError(
            f"the signed request ({url_arn}) and the identity proof ({caller.arn}) name different callers"
        )
    if account and caller.account != account:
        raise ProofRefusedError(
            f"the caller belongs to account {caller.account}, not this pipeline's {account}"
        )
    return approval_records.principal_of(
        caller.arn, caller.user_id, caller.account, bound_roles=bound_roles()
    )


def function_account(context: Any) -> str | None:
    """The function's own account, from its ARN in the Lambda context (None outside Lambda)."""
    arn = getattr(context, "invoked_function_arn", None)
    parts = arn.split(":") if isinstance(arn, str) else []
    return parts[4] if len(parts) > 4 and parts[4] else None

"""Exit codes and errors that tell the operator what to do next.

Exit codes scripts can rely on (the same as ``pipeline.cli``):

- 0: done
- 1: operational failure (AWS refused or could not be reached); the message says what to do next
- 2: invalid input (bad run spec, unknown run, refused delete, missing --yes without a terminal)

User errors never print a traceback: every command runs inside :func:`guarded`.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, Final

from pipeline.aws_retries import THROTTLING, TRANSIENT
from pipeline.aws_retries import error_code as error_code

EXIT_OK: Final = 0
EXIT_OPERATIONAL: Final = 1
EXIT_INVALID: Final = 2

_CREDENTIAL_CODES: Final = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
    }
)
DENIED_CODES: Final = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden", "403"}
)


def transient(exc: BaseException) -> bool:
    """An AWS error worth trying again later: no connection, a timeout, throttling, a 5xx.

    Refusals (credentials, permissions, validation, not found) are not: trying again changes nothing.
    """
    from botocore import exceptions as bce  # deferred: only commands that talk to AWS load botocore

    if isinstance(exc, bce.ConnectionError | bce.HTTPClientError):
        return True
    if isinstance(exc, bce.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return error_code(exc) in TRANSIENT or (isinstance(status, int) and status >= 500)
    return False


class OperateError(Exception):
    """An error with a message for people and the next step to take."""

    exit_code: int = EXIT_OPERATIONAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        return self.message + (f"\n  next: {self.hint}" if self.hint else "")


class InvalidInputError(OperateError):
    """The operator asked for something that cannot be done as asked (exit 2)."""

    exit_code = EXIT_INVALID


class UnknownRunError(InvalidInputError):
    """No execution of that name in this environment."""


class OperationalError(OperateError):
    """AWS refused, failed or is not set up as expected (exit 1)."""

    exit_code = EXIT_OPERATIONAL


class NotDeployedError(OperationalError):
    """Neither the deployment manifest nor the stack exists for the environment and region."""


def describe_aws_error(exc: BaseException) -> OperateError | None:
    """An operator-facing error for a botocore exception, or None if ``exc`` is not one."""
    from botocore import exceptions as bce  # deferred: only commands that talk to AWS load botocore

    if isinstance(exc, bce.ClientError):
        code = error_code(exc)
        operation = getattr(exc, "operation_name", "") or "the request"
        detail = str(exc.response.get("Error", {}).get("Message") or exc)
        message = f"AWS refused {operation}: {code}: {detail}"
        if code in _CREDENTIAL_CODES:
            hint = (
                "your AWS credentials are expired or invalid: refresh them (`aws sso login`, a new session)"
            )
        elif code in DENIED_CODES:
            hint = (
                f"your identity may not call {operation} on this resource: ask for the pipeline's "
                f"operator permissions, or check --env/--region (`{_hint('deploy-info')}` shows "
                "what you can use)"
            )
        elif code in THROTTLING:
            hint = "AWS is throttling requests: wait a minute and run the command again"
        elif code == "ServiceQuotaExceededException":
            hint = "a service quota is exhausted: request an increase in Service Quotas, or free capacity"
        else:
            hint = "run the command again; if it keeps failing, check the AWS Health Dashboard for the region"
        return OperationalError(message, hint=hint)
    if isinstance(exc, bce.NoRegionError):
        return InvalidInputError(
            "no AWS region configured", hint="pass --region, or set AWS_REGION or a profile region"
        )
    if isinstance(exc, bce.ProfileNotFound):
        return InvalidInputError(str(exc), hint="fix AWS_PROFILE or add the profile to ~/.aws/config")
    if isinstance(exc, bce.NoCredentialsError | bce.PartialCredentialsError | bce.CredentialRetrievalError):
        return OperationalError(
            f"no usable AWS credentials: {exc}",
            hint="run `aws configure` or `aws sso login`, or set AWS_PROFILE",
        )
    if isinstance(exc, bce.TokenRetrievalError | bce.SSOTokenLoadError):
        return OperationalError(f"AWS SSO session problem: {exc}", hint="run `aws sso login` and retry")
    if isinstance(exc, bce.EndpointConnectionError | bce.ConnectTimeoutError | bce.ReadTimeoutError):
        return OperationalError(
            f"cannot reach AWS: {exc}",
            hint="check the network or proxy, and that --region is right; then retry",
        )
    if isinstance(exc, bce.BotoCoreError):
        return OperationalError(
            f"AWS SDK error: {exc}", hint="run the command again; check credentials and region"
        )
    return None


def _hint(*words: str) -> str:
    from pipeline.operate import hints

    return hints.command(*words)


def report_error(error: OperateError, *, as_json: bool) -> int:
    """Print an error the way every command does and return its exit code."""
    if as_json:
        print(
            json.dumps(
                {"ok": False, "error": error.message, "next": error.hint, "exitCode": error.exit_code},
                ensure_ascii=False,
            )
        )
    print(f"error: {error.render()}", file=sys.stderr)
    return error.exit_code


def guarded(func: Callable[[Any], int]) -> Callable[[Any], int]:
    """Run a ``cmd_<name>(args)`` so that every expected failure becomes a message and an exit code."""

    @functools.wraps(func)
    def wrapper(args: Any) -> int:
        from pipeline.operate import hints

        as_json = bool(getattr(args, "json", False))
        target = hints.target_of(args)
        # Every command printed from here on, errors' hints included, carries this --env/--region.
        with hints.targeting(target.env, target.region):
            try:
                return func(args)
            except OperateError as error:
                return report_error(error, as_json=as_json)
            except Exception as exc:
                from pipeline.datasets.sources import SourceAccessError

                if isinstance(exc, SourceAccessError):
                    return report_error(OperationalError(str(exc)), as_json=as_json)
                described = describe_aws_error(exc)
                if described is None:
                    raise
                return report_error(described, as_json=as_json)

    return wrapper

"""The one place AWS clients are made, so tests can hand in moto or Stubber clients.

No client exists at import time. A command builds a :class:`Clients` for its region and asks it for
clients by service name; each is created on first use and reused. Tests swap the maker with
:func:`client_maker`::

    with client_maker(lambda service, region: stubbed[service]):
        assert commands.cmd_status(args) == 0
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

from pipeline.aws_retries import client_config
from pipeline.operate.errors import InvalidInputError

ClientMaker = Callable[[str, str], Any]

USER_AGENT: Final = "bedrock-customize"


def boto3_client(service: str, region: str) -> Any:
    """A client from the default credential chain (AWS_PROFILE, SSO, environment, instance role).

    ``approval-url`` is not an AWS service: it is the signed caller of the pipeline's approval
    function URL (pipeline.operate.approvals), made here so tests swap it like any client.
    """
    if service == "approval-url":
        from pipeline.operate.approvals import UrlCaller

        return UrlCaller(region)
    import boto3  # deferred: `bedrock-customize models` and `validate` never need boto3

    config = client_config(service, user_agent_extra=USER_AGENT)
    return boto3.session.Session().client(service, region_name=region, config=config)


_maker: ClientMaker = boto3_client


@contextmanager
def client_maker(maker: ClientMaker) -> Iterator[None]:
    """Use ``maker`` for every client created inside the block (tests)."""
    global _maker
    previous = _maker
    _maker = maker
    try:
        yield
    finally:
        _maker = previous


# Set (to anything but "", "0" or "false") to keep check, start and estimate offline, as --offline does.
OFFLINE_ENV: Final = "BEDROCK_CUSTOMIZE_OFFLINE"


def offline_reason(*, requested: bool = False) -> str | None:
    """Why the CLI must not ask AWS for live facts, or None when the current credentials may.

    Offline on purpose (``--offline``, or :data:`OFFLINE_ENV`), or when the default credential
    chain yields nothing. Credentials that exist but are refused (expired, denied) are not a
    reason to go offline: the call that uses them fails as an operational error instead.
    """
    if requested:
        return "--offline"
    if os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no"):
        return f"{OFFLINE_ENV} is set"
    import boto3
    from botocore import exceptions as bce

    try:
        credentials = boto3.session.Session().get_credentials()
    except bce.BotoCoreError as exc:  # a broken profile, an unreadable SSO cache, ...
        return f"no usable AWS credentials: {exc}"
    return None if credentials is not None else "no usable AWS credentials"


def default_region() -> str | None:
    """The region the AWS configuration names (AWS_REGION, AWS_DEFAULT_REGION, the profile)."""
    import boto3

    region = boto3.session.Session().region_name
    return str(region) if region else None


class Clients:
    """Lazily created clients for one region."""

    def __init__(self, region: str, maker: ClientMaker | None = None) -> None:
        self.region = region
        self._maker = maker
        self._cache: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._cache:
            maker = self._maker or _maker
            self._cache[service] = maker(service, self.region)
        return self._cache[service]


def clients_for(region: str | None) -> Clients:
    """Clients for ``--region``, or the configured region; an actionable error when there is none."""
    chosen = region or default_region()
    if not chosen:
        raise InvalidInputError(
            "no AWS region: the command does not know where the pipeline is deployed",
            hint="pass --region (e.g. --region us-east-1), or set AWS_REGION or a region in your AWS profile",
        )
    return Clients(chosen)

"""Typed deployment configuration, read once from ``cdk.json`` context.

Every deployment environment (``dev``, ``prod``, ...) is one frozen :class:`EnvironmentConfig`.
Reading is strict: an unknown key, a missing required key or a value of the wrong type fails synth
with a message that names the key and what is allowed, before any construct is created. Nothing
here talks to AWS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

CONTEXT_KEY: Final = "bedrock-customization:environments"
SELECT_KEY: Final = "environment"

# CloudWatch Logs accepts only these retention periods (days), named as aws_logs.RetentionDays.
LOG_RETENTION: Final = {
    1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS", 30: "ONE_MONTH",
    60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS", 150: "FIVE_MONTHS", 180: "SIX_MONTHS",
    365: "ONE_YEAR", 400: "THIRTEEN_MONTHS", 545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS",
    1096: "THREE_YEARS", 1827: "FIVE_YEARS", 2192: "SIX_YEARS", 2557: "SEVEN_YEARS",
    2922: "EIGHT_YEARS", 3288: "NINE_YEARS", 3653: "TEN_YEARS",
}  # fmt: skip
LOG_RETENTION_DAYS: Final = tuple(LOG_RETENTION)
_ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Same constraint Bedrock and most AWS services put on tags.
_TAG = re.compile(r"^[a-zA-Z0-9\s._:/=+@-]*$")
_SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]{8,17}$")
# A Lambda function name (letters, digits, - _ .; at most 64) in which '*' may stand for any run of
# characters. At least 4 literal characters: "*" alone would let Bedrock invoke every function.
_GRADER_PATTERN = re.compile(r"^[a-zA-Z0-9_.*-]{1,64}$")
_GRADER_PATTERN_MIN_LITERALS = 4
# Reserved concurrency per function, when a platform team sets one (lambdaReservedConcurrency).
# Below 10, a handful of runs at the same step (evaluations, status checks) throttle each other;
# Lambda itself refuses any reservation that leaves the account fewer than 100 unreserved
# executions, so with N per function the account needs a concurrency limit of at least
# 100 + N x (number of functions) (the default limit is 1,000; new accounts may start lower).
RESERVED_CONCURRENCY_MIN: Final = 10
RESERVED_CONCURRENCY_MAX: Final = 1000

RemovalPolicyName = Literal["retain", "destroy"]


class ConfigError(ValueError):
    """A setting in cdk.json is missing or invalid; the message names the key and what is allowed."""


@dataclass(frozen=True)
class VpcSettings:
    """Subnets and security groups the customization job runs in (optional)."""

    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class ApprovalSettings:
    """Who may approve a run's purchases (infra/constructs/approvals.py)."""

    # The approver role's trust requires MFA (aws:MultiFactorAuthPresent). Off only where nothing
    # real is bought (a dev account without MFA devices).
    require_mfa: bool = True
    # The person who started a run may approve it (and a run without a starter record may be
    # approved). Off by default: an approval is a second person's decision.
    allow_self_approval: bool = False
    # Also accept role sessions that carry a source identity already (set by a SAML/OIDC identity
    # provider, or an earlier role): that value is then the approver. Off by default: whoever can
    # set a source identity on any role of the account could name themselves anyone.
    federated_source_identity: bool = False


_APPROVAL_KEYS: Final = {
    "requireMfa": "require_mfa",
    "allowSelfApproval": "allow_self_approval",
    "federatedSourceIdentity": "federated_source_identity",
}


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything that differs between deployment environments."""

    name: str
    account: str | None
    region: str | None
    removal_policy: RemovalPolicyName
    log_retention_days: int
    notification_email: str | None
    tags: Mapping[str, str] = field(default_factory=dict)
    noncurrent_version_expiration_days: int = 90
    vpc: VpcSettings | None = None
    # Team graders for reinforcement fine-tuning: Lambda function names (or '*' patterns) of this
    # account and region that the Bedrock service role may invoke. Empty: only the built-in grader.
    grader_function_names: tuple[str, ...] = ()
    approvals: ApprovalSettings = field(default_factory=ApprovalSettings)
    # A person approves every promotion into a serving slot (pipeline.slots), whatever the run's
    # approval policy says: what serves in production changes only with a human's yes.
    slots_require_approval: bool = False
    # Reserved concurrency of every pipeline function (infra/constructs/platform_load.py). None, the
    # default: no reservation, the functions share the account's unreserved pool, so the pipeline
    # never throttles itself and deploys in any account; a throttle from a busy account is retried
    # by the workflow for tens of minutes (infra/constructs/workflow_states.py).
    reserved_concurrency: int | None = None

    @property
    def stack_name(self) -> str:
        return f"BedrockCustomization-{self.name}"

    @property
    def ssm_parameter_name(self) -> str:
        """Where the deployment manifest lives, for the CLI to discover the pipeline."""
        return f"/bedrock-customization/{self.name}/deployment"


_KEYS: Final = {
    "account": "12-digit AWS account id (optional)",
    "region": "AWS region such as us-east-1 (optional)",
    "removalPolicy": "'retain' or 'destroy'",
    "logRetentionDays": f"one of {', '.join(map(str, LOG_RETENTION_DAYS))}",
    "notificationEmail": "an e-mail address (optional; omit for no subscription)",
    "tags": "a map of tag key to tag value (letters, digits, spaces and ._:/=+@-)",
    "noncurrentVersionExpirationDays": "whole number of days, 1 to 3650",
    "vpc": "null, or {subnetIds: [subnet-...], securityGroupIds: [sg-...]}",
    "graderFunctionNames": "a list of Lambda function names of this account and region that may grade "
    "reinforcement fine-tuning runs ('*' for any characters, at least 4 other characters each; "
    "default: none, only the built-in grader)",
    "approvals": "{requireMfa: true|false (default true), allowSelfApproval: true|false (default false), "
    "federatedSourceIdentity: true|false (default false)}",
    "slotsRequireApproval": "true|false (default false): a person approves every promotion into a "
    "serving slot",
    "lambdaReservedConcurrency": f"null (the default: no reservation, the account's unreserved pool) or a "
    f"whole number {RESERVED_CONCURRENCY_MIN} to {RESERVED_CONCURRENCY_MAX} reserved for every pipeline "
    f"function (the account then needs a concurrency limit of at least 100 + that number x the number "
    f"of functions)",
}
_REQUIRED: Final = ("removalPolicy", "logRetentionDays")


def load_environments(context: Mapping[str, Any] | None) -> tuple[EnvironmentConfig, ...]:
    """Parse the environments block of the CDK context.

    ``context`` is what ``app.node.try_get_context(CONTEXT_KEY)`` returns. Raises :class:`ConfigError`
    listing every problem found, not only the first.
    """
    where = f"cdk.json context '{CONTEXT_KEY}'"
    if context is None:
        raise ConfigError(f"{where} is missing: add a map of environment name to settings (see README).")
    if not isinstance(context, Mapping) or not context:
        raise ConfigError(f"{where} must be a non-empty map of environment name to settings.")
    problems: list[str] = []
    envs: list[EnvironmentConfig] = []
    for name, raw in context.items():
        env, env_problems = _parse_environment(str(name), raw, f"{where}.{name}")
        problems.extend(env_problems)
        if env is not None:
            envs.append(env)
    if problems:
        raise ConfigError("invalid deployment configuration:\n  - " + "\n  - ".join(problems))
    return tuple(envs)


def select_environments(
    envs: tuple[EnvironmentConfig, ...], selected: str | None
) -> tuple[EnvironmentConfig, ...]:
    """Keep only the environment named by ``-c environment=NAME``; all of them when not given."""
    if selected is None:
        return envs
    chosen = tuple(e for e in envs if e.name == selected)
    if not chosen:
        allowed = ", ".join(e.name for e in envs)
        raise ConfigError(
            f"context '{SELECT_KEY}'={selected!r} is not a configured environment; allowed: {allowed}"
        )
    return chosen


def _parse_environment(name: str, raw: object, where: str) -> tuple[EnvironmentConfig | None, list[str]]:
    problems: list[str] = []
    if not _ENV_NAME.match(name):
        problems.append(f"{where}: environment name must match {_ENV_NAME.pattern} (lowercase, <= 20 chars)")
    if not isinstance(raw, Mapping):
        return None, [*problems, f"{where} must be a map of settings ({', '.join(_KEYS)})"]
    for key in raw:
        if key not in _KEYS:
            problems.append(f"{where}.{key}: unknown setting; allowed: {', '.join(_KEYS)}")
    for key in _REQUIRED:
        if key not in raw:
            problems.append(f"{where}.{key}: required; expected {_KEYS[key]}")

    def check(key: str, ok: bool) -> None:
        if key in raw and not ok:
            problems.append(f"{where}.{key}={raw[key]!r} is invalid; expected {_KEYS[key]}")

    account = raw.get("account")
    check("account", account is None or (isinstance(account, str) and bool(_ACCOUNT.match(account))))
    region = raw.get("region")
    check("region", region is None or (isinstance(region, str) and bool(_REGION.match(region))))
    removal = raw.get("removalPolicy")
    check("removalPolicy", removal in ("retain", "destroy"))
    retention = raw.get("logRetentionDays")
    check("logRetentionDays", _is_int(retention) and retention in LOG_RETENTION_DAYS)
    email = raw.get("notificationEmail")
    check("notificationEmail", email is None or (isinstance(email, str) and bool(_EMAIL.match(email))))
    tags = raw.get("tags", {})
    check("tags", _valid_tags(tags))
    noncurrent = raw.get("noncurrentVersionExpirationDays", 90)
    check("noncurrentVersionExpirationDays", _is_int(noncurrent) and 1 <= noncurrent <= 3650)
    vpc_raw = raw.get("vpc")
    vpc = _parse_vpc(vpc_raw)
    check("vpc", vpc_raw is None or vpc is not None)
    graders = raw.get("graderFunctionNames", [])
    check("graderFunctionNames", _valid_grader_names(graders))
    approvals = _parse_approvals(raw.get("approvals", {}))
    check("approvals", approvals is not None)
    slots_approval = raw.get("slotsRequireApproval", False)
    check("slotsRequireApproval", isinstance(slots_approval, bool))
    reserved = raw.get("lambdaReservedConcurrency")
    check(
        "lambdaReservedConcurrency",
        reserved is None
        or (_is_int(reserved) and RESERVED_CONCURRENCY_MIN <= reserved <= RESERVED_CONCURRENCY_MAX),
    )

    if problems:
        return None, problems
    return (
        EnvironmentConfig(
            name=name,
            account=account,
            region=region,
            removal_policy="retain" if removal == "retain" else "destroy",
            log_retention_days=retention if isinstance(retention, int) else 0,
            notification_email=email,
            tags=dict(tags),
            noncurrent_version_expiration_days=noncurrent,
            vpc=vpc,
            grader_function_names=tuple(graders),
            approvals=approvals or ApprovalSettings(),
            slots_require_approval=bool(slots_approval),
            reserved_concurrency=reserved,
        ),
        [],
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _valid_tags(tags: object) -> bool:
    if not isinstance(tags, Mapping) or len(tags) > 50:
        return False
    return all(
        isinstance(k, str)
        and isinstance(v, str)
        and 1 <= len(k) <= 128
        and len(v) <= 256
        and not k.lower().startswith("aws:")
        and _TAG.match(k)
        and _TAG.match(v)
        for k, v in tags.items()
    )


def _valid_grader_names(names: object) -> bool:
    if not isinstance(names, list) or len(names) > 20 or len(set(map(str, names))) != len(names):
        return False
    return all(
        isinstance(n, str)
        and _GRADER_PATTERN.match(n) is not None
        and len(n.replace("*", "")) >= _GRADER_PATTERN_MIN_LITERALS
        for n in names
    )


def _parse_approvals(raw: object) -> ApprovalSettings | None:
    if not isinstance(raw, Mapping) or not set(raw) <= set(_APPROVAL_KEYS):
        return None
    if not all(isinstance(value, bool) for value in raw.values()):
        return None
    return ApprovalSettings(**{_APPROVAL_KEYS[key]: value for key, value in raw.items()})


def _parse_vpc(raw: object) -> VpcSettings | None:
    if not isinstance(raw, Mapping) or set(raw) != {"subnetIds", "securityGroupIds"}:
        return None
    subnets, groups = raw["subnetIds"], raw["securityGroupIds"]
    if not (isinstance(subnets, list) and 1 <= len(subnets) <= 16):
        return None
    if not (isinstance(groups, list) and 1 <= len(groups) <= 5):
        return None
    if not all(isinstance(s, str) and _SUBNET.match(s) for s in subnets):
        return None
    if not all(isinstance(g, str) and _SECURITY_GROUP.match(g) for g in groups):
        return None
    return VpcSettings(tuple(subnets), tuple(groups))

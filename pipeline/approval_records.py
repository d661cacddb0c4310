"""Approvals of record: who started a run, who decided each of its approval requests, and the rules
that make a decision count. One source for the handlers (lambdas/run_start, approval_request,
approval_answer, approval_verify), the CLI and the simulation. Pure: no AWS calls here.

Who a person is comes from AWS, never from what they type:

- **Identity proofs.** A caller proves who they are with a signed but unsent STS
  ``GetCallerIdentity`` request (the method HashiCorp Vault's AWS IAM auth and the EKS
  aws-iam-authenticator use). The receiving function sends it to STS itself; STS checks the
  signature and answers with the signer's ARN and user id. The request carries a signed header
  (:data:`PROOF_HEADER`) that binds it to one purpose (start run X with input digest D; answer
  request R of run X with decision Y), so a proof cannot be reused for anything else, and STS
  refuses it after about 15 minutes. A function invoked directly with a hand-built event
  (``lambda:InvokeFunction`` by anyone whose identity policy allows it) gains nothing: without a
  proof STS accepts, there is no caller.
- **Persons.** An IAM user is their user name (AWS-established). A session of the pipeline's
  approver role is its session name, which the role's trust policy binds to the source identity
  and that to the caller's IAM user name (``sts:RoleSessionName`` = ``sts:SourceIdentity`` =
  ``${aws:username}``; infra/constructs/approvals.py). Any other role session is its session
  name, which the caller chose: recorded as ``bound: false``.

Records live under prefixes that a bucket policy lets only one function write:
``starters/<runId>.json`` (the start function) and ``decisions/<runId>/<requestId>.json`` (the
approval-answer function). Pending task tokens stay under ``approvals/`` (read by the answer
function only).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

PENDING_PREFIX: Final = "approvals/"
DECISIONS_PREFIX: Final = "decisions/"
STARTERS_PREFIX: Final = "starters/"
STAGES: Final = ("evaluation", "serving")
DECISIONS: Final = ("approve", "reject")

# The signed header that binds an identity proof to one purpose. Lowercase: SigV4 signs header
# names in lowercase, and the receiving function compares them that way.
PROOF_HEADER: Final = "x-bedrock-customize-binding"
STS_BODY: Final = "Action=GetCallerIdentity&Version=2011-06-15"
STS_CONTENT_TYPE: Final = "application/x-www-form-urlencoded; charset=utf-8"
# STS refuses a signature whose X-Amz-Date is more than 15 minutes off (SigV4's clock-skew window,
# AWS General Reference "Signature Version 4 ... request date"); the function refuses older proofs
# itself so the reason is clear before STS is asked.
PROOF_MAX_AGE: Final = dt.timedelta(minutes=15)
# Headers of a proof that are sent on to STS; anything else the caller put in is dropped.
PROOF_HEADERS: Final = (
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "content-type",
    PROOF_HEADER,
)
# The starter record and the execution must agree on when it started (StartExecution's startDate
# and the context object's Execution.StartTime name the same instant; seconds of slack for formats).
START_SLACK: Final = dt.timedelta(seconds=2)

# S3's answers for a key that is not there: NoSuchKey (404) to a caller that may list the prefix,
# AccessDenied (403) otherwise [S3 API reference, GetObject "Permissions"]. For a record, either means
# "not on record", which can only refuse an approval, never grant one.
ABSENT: Final = frozenset({"NoSuchKey", "404", "NotFound", "403", "AccessDenied"})

RUN_ID: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
REQUEST_ID: Final = re.compile(r"^(evaluation|serving)-[0-9a-f]{20}$")
_SCOPE: Final = re.compile(r"Credential=[^/,\s]+/(\d{8})/([^/]+)/([^/]+)/aws4_request")
_SIGNED: Final = re.compile(r"SignedHeaders=([^,\s]+)")
# Session names and source identities: 2-64 of [\w+=,.@-] (STS AssumeRole).
_SESSION_CHARS: Final = re.compile(r"[^\w+=,.@-]")


class RecordError(ValueError):
    """A record, proof or request that does not hold up; the message says what and why."""


# --------------------------------------------------------------------------------------------------
# Ids and keys
# --------------------------------------------------------------------------------------------------


def request_id(execution_arn: str, execution_start: str, stage: str) -> str:
    """The id of a run's approval request: derived from the execution (ARN and start time: execution
    names recur after 90 days) and the stage, so the request handler and the workflow's verification
    step compute it alike without passing it through the task token's answer."""
    if stage not in STAGES:
        raise RecordError(f"stage {stage!r} is not one of {', '.join(STAGES)}")
    if not execution_arn or not execution_start:
        raise RecordError("an approval request needs the execution ARN and start time")
    digest = hashlib.sha256(f"{execution_arn}\n{execution_start}\n{stage}".encode()).hexdigest()
    return f"{stage}-{digest[:20]}"


def decision_key(run_id: str, request: str) -> str:
    return f"{DECISIONS_PREFIX}{run_id}/{request}.json"


def starter_key(run_id: str) -> str:
    return f"{STARTERS_PREFIX}{run_id}.json"


def pending_key(run_id: str) -> str:
    return f"{PENDING_PREFIX}{run_id}.json"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------------
# Identity proofs
# --------------------------------------------------------------------------------------------------


def start_binding(audience: str, run_id: str, execution_input: str) -> str:
    """What a start proof vouches for: this deployment (its bucket), this run, this exact input."""
    return f"start;{audience};{run_id};{digest(execution_input)}"


def answer_binding(audience: str, run_id: str, request: str, decision: str, reason: str) -> str:
    """What an answer proof vouches for: this deployment, this request of this run, this decision."""
    return f"answer;{audience};{run_id};{request};{decision};{digest(reason)}"


def sts_url(region: str) -> str:
    """The regional STS endpoint a proof is signed for (and the function sends it to)."""
    return f"https://sts.{region}.amazonaws.com/"


def check_proof(proof: Any, *, region: str, binding: str, now: dt.datetime) -> dict[str, str]:
    """The headers to send on to STS, once the proof's shape is right; RecordError otherwise.

    Checked here: a GetCallerIdentity POST for this region's STS, signed for ``sts`` in this region,
    with the binding header signed and equal to ``binding``, dated within :data:`PROOF_MAX_AGE`.
    STS checks the signature itself.
    """
    if not isinstance(proof, Mapping):
        raise RecordError('"proof" must be an object {"url", "method", "headers", "body"}')
    if proof.get("method", "POST") != "POST" or proof.get("url") != sts_url(region):
        raise RecordError(f"the identity proof must be a POST to {sts_url(region)}")
    if proof.get("body") != STS_BODY:
        raise RecordError(f"the identity proof's body must be exactly {STS_BODY!r}")
    raw = proof.get("headers")
    if not isinstance(raw, Mapping):
        raise RecordError("the identity proof has no headers")
    headers = {str(k).lower(): str(v) for k, v in raw.items() if str(k).lower() in PROOF_HEADERS}
    scope = _SCOPE.search(headers.get("authorization", ""))
    if scope is None or not headers["authorization"].startswith("AWS4-HMAC-SHA256 "):
        raise RecordError("the identity proof is not signed with SigV4 (AWS4-HMAC-SHA256)")
    if scope.group(2) != region or scope.group(3) != "sts":
        raise RecordError(f"the identity proof must be signed for sts in {region}")
    signed = _SIGNED.search(headers["authorization"])
    names = set(signed.group(1).split(";")) if signed else set()
    if not {"host", "x-amz-date", PROOF_HEADER} <= names:
        raise RecordError(f"the identity proof must sign host, x-amz-date and {PROOF_HEADER}")
    if headers.get(PROOF_HEADER) != binding:
        raise RecordError("the identity proof was made for another request (its binding differs)")
    try:
        stamp = dt.datetime.strptime(headers.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise RecordError("the identity proof has no valid X-Amz-Date") from None
    if abs(now - stamp) > PROOF_MAX_AGE:
        raise RecordError(
            f"the identity proof is dated {stamp:%Y-%m-%dT%H:%M:%SZ}, more than "
            f"{int(PROOF_MAX_AGE.total_seconds() // 60)} minutes from now: make a new one"
        )
    return headers


# --------------------------------------------------------------------------------------------------
# Persons
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """A caller as STS named them, and the person that stands for."""

    arn: str
    user_id: str
    account: str
    kind: str  # user | assumed-role | root | federated-user | other
    name: str  # the person: IAM user name, session name, "root"
    role: str | None = None
    bound: bool = False  # AWS bound ``name`` to the caller (not chosen by them)
    basis: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "userId": self.user_id,
            "account": self.account,
            "kind": self.kind,
            "person": self.name,
            "role": self.role,
            "bound": self.bound,
            "basis": self.basis,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Principal:
        return cls(
            arn=str(data.get("arn") or ""),
            user_id=str(data.get("userId") or ""),
            account=str(data.get("account") or ""),
            kind=str(data.get("kind") or "other"),
            name=str(data.get("person") or ""),
            role=data.get("role") if isinstance(data.get("role"), str) else None,
            bound=data.get("bound") is True,
            basis=str(data.get("basis") or ""),
        )


def principal_of(
    arn: str, user_id: str, account: str, *, bound_roles: Mapping[str, str] | None = None
) -> Principal:
    """The person behind an STS caller. ``bound_roles`` maps role name to role id (``AROA...``) for
    roles whose trust policy binds the session name to the caller (this stack's approver role)."""
    resource = arn.split(":", 5)[5] if arn.count(":") >= 5 else ""
    if resource == "root":
        return Principal(arn, user_id, account, "root", "root", bound=True, basis="the account's root user")
    kind, _, rest = resource.partition("/")
    if kind == "user" and rest:
        return Principal(
            arn, user_id, account, "user", rest.rsplit("/", 1)[-1], bound=True, basis="IAM user name"
        )
    if kind == "assumed-role" and "/" in rest:
        role, _, session = rest.partition("/")
        role_id = (bound_roles or {}).get(role)
        bound = role_id is not None and user_id == f"{role_id}:{session}"
        basis = (
            "session name bound to the source identity and IAM user name by the role's trust policy"
            if bound
            else "role session name (chosen by whoever assumed the role)"
        )
        return Principal(arn, user_id, account, "assumed-role", session, role=role, bound=bound, basis=basis)
    if kind == "federated-user" and rest:
        return Principal(arn, user_id, account, "federated-user", rest, basis="federation token name")
    return Principal(arn, user_id, account, "other", rest or arn, basis="unrecognised caller ARN")


def session_name(caller_arn: str | None) -> str:
    """A caller's own name as an STS session name / source identity (2-64 of [\\w+=,.@-]): the end
    of the caller's ARN (the IAM user name, or the current session name)."""
    tail = (caller_arn or "").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    name = _SESSION_CHARS.sub("-", tail)[:64]
    return name if len(name) >= 2 else "bedrock-customize"


def same_person(first: str, second: str) -> bool:
    """Names compared as IAM compares user names: case-insensitively."""
    return first.strip().casefold() == second.strip().casefold()


# --------------------------------------------------------------------------------------------------
# Starters and self-approval
# --------------------------------------------------------------------------------------------------


def parse_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def starter_of(record: Any, *, execution_arn: str, execution_start: str) -> Principal | None:
    """The starter a record names, if the record is about this very execution (same ARN, same start:
    an execution name recurs after 90 days, and a record of an earlier execution says nothing)."""
    if not isinstance(record, Mapping) or record.get("executionArn") != execution_arn:
        return None
    recorded, actual = parse_time(record.get("executionStart")), parse_time(execution_start)
    if recorded is None or actual is None or abs(recorded - actual) > START_SLACK:
        return None
    starter = record.get("starter")
    return Principal.from_dict(starter) if isinstance(starter, Mapping) else None


NO_STARTER: Final = (
    "this run has no starter record (it was started without the start command of the CLI, e.g. by "
    "StartExecution directly), so an approver distinct from whoever started it cannot be verified"
)


def self_approval_refusal(starter: Principal | None, approver: str, *, allowed: bool) -> str | None:
    """Why ``approver`` may not approve (None: they may). Rejections are never refused."""
    if allowed:
        return None
    if starter is None:
        return NO_STARTER + "; it can be rejected, or approved where the stack allows self-approval"
    if same_person(starter.name, approver):
        return (
            f"{approver} started this run ({starter.arn}); the stack refuses self-approval "
            "(approvals.allowSelfApproval): another approver must decide"
        )
    return None


# --------------------------------------------------------------------------------------------------
# Decisions
# --------------------------------------------------------------------------------------------------


def check_decision(record: Any, *, run_id: str, request: str, stage: str, execution_arn: str) -> str | None:
    """Why a decision record does not decide this request (None: it does)."""
    if not isinstance(record, Mapping):
        return "the decision record is not a JSON object"
    expected = {"runId": run_id, "requestId": request, "stage": stage, "executionArn": execution_arn}
    for key, value in expected.items():
        if record.get(key) != value:
            return f"the decision record's {key} is {record.get(key)!r}, not {value!r}"
    if record.get("decision") not in DECISIONS or record.get("approved") is not (
        record["decision"] == "approve"
    ):
        return "the decision record holds no clear decision (approve or reject)"
    approver = record.get("approver")
    if not isinstance(approver, str) or not approver.strip():
        return "the decision record names no approver"
    return None

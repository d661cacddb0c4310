"""Deterministic names for everything a run creates.

A run is identified by its *run id*: the run name plus the first 10 hex digits of the spec hash.
The CLI uses it as the Step Functions execution name, so starting the same spec twice is one
execution (Standard workflows refuse a second execution of the same name). A run that was
rejected, cancelled or failed is started again under a *rerun id* derived from it,
``<run id>-r<n>`` (``start --rerun``), a new execution name and so new names and tokens for
everything below. Every Bedrock name and
idempotency token below derives from it, so a retried or re-driven execution asks Bedrock for the
same job and the same purchase again, and Bedrock returns the existing ones instead of starting
or buying twice.
"""

from __future__ import annotations

import re
from typing import Final

RUN_HASH_CHARS: Final = 10
# Step Functions execution names: 1-80 chars. Our run ids are [a-z0-9-] only, which also fits
# Bedrock's jobName and clientRequestToken patterns.
_EXECUTION_NAME_MAX: Final = 80
_JOB_NAME_MAX: Final = 63
_MODEL_NAME_MAX: Final = 63
_TOKEN = re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?$")
_JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*$")
# customModelName / provisionedModelName: ([0-9a-zA-Z][_-]?)+ : no leading, trailing-pair or
# doubled separators, no dots.
_MODEL_NAME = re.compile(r"^([0-9a-zA-Z][_-]?)+$")
# What makes a run id unique, kept whole when a derived name is shortened: the spec hash and, for a
# rerun, its number. ``-r<n>`` never looks like hex, so a run id and its reruns never read alike.
_UNIQUE_TAIL = re.compile(rf"-(?P<hash>[0-9a-f]{{{RUN_HASH_CHARS}}})(?:-r(?P<attempt>[0-9]+))?$")
FIRST_RERUN: Final = 2
# The Lambda environment variable that names the deployed environment (cdk.json): where the
# serving slots live and the --env of the commands the functions print. Set by the stack.
DEPLOYMENT_ENVIRONMENT_VARIABLE: Final = "DEPLOYMENT_ENVIRONMENT"


def run_id(run_name: str, spec_hash: str) -> str:
    """The execution name of a run: ``<run name>-<first 10 hex of the spec hash>``."""
    if not re.fullmatch(r"[0-9a-f]{64}", spec_hash):
        raise ValueError(f"spec hash must be 64 lowercase hex digits, got {spec_hash!r}")
    name = _collapse(run_name.lower())
    rid = f"{name[: _EXECUTION_NAME_MAX - RUN_HASH_CHARS - 1]}-{spec_hash[:RUN_HASH_CHARS]}"
    if not _TOKEN.match(rid):
        raise ValueError(f"run name {run_name!r} cannot form a run id; use lowercase letters, digits, '-'")
    return rid


def rerun_id(rid: str, attempt: int) -> str:
    """The run id of attempt ``attempt`` (2, 3, ...) of the run ``rid`` (or of any of its reruns).

    ``<run name>-<hash>-r<attempt>``, the run name shortened so the whole stays within the 80
    characters of an execution name; every name derived from it keeps the hash and the attempt, so
    no job, model, deployment or throughput name of one attempt is another's.
    """
    if attempt < FIRST_RERUN:
        raise ValueError(f"a rerun is attempt {FIRST_RERUN} or later, got {attempt}")
    tail = _UNIQUE_TAIL.search(rid)
    if tail is None:
        raise ValueError(f"{rid!r} is not a run id of a run spec (<run name>-<10 hex>)")
    head, digest = rid[: tail.start()], tail.group("hash")
    suffix = f"-{digest}-r{attempt}"
    rerun = f"{head[: _EXECUTION_NAME_MAX - len(suffix)].rstrip('-')}{suffix}"
    assert _TOKEN.match(rerun), rerun
    return rerun


def attempt_of(rid: str) -> int:
    """Which attempt of its run spec a run id is: 1 for the run itself, n for ``...-r<n>``."""
    tail = _UNIQUE_TAIL.search(rid)
    return int(tail.group("attempt")) if tail is not None and tail.group("attempt") else 1


def job_name(rid: str) -> str:
    name = _fit(rid, _JOB_NAME_MAX)
    assert _JOB_NAME.match(name), name
    return name


def custom_model_name(rid: str) -> str:
    return _model_name(rid, "")


def provisioned_model_name(rid: str) -> str:
    return _model_name(rid, "-pt")


def evaluation_throughput_name(rid: str) -> str:
    """The 1-MU throughput bought only to evaluate a model that cannot be deployed on demand."""
    return _model_name(rid, "-eval")


def deployment_name(rid: str) -> str:
    """The run's on-demand custom model deployment (modelDeploymentName: ([0-9a-zA-Z][_-]?){1,63})."""
    return _model_name(rid, "-od")


def deployment_request_token(rid: str) -> str:
    """One deployment per run, however often the create call is retried or the run re-driven."""
    token = f"{rid}-od"
    assert _TOKEN.match(token), token
    return token


def evaluation_throughput_request_token(rid: str) -> str:
    token = f"{rid}-eval-pt"
    assert _TOKEN.match(token), token
    return token


def job_request_token(rid: str) -> str:
    """Idempotency token of the customization job (the state machine passes $$.Execution.Name)."""
    return rid


def throughput_request_token(rid: str) -> str:
    """Idempotency token of the throughput purchase: one purchase per run, whatever retries."""
    token = f"{rid}-pt"
    assert _TOKEN.match(token), token
    return token


# Evaluation job names are lowercase only: [a-z0-9](-*[a-z0-9]){0,62} [BC].
_EVALUATION_JOB_NAME = re.compile(r"^[a-z0-9](-*[a-z0-9]){0,62}$")


def judge_job_name(rid: str, which: str) -> str:
    """The LLM-judge evaluation job of the run for ``which`` model (``custom``, ``base`` or ``champion``)."""
    suffix = f"-judge-{which}"
    name = _fit(rid.lower(), _JOB_NAME_MAX - len(suffix)) + suffix
    assert _EVALUATION_JOB_NAME.match(name), name
    return name


def judge_request_token(rid: str, which: str) -> str:
    """One evaluation job per model per run, however often the create call is retried."""
    token = f"{rid}-judge-{which}"
    assert _TOKEN.match(token), token
    return token


def _model_name(rid: str, suffix: str) -> str:
    name = _fit(_collapse(rid), _MODEL_NAME_MAX - len(suffix)) + suffix
    assert _MODEL_NAME.match(name), name
    return name


def _collapse(text: str) -> str:
    """Model names may not hold consecutive separators; run names may."""
    return re.sub(r"-{2,}", "-", text).strip("-")


def _fit(rid: str, limit: int) -> str:
    """Shorten to ``limit`` keeping the tail that makes the name unique (the hash, and a rerun's
    number; else the last part)."""
    if len(rid) <= limit:
        return rid
    tail = _UNIQUE_TAIL.search(rid)
    if tail is not None:
        head, unique = rid[: tail.start()], rid[tail.start() + 1 :]
    else:
        head, _, unique = rid.rpartition("-")
    return f"{head[: limit - len(unique) - 1].rstrip('-')}-{unique}"

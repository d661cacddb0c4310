"""The handlers' side of :mod:`pipeline.release` and :mod:`pipeline.durable_release`: a Releaser on
the function's Bedrock client, the hand-over to the retrying release, the commands a notice prints
and the metrics of what was released or is still billing. Shared by ``cleanup``, ``run_ended`` and
``release`` (a handler never imports another handler: each ships as an asset of its own with only
``lambdas/common`` and ``pipeline``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, Final

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.common import metric_names, runtime
from pipeline import durable_release, naming
from pipeline.ownership import Execution
from pipeline.release import Released, Releaser, summarize
from pipeline.slot_lock import SlotLock

# Set by the stack (infra/constructs/durable_release.py) on every function that releases.
RELEASE_STATE_MACHINE: Final = "RELEASE_STATE_MACHINE_ARN"
ENVIRONMENT: Final = naming.DEPLOYMENT_ENVIRONMENT_VARIABLE


def releaser(owner: Execution | None) -> Releaser:
    """A Releaser on this function's Bedrock client; the clock is read when a deletion happens."""
    return Releaser(
        runtime.client("bedrock"),
        error_code=runtime.error_code,
        iso_utc=runtime.iso_utc,
        hours_between=runtime.hours_between,
        now=lambda: runtime.utc_now(),
        owner=owner,
    )


def where() -> dict[str, str | None]:
    """The environment and region a printed command acts on (the deployed pipeline's own)."""
    return {"env": os.environ.get(ENVIRONMENT) or None, "region": runtime.region()}


def summary(released: Released, job_stopped: bool, job: dict[str, Any] | None, mode: str) -> str:
    return summarize(released, job_stopped, job, mode, **where())


def hand_over(
    run_id: str,
    owner: Execution,
    scope: str,
    targets: Iterable[Mapping[str, str]],
    *,
    catch_up: bool,
) -> tuple[str, bool]:
    """Start the retrying release (pipeline.durable_release): its execution ARN, and whether this
    call started it (False: an earlier hand-over of the same execution and scope covers it).
    Raises on failure."""
    handed = durable_release.request(
        run_id, owner, scope, targets=targets, handed_over_at=runtime.utc_now(), catch_up=catch_up
    )
    return durable_release.hand_over(
        runtime.client("stepfunctions"),
        runtime.require_env(RELEASE_STATE_MACHINE),
        handed,
        runtime.error_code,
    )


def slot_lock() -> SlotLock | None:
    """The serving slots' lock table, where the stack has one (``SLOT_LOCK_TABLE``)."""
    table = os.environ.get("SLOT_LOCK_TABLE")
    return SlotLock(runtime.client("dynamodb"), table, error_code=runtime.error_code) if table else None


def emit_metrics(released: Released) -> None:
    """Model-unit hours of the no-commitment throughput released, and what is still billing."""
    if released.model_unit_hours:
        runtime.add_metric(
            metric_names.THROUGHPUT_RELEASED_MU_HOURS, round(released.model_unit_hours, 3), MetricUnit.NoUnit
        )


def emit_still_billing(count: int) -> None:
    """What a release owns but could not delete yet (0 once everything is gone): the alarm's metric."""
    runtime.add_metric(metric_names.STILL_BILLING, count)

"""The handlers' side of :mod:`pipeline.release`: its Releaser on the function's Bedrock client, and
the metric of what it released. Shared by ``cleanup`` and ``run_ended`` (a handler never imports
another handler: each ships as an asset of its own with only ``lambdas/common`` and ``pipeline``)."""

from __future__ import annotations

import os

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.common import metric_names, runtime
from pipeline.release import Released, Releaser
from pipeline.slot_lock import SlotLock


def releaser() -> Releaser:
    """A Releaser on this function's Bedrock client; the clock is read when a deletion happens."""
    return Releaser(
        runtime.client("bedrock"),
        error_code=runtime.error_code,
        iso_utc=runtime.iso_utc,
        hours_between=runtime.hours_between,
        now=lambda: runtime.utc_now(),
    )


def slot_lock() -> SlotLock | None:
    """The serving slots' lock table, where the stack has one (``SLOT_LOCK_TABLE``)."""
    table = os.environ.get("SLOT_LOCK_TABLE")
    return SlotLock(runtime.client("dynamodb"), table, error_code=runtime.error_code) if table else None


def emit_metrics(released: Released) -> None:
    """Model-unit hours of the no-commitment throughput released (nothing when none was)."""
    if released.model_unit_hours:
        runtime.add_metric(
            metric_names.THROUGHPUT_RELEASED_MU_HOURS, round(released.model_unit_hours, 3), MetricUnit.NoUnit
        )

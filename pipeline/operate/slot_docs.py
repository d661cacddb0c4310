"""Serving slots as the CLI reads them: the SSM documents under the deployment's prefix, and who
holds a slot's lock now.

A slot's document is ``/bedrock-customization/<env>/slots/<name>`` (:mod:`pipeline.slots`), written
only by the workflow's slots function. The lock table (:mod:`pipeline.slot_lock`) holds an item per
slot while a promotion into it runs: that is the slot's *pending* promotion. Its name is in the
deployment manifest (``slotLockTable``) of stacks deployed since serving slots exist.

Calls: ssm:GetParametersByPath, ssm:GetParameter, dynamodb:GetItem.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from pipeline import slot_lock, slots
from pipeline.operate.errors import OperationalError, error_code


@dataclass(frozen=True)
class SlotRead:
    """Every slot of an environment, and the documents that could not be read (parameter, why)."""

    slots: tuple[slots.Slot, ...]
    unreadable: tuple[tuple[str, str], ...] = ()


def _parse(name: str, value: str) -> slots.Slot:
    try:
        return slots.Slot.from_dict(json.loads(value))
    except (json.JSONDecodeError, slots.SlotError) as exc:
        raise slots.SlotError(f"{name}: {exc}") from None


def read_all(ssm: Any, environment: str) -> SlotRead:
    """Every slot document under the environment's prefix, by name."""
    found: list[slots.Slot] = []
    unreadable: list[tuple[str, str]] = []
    try:
        pages = ssm.get_paginator("get_parameters_by_path").paginate(
            Path=slots.slots_prefix(environment).rstrip("/"), Recursive=False
        )
        for page in pages:
            for parameter in page.get("Parameters", []):
                try:
                    found.append(_parse(parameter["Name"], parameter["Value"]))
                except slots.SlotError as exc:
                    unreadable.append((parameter["Name"], str(exc)))
    except Exception as exc:
        code = error_code(exc)
        if not code:
            raise
        raise OperationalError(
            f"cannot read the serving slots under {slots.slots_prefix(environment)}: {code}",
            hint="the operator needs ssm:GetParametersByPath on the slots' prefix",
        ) from exc
    return SlotRead(tuple(sorted(found, key=lambda s: s.name)), tuple(unreadable))


def read_one(ssm: Any, environment: str, name: str) -> slots.Slot | None:
    parameter = slots.parameter_name(environment, name)
    try:
        value = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except Exception as exc:
        code = error_code(exc)
        if code == "ParameterNotFound":
            return None
        if not code:
            raise
        raise OperationalError(f"cannot read {parameter}: {code}") from exc
    try:
        return _parse(parameter, value)
    except slots.SlotError as exc:
        raise OperationalError(str(exc), hint="the slot's document was changed by hand?") from exc


def pending(dynamodb: Any, table: str | None, name: str, now: dt.datetime) -> str | None:
    """Which run is promoting into the slot now ("run X since ..."), None when none; None too when
    the stack has no lock table in its manifest (deployed before slots)."""
    if not table:
        return None
    lock = slot_lock.SlotLock(dynamodb, table, error_code=error_code, now=lambda: now)
    holder = lock.holder(name)
    if holder is None or holder.expires_at < now.timestamp():
        return None
    return f"run {holder.run_id}"

"""A serving slot's lock: one promotion at a time, given back by the run that holds it.

One DynamoDB item per held slot (table ``SLOT_LOCK_TABLE``, key ``slot``): written only when no
item exists, when the one there has expired, or when it is already this run's (a retried take).
A run gives it back when it recorded the slot, when its promotion failed (``lambdas/cleanup``), and
when it was stopped from outside (``lambdas/run_ended``, by the execution that holds it). A lock no
run gave back expires after :data:`LOCK_SECONDS`: the next run takes it over.

The writers are ``lambdas/slots``, ``lambdas/cleanup`` and ``lambdas/run_ended``: each ships as an
asset of its own with ``pipeline``, so the lock's rules live here, over an injected DynamoDB client.
Every delete is conditioned on the holder: a run never gives back another run's lock.

Calls: dynamodb:PutItem, dynamodb:GetItem, dynamodb:DeleteItem, dynamodb:Scan (release_execution).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

# A promotion holds its slot at most this long: the change and its wait (the plan bounds each at
# about 1 h), the smoke check, a rollback and its wait. A lock older than that belongs to a run
# that ended without giving it back.
LOCK_SECONDS: Final = 6 * 3600
_TAKEN_BY_ANOTHER: Final = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class Holder:
    run_id: str
    execution_arn: str
    expires_at: int


@dataclass
class SlotLock:
    """The lock table through ``dynamodb`` (a boto3 DynamoDB client)."""

    dynamodb: Any
    table: str
    error_code: Callable[[Exception], str]
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)

    def take(self, slot: str, run_id: str, execution_arn: str) -> Holder | None:
        """Take ``slot`` for the run; None when taken, else who holds it."""
        now = int(self.now().timestamp())
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={
                    "slot": {"S": slot},
                    "runId": {"S": run_id},
                    "executionArn": {"S": execution_arn},
                    "takenAt": {"N": str(now)},
                    "expiresAt": {"N": str(now + LOCK_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(#slot) OR expiresAt < :now OR runId = :me",
                ExpressionAttributeNames={"#slot": "slot"},
                ExpressionAttributeValues={":now": {"N": str(now)}, ":me": {"S": run_id}},
            )
        except Exception as error:
            if self.error_code(error) != _TAKEN_BY_ANOTHER:
                raise
            return self.holder(slot) or Holder("another run", "", 0)
        return None

    def holder(self, slot: str) -> Holder | None:
        item = self.dynamodb.get_item(
            TableName=self.table, Key={"slot": {"S": slot}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return Holder(
            run_id=item.get("runId", {}).get("S", "another run"),
            execution_arn=item.get("executionArn", {}).get("S", ""),
            expires_at=int(item.get("expiresAt", {}).get("N", "0")),
        )

    def release(self, slot: str, run_id: str) -> bool:
        """Give ``slot`` back if this run holds it; False when it held nothing there."""
        try:
            self.dynamodb.delete_item(
                TableName=self.table,
                Key={"slot": {"S": slot}},
                ConditionExpression="runId = :me",
                ExpressionAttributeValues={":me": {"S": run_id}},
            )
        except Exception as error:
            if self.error_code(error) != _TAKEN_BY_ANOTHER:
                raise
            return False
        return True

    def release_execution(self, execution_arn: str) -> list[str]:
        """Every slot ``execution_arn`` still holds given back (a stopped run has no plan at hand).

        The table holds one item per slot being promoted into: a scan reads a handful of items.
        """
        released = []
        pages = self.dynamodb.get_paginator("scan").paginate(
            TableName=self.table,
            FilterExpression="executionArn = :me",
            ExpressionAttributeValues={":me": {"S": execution_arn}},
            ConsistentRead=True,
        )
        for page in pages:
            for item in page.get("Items", []):
                slot, run_id = item["slot"]["S"], item.get("runId", {}).get("S", "")
                try:
                    self.dynamodb.delete_item(
                        TableName=self.table,
                        Key={"slot": {"S": slot}},
                        ConditionExpression="executionArn = :me",
                        ExpressionAttributeValues={":me": {"S": execution_arn}},
                    )
                except Exception as error:
                    if self.error_code(error) != _TAKEN_BY_ANOTHER:
                        raise
                    continue
                released.append(f"{slot} (held by run {run_id})")
        return released

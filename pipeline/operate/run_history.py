"""What AWS says about a run: its Step Functions execution history and its customization job.

The execution is named after the run id (docs/workflow-contract.md). Where a run is comes from its
history: the last state entered is the current state, the last state exited carries the state
document as far as the run got. The job is read from Bedrock (GetModelCustomizationJob) or, once
gone, from the ``.sync`` result in the state document. :mod:`pipeline.operate.runs` builds the
run's view from both.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.operate import output
from pipeline.retries import JOB_QUEUE_SCHEDULE, JOB_QUOTA_ERROR

# --------------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """The execution's events, oldest first."""

    events: tuple[Mapping[str, Any], ...]

    @classmethod
    def fetch(cls, sfn: Any, execution_arn: str) -> History:
        events: list[Mapping[str, Any]] = []
        paginator = sfn.get_paginator("get_execution_history")
        for page in paginator.paginate(
            executionArn=execution_arn, includeExecutionData=True, maxResults=1000
        ):
            events += page.get("events", [])
        return cls(tuple(sorted(events, key=lambda e: int(e.get("id", 0)))))

    def _named(self, kind: str) -> Iterable[tuple[str, Mapping[str, Any]]]:
        for event in self.events:
            details = event.get(kind)
            if isinstance(details, Mapping) and details.get("name"):
                yield str(details["name"]), event

    def current_state(self) -> str | None:
        """The last state entered."""
        entered = list(self._named("stateEnteredEventDetails"))
        return entered[-1][0] if entered else None

    def entered_at(self, prefix: str) -> dt.datetime | None:
        """When a state (by name prefix) was last entered."""
        times = [
            e.get("timestamp")
            for name, e in self._named("stateEnteredEventDetails")
            if name.startswith(prefix)
        ]
        return output.parse_time(times[-1]) if times else None

    def stage_since(self) -> dt.datetime | None:
        """When the current stage began: the first of the last states entered that share its label
        (a wait loop goes round its Wait, check and Choice states; it is one stage)."""
        from pipeline import workflow_stages

        entered = list(self._named("stateEnteredEventDetails"))
        if not entered:
            return None
        current = workflow_stages.label(entered[-1][0])
        since = entered[-1][1].get("timestamp")
        for name, event in reversed(entered):
            if workflow_stages.label(name) != current:
                break
            since = event.get("timestamp")
        return output.parse_time(since)

    def last_state_before_the_end(self) -> str | None:
        """The last state entered before the failure path (or the end): where the run stopped."""
        from pipeline import workflow_stages

        for name, _event in reversed(list(self._named("stateEnteredEventDetails"))):
            if workflow_stages.group(name) != workflow_stages.FAILURE:
                return str(name)
        return None

    def exited_at(self, prefix: str) -> dt.datetime | None:
        times = [
            e.get("timestamp")
            for name, e in self._named("stateExitedEventDetails")
            if name.startswith(prefix)
        ]
        return output.parse_time(times[-1]) if times else None

    def state_document(self) -> dict[str, Any]:
        """The state document as the last state that finished left it (``{}`` before the first)."""
        for _name, event in reversed(list(self._named("stateExitedEventDetails"))):
            raw = event["stateExitedEventDetails"].get("output")
            if isinstance(raw, str):
                try:
                    doc = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                if isinstance(doc, dict):
                    return doc
        return {}

    def training_queue(self) -> Queue | None:
        """The run waits in line for a training slot: its job's create call was refused by the quota
        (pipeline.retries.JOB_QUOTA_ERROR) since it entered the training state, and has not gone
        through since. None otherwise."""
        from pipeline import workflow_stages

        entered = list(self._named("stateEnteredEventDetails"))
        if not entered or workflow_stages.group(entered[-1][0]) != workflow_stages.TRAINING:
            return None
        start = int(entered[-1][1].get("id", 0))
        refused: list[Mapping[str, Any]] = []
        for event in self.events:
            if int(event.get("id", 0)) <= start:
                continue
            if event.get("type") in ("TaskSubmitted", "TaskSucceeded"):
                refused = []  # the job was created: no longer in line
                continue
            for key in ("taskFailedEventDetails", "taskSubmitFailedEventDetails"):
                details = event.get(key)
                if isinstance(details, Mapping) and details.get("error") == JOB_QUOTA_ERROR:
                    refused.append(event)
        if not refused:
            return None
        since = output.parse_time(refused[0].get("timestamp"))
        last = output.parse_time(refused[-1].get("timestamp"))
        if since is None or last is None:
            return None
        return Queue(since=since, refused=len(refused), last_refused=last)

    def failure(self) -> tuple[str | None, str | None]:
        for event in reversed(self.events):
            for key in (
                "executionFailedEventDetails",
                "executionAbortedEventDetails",
                "executionTimedOutEventDetails",
            ):
                details = event.get(key)
                if isinstance(details, Mapping):
                    return details.get("error"), details.get("cause")
        return None, None


@dataclass(frozen=True)
class Queue:
    """In line for a training slot: since the first refusal, how often refused, the last one."""

    since: dt.datetime
    refused: int
    last_refused: dt.datetime

    @property
    def attempts_left(self) -> int:
        return max(0, JOB_QUEUE_SCHEDULE.max_attempts - self.refused + 1)

    @property
    def gives_up_by(self) -> dt.datetime:
        """The latest the run can still be in line (every remaining wait at its maximum)."""
        return self.since + dt.timedelta(seconds=JOB_QUEUE_SCHEDULE.nominal_total_s)

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": output.iso(self.since),
            "refused": self.refused,
            "lastRefused": output.iso(self.last_refused),
            "attemptsLeft": self.attempts_left,
            "givesUpBy": output.iso(self.gives_up_by),
        }


# --------------------------------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """The customization job as GetModelCustomizationJob (or the .sync result) reports it."""

    name: str
    arn: str | None
    status: str | None
    created: dt.datetime | None
    ended: dt.datetime | None
    output_model_arn: str | None
    training_loss: float | None
    validation_loss: float | None
    failure_message: str | None
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, name: str, item: Mapping[str, Any]) -> Job:
        """camelCase from boto3, PascalCase from the Step Functions .sync result: both accepted."""

        def get(key: str) -> Any:
            return item.get(key, item.get(key[0].upper() + key[1:]))

        validation = [
            v.get("validationLoss", v.get("ValidationLoss"))
            for v in get("validationMetrics") or []
            if isinstance(v, Mapping)
        ]
        numbers = [float(v) for v in validation if isinstance(v, int | float)]
        training = (get("trainingMetrics") or {}).get("trainingLoss")
        return cls(
            name=str(get("jobName") or name),
            arn=get("jobArn"),
            status=get("status"),
            created=output.parse_time(get("creationTime")),
            ended=output.parse_time(get("endTime")),
            output_model_arn=get("outputModelArn"),
            training_loss=float(training) if isinstance(training, int | float) else None,
            validation_loss=max(numbers) if numbers else None,
            failure_message=get("failureMessage"),
            details=dict(get("statusDetails") or {}),
        )

    def progress(self, now: dt.datetime) -> str:
        text = self.status or "unknown"
        if self.created is not None:
            text += f" for {output.duration(((self.ended or now) - self.created).total_seconds())}"
        stages = [
            f"{label} {self.details[key].get('status')}"
            for key, label in (
                ("validationDetails", "validation"),
                ("dataProcessingDetails", "data processing"),
                ("trainingDetails", "training"),
            )
            if isinstance(self.details.get(key), Mapping) and self.details[key].get("status")
        ]
        if stages:
            text += f" ({', '.join(stages)})"
        if self.failure_message:
            text += f": {self.failure_message}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arn": self.arn,
            "status": self.status,
            "createdAt": output.iso(self.created),
            "endedAt": output.iso(self.ended),
            "outputModelArn": self.output_model_arn,
            "trainingLoss": self.training_loss,
            "validationLoss": self.validation_loss,
            "failureMessage": self.failure_message,
            "statusDetails": {k: dict(v) for k, v in self.details.items() if isinstance(v, Mapping)},
        }

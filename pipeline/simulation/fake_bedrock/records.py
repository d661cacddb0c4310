"""What the simulated Bedrock keeps of each resource it was asked to create, and of each call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Job:
    arn: str
    job_id: str
    name: str
    token: str
    request: dict[str, Any]
    created: float
    # (elapsed, status, failure message) in time order; the status at t is the last entry <= t.
    timeline: list[tuple[float, str, str | None]]
    create_requests: int = 1
    stop_requests: int = 0
    output_model_arn: str | None = None
    metrics_written: list[str] = field(default_factory=list)
    # Reinforcement fine-tuning: (step, epoch, mean, min, max reward) per training step, and the grader
    # invocations made for them.
    rewards: list[tuple[int, int, float, float, float]] = field(default_factory=list)
    grader_calls: int = 0


@dataclass
class RftRun:
    """What a simulated reinforcement fine-tuning job did: its reward per step, or where it failed."""

    rewards: list[tuple[int, int, float, float, float]] = field(default_factory=list)
    calls: int = 0
    failure: str | None = None
    failed_at: float = 0.0


@dataclass
class CustomModel:
    arn: str
    name: str
    job_arn: str  # "" for a model a scenario declares already there (no job of this simulation)
    created: float
    # Set for a model a scenario declares already there: its base model and how well it answers
    # (None: as ``models.customQuality`` says).
    base_model_id: str = ""
    quality: float | None = None


@dataclass
class ModelChange:
    """An in-place change of the model behind a deployment or a throughput (Update*), and its end."""

    target_model_arn: str
    previous_model_arn: str
    started: float
    done_at: float
    failure: str | None = None  # the failure message when the change fails; None: it completes

    def status(self, now: float) -> str:
        if now < self.done_at:
            return "Updating"
        return "UpdateFailed" if self.failure is not None else "UpdateCompleted"


def model_at(model_arn: str, changes: list[ModelChange], now: float) -> str:
    """The custom model an endpoint serves at ``now``: its first model, then each change that
    completed by then. While a change runs the previous model keeps serving (UNCONFIRMED: whether an
    in-place update interrupts requests in flight or serves the old model until it completes is not
    documented; the simulation assumes the old model serves until the change completes)."""
    for change in changes:
        if change.status(now) == "UpdateCompleted":
            model_arn = change.target_model_arn
    return model_arn


@dataclass
class Throughput:
    arn: str
    name: str
    token: str
    request: dict[str, Any]
    model_arn: str
    model_units: int
    commitment: str | None
    created: float
    ready_at: float | None  # when it leaves Creating (None: never)
    outcome: str
    create_requests: int = 1
    deleted: float | None = None
    delete_refusals: int = 0
    changes: list[ModelChange] = field(default_factory=list)
    # Bought before the simulation (a scenario's serving slot): not the run's purchase.
    preexisting: bool = False

    def status(self, now: float) -> str:
        if self.ready_at is None or now < self.ready_at:
            return "Creating"
        if self.outcome == "InService" and self.changes:
            change = self.changes[-1].status(now)
            if change == "Updating":
                return "Updating"
            if change == "UpdateFailed":
                # UNCONFIRMED: what a throughput whose model change failed reports (botocore's
                # statuses are Creating | InService | Updating | Failed); the simulation says Failed.
                return "Failed"
        return self.outcome

    def model_at(self, now: float) -> str:
        return model_at(self.model_arn, self.changes, now)


@dataclass
class Deployment:
    """A custom model deployment: on-demand serving of a custom model."""

    arn: str
    name: str
    token: str
    request: dict[str, Any]
    model_arn: str
    created: float
    ready_at: float | None  # when it leaves Creating (None: never)
    outcome: str
    create_requests: int = 1
    deleted: float | None = None
    changes: list[ModelChange] = field(default_factory=list)
    # Deployed before the simulation (a scenario's serving slot): not the run's deployment.
    preexisting: bool = False

    def status(self, now: float) -> str:
        # An in-place model change does not change the deployment's status (updateDetails reports
        # it): UNCONFIRMED, botocore's statuses are Creating | Active | Failed.
        if self.ready_at is None or now < self.ready_at:
            return "Creating"
        return self.outcome

    def model_at(self, now: float) -> str:
        return model_at(self.model_arn, self.changes, now)


@dataclass
class EvaluationJob:
    """An LLM-judge model evaluation job over precomputed responses."""

    arn: str
    name: str
    token: str
    request: dict[str, Any]
    created: float
    done_at: float
    outcome: str
    create_requests: int = 1
    results: list[str] = field(default_factory=list)

    stopped_at: float | None = None

    def status(self, now: float) -> str:
        if self.stopped_at is not None and self.stopped_at <= self.done_at:
            return "Stopped" if now >= self.stopped_at else "InProgress"
        return "InProgress" if now < self.done_at else self.outcome


@dataclass(frozen=True)
class Call:
    """One request the simulated Bedrock received."""

    elapsed: float
    service: str
    operation: str
    subject: str
    outcome: str  # "ok", an error code, or "fault:<code>" / "fault-after:<code>"

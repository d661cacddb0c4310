"""What one simulation found: the states it visited, notices, Bedrock's ledger, checks, timings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.simulation.scenarios import Scenario


class SimulationError(RuntimeError):
    """The simulation itself could not run (missing template, a hang, an unsupported dataset)."""


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


@dataclass
class Visit:
    """One state entered, from the execution history."""

    name: str
    kind: str
    entered: float
    exited: float | None = None
    output: Any = None
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)
    next: str | None = None

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)

    @property
    def duration(self) -> float:
        return (self.exited if self.exited is not None else self.entered) - self.entered


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Notification:
    subject: str | None
    message: str


@dataclass
class SimulationResult:
    scenario: Scenario
    spec_path: str
    template_path: str
    run_id: str
    execution_arn: str
    status: str
    error: str | None
    cause: str | None
    output: Any
    visits: list[Visit]
    notifications: list[Notification]
    ledger: dict[str, Any]
    bedrock_calls: list[dict[str, Any]]
    lambda_invocations: list[dict[str, Any]]
    faults_injected: dict[str, int]
    approval: dict[str, Any]
    duplicate_starts: list[str]
    # What the execution-status handler did (EventBridge's "execution ended" delivery), if it ran.
    ended: dict[str, Any] | None
    artifacts: dict[str, str]
    report: dict[str, str]
    notes: list[str]
    simulated_seconds: float
    real_seconds: float
    plan: dict[str, Any] | None
    definition: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    # The run's starter record and decisions of record ({"starter", "decisions", "allowSelfApproval"}).
    approval_records: dict[str, Any] = field(default_factory=dict)
    # The retrying release's executions (pipeline.durable_release), in start order: {"name",
    # "status", "attempts", "pending"} once each ended (or the simulation stopped waiting).
    releases: list[dict[str, Any]] = field(default_factory=list)
    # The run's serving slot: {"parameter", "before", "after", "lockAtEnd"} (its SSM document before
    # and after the run, None where it did not exist; the run holding its lock at the end, if any);
    # empty when the run names no slot.
    slot: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> list[str]:
        return [visit.name for visit in self.visits]

    @property
    def retries(self) -> int:
        return sum(visit.retries for visit in self.visits)

    @property
    def transitions(self) -> int:
        """Billed state transitions: every state entered plus every retry attempt."""
        return len(self.visits) + self.retries

    def expectation_problems(self, *, outcome_only: bool = False) -> list[str]:
        """Where the run differs from the scenario's ``expect`` (empty when it matches)."""
        expect = self.scenario.expect
        problems = []
        if self.status != expect.get("status"):
            problems.append(f"status {self.status}, expected {expect.get('status')}")
        if "error" in expect and self.error != expect["error"]:
            problems.append(f"error {self.error!r}, expected {expect['error']!r}")
        if outcome_only:
            return problems
        for text in expect.get("causeContains", []):
            if text not in (self.cause or ""):
                problems.append(f"cause does not contain {text!r}: {self.cause!r}")
        if "transitions" in expect and self.transitions != expect["transitions"]:
            problems.append(f"{self.transitions} state transitions, expected {expect['transitions']}")
        if "path" in expect and self.path != list(expect["path"]):
            problems.append(f"path {self.path}, expected {list(expect['path'])}")
        subjects = [n.subject or "" for n in self.notifications]
        wanted = list(expect.get("notifications", []))
        if "notifications" in expect and (
            len(subjects) != len(wanted) or any(w not in s for w, s in zip(wanted, subjects, strict=False))
        ):
            problems.append(f"notification subjects {subjects}, expected ones containing {wanted}")
        jobs, throughputs = self.ledger["jobs"], self.ledger["throughputs"]
        deployments = self.ledger.get("deployments", [])
        for key, actual in (
            ("jobs", len(jobs)),
            ("purchases", len(throughputs)),
            ("aliveAtEnd", sum(1 for t in throughputs if t["alive"])),
            ("deployments", len(deployments)),
            ("deploymentsAliveAtEnd", sum(1 for d in deployments if d["alive"])),
        ):
            if key in expect and actual != expect[key]:
                problems.append(f"{key} {actual}, expected {expect[key]}")
        if "jobStatus" in expect and [j["status"] for j in jobs] != [expect["jobStatus"]]:
            problems.append(f"job status {[j['status'] for j in jobs]}, expected [{expect['jobStatus']!r}]")
        if "approval" in expect and self.approval.get("outcome") != expect["approval"]:
            problems.append(f"approval {self.approval.get('outcome')!r}, expected {expect['approval']!r}")
        statuses = [r["status"] for r in self.releases]
        if "releases" in expect and statuses != list(expect["releases"]):
            problems.append(f"retrying releases {statuses}, expected {list(expect['releases'])}")
        return problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.name,
            "runId": self.run_id,
            "executionArn": self.execution_arn,
            "status": self.status,
            "error": self.error,
            "cause": self.cause,
            "path": self.path,
            "transitions": self.transitions,
            "stateEntries": len(self.visits),
            "retries": self.retries,
            "simulatedSeconds": round(self.simulated_seconds, 3),
            "realSeconds": round(self.real_seconds, 3),
            "timeline": [
                {
                    "state": v.name,
                    "type": v.kind,
                    "enteredAt": round(v.entered, 3),
                    "durationSeconds": round(v.duration, 3),
                    "attempts": v.attempts,
                    "errors": v.errors,
                    "causes": v.causes,
                    "next": v.next,
                }
                for v in self.visits
            ],
            "notifications": [{"subject": n.subject, "message": n.message} for n in self.notifications],
            "ledger": self.ledger,
            "bedrockCalls": self.bedrock_calls,
            "lambdaInvocations": self.lambda_invocations,
            "faultsInjected": self.faults_injected,
            "approval": self.approval,
            "approvalRecords": self.approval_records,
            "slot": self.slot,
            "duplicateStarts": self.duplicate_starts,
            "releases": self.releases,
            "executionEnded": self.ended,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "artifacts": self.artifacts,
            "report": self.report,
            "notes": self.notes,
        }

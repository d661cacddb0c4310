"""The quota check of `check`, `estimate` and `start`: the account's Bedrock quotas against the run.

The same reading and rules as the workflow's preflight (``pipeline.quotas.check``, one code path),
with the operator's credentials: the quotas and the jobs in progress now (ListModelCustomizationJobs).
A purchase that cannot fit refuses the run (exit 2), training slots all in use warn that the run
would wait in line. Offline
(``--offline``, ``BEDROCK_CUSTOMIZE_OFFLINE``, no credentials) nothing is asked and the line says the
quotas were not checked. A quota that cannot be read refuses nothing: the line says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from pipeline import quotas
from pipeline.operate import aws
from pipeline.operate.errors import error_code
from pipeline.runspec import RunSpec

LIVE: Final = "live"
OFFLINE: Final = "offline"


@dataclass(frozen=True)
class QuotaCheck:
    mode: str
    region: str
    reason: str | None = None  # why offline
    readings: tuple[quotas.QuotaReading, ...] = ()
    findings: tuple[quotas.QuotaFinding, ...] = ()
    jobs_in_progress: int | None = None
    jobs_not_counted: str | None = None  # why the jobs in progress could not be counted

    def line(self) -> str:
        if self.mode == OFFLINE:
            return f"quotas: not checked, offline ({self.reason})"
        parts = []
        for reading in self.readings:
            if reading.value is None:
                parts.append(f"{reading.label} not checked ({reading.unchecked})")
            else:
                parts.append(f"{reading.label} {reading.value:g}")
        if self.jobs_in_progress is not None:
            parts.append(f"{self.jobs_in_progress} customization job(s) in progress")
        elif self.jobs_not_counted is not None:
            parts.append(f"jobs in progress not counted ({self.jobs_not_counted})")
        refused = any(f.severity == quotas.ERROR for f in self.findings)
        return f"quotas in {self.region}: " + "; ".join(parts) + (" \u2014 refused" if refused else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "region": self.region,
            "reason": self.reason,
            "line": self.line(),
            "readings": [r.to_dict() for r in self.readings],
            "jobsInProgress": self.jobs_in_progress,
            "jobsNotCounted": self.jobs_not_counted,
            "findings": [f.to_dict() for f in self.findings],
        }


def run(spec: RunSpec, *, offline: bool = False, clients: aws.Clients | None = None) -> QuotaCheck:
    reason = aws.offline_reason(requested=offline)
    if reason is not None:
        return QuotaCheck(OFFLINE, spec.region, reason=reason)
    clients = clients or aws.Clients(spec.region)
    result = quotas.check(spec, clients("service-quotas"), clients("bedrock"), error_code)
    return QuotaCheck(
        LIVE,
        spec.region,
        None,
        result.readings,
        result.findings,
        result.jobs_in_progress,
        result.jobs_not_counted,
    )


def apply(check: QuotaCheck, report: Any) -> None:
    """Refusals into the report's problems, warnings into its findings (pipeline.quotas.apply)."""
    quotas.apply(report, check.findings)

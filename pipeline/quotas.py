"""Bedrock's Service Quotas that decide whether a run can train and buy: read before training.

Two quotas matter to a run before anything is paid for:

- **No-commitment model units for custom models**: "Model units no-commitment Provisioned
  Throughputs across custom models", code ``L-BE77399C`` (service code ``bedrock``). Every
  no-commitment purchase of a run (the 1-unit evaluation throughput, the serving throughput) counts
  against it, and new accounts have 0: the purchase then fails with ServiceQuotaExceededException
  *after* paid training. A run that needs more units than the quota is refused here. Sources: the
  code and name as two public tools list them (a quota inventory and a test-fixture README, found
  through the search tool, 2026-11; bedrock.md §2 [3P]) and the user guide's "request model units
  before buying" [UG:prov-thru-purchase]. The code is UNCONFIRMED against an AWS page: AWS does not
  publish Bedrock's quota codes; GetServiceQuota answering NoSuchResourceException says it is wrong.
- **Concurrent model customization jobs**: CreateModelCustomizationJob answers
  ServiceQuotaExceededException when they are all in use; the run then waits in line
  (pipeline.retries). Neither its code nor its exact name could be confirmed, so it is looked up by
  name among Bedrock's quotas (ListServiceQuotas): a quota whose name speaks of concurrent
  customization jobs. Found, its value and the jobs in progress say whether a run would queue (a
  warning, never a refusal); not found, the check says so.

- **Model units per provisioned model for <base model>**: one quota per base model, the most model
  units one Provisioned Throughput of it may hold. A commitment purchase (1 or 6 months) needs it:
  "By default, your account has no model units for purchasing Provisioned Throughputs with
  commitment" (botocore's CreateProvisionedModelThroughput ``modelUnits`` doc, botocore 1.44.8, read
  2026-11-28; bedrock.md §2). The name pattern is the one Service Quotas lists (e.g. "Model units per
  provisioned model for Meta Llama 3.1 8B Instruct", "... for the 128k context length variant for
  Amazon Nova Micro": public quota inventories found through the search tool, 2026-11). A custom
  model counts against its base model's quota: the user guide's evaluation prerequisites ask to check
  "Model units per provisioned model for [your custom model name]" next to the no-commitment quota,
  and a public test-fixture README (2026-11) needed "Model units per provisioned model for Meta Llama
  3.1 8B Instruct" (``L-3632DE15``) for a throughput of a custom Llama 3.1 8B. Codes differ per model
  and none is published by AWS, so it is found by name (the code UNCONFIRMED: the one the listing
  gives is shown). A commitment that cannot fit is refused; a no-commitment purchase above it is a
  warning only (that it applies to no-commitment throughput is UNCONFIRMED beyond those two sources).
- **Jobs in progress** (ListModelCustomizationJobs, status InProgress) against the concurrent-job
  quota: read by the CLI and the workflow's preflight through :func:`check`, one code path. A count
  that cannot be read is reported as not counted and refuses nothing.

Reading never fails a check: an unreadable quota (no permission, an unknown code, no network) is
reported as not checked, with the reason. The pure part (:func:`assess`) turns the readings and the
run spec into refusals and warnings, each naming the quota and how to raise it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pipeline.datasets.records import ERROR as ERROR
from pipeline.datasets.records import WARNING as WARNING
from pipeline.datasets.report import Finding
from pipeline.problems import Problem
from pipeline.retries import JOB_QUEUE_HOURS
from pipeline.runspec import THROUGHPUT_VEHICLE, RunSpec

SERVICE_CODE: Final = "bedrock"
# One model unit of no-commitment throughput is what an evaluation on throughput buys (pipeline.plan).
EVALUATION_MODEL_UNITS: Final = 1
NOTE: Final = "note"  # what could not be checked: neither an error nor a warning of the run


@dataclass(frozen=True)
class Quota:
    key: str
    name: str
    # The quota code when it is known (read with GetServiceQuota); else found by name.
    code: str | None
    name_pattern: re.Pattern[str] | None = None
    # Found by name, when a pattern cannot say it: how well a listed name fits (0: not at all). The
    # best fit wins; two equal best fits leave the quota unchecked rather than guessed.
    fit: Callable[[str], int] | None = None

    def fits(self, quota_name: str) -> int:
        if self.fit is not None:
            return self.fit(quota_name)
        return 1 if self.name_pattern is not None and self.name_pattern.search(quota_name) else 0


NO_COMMITMENT_CUSTOM_UNITS: Final = Quota(
    "noCommitmentCustomModelUnits",
    "Model units no-commitment Provisioned Throughputs across custom models",
    "L-BE77399C",
)
CONCURRENT_JOBS: Final = Quota(
    "concurrentCustomizationJobs",
    "concurrent model customization jobs (name and code UNCONFIRMED: looked up by name)",
    None,
    re.compile(r"(?i)^(?=.*\bconcurrent\b)(?=.*\bcustomization\b)(?=.*\bjobs?\b)(?!.*serverless)"),
)
QUOTAS: Final = (NO_COMMITMENT_CUSTOM_UNITS, CONCURRENT_JOBS)

PER_MODEL_UNITS_KEY: Final = "modelUnitsPerProvisionedModel"
PER_MODEL_UNITS_PREFIX: Final = "Model units per provisioned model for "
# Service Quotas names a context-length variant of a model in the quota's name (inventories, 2026-11).
_VARIANT: Final = re.compile(r"(?i)^the\s+(\d+k)\s+context\s+length\s+variant\s+for\s+")
_CONTEXT: Final = re.compile(r":(\d+k)$")
_WORD: Final = re.compile(r"[a-z0-9]+(?:\.[0-9]+)*")


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def per_model_units(model_id: str, model_name: str) -> Quota:
    """The per-model quota of a base model, found by its catalog name (see the module docstring).

    A listed name fits when, after the prefix, it names the same words as the catalog name ("Meta
    Llama 3.1 8B Instruct"); a context-length variant fits better, and only the model's own context
    (``:128k`` in the id). Word sets, not substrings: "Amazon Nova Lite" must not take the quota of
    "Amazon Nova 2 Lite".
    """
    context_match = _CONTEXT.search(model_id)
    context = context_match.group(1).lower() if context_match else None
    wanted = _words(model_name)

    def fit(quota_name: str) -> int:
        if not quota_name.lower().startswith(PER_MODEL_UNITS_PREFIX.lower()):
            return 0
        rest = quota_name[len(PER_MODEL_UNITS_PREFIX) :].strip()
        rank = 1
        variant = _VARIANT.match(rest)
        if variant is not None:
            if variant.group(1).lower() != context:
                return 0
            rest, rank = rest[variant.end() :], 2
        return rank if _words(rest) == wanted else 0

    return Quota(
        PER_MODEL_UNITS_KEY,
        f"{PER_MODEL_UNITS_PREFIX}{model_name} (code UNCONFIRMED: looked up by name)",
        None,
        fit=fit,
    )


def quotas_for(spec: RunSpec) -> tuple[Quota, ...]:
    """The quotas a run is checked against: the per-model one only when it buys model units."""
    wanted = needs(spec)
    if not (wanted.no_commitment_units or wanted.commitment_units):
        return QUOTAS
    model = spec.model
    return (*QUOTAS, per_model_units(model.model_id, model.name))


@dataclass(frozen=True)
class QuotaReading:
    """What Service Quotas said of one quota, or why it could not be read."""

    quota: Quota
    value: float | None = None
    code: str | None = None
    name: str | None = None
    unchecked: str | None = None

    @property
    def label(self) -> str:
        """``'<name>' (<code>)`` as Service Quotas shows it, or as far as it is known."""
        name = self.name or self.quota.name
        code = self.code or self.quota.code
        return f"'{name}'" + (f" ({code})" if code else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "quota": self.quota.key,
            "name": self.name or self.quota.name,
            "code": self.code or self.quota.code,
            "value": self.value,
            "checked": self.unchecked is None,
            "notChecked": self.unchecked,
        }


def read(
    client: Any, error_code: Callable[[Exception], str], quotas: Iterable[Quota] = QUOTAS
) -> list[QuotaReading]:
    """Each quota's applied value in the client's region; an unreadable one says why."""
    readings: list[QuotaReading] = []
    listed: list[Mapping[str, Any]] | None = None
    listing_failed: str | None = None
    for quota in quotas:
        try:
            if quota.code is not None:
                found = client.get_service_quota(ServiceCode=SERVICE_CODE, QuotaCode=quota.code)["Quota"]
            else:
                if listed is None and listing_failed is None:
                    listed = _list(client)
                if listed is None:
                    readings.append(QuotaReading(quota, unchecked=listing_failed))
                    continue
                ranked = [(quota.fits(str(q.get("QuotaName", ""))), q) for q in listed]
                best = max((rank for rank, _ in ranked), default=0)
                fitting = [q for rank, q in ranked if best and rank == best]
                if len(fitting) != 1:
                    reason = (
                        f"no Bedrock quota of the region is named like it ({len(listed)} listed by "
                        "ListServiceQuotas)"
                        if not fitting
                        else "several Bedrock quotas are named like it ("
                        + "; ".join(f"'{q.get('QuotaName')}'" for q in fitting)
                        + "): none is chosen by guess"
                    )
                    readings.append(QuotaReading(quota, unchecked=reason))
                    continue
                (found,) = fitting
        except Exception as exc:  # advisory: any failure to read is reported, never raised
            reason = f"{error_code(exc) or type(exc).__name__}: {exc}"
            if quota.code is None:
                listing_failed = reason
            readings.append(QuotaReading(quota, unchecked=reason))
            continue
        readings.append(
            QuotaReading(
                quota, value=found.get("Value"), code=found.get("QuotaCode"), name=found.get("QuotaName")
            )
        )
    return readings


def _list(client: Any) -> list[Mapping[str, Any]]:
    paginator = client.get_paginator("list_service_quotas")
    return [q for page in paginator.paginate(ServiceCode=SERVICE_CODE) for q in page.get("Quotas", [])]


@dataclass(frozen=True)
class QuotaFinding:
    severity: str  # error | warning | note
    field: str
    message: str
    quota: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "field": self.field, "message": self.message, "quota": self.quota}


@dataclass(frozen=True)
class Needs:
    """What a run buys that counts against a quota."""

    no_commitment_units: int  # at once: the evaluation unit is released before any serving purchase
    commitment_units: int
    purposes: tuple[str, ...] = field(default_factory=tuple)


def needs(spec: RunSpec) -> Needs:
    serving = spec.serving
    units, purposes = 0, []
    if spec.evaluation_vehicle == THROUGHPUT_VEHICLE:
        units = EVALUATION_MODEL_UNITS
        purposes.append(f"{EVALUATION_MODEL_UNITS} model unit to evaluate on")
    commitment = 0
    if serving.buys_throughput and serving.model_units is not None:
        if serving.commitment == "none":
            units = max(units, serving.model_units)
            purposes.append(
                f"{serving.model_units} model unit{'s' if serving.model_units > 1 else ''} to serve with"
            )
        else:
            commitment = serving.model_units
    return Needs(units, commitment, tuple(purposes))


def raise_command(code: str, desired: float | int, region: str) -> str:
    return (
        f"aws service-quotas request-service-quota-increase --service-code {SERVICE_CODE} "
        f"--quota-code {code} --desired-value {desired:g} --region {region}"
    )


def how_to_raise(reading: QuotaReading, desired: float | int, region: str) -> str:
    code = reading.code or reading.quota.code
    console = f"the Service Quotas console (Amazon Bedrock, {reading.label}, region {region})"
    if code is None:
        return f"raise it in {console}"
    return f"raise it in {console} or with `{raise_command(code, desired, region)}`"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def assess(
    spec: RunSpec,
    readings: Iterable[QuotaReading],
    *,
    jobs_in_progress: int | None = None,
    jobs_not_counted: str | None = None,
) -> list[QuotaFinding]:
    """Refuse a planned purchase that cannot fit; warn when training would wait in line.

    ``jobs_not_counted``: why the jobs in progress could not be counted (a note, never a refusal).
    """
    found: list[QuotaFinding] = []
    wanted = needs(spec)
    region = spec.region
    per_model_read = False
    for reading in readings:
        quota = reading.quota
        if quota.key == PER_MODEL_UNITS_KEY:
            per_model_read = True
            found.extend(_per_model(spec, wanted, reading))
            continue
        if quota is NO_COMMITMENT_CUSTOM_UNITS and wanted.no_commitment_units:
            if reading.value is None:
                found.append(
                    QuotaFinding(
                        NOTE,
                        "serving.modelUnits",
                        f"quota {reading.label} not checked ({reading.unchecked}); the run needs "
                        f"{wanted.no_commitment_units} no-commitment model unit(s) of it",
                        quota.key,
                    )
                )
            elif wanted.no_commitment_units > reading.value:
                found.append(
                    QuotaFinding(
                        ERROR,
                        "serving.modelUnits",
                        "the run would buy no-commitment Provisioned Throughput "
                        f"({' and '.join(wanted.purposes)}), "
                        f"but the account's quota {reading.label} in {region} is {reading.value:g}: the "
                        "purchase would fail after paid training. "
                        + _sentence(how_to_raise(reading, wanted.no_commitment_units, region))
                        + ", then start the run",
                        quota.key,
                    )
                )
        if quota is CONCURRENT_JOBS:
            if reading.value is None:
                found.append(
                    QuotaFinding(
                        NOTE, "", f"the concurrent-customization-job quota not checked ({reading.unchecked})"
                    )
                )
            elif reading.value < 1:
                found.append(
                    QuotaFinding(
                        WARNING,
                        "",
                        f"the account's quota {reading.label} in {region} is {reading.value:g}: no job can "
                        "start, the run would wait in line and then fail. "
                        + how_to_raise(reading, 1, region),
                        quota.key,
                    )
                )
            elif jobs_in_progress is None and jobs_not_counted is not None:
                found.append(
                    QuotaFinding(
                        NOTE,
                        "",
                        f"the customization jobs in progress not counted ({jobs_not_counted}): whether "
                        "the run would wait in line for a training slot is not known",
                        quota.key,
                    )
                )
            elif jobs_in_progress is not None and jobs_in_progress >= reading.value:
                found.append(
                    QuotaFinding(
                        WARNING,
                        "",
                        f"{jobs_in_progress} customization job(s) in progress, quota {reading.label} "
                        f"{reading.value:g}: the run would wait in line for a training slot (for up to "
                        f"{JOB_QUEUE_HOURS}) before it trains. To train more at once, "
                        + how_to_raise(reading, jobs_in_progress + 1, region),
                        quota.key,
                    )
                )
    if wanted.commitment_units and not per_model_read:
        found.append(
            QuotaFinding(
                NOTE,
                "serving.commitment",
                f"a {spec.serving.commitment} commitment of {wanted.commitment_units} model unit(s) counts "
                f"against the quota '{PER_MODEL_UNITS_PREFIX}{spec.model.name}': not checked",
                PER_MODEL_UNITS_KEY,
            )
        )
    return found


def _per_model(spec: RunSpec, wanted: Needs, reading: QuotaReading) -> list[QuotaFinding]:
    """The commitment against its base model's per-model quota (refused when it cannot fit); a
    no-commitment purchase above it, a warning (see the module docstring for why not a refusal)."""
    region = spec.region
    largest = max(wanted.no_commitment_units, wanted.commitment_units)
    if not largest:
        return []
    field_ = "serving.commitment" if wanted.commitment_units else "serving.modelUnits"
    if reading.value is None:
        return [
            QuotaFinding(
                NOTE,
                field_,
                f"quota {reading.label} not checked ({reading.unchecked}); the run's largest "
                f"Provisioned Throughput holds {largest} model unit(s) of {spec.model.name}",
                PER_MODEL_UNITS_KEY,
            )
        ]
    found: list[QuotaFinding] = []
    if wanted.commitment_units > reading.value:
        found.append(
            QuotaFinding(
                ERROR,
                "serving.commitment",
                f"the run would buy a {spec.serving.commitment} commitment of {wanted.commitment_units} "
                f"model unit(s) of {spec.model.name}, but the account's quota {reading.label} in "
                f"{region} is {reading.value:g}: the purchase would fail after paid training. "
                + _sentence(how_to_raise(reading, wanted.commitment_units, region))
                + " (commitment units are granted by AWS Support), then start the run",
                PER_MODEL_UNITS_KEY,
            )
        )
    if wanted.no_commitment_units > reading.value:
        found.append(
            QuotaFinding(
                WARNING,
                "serving.modelUnits",
                f"the run would buy {wanted.no_commitment_units} no-commitment model unit(s) of "
                f"{spec.model.name} ({' and '.join(wanted.purposes)}), above the account's quota "
                f"{reading.label} in {region} ({reading.value:g}); the user guide asks for enough of "
                "both this and the no-commitment quota, so the purchase may fail after paid training. "
                + _sentence(how_to_raise(reading, wanted.no_commitment_units, region)),
                PER_MODEL_UNITS_KEY,
            )
        )
    return found


def apply(report: Any, findings: Iterable[QuotaFinding]) -> None:
    """Put the refusals among the report's spec problems and the warnings among its findings
    (``report``: a pipeline.datasets.PreflightReport); notes stay with the readings."""
    for finding in findings:
        if finding.severity == ERROR:
            report.spec_problems.append(
                Problem(finding.field, None, "a purchase within the account's quota", finding.message)
            )
        elif finding.severity == WARNING:
            report.run_findings.append(
                Finding(report.spec_source, None, finding.field, finding.message, "quota", WARNING)
            )


def jobs_in_progress(bedrock: Any) -> int:
    """Customization jobs of the account and region that hold a training slot now."""
    paginator = bedrock.get_paginator("list_model_customization_jobs")
    return sum(
        len(page.get("modelCustomizationJobSummaries", []))
        for page in paginator.paginate(statusEquals="InProgress")
    )


@dataclass(frozen=True)
class QuotaCheckResult:
    """What the CLI and the workflow's preflight read and conclude: one code path (:func:`check`)."""

    readings: tuple[QuotaReading, ...]
    findings: tuple[QuotaFinding, ...]
    jobs_in_progress: int | None
    jobs_not_counted: str | None  # why the jobs in progress could not be counted

    def to_dict(self) -> dict[str, Any]:
        return {
            "readings": [r.to_dict() for r in self.readings],
            "jobsInProgress": self.jobs_in_progress,
            "jobsNotCounted": self.jobs_not_counted,
            "findings": [f.to_dict() for f in self.findings],
        }


def check(
    spec: RunSpec, service_quotas: Any, bedrock: Any, error_code: Callable[[Exception], str]
) -> QuotaCheckResult:
    """Read the run's quotas and count the jobs in progress, then assess: advisory reads, so nothing
    that fails to read raises (the clients' own retries handle throttling first)."""
    readings = read(service_quotas, error_code, quotas_for(spec))
    in_progress: int | None = None
    not_counted: str | None = None
    try:
        in_progress = jobs_in_progress(bedrock)
    except Exception as exc:  # advisory: reported as not counted, never raised
        not_counted = f"{error_code(exc) or type(exc).__name__}: {exc}"
    findings = assess(spec, readings, jobs_in_progress=in_progress, jobs_not_counted=not_counted)
    return QuotaCheckResult(tuple(readings), tuple(findings), in_progress, not_counted)

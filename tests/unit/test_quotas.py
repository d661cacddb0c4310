"""The quota check: what a run needs against what the account may buy and run (pipeline.quotas)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from pipeline import quotas
from pipeline.runspec import load_run_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "runs"
FINE_TUNING = load_run_spec(EXAMPLES / "fine-tuning.yaml")  # 1 MU, no commitment, to serve with
DISTILLATION = load_run_spec(EXAMPLES / "distillation.yaml")  # served on demand: buys nothing


def reading(quota: quotas.Quota, value: float | None, code: str | None = None) -> quotas.QuotaReading:
    return quotas.QuotaReading(quota, value=value, code=code or quota.code, name=quota.name)


def code_of(exc: Exception) -> str:
    return str(exc.response["Error"]["Code"]) if isinstance(exc, ClientError) else ""


def test_what_a_run_buys_counts_against_the_no_commitment_quota() -> None:
    assert quotas.needs(FINE_TUNING).no_commitment_units == 1
    assert quotas.needs(DISTILLATION).no_commitment_units == 0


def test_a_purchase_beyond_the_quota_is_refused_with_the_quota_and_how_to_raise_it() -> None:
    (finding,) = quotas.assess(FINE_TUNING, [reading(quotas.NO_COMMITMENT_CUSTOM_UNITS, 0)])
    assert finding.severity == "error" and finding.field == "serving.modelUnits"
    assert (
        "'Model units no-commitment Provisioned Throughputs across custom models' (L-BE77399C)"
        in finding.message
    )
    assert "is 0: the purchase would fail after paid training" in finding.message
    assert "Service Quotas console" in finding.message
    assert quotas.raise_command("L-BE77399C", 1, "us-east-1") in finding.message
    # Within the quota, or nothing to buy: nothing to say
    assert quotas.assess(FINE_TUNING, [reading(quotas.NO_COMMITMENT_CUSTOM_UNITS, 1)]) == []
    assert quotas.assess(DISTILLATION, [reading(quotas.NO_COMMITMENT_CUSTOM_UNITS, 0)]) == []


def test_an_unread_quota_is_a_note_never_a_refusal() -> None:
    unread = quotas.QuotaReading(quotas.NO_COMMITMENT_CUSTOM_UNITS, unchecked="AccessDeniedException: no")
    (finding,) = quotas.assess(FINE_TUNING, [unread])
    assert finding.severity == "note" and "not checked (AccessDeniedException: no)" in finding.message


def test_training_slots_all_in_use_warn_that_the_run_would_wait_in_line() -> None:
    jobs = reading(quotas.CONCURRENT_JOBS, 3, code="L-0000BBBB")
    assert quotas.assess(DISTILLATION, [jobs], jobs_in_progress=2) == []
    (finding,) = quotas.assess(DISTILLATION, [jobs], jobs_in_progress=3)
    assert finding.severity == "warning"
    assert "3 customization job(s) in progress" in finding.message
    assert "wait in line for a training slot (for up to 12 to 34 hours)" in finding.message
    assert "--quota-code L-0000BBBB --desired-value 4" in finding.message
    (none,) = quotas.assess(DISTILLATION, [reading(quotas.CONCURRENT_JOBS, 0)])
    assert none.severity == "warning" and "no job can start" in none.message


@pytest.mark.parametrize(
    ("name", "matches"),
    [
        ("Concurrent model customization jobs", True),
        ("Number of concurrent model customization jobs per account", True),
        (
            "(Model customization) Sum of training and validation records for a Nova Micro Fine-tuning job",
            False,
        ),
        ("Maximum number of concurrent model customization serverless jobs per Region", False),
        ("Custom models per account", False),
    ],
)
def test_the_job_quota_is_found_by_its_name(name: str, matches: bool) -> None:
    pattern = quotas.CONCURRENT_JOBS.name_pattern
    assert pattern is not None and bool(pattern.search(name)) is matches


def test_reading_asks_by_code_and_by_name_and_reports_what_it_could_not_read() -> None:
    client = boto3.client("service-quotas", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error(
            "get_service_quota",
            "NoSuchResourceException",
            "no such quota",
            404,
            expected_params={"ServiceCode": "bedrock", "QuotaCode": "L-BE77399C"},
        )
        stub.add_response("list_service_quotas", {"Quotas": []}, {"ServiceCode": "bedrock"})
        units, jobs = quotas.read(client, code_of)
    assert units.value is None and units.unchecked == "NoSuchResourceException: " + str(
        ClientError(
            {"Error": {"Code": "NoSuchResourceException", "Message": "no such quota"}}, "GetServiceQuota"
        )
    )
    assert jobs.value is None and "no Bedrock quota of the region is named like it (0 listed" in str(
        jobs.unchecked
    )
    doc: dict[str, Any] = jobs.to_dict()
    assert doc["checked"] is False and doc["code"] is None

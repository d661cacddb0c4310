"""The quota check: what a run needs against what the account may buy and run (pipeline.quotas)."""

from __future__ import annotations

import dataclasses
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


# -- commitments: the base model's per-model quota ----------------------------------------------------

COMMITTED = dataclasses.replace(
    FINE_TUNING, serving=dataclasses.replace(FINE_TUNING.serving, model_units=2, commitment="OneMonth")
)
PER_MODEL = quotas.per_model_units(FINE_TUNING.model.model_id, FINE_TUNING.model.name)


def per_model_reading(value: float | None) -> quotas.QuotaReading:
    if value is None:
        return quotas.QuotaReading(PER_MODEL, unchecked="AccessDeniedException: no")
    return quotas.QuotaReading(PER_MODEL, value=value, code="L-0000CCCC", name=PER_MODEL.name)


def test_a_commitment_is_checked_against_the_base_models_per_model_quota() -> None:
    assert quotas.needs(COMMITTED).commitment_units == 2
    assert [q.key for q in quotas.quotas_for(COMMITTED)] == [
        "noCommitmentCustomModelUnits",
        "concurrentCustomizationJobs",
        quotas.PER_MODEL_UNITS_KEY,
    ]
    # A run that buys nothing is not checked against it.
    assert quotas.quotas_for(DISTILLATION) == quotas.QUOTAS


def test_a_commitment_the_quota_cannot_hold_is_refused_with_how_to_raise_it() -> None:
    findings = quotas.assess(COMMITTED, [reading(quotas.NO_COMMITMENT_CUSTOM_UNITS, 1), per_model_reading(1)])
    (refusal,) = [f for f in findings if f.severity == quotas.ERROR]
    assert refusal.field == "serving.commitment" and refusal.quota == quotas.PER_MODEL_UNITS_KEY
    assert "OneMonth commitment of 2 model unit(s)" in refusal.message
    assert quotas.raise_command("L-0000CCCC", 2, "us-east-1") in refusal.message
    # Enough units: nothing to say (the 1 evaluation unit fits too).
    assert (
        quotas.assess(COMMITTED, [reading(quotas.NO_COMMITMENT_CUSTOM_UNITS, 1), per_model_reading(2)]) == []
    )


def test_a_commitment_whose_quota_cannot_be_read_is_noted_not_refused() -> None:
    (note,) = quotas.assess(
        COMMITTED, [reading(quotas.NO_COMMITMENT_CUSTOM_UNITS, 1), per_model_reading(None)]
    )
    assert note.severity == quotas.NOTE and note.field == "serving.commitment"
    assert "not checked (AccessDeniedException: no)" in note.message
    # Not read at all (an older caller): still said.
    (unread,) = quotas.assess(COMMITTED, [reading(quotas.NO_COMMITMENT_CUSTOM_UNITS, 1)])
    assert unread.severity == quotas.NOTE and "not checked" in unread.message


def test_a_no_commitment_purchase_above_the_per_model_quota_is_a_warning_only() -> None:
    (warning,) = quotas.assess(
        FINE_TUNING, [reading(quotas.NO_COMMITMENT_CUSTOM_UNITS, 1), per_model_reading(0)]
    )
    assert warning.severity == quotas.WARNING and warning.field == "serving.modelUnits"


@pytest.mark.parametrize(
    ("model_id", "model_name", "listed", "found"),
    [
        (
            "meta.llama3-1-8b-instruct-v1:0:128k",
            "Meta Llama 3.1 8B Instruct",
            [
                "Model units per provisioned model for Meta Llama 3.1 70B Instruct",
                "Model units per provisioned model for Meta Llama 3.1 8B Instruct",
            ],
            "Model units per provisioned model for Meta Llama 3.1 8B Instruct",
        ),
        (
            # Word sets, not substrings: Nova Lite never takes Nova 2 Lite's quota.
            "amazon.nova-lite-v1:0:300k",
            "Amazon Nova Lite",
            ["Model units per provisioned model for Amazon Nova 2 Lite V1.0 256K"],
            None,
        ),
        (
            # The model's own context variant is the better fit; another context never fits.
            "amazon.nova-micro-v1:0:128k",
            "Amazon Nova Micro",
            [
                "Model units per provisioned model for Amazon Nova Micro",
                "Model units per provisioned model for the 24k context length variant for Amazon Nova Micro",
                "Model units per provisioned model for the 128k context length variant for Amazon Nova Micro",
            ],
            "Model units per provisioned model for the 128k context length variant for Amazon Nova Micro",
        ),
    ],
)
def test_the_per_model_quota_is_found_by_the_catalog_name(
    model_id: str, model_name: str, listed: list[str], found: str | None
) -> None:
    client = boto3.client("service-quotas", region_name="us-east-1")
    quotas_listed = [{"QuotaCode": f"L-{i:08d}", "QuotaName": n, "Value": 3.0} for i, n in enumerate(listed)]
    with Stubber(client) as stub:
        stub.add_response("list_service_quotas", {"Quotas": quotas_listed}, {"ServiceCode": "bedrock"})
        (got,) = quotas.read(client, code_of, [quotas.per_model_units(model_id, model_name)])
    assert got.name == found
    assert (got.value is None) is (found is None)


def test_two_equally_fitting_quotas_leave_the_quota_unchecked() -> None:
    client = boto3.client("service-quotas", region_name="us-east-1")
    twice = [
        {"QuotaCode": "L-1", "QuotaName": "Model units per provisioned model for Meta Llama 3.1 8B Instruct"},
        {
            "QuotaCode": "L-2",
            "QuotaName": "Model units per provisioned model for Meta  Llama 3.1 8B instruct",
        },
    ]
    with Stubber(client) as stub:
        stub.add_response("list_service_quotas", {"Quotas": twice}, {"ServiceCode": "bedrock"})
        (got,) = quotas.read(
            client,
            code_of,
            [quotas.per_model_units("meta.llama3-1-8b-instruct-v1:0:128k", "Meta Llama 3.1 8B Instruct")],
        )
    assert got.value is None and "several Bedrock quotas are named like it" in str(got.unchecked)


# -- jobs in progress: one code path for the CLI and the preflight ------------------------------------


def test_a_job_count_that_cannot_be_read_is_noted_and_refuses_nothing() -> None:
    jobs = reading(quotas.CONCURRENT_JOBS, 3, code="L-0000BBBB")
    (note,) = quotas.assess(DISTILLATION, [jobs], jobs_not_counted="AccessDeniedException: no")
    assert (
        note.severity == quotas.NOTE
        and "jobs in progress not counted (AccessDeniedException: no)" in note.message
    )


def test_check_reads_the_quotas_counts_the_jobs_and_assesses() -> None:
    service_quotas = boto3.client("service-quotas", region_name="us-east-1")
    bedrock = boto3.client("bedrock", region_name="us-east-1")
    listed = [{"QuotaCode": "L-0000BBBB", "QuotaName": "Concurrent model customization jobs", "Value": 2.0}]
    summary = {
        "jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/x/abcdefabcdef",
        "jobName": "j",
        "baseModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k",
        "status": "InProgress",
        "creationTime": "2026-11-28T00:00:00Z",
    }
    with Stubber(service_quotas) as sq, Stubber(bedrock) as br:
        sq.add_response(
            "get_service_quota",
            {"Quota": {"QuotaCode": "L-BE77399C", "QuotaName": "units", "Value": 5.0}},
            {"ServiceCode": "bedrock", "QuotaCode": "L-BE77399C"},
        )
        sq.add_response("list_service_quotas", {"Quotas": listed}, {"ServiceCode": "bedrock"})
        br.add_response(
            "list_model_customization_jobs",
            {"modelCustomizationJobSummaries": [summary, {**summary, "jobName": "k"}]},
            {"statusEquals": "InProgress"},
        )
        result = quotas.check(FINE_TUNING, service_quotas, bedrock, code_of)
    assert result.jobs_in_progress == 2 and result.jobs_not_counted is None
    (queued,) = [f for f in result.findings if f.severity == quotas.WARNING]
    assert "2 customization job(s) in progress" in queued.message
    doc = result.to_dict()
    assert doc["jobsInProgress"] == 2 and doc["jobsNotCounted"] is None
    # FINE_TUNING buys 1 no-commitment unit: its base model's per-model quota is read, not listed here.
    assert [r["quota"] for r in doc["readings"]][-1] == quotas.PER_MODEL_UNITS_KEY

    with Stubber(service_quotas) as sq, Stubber(bedrock) as br:
        sq.add_client_error("get_service_quota", "AccessDeniedException", "no")
        sq.add_client_error("list_service_quotas", "AccessDeniedException", "no")
        br.add_client_error("list_model_customization_jobs", "ThrottlingException", "slow down")
        denied = quotas.check(FINE_TUNING, service_quotas, bedrock, code_of)
    assert denied.jobs_in_progress is None and str(denied.jobs_not_counted).startswith("ThrottlingException")
    assert all(f.severity == quotas.NOTE for f in denied.findings)
    # The listing failed once: each quota found by name says why, not "0 listed".
    assert all("AccessDeniedException" in str(r.unchecked) for r in denied.readings)

"""Live facts in the CLI: `check`/`start` ask GetFoundationModel, `estimate`/`check` price with the
Price List API (cached on disk), `models --live` lists what the region offers; offline otherwise.

Every AWS answer is a botocore Stubber response hand-written in the documented shape
(tests/recorded_prices.py); nothing reaches the network.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from pipeline import cli
from pipeline.operate import aws, prices
from tests import recorded_prices as rec
from tests.operate.helpers import EXAMPLES, REGION, run_cli

FINE_TUNING = EXAMPLES / "runs" / "fine-tuning.yaml"
DISTILLATION = EXAMPLES / "runs" / "distillation.yaml"
NOVA_MICRO = rec.NOVA_MICRO


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Credentials count as usable (the fake ones) and the price cache lives in a temporary folder."""
    monkeypatch.delenv(aws.OFFLINE_ENV, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv(prices.CACHE_DIR_ENV, str(cache))
    return cache


class Stubs:
    """Stubbed bedrock (run region) and pricing (us-east-1) clients handed to every command."""

    def __init__(self) -> None:
        self.bedrock = boto3.client("bedrock", region_name=REGION)
        self.pricing = boto3.client("pricing", region_name="us-east-1")
        self.bedrock_stub = Stubber(self.bedrock)
        self.pricing_stub = Stubber(self.pricing)
        # Service Quotas answers only what a test queues: unqueued, the quota check says "not checked".
        self.quotas = boto3.client("service-quotas", region_name=REGION)
        self.quotas_stub = Stubber(self.quotas)

    def maker(self, service: str, region: str) -> Any:
        return {"bedrock": self.bedrock, "pricing": self.pricing, "service-quotas": self.quotas}[service]

    def foundation_model(self, model_id: str = NOVA_MICRO, **kwargs: Any) -> None:
        self.bedrock_stub.add_response(
            "get_foundation_model", rec.foundation_model(model_id, **kwargs), {"modelIdentifier": model_id}
        )

    def price_pages(self) -> None:
        self.pricing_stub.add_response(
            "get_products",
            {"FormatVersion": "aws_v1", "PriceList": rec.PAGE_1, "NextToken": "page-2"},
            rec.get_products_request(),
        )
        self.pricing_stub.add_response(
            "get_products",
            {"FormatVersion": "aws_v1", "PriceList": rec.PAGE_2},
            rec.get_products_request("page-2"),
        )

    def empty_prices(self) -> None:
        self.pricing_stub.add_response(
            "get_products", {"FormatVersion": "aws_v1", "PriceList": []}, rec.get_products_request()
        )


@pytest.fixture
def stubs() -> Iterator[Stubs]:
    made = Stubs()
    with made.bedrock_stub, made.pricing_stub, made.quotas_stub, aws.client_maker(made.maker):
        yield made
        made.bedrock_stub.assert_no_pending_responses()
        made.pricing_stub.assert_no_pending_responses()
        made.quotas_stub.assert_no_pending_responses()


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------------------------------
# check: the live check
# --------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("online")
def test_check_asks_bedrock_live_and_says_so(capsys: pytest.CaptureFixture[str], stubs: Stubs) -> None:
    stubs.foundation_model()
    stubs.empty_prices()

    code, out, _ = check(capsys, str(FINE_TUNING))

    assert code == 0, out
    assert "live check: Bedrock in us-east-1 says ACTIVE, FINE_TUNING offered" in out


@pytest.mark.usefixtures("online")
def test_check_refuses_a_base_bedrock_reports_legacy_with_exit_2(
    capsys: pytest.CaptureFixture[str], stubs: Stubs
) -> None:
    stubs.foundation_model(
        status="LEGACY",
        legacy=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        end_of_life=dt.datetime(2027, 5, 1, tzinfo=dt.UTC),
    )

    code, out, _ = check(capsys, str(FINE_TUNING))

    assert code == 2
    assert "PREFLIGHT FAILED" in out
    assert (
        f"Bedrock reports {NOVA_MICRO} as LEGACY in us-east-1 since 2026-11-01, end of life 2027-05-01" in out
    )
    assert (
        "live check: Bedrock in us-east-1 says LEGACY (legacy since 2026-11-01, end of life 2027-05-01)"
        in out
    )
    assert "refused" in out


@pytest.mark.usefixtures("online")
def test_check_refuses_a_type_the_region_does_not_offer_for_the_model(
    capsys: pytest.CaptureFixture[str], stubs: Stubs
) -> None:
    stubs.foundation_model(customizations=("DISTILLATION",))

    code, out, _ = check(capsys, str(FINE_TUNING), "--json")

    assert code == 2
    doc = json.loads(out)
    assert doc["ok"] is False
    assert doc["liveCheck"]["mode"] == "live" and doc["liveCheck"]["ok"] is False
    assert any(
        "Bedrock does not offer FINE_TUNING for amazon.nova-micro-v1:0:128k in us-east-1" in p["message"]
        for p in doc["specProblems"]
    )


@pytest.mark.usefixtures("online")
def test_check_refuses_a_model_the_region_does_not_know(
    capsys: pytest.CaptureFixture[str], stubs: Stubs
) -> None:
    stubs.bedrock_stub.add_client_error(
        "get_foundation_model", "ResourceNotFoundException", "The model does not exist", 404
    )

    code, out, _ = check(capsys, str(FINE_TUNING))

    assert code == 2
    assert "(GetFoundationModel: ResourceNotFoundException)" in out
    assert f"{NOVA_MICRO} is NOT FOUND" in out


@pytest.mark.parametrize(
    ("code", "status", "hint"),
    [
        ("AccessDeniedException", 403, "your identity may not call GetFoundationModel"),
        ("ThrottlingException", 400, "AWS is throttling requests"),
    ],
)
@pytest.mark.usefixtures("online")
def test_an_api_that_errors_is_an_operational_error_never_a_pass(
    capsys: pytest.CaptureFixture[str], stubs: Stubs, code: str, status: int, hint: str
) -> None:
    stubs.bedrock_stub.add_client_error("get_foundation_model", code, "refused", status)

    exit_code, out, err = check(capsys, str(FINE_TUNING))

    assert exit_code == 1
    assert "PREFLIGHT PASSED" not in out
    assert f"error: live check failed: GetFoundationModel {NOVA_MICRO} in us-east-1: AWS refused" in err
    assert f"next: {hint}" in err and "or pass --offline" in err


@pytest.mark.usefixtures("online")
def test_an_unreachable_api_is_an_operational_error(capsys: pytest.CaptureFixture[str]) -> None:
    class Unreachable:
        def get_foundation_model(self, **_: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="https://bedrock.us-east-1.amazonaws.com")

    with aws.client_maker(lambda service, region: Unreachable()):
        code, out, err = check(capsys, str(FINE_TUNING), "--json")

    assert code == 1
    assert json.loads(out)["exitCode"] == 1
    assert "cannot reach AWS" in err and "next:" in err


def test_check_without_credentials_is_offline_and_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(aws.OFFLINE_ENV, raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    def no_client(service: str, region: str) -> Any:
        raise AssertionError(f"no {service} client may be made offline")

    with aws.client_maker(no_client):
        code, out, _ = check(capsys, str(FINE_TUNING))

    assert code == 0
    assert (
        "live check: skipped, offline (no usable AWS credentials) \u2014 the catalog's facts were used" in out
    )
    assert "prices:     the catalog's dated prices" in out


@pytest.mark.usefixtures("online")
def test_check_of_invalid_data_asks_bedrock_nothing_and_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = yaml.safe_load(FINE_TUNING.read_text())
    bad = tmp_path / "train.jsonl"
    bad.write_text("not json\n")
    prompts = str(FINE_TUNING.parent.parent / "prompts" / "eval-prompts.jsonl")
    spec |= {"training": str(bad), "validation": None, "evaluation": {"prompts": prompts, "minQuality": 0.6}}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in spec.items() if v is not None}))

    def no_client(service: str, region: str) -> Any:
        raise AssertionError(f"no {service} client may be made for an invalid spec")

    with aws.client_maker(no_client):
        code, out, _ = check(capsys, str(path))

    assert code == 2
    assert "live check: not made, the preflight found problems to fix first" in out


@pytest.mark.usefixtures("online")
def test_check_offline_asks_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    def no_client(service: str, region: str) -> Any:
        raise AssertionError(f"no {service} client may be made offline")

    with aws.client_maker(no_client):
        code, out, _ = check(capsys, str(FINE_TUNING), "--offline")

    assert code == 0
    assert "live check: skipped, offline (--offline)" in out


@pytest.mark.usefixtures("online")
def test_check_checks_a_teacher_by_its_plain_id(capsys: pytest.CaptureFixture[str], stubs: Stubs) -> None:
    from pipeline.catalog import parse_teacher
    from pipeline.runspec import load_run_spec

    spec = load_run_spec(DISTILLATION)
    teacher = parse_teacher(spec.teacher or "")
    stubs.foundation_model(spec.base_model)
    if not teacher.via_profile:
        stubs.foundation_model(teacher.model_id, customizations=(), status="LEGACY")
    stubs.empty_prices()

    code, out, _ = check(capsys, str(DISTILLATION))

    assert code == 0, out
    assert "live check: Bedrock in us-east-1 says ACTIVE, DISTILLATION offered; teacher" in out
    if not teacher.via_profile:
        assert f"teacher {teacher.model_id} LEGACY" in out


# --------------------------------------------------------------------------------------------------
# Prices: estimate and check
# --------------------------------------------------------------------------------------------------


def test_estimate_prices_every_item_with_the_price_list_and_its_date(
    capsys: pytest.CaptureFixture[str], stubs: Stubs, online: Path
) -> None:
    stubs.price_pages()

    result = run_cli(capsys, "estimate", str(FINE_TUNING))

    assert result.code == 0, result.err
    fetched = dt.datetime.now(dt.UTC).date().isoformat()
    source = f"as of {fetched}, AWS Price List API (GetProducts AmazonBedrock), us-east-1)"
    rows = {line.split("  ")[0]: line for line in result.out.splitlines() if "  " in line}
    assert "x $0.001/1K tokens" in rows["Training"] and source in rows["Training"]
    assert "$1.95/month" in rows["Custom model storage"] and source in rows["Custom model storage"]
    assert "$60.50" in rows["Serving throughput per hour"] and source in rows["Serving throughput per hour"]
    assert "$0.035/1M" in rows["Evaluation (on demand)"] and source in rows["Evaluation (on demand)"]
    assert "unknown" not in rows["First month"]
    assert (
        f"Prices:     AWS Price List API (GetProducts AmazonBedrock), us-east-1, fetched {fetched}"
        in result.out
    )
    assert "Preflight:  VALID" in result.out and "est. training cost" in result.out
    assert "no price is in any stored source" not in result.out
    cached = json.loads((online / "prices-us-east-1.json").read_text())
    assert cached["fetched"] == fetched and NOVA_MICRO in cached["prices"]


def test_estimate_uses_a_fresh_cache_without_asking_again(
    capsys: pytest.CaptureFixture[str], stubs: Stubs, online: Path
) -> None:
    stubs.price_pages()
    first = run_cli(capsys, "estimate", str(FINE_TUNING), "--json")

    second = run_cli(capsys, "estimate", str(FINE_TUNING), "--json")  # no stubbed response left

    assert first.json()["trainingUsd"] == second.json()["trainingUsd"] is not None
    source = second.json()["priceSource"]
    assert source["status"] == "cached" and source["cachePath"] == str(online / "prices-us-east-1.json")
    assert source["maxAgeDays"] == 7 and "training" in source["liveFields"]


def test_a_stale_cache_is_fetched_again(
    capsys: pytest.CaptureFixture[str], stubs: Stubs, online: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stubs.price_pages()
    run_cli(capsys, "estimate", str(FINE_TUNING))
    path = online / "prices-us-east-1.json"
    doc = json.loads(path.read_text())
    doc["fetched"] = "2026-01-01"
    path.write_text(json.dumps(doc))
    stubs.price_pages()

    result = run_cli(capsys, "estimate", str(FINE_TUNING), "--json")

    assert result.json()["priceSource"]["status"] == "live"
    assert json.loads(path.read_text())["fetched"] != "2026-01-01"


def test_a_price_list_that_refuses_falls_back_to_a_stale_cache_and_says_so(
    capsys: pytest.CaptureFixture[str], stubs: Stubs, online: Path
) -> None:
    stubs.price_pages()
    run_cli(capsys, "estimate", str(FINE_TUNING))
    path = online / "prices-us-east-1.json"
    doc = json.loads(path.read_text())
    doc["fetched"] = "2026-01-01"
    path.write_text(json.dumps(doc))
    stubs.pricing_stub.add_client_error(
        "get_products", "AccessDeniedException", "no pricing:GetProducts", 403
    )

    result = run_cli(capsys, "estimate", str(FINE_TUNING))

    assert result.code == 0
    # Said once, where the estimate says where its prices come from, with the advice that applies.
    reason = (
        "fetched 2026-01-01 (older than the 7-day cache limit: the Price List API refused GetProducts "
        "(AccessDeniedException: no pricing:GetProducts); live prices need pricing:GetProducts)"
    )
    assert reason in result.out
    assert (result.out + result.err).count("refused GetProducts") == 1
    assert "--env" not in result.out + result.err


@pytest.mark.usefixtures("online")
def test_a_price_list_that_refuses_without_a_cache_leaves_the_catalogs_prices(
    capsys: pytest.CaptureFixture[str], stubs: Stubs
) -> None:
    stubs.pricing_stub.add_client_error("get_products", "ThrottlingException", "slow down", 400)

    result = run_cli(capsys, "estimate", str(FINE_TUNING))

    assert result.code == 0
    assert (
        "Prices:     the catalog's dated prices (each with its own source and date): the Price List API"
        in (result.out)
    )
    assert "x $0.001/1K tokens (price as of 2026-08, [3P] " in result.out  # the catalog's dated price


def test_estimate_offline_uses_the_catalog_and_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "estimate", str(FINE_TUNING), "--json")

    source = result.json()["priceSource"]
    assert source["status"] == "catalog"
    assert source["description"].endswith("offline (BEDROCK_CUSTOMIZE_OFFLINE is set)")
    assert "(price as of 2026-08, [3P] " in result.json()["basis"]["training"]  # the catalog's dated price


@pytest.mark.usefixtures("online")
def test_check_prices_its_summary_with_the_price_list(
    capsys: pytest.CaptureFixture[str], stubs: Stubs
) -> None:
    stubs.foundation_model()
    stubs.price_pages()

    code, out, _ = check(capsys, str(FINE_TUNING))

    assert code == 0, out
    assert "est. training cost $0." in out  # the preflight summary, priced live
    assert "; $60.50/hour" in out
    assert "prices:     AWS Price List API (GetProducts AmazonBedrock), us-east-1, fetched " in out


# --------------------------------------------------------------------------------------------------
# start
# --------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("online")
def test_start_refuses_a_legacy_base_before_uploading_anything(
    capsys: pytest.CaptureFixture[str], stubs: Stubs
) -> None:
    stubs.foundation_model(status="LEGACY")

    result = run_cli(capsys, "start", str(FINE_TUNING), "--yes", "--json")

    assert result.code == 2
    doc = result.json()
    assert doc["started"] is False and doc["liveCheck"]["ok"] is False
    assert "live check: Bedrock in us-east-1 says LEGACY" in result.err
    assert "nothing was uploaded and no run was started" in result.err


@pytest.mark.usefixtures("online")
def test_start_stops_when_the_live_check_cannot_be_made(
    capsys: pytest.CaptureFixture[str], stubs: Stubs
) -> None:
    stubs.bedrock_stub.add_client_error("get_foundation_model", "AccessDeniedException", "denied", 403)

    result = run_cli(capsys, "start", str(FINE_TUNING), "--yes")

    assert result.code == 1
    assert "live check failed" in result.err and "--offline" in result.err


# --------------------------------------------------------------------------------------------------
# models --live
# --------------------------------------------------------------------------------------------------


def _offering(stubs: Stubs) -> None:
    offered = {
        "FINE_TUNING": [
            rec.summary(NOVA_MICRO, ("FINE_TUNING", "DISTILLATION")),
            rec.summary("amazon.nova-lite-v1:0:300k", ("FINE_TUNING",), status="LEGACY"),
            rec.summary("amazon.nova-ultra-v1:0:512k", ("FINE_TUNING",)),
        ],
        "CONTINUED_PRE_TRAINING": [],
        "DISTILLATION": [rec.summary(NOVA_MICRO, ("FINE_TUNING", "DISTILLATION"))],
    }
    for ctype, summaries in offered.items():
        stubs.bedrock_stub.add_response(
            "list_foundation_models", {"modelSummaries": summaries}, {"byCustomizationType": ctype}
        )


def test_models_live_flags_differences_both_ways(capsys: pytest.CaptureFixture[str], stubs: Stubs) -> None:
    _offering(stubs)

    result = run_cli(capsys, "models", "--live", "--region", REGION, "--json")

    assert result.code == 0, result.err
    doc = result.json()
    rows = {m["modelId"]: m for m in doc["models"]}
    assert (
        doc["region"] == REGION and doc["source"] == "ListFoundationModels(byCustomizationType) in us-east-1"
    )
    assert doc["notListable"] == ["REINFORCEMENT_FINE_TUNING"]
    assert rows[NOVA_MICRO]["differences"] == []
    assert rows[NOVA_MICRO]["liveTypes"] == ["FINE_TUNING", "DISTILLATION"]
    assert rows["amazon.nova-ultra-v1:0:512k"]["differences"] == [
        "offered live (FINE_TUNING) but unknown to the catalog"
    ]
    lite = rows["amazon.nova-lite-v1:0:300k"]["differences"]
    assert "DISTILLATION in the catalog, not offered live" in lite
    assert "LEGACY live: no new customization job or Provisioned Throughput" in lite
    assert "lifecycle differs: catalog ACTIVE, API LEGACY" in lite
    assert rows["amazon.nova-pro-v1:0:300k"]["differences"] == [
        "in the catalog for us-east-1, not offered by the API (no listed type)"
    ]
    # End-of-life catalog models that the API does not offer agree with it: no difference.
    assert rows["amazon.nova-canvas-v1:0"]["differences"] == []


def test_models_live_table_says_rft_cannot_be_listed(
    capsys: pytest.CaptureFixture[str], stubs: Stubs
) -> None:
    _offering(stubs)

    result = run_cli(capsys, "models", "--live", "--region", REGION)

    assert result.code == 0, result.err
    assert "Customization offered in us-east-1, per ListFoundationModels(byCustomizationType)" in result.out
    assert "amazon.nova-ultra-v1:0:512k" in result.out and "not in the catalog" in result.out
    assert (
        "REINFORCEMENT_FINE_TUNING cannot be listed live (ListFoundationModels cannot filter it)"
        in result.out
    )


def test_models_live_without_access_is_an_operational_error(
    capsys: pytest.CaptureFixture[str], stubs: Stubs
) -> None:
    stubs.bedrock_stub.add_client_error("list_foundation_models", "AccessDeniedException", "denied", 403)

    result = run_cli(capsys, "models", "--live", "--region", REGION)

    assert result.code == 1
    assert "AWS refused ListFoundationModels: AccessDeniedException" in result.err and "next:" in result.err


# --------------------------------------------------------------------------------------------------
# check / estimate: the account's quotas (pipeline.quotas)
# --------------------------------------------------------------------------------------------------


def _quotas(stubs: Stubs, *, units: float, jobs: float, in_progress: int) -> None:
    stubs.quotas_stub.add_response(
        "get_service_quota",
        {
            "Quota": {
                "QuotaCode": "L-BE77399C",
                "QuotaName": "Model units no-commitment Provisioned Throughputs across custom models",
                "Value": units,
            }
        },
        {"ServiceCode": "bedrock", "QuotaCode": "L-BE77399C"},
    )
    stubs.quotas_stub.add_response(
        "list_service_quotas",
        {
            "Quotas": [
                {"QuotaCode": "L-0000BBBB", "QuotaName": "Concurrent model customization jobs", "Value": jobs}
            ]
        },
        {"ServiceCode": "bedrock"},
    )
    summary = {
        "jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/x",
        "baseModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k",
        "jobName": "another-team",
        "status": "InProgress",
        "creationTime": dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    }
    stubs.bedrock_stub.add_response(
        "list_model_customization_jobs",
        {"modelCustomizationJobSummaries": [summary] * in_progress},
        {"statusEquals": "InProgress"},
    )


@pytest.mark.usefixtures("online")
def test_check_refuses_a_purchase_the_account_quota_cannot_hold(
    capsys: pytest.CaptureFixture[str], stubs: Stubs
) -> None:
    # Given a new account: no no-commitment model units for custom models
    stubs.foundation_model()
    _quotas(stubs, units=0, jobs=2, in_progress=0)
    # When the fine-tuning example (1 model unit to serve with) is checked
    code, out, _ = check(capsys, str(FINE_TUNING))
    # Then it is refused before training, naming the quota and how to raise it (with the region)
    assert code == 2
    assert "'Model units no-commitment Provisioned Throughputs across custom models' (L-BE77399C)" in out
    assert "in us-east-1 is 0: the purchase would fail after paid training" in out
    assert "--quota-code L-BE77399C --desired-value 1 --region us-east-1" in out
    assert "quotas in us-east-1: " in out and "refused" in out


@pytest.mark.usefixtures("online")
def test_check_warns_when_every_training_slot_is_in_use(
    capsys: pytest.CaptureFixture[str], stubs: Stubs
) -> None:
    stubs.foundation_model()
    _quotas(stubs, units=1, jobs=2, in_progress=2)
    stubs.empty_prices()
    code, out, _ = check(capsys, str(FINE_TUNING), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["quotas"]["jobsInProgress"] == 2
    (warning,) = [w for w in doc["runFindings"] if w["kind"] == "quota"]
    assert warning["severity"] == "warning"
    assert (
        "2 customization job(s) in progress, quota 'Concurrent model customization jobs' (L-0000BBBB) 2"
        in (warning["problem"])
    )
    assert "the run would wait in line for a training slot" in warning["problem"]


def test_offline_the_quotas_are_not_checked(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = check(capsys, str(FINE_TUNING), "--offline")
    assert code == 0
    assert "quotas: not checked, offline (--offline)" in out


@pytest.mark.usefixtures("online")
def test_estimate_reads_the_quotas_too(capsys: pytest.CaptureFixture[str], stubs: Stubs) -> None:
    _quotas(stubs, units=0, jobs=2, in_progress=0)
    stubs.empty_prices()
    result = run_cli(capsys, "estimate", str(FINE_TUNING))
    assert result.code == 2
    assert (
        "error: the run would buy no-commitment Provisioned Throughput (1 model unit to serve with)"
        in result.out
    )

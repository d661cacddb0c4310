"""Service Quotas for Bedrock as the simulated account answers them: one source for the simulation's
in-process calls (the workflow's preflight, :func:`pipeline.simulation.runner.aws_routes`) and the
sandbox's HTTP endpoint (the CLI's quota check, :class:`pipeline.simulation.sandbox.SandboxApp`).

moto answers GetServiceQuota for Bedrock with NoSuchResourceException (it knows no Bedrock quotas)
and does not implement ListServiceQuotas, which the quota check needs to find the quotas whose codes
are unknown (pipeline.quotas). Rather than patch moto, the simulation answers both operations itself,
for the service code ``bedrock`` only, with the quotas of a *simulated* account that was granted
throughput: these values are the simulation's, not AWS defaults (a new account has 0 model units,
bedrock.md §2). The no-commitment quota carries the code the project reads it by (L-BE77399C); the
other quotas carry codes marked ``SIM`` because their real codes are unknown or per model. The
simulated Bedrock itself admits any number of customization jobs: a scenario that wants a full queue
injects ServiceQuotaExceededException (:mod:`pipeline.simulation.faults`).
"""

from __future__ import annotations

import json
from typing import Any, Final

from pipeline import quotas
from pipeline.catalog import all_models

# The simulated account's grants: enough for every scenario's purchase (at most 2 model units).
NO_COMMITMENT_UNITS: Final = 4.0
PER_MODEL_UNITS: Final = 4.0
CONCURRENT_JOBS: Final = 4.0
CONCURRENT_JOBS_NAME: Final = "(Simulated) Concurrent model customization jobs"
TARGET_PREFIX: Final = "ServiceQuotasV20190624."
JSON_HEADERS: Final = {"Content-Type": "application/x-amz-json-1.1"}


def bedrock_quotas(region: str, account: str) -> list[dict[str, Any]]:
    """Every Bedrock quota of the simulated account, as ListServiceQuotas lists them."""
    listed = [
        (
            quotas.NO_COMMITMENT_CUSTOM_UNITS.code or "",
            quotas.NO_COMMITMENT_CUSTOM_UNITS.name,
            NO_COMMITMENT_UNITS,
        ),
        ("L-SIM00001", CONCURRENT_JOBS_NAME, CONCURRENT_JOBS),
    ]
    for index, model in enumerate(all_models(), start=2):
        listed.append((f"L-SIM{index:05d}", f"{quotas.PER_MODEL_UNITS_PREFIX}{model.name}", PER_MODEL_UNITS))
    return [
        {
            "ServiceCode": quotas.SERVICE_CODE,
            "ServiceName": "Amazon Bedrock",
            "QuotaArn": f"arn:aws:servicequotas:{region}:{account}:{quotas.SERVICE_CODE}/{code}",
            "QuotaCode": code,
            "QuotaName": name,
            "Value": value,
            "Unit": "None",
            "Adjustable": True,
            "GlobalQuota": False,
        }
        for code, name, value in listed
    ]


def answer(target: str, body: bytes, region: str, account: str) -> tuple[int, dict[str, str], str] | None:
    """The response to a Service Quotas request (``X-Amz-Target``) for Bedrock; None: not ours, moto
    answers it (other services' quotas, other operations)."""
    operation = target.removeprefix(TARGET_PREFIX)
    if operation not in ("GetServiceQuota", "ListServiceQuotas"):
        return None
    params = json.loads(body or b"{}")
    if params.get("ServiceCode") != quotas.SERVICE_CODE:
        return None
    listed = bedrock_quotas(region, account)
    if operation == "ListServiceQuotas":
        return 200, JSON_HEADERS, json.dumps({"Quotas": listed})
    found = next((q for q in listed if q["QuotaCode"] == params.get("QuotaCode")), None)
    if found is None:
        error = {"__type": "NoSuchResourceException", "message": f"no quota {params.get('QuotaCode')}"}
        return 400, JSON_HEADERS, json.dumps(error)
    return 200, JSON_HEADERS, json.dumps({"Quota": found})

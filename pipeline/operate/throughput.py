"""Provisioned Throughput the pipeline bought: find it by tag, price it, delete it safely.

Every purchase the workflow makes carries the tags ``bedrock-customization:run-id``,
``...:run-name``, ``...:commitment`` and ``...:purpose`` (pipeline.plan). A run buys throughput for
one of two purposes: ``evaluation`` (``<run id>-eval``: one model unit without commitment, bought
only when the base model cannot be deployed on demand, released after the evaluation) and
``serving`` (``<run id>-pt``: what the spec serves with, bought after the quality bar). Throughput
without the run-id tag was not bought by the pipeline and is never touched here.

Bedrock bills a model unit per hour from creation until deletion; a one- or six-month commitment
is billed for its whole term and cannot be deleted before the term ends [UG:prov-throughput].
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pipeline import costs, slots
from pipeline.catalog import UnknownModelError, get_model
from pipeline.operate import output
from pipeline.operate.errors import error_code
from pipeline.plan import COMMITMENT_TAG, PURPOSE_TAG, RUN_ID_TAG, RUN_NAME_TAG

NO_COMMITMENT: Final = "none"
EVALUATION: Final = "evaluation"
SERVING: Final = "serving"
# Names the workflow gives (pipeline.naming): how the purpose of an untagged older purchase is known.
_PURPOSE_BY_SUFFIX: Final = (("-eval", EVALUATION), ("-pt", SERVING))
GONE: Final = frozenset({"ResourceNotFoundException", "NotFound", "404"})


def tags_of(bedrock: Any, arn: str) -> dict[str, str]:
    """A resource's tags as a dict; an empty dict when it is gone."""
    try:
        response = bedrock.list_tags_for_resource(resourceARN=arn)
    except Exception as exc:
        if error_code(exc) in GONE:
            return {}
        raise
    return {str(t["key"]): str(t["value"]) for t in response.get("tags", [])}


def model_id_of(arn: str | None) -> str | None:
    """``arn:aws:bedrock:r::foundation-model/amazon.nova-micro-v1:0:128k`` → the model id."""
    if not arn or "foundation-model/" not in arn:
        return None
    return arn.split("foundation-model/", 1)[1]


def hourly_cost(base_model_id: str | None, units: int | None, commitment: str) -> costs.CostEstimate | None:
    """The catalog's hourly price for this purchase; None when the model or its price is unknown."""
    if base_model_id is None or units is None:
        return None
    try:
        model = get_model(base_model_id)
    except UnknownModelError:
        return None
    return costs.pt_hourly_cost(model, units, commitment)


@dataclass(frozen=True)
class Throughput:
    arn: str
    name: str
    status: str
    model_arn: str | None
    foundation_model_arn: str | None
    model_units: int | None
    commitment: str
    commitment_expires: dt.datetime | None
    created: dt.datetime | None
    tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, item: Mapping[str, Any], tags: Mapping[str, str]) -> Throughput:
        """From a ListProvisionedModelThroughputs summary or a GetProvisionedModelThroughput response."""
        commitment = item.get("commitmentDuration") or tags.get(COMMITMENT_TAG) or NO_COMMITMENT
        return cls(
            arn=str(item["provisionedModelArn"]),
            name=str(item.get("provisionedModelName") or ""),
            status=str(item.get("status") or "unknown"),
            model_arn=item.get("modelArn"),
            foundation_model_arn=item.get("foundationModelArn"),
            model_units=item.get("modelUnits"),
            commitment=str(commitment),
            commitment_expires=output.parse_time(item.get("commitmentExpirationTime")),
            created=output.parse_time(item.get("creationTime")),
            tags=dict(tags),
        )

    @property
    def run_id(self) -> str | None:
        return self.tags.get(RUN_ID_TAG)

    @property
    def run_name(self) -> str | None:
        return self.tags.get(RUN_NAME_TAG)

    @property
    def created_by_pipeline(self) -> bool:
        return self.run_id is not None

    @property
    def purpose(self) -> str | None:
        """evaluation | serving: the purpose tag, else what the pipeline's name for it says."""
        tagged = self.tags.get(PURPOSE_TAG)
        if tagged:
            return tagged
        if not self.created_by_pipeline:
            return None
        return next((purpose for suffix, purpose in _PURPOSE_BY_SUFFIX if self.name.endswith(suffix)), None)

    @property
    def base_model_id(self) -> str | None:
        return model_id_of(self.foundation_model_arn)

    @property
    def has_commitment(self) -> bool:
        return self.commitment != NO_COMMITMENT

    def hourly(self) -> costs.CostEstimate | None:
        return hourly_cost(self.base_model_id, self.model_units, self.commitment)

    def hourly_usd(self) -> float | None:
        cost = self.hourly()
        return cost.usd if cost is not None else None

    def per_day_usd(self) -> float | None:
        hourly = self.hourly_usd()
        return hourly * output.HOURS_PER_DAY if hourly is not None else None

    def age_seconds(self, now: dt.datetime) -> float | None:
        return (now - self.created).total_seconds() if self.created is not None else None

    def cost_so_far(self, now: dt.datetime, until: dt.datetime | None = None) -> float | None:
        """Hourly price x hours since the purchase (billing starts at creation)."""
        hourly = self.hourly_usd()
        if hourly is None or self.created is None:
            return None
        end = until or now
        return hourly * max(0.0, (end - self.created).total_seconds()) / 3600

    def slot_refusal(self) -> str | None:
        """Why this throughput is not deleted here: it is a serving slot's endpoint (None: it is not)."""
        slot = self.tags.get(slots.SLOT_TAG)
        if slot is None:
            return None
        return (
            f"{self.arn} is the endpoint of serving slot {slot}: applications call it, and deleting it "
            "takes the slot down. It is never deleted by this command; to retire the slot, delete it "
            f"yourself: aws bedrock delete-provisioned-model-throughput --provisioned-model-id {self.arn}"
        )

    def deletion_refusal(self, now: dt.datetime) -> str | None:
        """Why this throughput must not be deleted now, or None."""
        if not self.has_commitment:
            return None
        if self.commitment_expires is not None and self.commitment_expires <= now:
            return None
        until = output.utc(self.commitment_expires) if self.commitment_expires else "the end of its term"
        return (
            f"{self.arn} has a {self.commitment} commitment that ends {until}: Bedrock refuses to delete it "
            "before then and bills the whole term anyway. Delete it after the term ends "
            "(or reuse it for a newer custom model of the same base with UpdateProvisionedModelThroughput)"
        )

    def to_dict(self, now: dt.datetime) -> dict[str, Any]:
        hourly = self.hourly()
        return {
            "arn": self.arn,
            "name": self.name,
            "status": self.status,
            "runId": self.run_id,
            "runName": self.run_name,
            "purpose": self.purpose,
            "modelArn": self.model_arn,
            "baseModel": self.base_model_id,
            "modelUnits": self.model_units,
            "commitment": self.commitment,
            "commitmentExpiresAt": output.iso(self.commitment_expires),
            "createdAt": output.iso(self.created),
            "ageSeconds": self.age_seconds(now),
            "hourlyUsd": round(hourly.usd, 4) if hourly else None,
            "perDayUsd": _round(self.per_day_usd()),
            "costSoFarUsd": _round(self.cost_so_far(now)),
            "priceBasis": hourly.basis if hourly else None,
        }


def _round(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def inventory(bedrock: Any) -> list[Throughput]:
    """Every provisioned throughput in the region that carries the pipeline's run-id tag."""
    found: list[Throughput] = []
    paginator = bedrock.get_paginator("list_provisioned_model_throughputs")
    for page in paginator.paginate():
        for summary in page.get("provisionedModelSummaries", []):
            tags = tags_of(bedrock, summary["provisionedModelArn"])
            if RUN_ID_TAG in tags:
                found.append(Throughput.from_api(summary, tags))
    return found


def describe(bedrock: Any, identifier: str) -> Throughput | None:
    """One throughput by ARN or name, with its tags; None when it does not exist (any more)."""
    try:
        response = bedrock.get_provisioned_model_throughput(provisionedModelId=identifier)
    except Exception as exc:
        if error_code(exc) in GONE:
            return None
        raise
    return Throughput.from_api(response, tags_of(bedrock, str(response["provisionedModelArn"])))


def delete(bedrock: Any, throughput: Throughput) -> bool:
    """Delete it; False when it was already gone."""
    try:
        bedrock.delete_provisioned_model_throughput(provisionedModelId=throughput.arn)
    except Exception as exc:
        if error_code(exc) in GONE:
            return False
        raise
    return True


def is_throughput_arn(text: str) -> bool:
    return text.startswith("arn:") and ":provisioned-model/" in text

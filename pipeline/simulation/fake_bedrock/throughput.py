"""Provisioned Throughput of the simulated Bedrock: purchases (idempotent), get, list, delete.

**Provisioned Throughput** (Create, Get by ARN or name, List, Delete). ``clientRequestToken``
makes a purchase idempotent the same way. ``Creating`` for ``throughput.creatingSeconds``, then
``InService`` or ``Failed``; outcome ``Creating`` never leaves Creating. The model must be an
``Active`` custom model of this account. A commitment cannot be deleted before its term ends
(ConflictException [bedrock.md §4.5]); deleting a no-commitment purchase works in any status
unless ``throughput.deleteWhileCreating`` is false (whether Bedrock allows deleting a purchase
that is still Creating is UNCONFIRMED).
"""

from __future__ import annotations

from typing import Any, Final

from pipeline.simulation.fake_bedrock.core import CLIENT_TOKEN, MODEL_NAME, check_field, page
from pipeline.simulation.fake_bedrock.jobs import CustomizationJobs
from pipeline.simulation.fake_bedrock.records import Throughput
from pipeline.simulation.wire import ServiceError

_COMMITMENT_DAYS: Final = {"OneMonth": 30, "SixMonths": 182}


class Throughputs(CustomizationJobs):
    """CreateProvisionedModelThroughput, GetProvisionedModelThroughput,
    ListProvisionedModelThroughputs, DeleteProvisionedModelThroughput."""

    def _bedrock_create_provisioned_model_throughput(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["provisionedModelName"]
        token = params.get("clientRequestToken") or self._id("token", name, str(self.clock.elapsed()))
        check_field(MODEL_NAME.match(name), "provisionedModelName", name)
        check_field(CLIENT_TOKEN.match(token), "clientRequestToken", token)
        units = params["modelUnits"]
        check_field(isinstance(units, int) and units >= 1, "modelUnits", units)
        commitment = params.get("commitmentDuration")
        check_field(commitment in (None, *_COMMITMENT_DAYS), "commitmentDuration", commitment)
        for pt in self.throughputs.values():
            if pt.token == token:
                if pt.request != params:
                    raise ServiceError(
                        "ConflictException",
                        f"clientRequestToken {token} was already used for {pt.name} with different "
                        "parameters",
                    )
                pt.create_requests += 1
                return {"provisionedModelArn": pt.arn}
            if pt.name == name and pt.deleted is None:
                raise ServiceError("ConflictException", f"a provisioned model named {name} already exists")
        for job in self.jobs.values():
            self._advance(job)
        model = self._custom_model(params["modelId"])
        now = self.clock.elapsed()
        behaviour = self.behaviour.throughput
        if behaviour.outcome not in ("InService", "Failed", "Creating"):
            raise ValueError(f"throughput outcome {behaviour.outcome!r} is not InService, Failed or Creating")
        pt = Throughput(
            arn=self._arn("provisioned-model", self._id("pt", token)),
            name=name,
            token=token,
            request=params,
            model_arn=model.arn,
            model_units=units,
            commitment=commitment,
            created=now,
            ready_at=None if behaviour.outcome == "Creating" else now + behaviour.creating_seconds,
            outcome=behaviour.outcome,
        )
        self.throughputs[pt.arn] = pt
        if pt.ready_at is not None:
            self.clock.schedule(pt.ready_at)
        return {"provisionedModelArn": pt.arn}

    def _throughput(self, identifier: str) -> Throughput:
        for pt in self.throughputs.values():
            if pt.deleted is None and identifier in (pt.arn, pt.name):
                return pt
        raise ServiceError(
            "ResourceNotFoundException", f"provisioned model throughput {identifier} not found"
        )

    def _describe_throughput(self, pt: Throughput, *, summary: bool = False) -> dict[str, Any]:
        now = self.clock.elapsed()
        status = pt.status(now)
        changed = pt.created if status == "Creating" else (pt.ready_at or pt.created)
        job = self.jobs[self.custom_models[pt.model_arn].job_arn]
        foundation = self.foundation_model_arn(self._base_model(job.request["baseModelIdentifier"]).model_id)
        out: dict[str, Any] = {
            "modelUnits": pt.model_units,
            "desiredModelUnits": pt.model_units,
            "provisionedModelName": pt.name,
            "provisionedModelArn": pt.arn,
            "modelArn": pt.model_arn,
            "desiredModelArn": pt.model_arn,
            "foundationModelArn": foundation,
            "status": status,
            "creationTime": self.clock.at(pt.created),
            "lastModifiedTime": self.clock.at(changed),
        }
        if pt.commitment:
            out["commitmentDuration"] = pt.commitment
            out["commitmentExpirationTime"] = self.clock.at(
                pt.created + _COMMITMENT_DAYS[pt.commitment] * 86400
            )
        if status == "Failed" and not summary:
            out["failureMessage"] = self.behaviour.throughput.failure_message
        return out

    def _bedrock_get_provisioned_model_throughput(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._describe_throughput(self._throughput(params["provisionedModelId"]))

    def _bedrock_list_provisioned_model_throughputs(self, params: dict[str, Any]) -> dict[str, Any]:
        items = []
        for pt in sorted(self.throughputs.values(), key=lambda p: p.created):
            if pt.deleted is not None:
                continue
            described = self._describe_throughput(pt, summary=True)
            if params.get("statusEquals") not in (None, described["status"]):
                continue
            if params.get("nameContains") and params["nameContains"] not in pt.name:
                continue
            if params.get("modelArnEquals") not in (None, pt.model_arn):
                continue
            items.append(described)
        if params.get("sortOrder") == "Descending":
            items.reverse()
        return page(items, params, "provisionedModelSummaries")

    def _bedrock_delete_provisioned_model_throughput(self, params: dict[str, Any]) -> dict[str, Any]:
        pt = self._throughput(params["provisionedModelId"])
        now = self.clock.elapsed()
        if pt.commitment and now < pt.created + _COMMITMENT_DAYS[pt.commitment] * 86400:
            pt.delete_refusals += 1
            raise ServiceError(
                "ConflictException",
                f"{pt.name} has a {pt.commitment} commitment; it cannot be deleted before the term ends",
            )
        if pt.status(now) == "Creating" and not self.behaviour.throughput.delete_while_creating:
            pt.delete_refusals += 1
            raise ServiceError("ConflictException", f"{pt.name} is still Creating; try again when it is not")
        pt.deleted = now
        return {}

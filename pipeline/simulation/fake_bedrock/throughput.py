"""Provisioned Throughput of the simulated Bedrock: purchases (idempotent), get, list, delete.

**Provisioned Throughput** (Create, Get by ARN or name, List, Delete). ``clientRequestToken``
makes a purchase idempotent the same way. ``Creating`` for ``throughput.creatingSeconds``, then
``InService`` or ``Failed``; outcome ``Creating`` never leaves Creating. The model must be an
``Active`` custom model of this account. A commitment cannot be deleted before its term ends
(ConflictException [bedrock.md §4.5]); deleting a no-commitment purchase works in any status
unless ``throughput.deleteWhileCreating`` is false (whether Bedrock allows deleting a purchase
that is still Creating is UNCONFIRMED).

**UpdateProvisionedModelThroughput** with ``desiredModelId`` changes the model behind the
throughput in place (same ARN): ``Updating`` (``modelArn`` the old model, ``desiredModelArn`` the
new one) for ``throughput.updateSeconds`` (default 900 s: UNCONFIRMED, how long it takes is not
documented), then ``InService`` with ``modelArn`` the new model, or, with a fault of effect
``eventually`` (pipeline.simulation.faults), ``Failed`` with ``failureMessage`` and the old
``modelArn`` (UNCONFIRMED: what a failed model change leaves behind; a Failed throughput answers
no Converse call here, and may be updated again, which is how a rollback brings it back). While the
change runs the old model serves (UNCONFIRMED: whether requests in flight are interrupted). The new
model must be a custom model of the same base model [BC]; a change to the base model itself (which
[BC] also allows) is not simulated (the workflow never asks it). ``desiredProvisionedModelName``
renames it. Refused with a ValidationException: a throughput that is Creating or Updating.
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
    ListProvisionedModelThroughputs, UpdateProvisionedModelThroughput,
    DeleteProvisionedModelThroughput."""

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

    def declare_throughput(self, name: str, model_arn: str, units: int, tags: dict[str, str]) -> str:
        """An InService no-commitment throughput bought before the simulation (a serving slot's)."""
        model = self._custom_model(model_arn)
        request = {
            "provisionedModelName": name,
            "modelId": model.arn,
            "modelUnits": units,
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        }
        pt = Throughput(
            arn=self._arn("provisioned-model", self._id("declared-pt", name)),
            name=name,
            token=self._id("declared-token", name),
            request=request,
            model_arn=model.arn,
            model_units=units,
            commitment=None,
            created=self.clock.elapsed(),
            ready_at=self.clock.elapsed(),
            outcome="InService",
            preexisting=True,
        )
        self.throughputs[pt.arn] = pt
        return pt.arn

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
        change = pt.changes[-1] if pt.changes else None
        if change is not None:
            changed = change.started if change.status(now) == "Updating" else min(now, change.done_at)
        model_arn = pt.model_at(now)
        foundation = self.foundation_model_arn(self._base_model(model_arn).model_id)
        out: dict[str, Any] = {
            "modelUnits": pt.model_units,
            "desiredModelUnits": pt.model_units,
            "provisionedModelName": pt.name,
            "provisionedModelArn": pt.arn,
            "modelArn": model_arn,
            # The model asked for: differs from modelArn while a change runs, and after it failed.
            "desiredModelArn": change.target_model_arn if change is not None else model_arn,
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
            failed_change = change is not None and change.status(now) == "UpdateFailed"
            behaviour = self.behaviour.throughput
            out["failureMessage"] = (
                change.failure if change is not None and failed_change else behaviour.failure_message
            )
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
            if params.get("modelArnEquals") not in (None, described["modelArn"]):
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

    def _bedrock_update_provisioned_model_throughput(self, params: dict[str, Any]) -> dict[str, Any]:
        pt = self._throughput(params["provisionedModelId"])
        now = self.clock.elapsed()
        status = pt.status(now)
        last = pt.changes[-1] if pt.changes else None
        failed_change = status == "Failed" and last is not None and last.status(now) == "UpdateFailed"
        if status != "InService" and not failed_change:
            raise ServiceError("ValidationException", f"{pt.name} is {status}; it cannot be updated now")
        new_name = params.get("desiredProvisionedModelName")
        if new_name is not None:
            check_field(MODEL_NAME.match(new_name), "desiredProvisionedModelName", new_name)
            others = [o for o in self.throughputs.values() if o is not pt and o.deleted is None]
            if any(o.name == new_name for o in others):
                raise ServiceError(
                    "ValidationException", f"a provisioned model named {new_name} already exists"
                )
            pt.name = new_name
        desired = params.get("desiredModelId")
        if desired is None:
            return {}
        for job in self.jobs.values():
            self._advance(job)
        if ":custom-model/" not in desired and desired not in {m.name for m in self.custom_models.values()}:
            raise ServiceError(
                "ValidationException",
                f"{desired}: the simulation changes a throughput only to a custom model "
                "(not to a base model)",
            )
        model = self._custom_model(desired)  # ResourceNotFoundException: not a model of this account
        current = pt.model_at(now)
        base, current_base = self._base_model(model.arn).model_id, self._base_model(current).model_id
        if base != current_base:
            raise ServiceError(
                "ValidationException",
                f"{pt.name} serves a custom model of {current_base}; {model.arn} is a custom model "
                f"of {base}: a throughput can only change to a custom model of the same base model",
            )
        self._start_change(pt.changes, model.arn, current, self.behaviour.throughput.update_seconds)
        return {}

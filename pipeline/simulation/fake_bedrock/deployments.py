"""Custom model deployments of the simulated Bedrock (on-demand serving of a custom model): create
(idempotent), get, list, delete.

**Custom model deployments** (on-demand serving of a custom model [bedrock.md §4.6, §12]: Create,
Get by ARN or name, List, Delete). ``clientRequestToken`` makes creation idempotent the same way;
a name is unique per account and Region among live deployments (a duplicate is a
ConflictException: UNCONFIRMED, the operation models no ConflictException). ``modelArn`` must be
the ARN of an ``Active`` custom model of this account and Region, whose base deploys on demand
in this Region (``ModelInfo.deploys_on_demand``; ValidationException otherwise). ``Creating``
for ``deployment.creatingSeconds`` (default 480 s: a third party saw Active after ~8 min), then
``Active`` or ``Failed``; outcome ``Creating`` never leaves Creating. Deleting works in any
status; a deleted deployment is gone (ResourceNotFoundException).

**UpdateCustomModelDeployment** changes the model behind an ``Active`` deployment in place (same
ARN [BC: "deploy updated models without creating new deployment endpoints"]): HTTP 202, then
``updateDetails`` = ``{modelArn: <the new model>, updateStatus: Updating}`` for
``deployment.updateSeconds`` (default 600 s: UNCONFIRMED, how long an update takes is not
documented), then ``UpdateCompleted`` (``modelArn`` is the new model) or, with a fault of effect
``eventually`` (pipeline.simulation.faults), ``UpdateFailed`` with ``failureMessage`` (the
deployment stays ``Active`` and serves the model it had). While the update runs the old model
serves (UNCONFIRMED: whether requests in flight are interrupted). Refused with a
ValidationException (UNCONFIRMED wording and code: the operation models no ConflictException): a
deployment that is not Active, an update while another is Updating, a model that is not an Active
custom model of this account and Region, of a base that deploys on demand here, or of another base
than the model it replaces (UNCONFIRMED: the guide does not say whether a deployment may switch
base models; refused, like a throughput's [BC]).
"""

from __future__ import annotations

import re
from typing import Any, Final

from pipeline.simulation.fake_bedrock.core import CLIENT_TOKEN, MODEL_NAME, check_field, page
from pipeline.simulation.fake_bedrock.jobs import CustomizationJobs
from pipeline.simulation.fake_bedrock.records import Deployment
from pipeline.simulation.wire import ServiceError

# CreateCustomModelDeployment's modelArn (botocore's CustomModelArn pattern, with named parts).
_CUSTOM_MODEL_ARN: Final = re.compile(
    r"arn:aws:bedrock:(?P<region>[a-z0-9-]{1,20}):(?P<account>[0-9]{12}):custom-model/"
    r"(imported|[a-z0-9-]{1,63}[.][a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}"
    r"([:][a-z0-9-]{1,63}){0,2})/[a-z0-9]{12}"
)


class Deployments(CustomizationJobs):
    """CreateCustomModelDeployment, GetCustomModelDeployment, ListCustomModelDeployments,
    UpdateCustomModelDeployment, DeleteCustomModelDeployment."""

    def _bedrock_create_custom_model_deployment(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["modelDeploymentName"]
        token = params.get("clientRequestToken") or self._id("token", name, str(self.clock.elapsed()))
        check_field(MODEL_NAME.match(name) and len(name) <= 63, "modelDeploymentName", name)
        check_field(CLIENT_TOKEN.match(token), "clientRequestToken", token)
        description = params.get("description")
        check_field(description is None or 1 <= len(description) <= 2048, "description", description)
        for deployment in self.deployments.values():
            if deployment.token == token:
                if deployment.request != params:
                    raise ServiceError(
                        "ConflictException",
                        f"clientRequestToken {token} was already used for {deployment.name} with "
                        "different parameters",
                    )
                deployment.create_requests += 1
                return {"customModelDeploymentArn": deployment.arn}
            if deployment.name == name and deployment.deleted is None:
                # UNCONFIRMED: the operation models no ConflictException; the real service may answer
                # a duplicate name with a ValidationException instead.
                raise ServiceError(
                    "ConflictException", f"a custom model deployment named {name} already exists"
                )
        model_arn = params["modelArn"]
        found = _CUSTOM_MODEL_ARN.fullmatch(model_arn)
        check_field(found, "modelArn", model_arn)
        if found and found["region"] != self.region:
            raise ServiceError(
                "ValidationException", f"The model {model_arn} is not in this Region ({self.region})"
            )
        for job in self.jobs.values():
            self._advance(job)
        model = self._custom_model(model_arn)  # ResourceNotFoundException: not a model of this account
        base = self._base_model(model.arn)
        if not base.deploys_on_demand(self.region):
            # The wording is UNCONFIRMED; the rule is [UG:deploy-custom-model-on-demand].
            raise ServiceError(
                "ValidationException",
                f"On-demand deployment isn't supported for custom models of {base.model_id} in "
                f"{self.region}. Purchase Provisioned Throughput to use this model.",
            )
        now = self.clock.elapsed()
        behaviour = self.behaviour.deployment
        if behaviour.outcome not in ("Active", "Failed", "Creating"):
            raise ValueError(f"deployment outcome {behaviour.outcome!r} is not Active, Failed or Creating")
        deployment = Deployment(
            arn=self._arn("custom-model-deployment", self._id("deployment", token)),
            name=name,
            token=token,
            request=params,
            model_arn=model.arn,
            created=now,
            ready_at=None if behaviour.outcome == "Creating" else now + behaviour.creating_seconds,
            outcome=behaviour.outcome,
        )
        self.deployments[deployment.arn] = deployment
        if deployment.ready_at is not None:
            self.clock.schedule(deployment.ready_at)
        return {"customModelDeploymentArn": deployment.arn}

    def declare_deployment(self, name: str, model_arn: str, tags: dict[str, str]) -> str:
        """An Active deployment made before the simulation (a serving slot's endpoint)."""
        model = self._custom_model(model_arn)
        request = {
            "modelDeploymentName": name,
            "modelArn": model.arn,
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        }
        deployment = Deployment(
            arn=self._arn("custom-model-deployment", self._id("declared-deployment", name)),
            name=name,
            token=self._id("declared-token", name),
            request=request,
            model_arn=model.arn,
            created=self.clock.elapsed(),
            ready_at=self.clock.elapsed(),
            outcome="Active",
            preexisting=True,
        )
        self.deployments[deployment.arn] = deployment
        return deployment.arn

    def _deployment(self, identifier: str) -> Deployment:
        for deployment in self.deployments.values():
            if deployment.deleted is None and identifier in (deployment.arn, deployment.name):
                return deployment
        raise ServiceError("ResourceNotFoundException", f"custom model deployment {identifier} not found")

    def _describe_deployment(self, deployment: Deployment, *, summary: bool = False) -> dict[str, Any]:
        now = self.clock.elapsed()
        status = deployment.status(now)
        changed = deployment.created if status == "Creating" else (deployment.ready_at or deployment.created)
        change = deployment.changes[-1] if deployment.changes else None
        if change is not None:
            changed = min(now, change.done_at) if change.status(now) != "Updating" else change.started
        out: dict[str, Any] = {
            "customModelDeploymentArn": deployment.arn,
            "customModelDeploymentName" if summary else "modelDeploymentName": deployment.name,
            "modelArn": deployment.model_at(now),
            "createdAt": self.clock.at(deployment.created),
            "status": status,
            "lastUpdatedAt": self.clock.at(changed),
        }
        if deployment.request.get("description") and not summary:
            out["description"] = deployment.request["description"]
        if status == "Failed":
            out["failureMessage"] = self.behaviour.deployment.failure_message
        if change is not None and not summary:
            update = change.status(now)
            out["updateDetails"] = {"modelArn": change.target_model_arn, "updateStatus": update}
            if update == "UpdateFailed":
                # UNCONFIRMED: where a failed update's reason is reported; failureMessage is the
                # only free-text member of the response.
                out["failureMessage"] = change.failure
        return out

    def _bedrock_get_custom_model_deployment(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._describe_deployment(self._deployment(params["customModelDeploymentIdentifier"]))

    def _bedrock_list_custom_model_deployments(self, params: dict[str, Any]) -> dict[str, Any]:
        items = []
        for deployment in sorted(self.deployments.values(), key=lambda d: d.created):
            if deployment.deleted is not None:
                continue
            described = self._describe_deployment(deployment, summary=True)
            if params.get("statusEquals") not in (None, described["status"]):
                continue
            if params.get("nameContains") and params["nameContains"] not in deployment.name:
                continue
            if params.get("modelArnEquals") not in (None, described["modelArn"]):
                continue
            if params.get("createdAfter") and not described["createdAt"] > params["createdAfter"]:
                continue
            if params.get("createdBefore") and not described["createdAt"] < params["createdBefore"]:
                continue
            items.append(described)
        if params.get("sortOrder") == "Descending":
            items.reverse()
        return page(items, params, "modelDeploymentSummaries")

    def _bedrock_delete_custom_model_deployment(self, params: dict[str, Any]) -> dict[str, Any]:
        deployment = self._deployment(params["customModelDeploymentIdentifier"])
        deployment.deleted = self.clock.elapsed()
        return {}

    def _bedrock_update_custom_model_deployment(self, params: dict[str, Any]) -> dict[str, Any]:
        deployment = self._deployment(params["customModelDeploymentIdentifier"])
        model_arn = params["modelArn"]
        found = _CUSTOM_MODEL_ARN.fullmatch(model_arn)
        check_field(found, "modelArn", model_arn)
        now = self.clock.elapsed()
        status = deployment.status(now)
        if status != "Active":
            raise ServiceError(
                "ValidationException",
                f"{deployment.name} is {status}; only an Active deployment can be updated",
            )
        if deployment.changes and deployment.changes[-1].status(now) == "Updating":
            raise ServiceError(
                "ValidationException",
                f"{deployment.name} is already being updated; wait for the update to end",
            )
        for job in self.jobs.values():
            self._advance(job)
        model = self._custom_model(model_arn)  # ResourceNotFoundException: not a model of this account
        base = self._base_model(model.arn)
        current = deployment.model_at(now)
        if not base.deploys_on_demand(self.region):
            raise ServiceError(
                "ValidationException",
                f"On-demand deployment isn't supported for custom models of {base.model_id} in {self.region}",
            )
        if base.model_id != self._base_model(current).model_id:
            raise ServiceError(
                "ValidationException",
                f"{deployment.name} serves a custom model of {self._base_model(current).model_id}; "
                f"{model.arn} is a custom model of {base.model_id}",
            )
        self._start_change(deployment.changes, model.arn, current, self.behaviour.deployment.update_seconds)
        return {"customModelDeploymentArn": deployment.arn}

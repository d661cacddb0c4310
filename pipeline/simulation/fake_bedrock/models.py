"""Foundation and custom models of the simulated Bedrock: GetFoundationModel (a model as the catalog
knows it, in this Region, with the lifecycle the scenario sets), GetCustomModel (what a completed
job produced), and ListCustomModels / DeleteCustomModel (the CLI's `sweep`)."""

from __future__ import annotations

from typing import Any, Final

from pipeline.catalog import TEACHERS, all_models, get_model
from pipeline.simulation.fake_bedrock.core import MODEL_NAME, check_field
from pipeline.simulation.fake_bedrock.jobs import CustomizationJobs
from pipeline.simulation.fake_bedrock.records import CustomModel
from pipeline.simulation.wire import ServiceError

# The customization types GetFoundationModel reports [BC] (no REINFORCEMENT_FINE_TUNING).
_REPORTED_TYPES: Final = frozenset({"FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"})


class CustomModels(CustomizationJobs):
    """GetFoundationModel and GetCustomModel; custom models a scenario declares already there."""

    def declare_custom_model(self, name: str, base_model_id: str, *, quality: float | None = None) -> str:
        """A custom model of this account made before the simulation (by an earlier run, e.g. the
        champion serving in a slot): no job of this simulation, answering with ``quality``."""
        check_field(MODEL_NAME.match(name), "customModelName", name)
        model = get_model(base_model_id)
        arn = self._arn("custom-model", model.model_id, self._id("declared", name))
        self.custom_models[arn] = CustomModel(
            arn, name, "", self.clock.elapsed(), base_model_id=model.model_id, quality=quality
        )
        return arn

    def _bedrock_get_foundation_model(self, params: dict[str, Any]) -> dict[str, Any]:
        """A foundation model as the catalog knows it, in this region; the scenario sets its lifecycle.

        Customization ids (``:128k``) and teachers are foundation models too. Past its end of life a
        model is not returned (ResourceNotFoundException), like a real one.
        """
        identifier = str(params["modelIdentifier"]).rsplit("foundation-model/", 1)[-1]
        models = {m.model_id: m for m in all_models()}
        model = models.get(identifier)
        teacher = TEACHERS.get(identifier)
        regions = model.regions if model is not None else teacher.regions if teacher is not None else ()
        lifecycle = self.behaviour.models.live_lifecycle if model is not None else "ACTIVE"
        if self.region not in regions or lifecycle == "GONE":
            raise ServiceError("ResourceNotFoundException", f"The model {identifier} is not found.")
        customizations = [t for t in (model.customization_types if model else ()) if t in _REPORTED_TYPES]
        on_demand = (
            not model.invoked_through_profile
            if model is not None
            else teacher is not None and teacher.on_demand
        )
        details: dict[str, Any] = {
            "modelArn": self.foundation_model_arn(identifier),
            "modelId": identifier,
            "modelName": model.name
            if model is not None
            else teacher.name
            if teacher is not None
            else identifier,
            "providerName": (model.provider if model is not None else identifier.split(".")[0].title()),
            "inputModalities": ["TEXT"],
            "outputModalities": ["TEXT"],
            "customizationsSupported": customizations,
            "inferenceTypesSupported": ["PROVISIONED", *(["ON_DEMAND"] if on_demand else [])],
            "modelLifecycle": {"status": "LEGACY" if lifecycle == "LEGACY" else "ACTIVE"},
        }
        return {"modelDetails": details}

    def _bedrock_get_custom_model(self, params: dict[str, Any]) -> dict[str, Any]:
        for job in self.jobs.values():
            self._advance(job)
        model = self._custom_model(params["modelIdentifier"])
        if not model.job_arn:
            raise ServiceError(
                "ResourceNotFoundException",
                f"{model.arn} was declared by the scenario; the simulation has no job that made it",
            )
        job = self.jobs[model.job_arn]
        described = self.describe_job(job)
        out: dict[str, Any] = {
            "modelArn": model.arn,
            "modelName": model.name,
            "jobName": job.name,
            "jobArn": job.arn,
            "baseModelArn": described["baseModelArn"],
            "customizationType": described["customizationType"],
            "trainingDataConfig": described["trainingDataConfig"],
            "outputDataConfig": described["outputDataConfig"],
            "creationTime": self.clock.at(model.created),
            "modelStatus": "Active",
        }
        for key in (
            "hyperParameters",
            "validationDataConfig",
            "trainingMetrics",
            "validationMetrics",
            "customizationConfig",
        ):
            if described.get(key):
                out[key] = described[key]
        if described.get("outputModelKmsKeyArn"):
            out["modelKmsKeyArn"] = described["outputModelKmsKeyArn"]
        return out

    def _bedrock_list_custom_models(self, params: dict[str, Any]) -> dict[str, Any]:
        for job in self.jobs.values():
            self._advance(job)
        summaries = []
        for model in sorted(self.custom_models.values(), key=lambda m: m.created):
            if params.get("nameContains") and params["nameContains"] not in model.name:
                continue
            if model.job_arn:
                described = self._bedrock_get_custom_model({"modelIdentifier": model.arn})
                base_arn, ctype = str(described["baseModelArn"]), described["customizationType"]
            else:  # declared by a scenario: no job describes it
                base_arn, ctype = self.foundation_model_arn(model.base_model_id), "FINE_TUNING"
            summaries.append(
                {
                    "modelArn": model.arn,
                    "modelName": model.name,
                    "creationTime": self.clock.at(model.created),
                    "baseModelArn": base_arn,
                    "baseModelName": base_arn.rsplit("/", 1)[-1],
                    "customizationType": ctype,
                    "ownerAccountId": self.account,
                    "modelStatus": "Active",
                }
            )
        return {"modelSummaries": summaries}

    def _bedrock_delete_custom_model(self, params: dict[str, Any]) -> dict[str, Any]:
        model = self._custom_model(str(params["modelIdentifier"]))
        self.custom_models.pop(model.arn, None)
        self.added_tags.pop(model.arn, None)
        self.removed_tags.pop(model.arn, None)
        return {}

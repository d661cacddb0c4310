"""The simulated Bedrock as the sandbox serves it: the fake plus the tagging calls the CLI makes.

The CLI's ``throughput`` and ``sweep`` commands tell a run's purchases apart by their tags, and
``sweep`` deletes custom models: over the simulation's
:class:`~pipeline.simulation.fake_bedrock.FakeBedrock`, the sandbox's Bedrock answers
ListTagsForResource and TagResource with its own reading of the tags, and adds UntagResource,
ListCustomModels and DeleteCustomModel, which a simulation (no CLI) never calls.
Used by :func:`pipeline.simulation.sandbox.running`; apart from it because it is the sandbox's
Bedrock, not its server.
"""

from __future__ import annotations

from typing import Any


def tagging_bedrock(base: type) -> type:
    """The fake Bedrock plus ListTagsForResource / TagResource / UntagResource, which the CLI's
    throughput and sweep commands use to tell a run's purchases apart (the simulation never calls them).

    A resource's tags are the ones its create request carried (``tags`` of a throughput or a
    deployment, ``jobTags`` / ``customModelTags`` of a job and its model), changed by Tag/Untag.
    """

    class TaggingBedrock(base):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._tags: dict[str, dict[str, str]] = {}

        def _initial_tags(self, arn: str) -> dict[str, str] | None:
            def of(items: Any) -> dict[str, str]:
                return {str(t["key"]): str(t["value"]) for t in items or []}

            for pt in self.throughputs.values():
                if pt.arn == arn and pt.deleted is None:
                    return of(pt.request.get("tags"))
            for deployment in self.deployments.values():
                if deployment.arn == arn and deployment.deleted is None:
                    return of(deployment.request.get("tags"))
            for job in self.jobs.values():
                if job.arn == arn:
                    return of(job.request.get("jobTags"))
                if job.output_model_arn == arn and arn in {m.arn for m in self.custom_models.values()}:
                    return of(job.request.get("customModelTags"))
            return None

        def _tags_of(self, arn: str) -> dict[str, str]:
            if arn not in self._tags:
                found = self._initial_tags(arn)
                if found is None:
                    from pipeline.simulation.wire import ServiceError

                    raise ServiceError("ResourceNotFoundException", f"resource {arn} not found")
                self._tags[arn] = found
            return self._tags[arn]

        def _bedrock_list_tags_for_resource(self, params: dict[str, Any]) -> dict[str, Any]:
            tags = self._tags_of(str(params["resourceARN"]))
            return {"tags": [{"key": k, "value": v} for k, v in tags.items()]}

        def _bedrock_tag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
            tags = self._tags_of(str(params["resourceARN"]))
            tags.update({str(t["key"]): str(t["value"]) for t in params.get("tags") or []})
            return {}

        def _bedrock_list_custom_models(self, params: dict[str, Any]) -> dict[str, Any]:
            for job in self.jobs.values():
                self._advance(job)
            summaries = []
            for model in sorted(self.custom_models.values(), key=lambda m: m.created):
                described = self._bedrock_get_custom_model({"modelIdentifier": model.arn})
                if params.get("nameContains") and params["nameContains"] not in model.name:
                    continue
                base_arn = str(described["baseModelArn"])
                summaries.append(
                    {
                        "modelArn": model.arn,
                        "modelName": model.name,
                        "creationTime": described["creationTime"],
                        "baseModelArn": base_arn,
                        "baseModelName": base_arn.rsplit("/", 1)[-1],
                        "customizationType": described["customizationType"],
                        "ownerAccountId": self.account,
                        "modelStatus": "Active",
                    }
                )
            return {"modelSummaries": summaries}

        def _bedrock_delete_custom_model(self, params: dict[str, Any]) -> dict[str, Any]:
            model = self._custom_model(str(params["modelIdentifier"]))
            self.custom_models.pop(model.arn, None)
            self._tags.pop(model.arn, None)
            return {}

        def _bedrock_untag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
            tags = self._tags_of(str(params["resourceARN"]))
            for key in params.get("tagKeys") or []:
                tags.pop(str(key), None)
            return {}

    return TaggingBedrock

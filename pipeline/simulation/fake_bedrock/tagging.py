"""Tags of the simulated Bedrock's resources: TagResource, UntagResource and ListTagsForResource.

A resource's tags are those its create request carried (``tags`` of CreateCustomModelDeployment and
CreateProvisionedModelThroughput, ``customModelTags`` and ``jobTags`` of a customization job,
``jobTags`` of an evaluation job: the execution that owns it, for the cleanups) plus
those added since with TagResource (a key added again replaces its value), less those UntagResource
removed. A resource that does not
exist (or was deleted) is a ResourceNotFoundException; at most 200 tags a resource
(TooManyTagsException, [BC] TagList max 200).
"""

from __future__ import annotations

from typing import Any, Final

from pipeline.simulation.fake_bedrock.jobs import CustomizationJobs
from pipeline.simulation.fake_bedrock.records import Deployment, Throughput
from pipeline.simulation.wire import ServiceError

_MAX_TAGS: Final = 200


class Tagging(CustomizationJobs):
    """TagResource, UntagResource, ListTagsForResource."""

    def _created_tags(self, arn: str) -> dict[str, str] | None:
        """The tags ``arn`` was created with; None when no live resource of this account has it."""
        endpoints: list[Deployment | Throughput] = [*self.deployments.values(), *self.throughputs.values()]
        for record in endpoints:
            if record.arn == arn and record.deleted is None:
                return {t["key"]: t["value"] for t in record.request.get("tags") or []}
        for job in self.jobs.values():
            self._advance(job)
            if job.arn == arn:
                return {t["key"]: t["value"] for t in job.request.get("jobTags") or []}
            if job.output_model_arn == arn and arn in self.custom_models:  # not deleted
                return {t["key"]: t["value"] for t in job.request.get("customModelTags") or []}
        if arn in self.evaluation_jobs:
            return {t["key"]: t["value"] for t in self.evaluation_jobs[arn].request.get("jobTags") or []}
        if arn in self.custom_models:  # declared by a scenario (a slot's champion): created untagged
            return {}
        return None

    def tags_of(self, arn: str) -> dict[str, str]:
        created = self._created_tags(arn)
        if created is None:
            raise ServiceError("ResourceNotFoundException", f"resource {arn} not found")
        removed = self.removed_tags.get(arn, set())
        return {k: v for k, v in {**created, **self.added_tags.get(arn, {})}.items() if k not in removed}

    def _bedrock_tag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["resourceARN"]
        tags = {t["key"]: t["value"] for t in params["tags"]}
        if len({**self.tags_of(arn), **tags}) > _MAX_TAGS:
            raise ServiceError("TooManyTagsException", f"{arn} would have more than {_MAX_TAGS} tags")
        self.added_tags.setdefault(arn, {}).update(tags)
        self.removed_tags.get(arn, set()).difference_update(tags)
        return {}

    def _bedrock_untag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["resourceARN"]
        self.tags_of(arn)  # a resource that is not there is ResourceNotFoundException
        self.removed_tags.setdefault(arn, set()).update(str(k) for k in params.get("tagKeys") or [])
        return {}

    def _bedrock_list_tags_for_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"tags": [{"key": k, "value": v} for k, v in self.tags_of(params["resourceARN"]).items()]}

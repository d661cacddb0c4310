"""The simulated Bedrock, whole: every service area composed into one service object."""

from __future__ import annotations

from typing import Any

from pipeline.simulation.fake_bedrock.evaluation_jobs import EvaluationJobs
from pipeline.simulation.fake_bedrock.ledger import Ledger
from pipeline.simulation.fake_bedrock.models import CustomModels
from pipeline.simulation.fake_bedrock.runtime import Runtime
from pipeline.simulation.fake_bedrock.tagging import Tagging


class FakeBedrock(Runtime, CustomModels, EvaluationJobs, Tagging, Ledger):
    """The simulated service. Thread-safe: the interpreter and the handlers call it concurrently.

    Its operations come from its areas: customization jobs (:mod:`.jobs`), foundation and custom
    models (:mod:`.models`), Provisioned Throughput (:mod:`.throughput`), custom model deployments
    (:mod:`.deployments`), LLM-judge evaluation jobs (:mod:`.evaluation_jobs`), Converse
    (:mod:`.runtime`) and tags (:mod:`.tagging`); :mod:`.ledger` reports what they bought and did.
    """

    def seed_earlier_run(
        self, job_request: dict[str, Any], serving_name: str | None, tags: list[dict[str, str]]
    ) -> None:
        """What an earlier, successful execution of the same run id left: its completed job and custom
        model, and the no-commitment throughput it serves with (InService), all under the run's names
        and tagged with that execution (scenario ``reusedRunId``; ``serving_name`` None: it serves
        nothing, the earlier run a promotion promotes, scenario ``promotion``). Kept apart in the
        ledger."""
        job_arn = self._bedrock_create_model_customization_job(
            job_request | {"jobTags": tags, "customModelTags": tags}
        )["jobArn"]
        job = self.jobs[job_arn]
        now = self.clock.elapsed()
        job.timeline = [(now, "Completed", None)]  # trained long ago: its model is there
        self._advance(job)
        assert job.output_model_arn is not None
        self.seeded.add(job_arn)
        if serving_name is None:
            return
        pt_arn = self._bedrock_create_provisioned_model_throughput(
            {
                "provisionedModelName": serving_name,
                "modelId": job.output_model_arn,
                "modelUnits": 1,
                "tags": tags,
            }
        )["provisionedModelArn"]
        self.throughputs[pt_arn].ready_at = now
        self.seeded |= {job_arn, pt_arn}

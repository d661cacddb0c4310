"""The simulated Bedrock, whole: every service area composed into one service object."""

from __future__ import annotations

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

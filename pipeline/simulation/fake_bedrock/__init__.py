"""A simulated Amazon Bedrock: customization jobs, custom models, Provisioned Throughput, on-demand
deployments of custom models, Converse.

It serves the real HTTP API (``bedrock.<region>.amazonaws.com`` and
``bedrock-runtime.<region>.amazonaws.com``, REST-JSON) through :mod:`pipeline.simulation.wire`,
so the shapes are botocore's (service-2.json of bedrock 2023-04-20 and bedrock-runtime
2023-09-30, documented in docs/…/bedrock.md §4 and §10): requests are decoded by the model and
responses are checked against it. The state machine's ``aws-sdk:bedrock:*`` tasks, its ``.sync``
job integration and the handlers' boto3 clients all reach it the same way.

The package, by service area (an area adds its operations to :class:`FakeBedrock`):

- :mod:`.core`: the shared plumbing (state, the HTTP entry point and codecs, ids, ARNs, checks);
- :mod:`.behaviour`: what a scenario configures; :mod:`.records`: what the service keeps;
- :mod:`.jobs`: customization jobs, their metrics files, reinforcement fine-tuning's grader loop;
- :mod:`.models`: GetFoundationModel, GetCustomModel;
- :mod:`.throughput`: Provisioned Throughput; :mod:`.deployments`: custom model deployments (both
  with their in-place model change, Update*); :mod:`.tagging`: TagResource, ListTagsForResource;
- :mod:`.evaluation_jobs`: LLM-judge evaluation jobs; :mod:`.runtime`: Converse;
- :mod:`.ledger`: what was bought, created, stopped, deleted and invoked;
- :mod:`.service`: :class:`FakeBedrock`, all of them composed.

Times are on the simulation's :class:`~pipeline.simulation.clock.SimClock`.
Every call is logged (simulated time, operation, subject, outcome; a Converse call's subject is its
``modelId``) and every create, delete and stop goes into the ledger the money invariants are checked
against, with every Converse call classified by what it reached (see :meth:`FakeBedrock.ledger`).
Faults (throttling bursts, lost answers) are injected per :mod:`pipeline.simulation.faults` before
or after a call takes effect.
"""

from pipeline.simulation.fake_bedrock.behaviour import (
    BedrockBehaviour,
    DeploymentBehaviour,
    JobBehaviour,
    JudgeBehaviour,
    ModelBehaviour,
    ThroughputBehaviour,
)
from pipeline.simulation.fake_bedrock.core import CONTROL, RUNTIME
from pipeline.simulation.fake_bedrock.jobs import (
    JOB_TERMINAL,
    MISSING_DATA_FAIL_SECONDS,
    RFT,
    RFT_REWARD_COLUMNS,
    STOPPING_SECONDS,
)
from pipeline.simulation.fake_bedrock.records import (
    Call,
    CustomModel,
    Deployment,
    EvaluationJob,
    Job,
    RftRun,
    Throughput,
)
from pipeline.simulation.fake_bedrock.runtime import converse_error_codes
from pipeline.simulation.fake_bedrock.service import FakeBedrock

__all__ = [
    "CONTROL",
    "JOB_TERMINAL",
    "MISSING_DATA_FAIL_SECONDS",
    "RFT",
    "RFT_REWARD_COLUMNS",
    "RUNTIME",
    "STOPPING_SECONDS",
    "BedrockBehaviour",
    "Call",
    "CustomModel",
    "Deployment",
    "DeploymentBehaviour",
    "EvaluationJob",
    "FakeBedrock",
    "Job",
    "JobBehaviour",
    "JudgeBehaviour",
    "ModelBehaviour",
    "RftRun",
    "Throughput",
    "ThroughputBehaviour",
    "converse_error_codes",
]

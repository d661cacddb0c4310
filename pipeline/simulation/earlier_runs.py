"""What earlier runs left before the simulated run starts (scenarios ``reusedRunId`` and ``promotion``).

- :func:`seed`: an earlier, successful execution of a run id left its completed job, custom model
  and (for a reused run id) its serving throughput under that id's names, tagged with that
  execution: the name reuse the preflight must refuse (pipeline.ownership).
- :func:`seed_promotion_source`: the earlier run a promotion promotes (pipeline.promotion): its job,
  metrics and model, and its passing evaluation under runs/<its id>/, as a real run leaves them.
"""

from __future__ import annotations

import json
from typing import Any, Final

from pipeline import evaluation, naming, plan
from pipeline.runspec import RunSpec
from pipeline.simulation.fake_bedrock import FakeBedrock
from pipeline.simulation.template import Provisioned, Template

EARLIER_EVALUATION: Final = {
    "passed": True,
    "judged": True,
    "verdict": evaluation.VERDICT_PASSED,
    "summary": "the earlier run's model met its bar (declared by the simulation scenario)",
}


def seed(
    fake: FakeBedrock,
    template: Template,
    resolver: Any,
    spec: RunSpec,
    run_id: str,
    machine_arn: str,
    *,
    serving: bool = True,
) -> None:
    """An earlier, successful execution of this run id (its name reused 90 days after it ended) left
    its job, custom model and (``serving``) serving throughput under the run's names, tagged with it."""
    from pipeline.plan import EXECUTION_ARN_TAG, EXECUTION_START_TAG, RUN_ID_TAG

    (role_id,) = [lid for lid in template.of_type("AWS::IAM::Role") if lid.startswith("BedrockServiceRole")]
    execution = machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{run_id}"
    tags = [
        {"key": RUN_ID_TAG, "value": run_id},
        {"key": EXECUTION_ARN_TAG, "value": execution},
        {"key": EXECUTION_START_TAG, "value": "2026-08-01T08:00:00.000Z"},
    ]
    fake.seed_earlier_run(
        {
            "jobName": naming.job_name(run_id),
            "customModelName": naming.custom_model_name(run_id),
            "roleArn": resolver.attributes[(role_id, "Arn")],
            "baseModelIdentifier": spec.base_model,
            "trainingDataConfig": {"s3Uri": spec.training},
            "outputDataConfig": {
                "s3Uri": f"s3://{spec.training.removeprefix('s3://').split('/')[0]}/outputs/earlier/"
            },
            "hyperParameters": {"epochCount": "1"},
            # As the spec trained it: with validation data its job wrote validation metrics too.
            **(
                {"validationDataConfig": {"validators": [{"s3Uri": uri} for uri in spec.validation]}}
                if spec.validation
                else {}
            ),
        },
        naming.provisioned_model_name(run_id) if serving else None,
        tags,
    )


def seed_promotion_source(
    fake: FakeBedrock,
    template: Template,
    resolver: Any,
    spec: RunSpec,
    source_run_id: str,
    provisioned: Provisioned,
    s3: Any,
) -> None:
    """The earlier run a promotion promotes: trained, evaluated and passed, serving nothing."""
    seed(fake, template, resolver, spec, source_run_id, provisioned.state_machine_arn, serving=False)
    s3.put_object(
        Bucket=provisioned.bucket,
        Key=f"{plan.RUNS_PREFIX}{source_run_id}/evaluation.json",
        Body=json.dumps(EARLIER_EVALUATION).encode(),
    )

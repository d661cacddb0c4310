"""The workflow handlers' tests run inside moto with the stack's bucket and topic and fresh clients.

Not autouse: a module opts in with ``pytestmark = pytest.mark.usefixtures("aws")``, so other tests
in this folder keep their own setup.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from moto import mock_aws

from lambdas.common import runtime
from lambdas.common.release import RELEASE_STATE_MACHINE
from tests.handlers.plans import (
    ACCOUNT,
    BUCKET,
    DEPLOYMENT_ARN,
    EVAL_PT_ARN,
    EXECUTION_TAGS,
    JOB_ARN,
    PT_ARN,
    TOPIC_ARN,
)
from tests.stubs import TagStore


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TRAINING_BUCKET", BUCKET)
    monkeypatch.setenv("TOPIC_ARN", TOPIC_ARN)
    runtime.reset_clients()
    with mock_aws():
        s3 = runtime.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        # The stack's bucket is versioned: the run record pins dataset versions.
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        runtime.client("sns").create_topic(Name=TOPIC_ARN.rsplit(":", 1)[-1])
        yield
    runtime.reset_clients()


@pytest.fixture
def tags(aws: None) -> Iterator[TagStore]:
    """Bedrock's tags of the run's resources: by default everything the plan names was created by
    this execution (plans.EXECUTION_TAGS); a test re-tags what another execution or a slot holds."""
    with TagStore(runtime.client("bedrock")) as store:
        for arn in (PT_ARN, EVAL_PT_ARN, DEPLOYMENT_ARN, JOB_ARN):
            store.tag(arn, dict(EXECUTION_TAGS))
        yield store


@pytest.fixture
def release_machine(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The retrying release's state machine (moto), where the cleanups hand over what is left."""
    arn = runtime.client("stepfunctions").create_state_machine(
        name="Release",
        definition='{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}',
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/release",
    )["stateMachineArn"]
    monkeypatch.setenv(RELEASE_STATE_MACHINE, arn)
    return str(arn)


def handed_over(machine: str) -> list[dict[str, object]]:
    """The inputs of every release started on ``machine`` (oldest first)."""
    sfn = runtime.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    return [
        json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])
        for e in sorted(executions, key=lambda e: e["startDate"])
    ]

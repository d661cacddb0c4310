"""Fixtures of the operations-command tests: moto with Step Functions execution, fresh clients."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from lambdas.common import runtime
from pipeline.operate import aws
from tests.operate.helpers import REGION, STATE_MACHINE_ARN, maker_with


@pytest.fixture
def moto() -> Iterator[None]:
    """moto for every service, executing state machines (Pass/Choice/callbacks) in a thread; the
    approval URL answered in-process by the real approval-answer handler."""
    runtime.reset_clients()
    with (
        mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}),
        aws.client_maker(maker_with({})),
    ):
        yield
        # Leave no execution waiting for a callback behind the test.
        sfn = boto3.client("stepfunctions", region_name=REGION)
        try:
            running = sfn.list_executions(stateMachineArn=STATE_MACHINE_ARN, statusFilter="RUNNING")[
                "executions"
            ]
        except sfn.exceptions.StateMachineDoesNotExist:
            running = []
        for execution in running:
            sfn.stop_execution(executionArn=execution["executionArn"])
    runtime.reset_clients()


@pytest.fixture
def titan_offered() -> Iterator[None]:
    """Lifecycle checks as of a day Titan Text Express (the one catalog model with a known
    Provisioned Throughput price) could still be customized."""
    from tests.operate.helpers import express_offered

    with express_offered():
        yield

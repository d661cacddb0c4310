"""Fixtures of the operations-command tests: moto with Step Functions execution, fresh clients."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from lambdas.common import runtime
from tests.operate.helpers import REGION, STATE_MACHINE_ARN


@pytest.fixture
def moto() -> Iterator[None]:
    """moto for every service, executing state machines (Pass/Choice/callbacks) in a thread."""
    runtime.reset_clients()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
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

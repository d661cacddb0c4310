"""The app synthesized once per test session (tests/conftest.py), exactly as the CDK CLI would from
cdk.json, and helpers to read its templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from infra.app_builder import build_app, context_from_cdk_json
from infra.config import CONTEXT_KEY
from tests.conftest import Synthesized

__all__ = ["Synthesized"]

ROOT = Path(__file__).resolve().parents[2]


def cdk_json_context() -> dict[str, Any]:
    return context_from_cdk_json(json.loads((ROOT / "cdk.json").read_text()))


@pytest.fixture(scope="session")
def dev(synthesized: Synthesized) -> Template:
    return synthesized.template("dev")


@pytest.fixture(scope="session")
def prod(synthesized: Synthesized) -> Template:
    return synthesized.template("prod")


def resources_of_type(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = template.find_resources(kind)
    return found


def resource_with_prefix(template: Template, kind: str, logical_id_prefix: str) -> str:
    """Logical id of the one ``kind`` resource whose logical id starts with ``logical_id_prefix``.

    CDK derives logical ids from the construct path (``Storage/Key`` -> ``StorageKey<hash>``).
    """
    (logical_id,) = [k for k in resources_of_type(template, kind) if k.startswith(logical_id_prefix)]
    return logical_id


def workflow_machine(template: Template) -> dict[str, Any]:
    """The customization workflow's state machine (the stack also has the retrying release's)."""
    logical_id = resource_with_prefix(template, "AWS::StepFunctions::StateMachine", "WorkflowStateMachine")
    return resources_of_type(template, "AWS::StepFunctions::StateMachine")[logical_id]


def storage_key_id(template: Template) -> str:
    """The project key (training data, custom models), as opposed to the log key."""
    return resource_with_prefix(template, "AWS::KMS::Key", "StorageKey")


# A made-up network for the VPC variant of the stack (the config only checks the id formats).
VPC_SETTINGS = {
    "subnetIds": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
    "securityGroupIds": ["sg-0123456789abcdef0"],
}


@pytest.fixture(scope="session")
def dev_in_a_vpc() -> Template:
    """The dev stack with ``vpc`` configured; synthesized with cdk-nag like the real app."""
    context = cdk_json_context()
    environments = context[CONTEXT_KEY]
    context[CONTEXT_KEY] = {"dev": {**environments["dev"], "vpc": VPC_SETTINGS}}
    app = App(context=context)
    (stack,) = build_app(app)
    return Template.from_stack(stack)  # raises if cdk-nag reports an unacknowledged finding


def role_statements(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    """Every statement of the identity policies attached to the role whose logical id starts so."""
    role = resource_with_prefix(template, "AWS::IAM::Role", role_prefix)
    found: list[dict[str, Any]] = []
    for policy in resources_of_type(template, "AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def actions_of(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)

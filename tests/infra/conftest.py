"""Synthesize the app once per test session, exactly as the CDK CLI would from cdk.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from infra.app_builder import build_app, context_from_cdk_json
from infra.config import CONTEXT_KEY

ROOT = Path(__file__).resolve().parents[2]


def cdk_json_context() -> dict[str, Any]:
    return context_from_cdk_json(json.loads((ROOT / "cdk.json").read_text()))


@dataclass(frozen=True)
class Synthesized:
    outdir: Path
    templates: dict[str, dict[str, Any]]  # stack name -> template JSON
    acknowledgements: dict[str, dict[str, str]]  # construct path -> {rule id: reason}

    def template(self, env: str) -> Template:
        return Template.from_json(self.templates[f"BedrockCustomization-{env}"])


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = App(context=cdk_json_context(), outdir=str(outdir))
    stacks = build_app(app)
    assembly = app.synth()  # raises if cdk-nag reports an unacknowledged finding
    templates = {s.stack_name: assembly.get_stack_by_name(s.stack_name).template for s in stacks}
    acknowledgements = {
        node.node.path: dict(entry.data)
        for stack in stacks
        for node in stack.node.find_all()
        for entry in node.node.metadata
        if entry.type == "aws:cdk:acknowledged-rules"
    }
    return Synthesized(outdir=outdir, templates=templates, acknowledgements=acknowledgements)


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

"""Builds the CDK app from context; shared by app.py and the tests so both synthesize the same thing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import CONTEXT_KEY, SELECT_KEY, load_environments, select_environments
from infra.stacks.customization_stack import CustomizationStack


def build_app(app: App) -> list[CustomizationStack]:
    """Add one stack per configured environment to ``app`` and register cdk-nag.

    Config is read once, here, from the context the CDK CLI passes in (cdk.json); a bad setting
    raises :class:`infra.config.ConfigError` before any construct exists.
    """
    envs = select_environments(
        load_environments(app.node.try_get_context(CONTEXT_KEY)),
        app.node.try_get_context(SELECT_KEY),
    )
    stacks = [
        CustomizationStack(
            app,
            config=env,
            env=Environment(account=env.account, region=env.region) if env.account or env.region else None,
        )
        for env in envs
    ]
    # cdk-nag 3 runs as a policy-validation plugin: any unacknowledged finding fails synth.
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks


def context_from_cdk_json(cdk_json: Mapping[str, Any]) -> dict[str, Any]:
    """The context block of cdk.json, as the CDK CLI would pass it (used by tests)."""
    return dict(cdk_json.get("context", {}))

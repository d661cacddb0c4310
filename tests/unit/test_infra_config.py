"""Deployment configuration: read once, strictly, with messages that name the key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.config import CONTEXT_KEY, ConfigError, load_environments, select_environments

ROOT = Path(__file__).resolve().parents[2]


def _good() -> dict[str, Any]:
    return {
        "dev": {"region": "us-east-1", "removalPolicy": "destroy", "logRetentionDays": 14},
        "prod": {
            "account": "123456789012",
            "region": "us-west-2",
            "removalPolicy": "retain",
            "logRetentionDays": 365,
            "notificationEmail": "ops@example.com",
            "tags": {"team": "ml-platform"},
            "vpc": {"subnetIds": ["subnet-0123456789abcdef0"], "securityGroupIds": ["sg-0123456789abcdef0"]},
        },
    }


def test_cdk_json_environments_load() -> None:
    context = json.loads((ROOT / "cdk.json").read_text())["context"][CONTEXT_KEY]
    envs = load_environments(context)
    assert [e.name for e in envs] == ["dev", "prod"]
    prod = envs[1]
    assert prod.removal_policy == "retain"
    assert prod.stack_name == "BedrockCustomization-prod"
    assert prod.ssm_parameter_name == "/bedrock-customization/prod/deployment"


def test_full_settings_parse_into_a_frozen_object() -> None:
    prod = load_environments(_good())[1]
    assert prod.account == "123456789012"
    assert prod.vpc is not None and prod.vpc.subnet_ids == ("subnet-0123456789abcdef0",)
    with pytest.raises(AttributeError):
        prod.region = "eu-west-1"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("removalPolicy", "keep", "removalPolicy='keep' is invalid; expected 'retain' or 'destroy'"),
        ("logRetentionDays", 10, "logRetentionDays=10 is invalid; expected one of 1, 3, 5"),
        ("logRetentionDays", True, "logRetentionDays=True is invalid"),
        ("account", "12345", "account='12345' is invalid; expected 12-digit AWS account id"),
        ("region", "useast1", "region='useast1' is invalid"),
        ("notificationEmail", "not-an-address", "notificationEmail='not-an-address' is invalid"),
        ("tags", {"aws:reserved": "x"}, "tags="),
        ("vpc", {"subnetIds": ["subnet-1"]}, "vpc="),
        ("colour", "blue", "dev.colour: unknown setting; allowed: account, region"),
        ("lambdaReservedConcurrency", 5, "lambdaReservedConcurrency=5 is invalid; expected null"),
        ("lambdaReservedConcurrency", 1001, "lambdaReservedConcurrency=1001 is invalid"),
        ("lambdaReservedConcurrency", True, "lambdaReservedConcurrency=True is invalid"),
        ("lambdaReservedConcurrency", "50", "lambdaReservedConcurrency='50' is invalid"),
    ],
)
def test_each_bad_setting_is_named_with_what_is_allowed(key: str, value: object, expected: str) -> None:
    context = _good()
    context["dev"][key] = value
    with pytest.raises(ConfigError) as err:
        load_environments(context)
    assert expected in str(err.value)


def test_missing_required_settings_are_all_reported_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        load_environments({"dev": {}})
    message = str(err.value)
    assert "dev.removalPolicy: required" in message
    assert "dev.logRetentionDays: required" in message


@pytest.mark.parametrize("context", [None, {}, {"dev": "retain"}, {"Dev!": {}}])
def test_malformed_environment_blocks_are_rejected(context: Any) -> None:
    with pytest.raises(ConfigError, match=CONTEXT_KEY):
        load_environments(context)


def test_selecting_an_unknown_environment_lists_the_known_ones() -> None:
    envs = load_environments(_good())
    assert [e.name for e in select_environments(envs, "prod")] == ["prod"]
    assert select_environments(envs, None) == envs
    with pytest.raises(ConfigError, match="allowed: dev, prod"):
        select_environments(envs, "staging")


def test_app_exits_2_with_a_plain_message_on_bad_config() -> None:
    # Given the context the CDK CLI would pass, with a bad removal policy
    bad = _good()
    bad["dev"]["removalPolicy"] = "sometimes"
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({CONTEXT_KEY: bad}), "CDK_OUTDIR": "/nonexistent"}
    # When
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py")], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    # Then: no traceback, the key and what is allowed
    assert result.returncode == 2
    assert "removalPolicy='sometimes' is invalid; expected 'retain' or 'destroy'" in result.stderr
    assert "Traceback" not in result.stderr


def test_team_grader_names_default_to_none_and_are_checked() -> None:
    dev = load_environments(_good())[0]
    assert dev.grader_function_names == ()
    context = _good()
    context["dev"]["graderFunctionNames"] = ["search-team-grader", "ml-*-reward"]
    assert load_environments(context)[0].grader_function_names == ("search-team-grader", "ml-*-reward")
    # "*" alone (or nearly) would let Bedrock invoke every function of the account: refused.
    for names in (
        ["*"],
        ["a*b"],
        ["grader name"],
        "search-team-grader",
        ["g" * 65],
        ["dup-grader", "dup-grader"],
    ):
        context["dev"]["graderFunctionNames"] = names
        with pytest.raises(ConfigError, match="graderFunctionNames"):
            load_environments(context)


def test_reserved_concurrency_defaults_to_none_and_takes_a_platform_sized_number() -> None:
    # None: the functions share the account's unreserved pool and cannot throttle each other.
    assert load_environments(_good())[0].reserved_concurrency is None
    context = _good()
    context["dev"]["lambdaReservedConcurrency"] = 50
    assert load_environments(context)[0].reserved_concurrency == 50
    context["dev"]["lambdaReservedConcurrency"] = None
    assert load_environments(context)[0].reserved_concurrency is None

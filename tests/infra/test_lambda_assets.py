"""Each Lambda asset imports with nothing but the Lambda runtime; every function and log group gets the
pipeline's plumbing (tracing, encrypted logs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

from tests.infra.conftest import ROOT, Synthesized, resource_with_prefix, resources_of_type

# Every handler package in lambdas/ (lambdas/<name>/handler.py) ships as a function of its own.
HANDLERS = sorted(p.parent.name for p in (ROOT / "lambdas").glob("*/handler.py"))
# What the Python Lambda runtime provides besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
# What the Powertools layer every function has provides (Powertools with its extras, aws-xray-sdk for
# the tracer); installed here from the same release (pyproject.toml), they are found in site-packages.
LAYER_PACKAGES = ("aws_lambda_powertools", "aws_xray_sdk", "wrapt", "typing_extensions")

_PROBE = """
import importlib.abc, sys
allowed = set(sys.stdlib_module_names) | {runtime!r} | {{"lambdas", "pipeline"}}
class OnlyTheLambdaRuntime(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        top = name.partition(".")[0]
        if top not in allowed:
            raise ImportError(f"{{name}} is not in the Lambda runtime")
        return None
sys.meta_path.insert(0, OnlyTheLambdaRuntime())
sys.path = [p for p in sys.path if "site-packages" in p or "lib/python" in p]
sys.path.insert(0, ".")
import {module}
assert callable({module}.lambda_handler)
print("ok", {module}.__file__)
"""


def _assets(synthesized: Synthesized) -> dict[str, Path]:
    found = {}
    for asset in synthesized.outdir.glob("asset.*"):
        handlers = list(asset.glob("lambdas/*/handler.py"))
        if len(handlers) == 1:
            found[handlers[0].parent.name] = asset
    return found


def test_every_function_has_its_own_asset(synthesized: Synthesized) -> None:
    assert sorted(_assets(synthesized)) == HANDLERS


@pytest.mark.parametrize("handler", HANDLERS)
def test_handler_imports_with_only_the_lambda_runtime(synthesized: Synthesized, handler: str) -> None:
    asset = _assets(synthesized)[handler]
    module = f"lambdas.{handler}.handler"
    probe = _PROBE.format(runtime={*RUNTIME_PACKAGES, *LAYER_PACKAGES}, module=module)
    result = subprocess.run(
        # -B: importing must not leave bytecode caches in the synthesized asset.
        [sys.executable, "-I", "-B", "-c", probe],
        cwd=asset,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert str(asset) in result.stdout, "the handler must load from the asset, not from the repository"


def _log_key_id(template: Template) -> str:
    return resource_with_prefix(template, "AWS::KMS::Key", "LogEncryptionKey")


def test_every_function_is_traced(dev: Template) -> None:
    """Reserved concurrency is the stack's setting: tests/infra/test_platform_load.py."""
    functions = resources_of_type(dev, "AWS::Lambda::Function")
    assert len(functions) == len(HANDLERS) >= 6
    for fn in functions.values():
        assert fn["Properties"]["TracingConfig"] == {"Mode": "Active"}


def test_every_function_acknowledges_only_the_checks_that_do_not_apply(dev: Template) -> None:
    for fn in resources_of_type(dev, "AWS::Lambda::Function").values():
        skips = {s["id"]: s["comment"] for s in fn["Metadata"]["checkov"]["skip"]}
        # A dead-letter queue applies to asynchronous invokes: only the EventBridge target has one.
        if "DeadLetterConfig" in fn["Properties"]:
            assert set(skips) == {"CKV_AWS_115", "CKV_AWS_117", "CKV_AWS_173"}
            assert fn["Properties"]["Handler"] == "lambdas.run_ended.handler.lambda_handler"
        elif fn["Properties"]["Handler"] == "lambdas.grader.handler.lambda_handler":
            assert set(skips) == {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"}
        else:
            # CKV_AWS_115: no reservation by default (cdk.json lambdaReservedConcurrency: null).
            assert set(skips) == {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"}
        assert all(len(reason) >= 20 for reason in skips.values())


def test_every_log_group_of_every_stack_is_encrypted_with_the_log_key(synthesized: Synthesized) -> None:
    for name in synthesized.templates:
        template = synthesized.template(name.removeprefix("BedrockCustomization-"))
        key_id = _log_key_id(template)
        groups = resources_of_type(template, "AWS::Logs::LogGroup")
        # One per function and the state machine's.
        assert len(groups) >= 7
        for group in groups.values():
            assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}, name


def test_log_key_lets_only_cloudwatch_logs_of_this_region_use_it_for_this_accounts_log_groups(
    dev: Template,
) -> None:
    key = resources_of_type(dev, "AWS::KMS::Key")[_log_key_id(dev)]
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    (logs,) = [s for s in statements if s.get("Principal") == {"Service": "logs.us-east-1.amazonaws.com"}]
    # The guide's kms:Describe* is left out: under this condition it never matches (test_iam_contract).
    assert sorted(logs["Action"]) == [
        "kms:Decrypt*",
        "kms:Encrypt*",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
    ]
    assert logs["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": {
                "Fn::Join": ["", ["arn:aws:logs:us-east-1:", {"Ref": "AWS::AccountId"}, ":log-group:*"]]
            }
        }
    }


def test_log_key_follows_the_environments_removal_policy(dev: Template, prod: Template) -> None:
    # Its log groups go with a dev stack and stay with a prod one; so does the key that reads them.
    for template, policy in ((dev, "Delete"), (prod, "Retain")):
        assert resources_of_type(template, "AWS::KMS::Key")[_log_key_id(template)]["DeletionPolicy"] == policy
        for group in resources_of_type(template, "AWS::Logs::LogGroup").values():
            assert group["DeletionPolicy"] == policy


def test_log_key_is_created_once_and_retention_wins() -> None:
    from aws_cdk import App, RemovalPolicy, Stack

    from infra.constructs.log_encryption import LogEncryption

    stack = Stack(App(), "LogKeyProbe")
    first = LogEncryption.of(stack, removal_policy=RemovalPolicy.DESTROY)
    second = LogEncryption.of(stack, removal_policy=RemovalPolicy.RETAIN)
    assert first is second
    (key,) = resources_of_type(Template.from_stack(stack), "AWS::KMS::Key").values()
    assert key["DeletionPolicy"] == "Retain"

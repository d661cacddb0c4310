"""Each Lambda asset imports with nothing but the Lambda runtime: the stdlib and boto3."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.conftest import Synthesized

# What the Python Lambda runtime provides besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")

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
    assert sorted(_assets(synthesized)) == [
        "approval_request",
        "cleanup",
        "evaluate_loss",
        "evaluate_model",
        "preflight",
        "record",
    ]


@pytest.mark.parametrize(
    "handler", ["approval_request", "cleanup", "evaluate_loss", "evaluate_model", "preflight", "record"]
)
def test_handler_imports_with_only_the_lambda_runtime(synthesized: Synthesized, handler: str) -> None:
    asset = _assets(synthesized)[handler]
    module = f"lambdas.{handler}.handler"
    probe = _PROBE.format(runtime=set(RUNTIME_PACKAGES), module=module)
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

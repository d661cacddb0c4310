"""Each Lambda asset is tested as it ships: imported from the cloud assembly alone, with nothing but the
Lambda runtime's SDK and the Powertools layer; every Bedrock API a handler calls is in the SDK it will
find there; every function and log group gets the pipeline's plumbing (tracing, encrypted logs)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from importlib.util import find_spec
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

from infra import lambda_runtime
from infra.lambda_runtime import (
    API_FLOORS,
    LAYER_PACKAGES,
    RUNTIME_SDK,
    ApiFloor,
    FunctionAsset,
    function_assets,
    unpacked,
    version,
)
from tests.infra.conftest import ROOT, Synthesized, resource_with_prefix, resources_of_type

# Every handler package in lambdas/ (lambdas/<name>/handler.py) ships as a function of its own.
HANDLERS = sorted(p.parent.name for p in (ROOT / "lambdas").glob("*/handler.py"))
# The Lambda runtime's SDK as the project counts on it (infra.lambda_runtime.RUNTIME_SDK), installed
# by `make setup` (pip install --target): what a function that bundles no SDK of its own sees.
RUNTIME_SITE = ROOT / "build" / "lambda-runtime"

# Runs in `python -I -S` (no environment, no site-packages, no editable install of this repository):
# sys.path is the asset (/var/task), the layer (/opt/python) and the runtime's site-packages, in
# Lambda's order, then the standard library.
_PROBE = r"""
import importlib, json, sys
asset, layer, runtime, module, apis = sys.argv[1:6]
sys.path[:0] = [asset, layer, runtime]
handler = importlib.import_module(module)
assert callable(handler.lambda_handler), "lambda_handler is not a function"
import boto3, botocore
missing = []
for service, operation, member in json.loads(apis):
    model = boto3.client(service, region_name="us-east-1").meta.service_model
    if operation not in model.operation_names:
        missing.append(f"{service}:{operation}")
        continue
    shape = model.operation_model(operation).input_shape
    for part in (member or "").split(".") if member else ():
        while shape.type_name == "list":
            shape = shape.member
        if part not in shape.members:
            missing.append(f"{service}:{operation} {member}")
            break
        shape = shape.members[part]
stdlib = sys.base_prefix
outside = sorted(
    name for name, m in list(sys.modules.items())
    if getattr(m, "__file__", None)
    and not m.__file__.startswith((asset, layer, runtime, stdlib))
)
print(json.dumps({"handler": handler.__file__, "boto3": boto3.__file__, "botocore": botocore.__version__,
                  "missing": missing, "outside": outside}))
"""


@pytest.fixture(scope="session")
def runtime_site() -> Path:
    """The runtime's SDK at the version the project counts on (RUNTIME_SDK), installed by make setup."""
    init = RUNTIME_SITE / "botocore" / "__init__.py"
    found = lambda_runtime.bundled_botocore(RUNTIME_SITE) if init.is_file() else None
    assert found == RUNTIME_SDK.botocore, (
        f"{RUNTIME_SITE} holds botocore {found}, not the runtime's {RUNTIME_SDK.botocore}: run `make setup`"
    )
    return RUNTIME_SITE


@pytest.fixture(scope="session")
def layer_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the Powertools layer puts in /opt/python: its packages, linked from this environment
    (the same release, pinned in pyproject.toml), and nothing else of it."""
    site = tmp_path_factory.mktemp("layer") / "python"
    site.mkdir()
    for name in LAYER_PACKAGES:
        spec = find_spec(name)
        assert spec is not None and spec.origin is not None, f"{name} is not installed"
        source = Path(spec.origin)
        source = source.parent if source.name == "__init__.py" else source
        (site / source.name).symlink_to(source)
    return site


def _dev_assets(synthesized: Synthesized) -> dict[str, FunctionAsset]:
    assets = function_assets(synthesized.outdir / "BedrockCustomization-dev.template.json")
    return {a.module.split(".")[1]: a for a in assets.values()}


def _probe(asset: Path, layer: Path, runtime: Path, module: str, floors: list[ApiFloor]) -> dict[str, object]:
    apis = json.dumps([[f.service, f.operation, f.member] for f in floors])
    result = subprocess.run(
        # -I: no PYTHON* variables, no user site; -S: no site-packages (so no editable install of
        # this repository); -B: no bytecode written into the asset.
        [sys.executable, "-I", "-S", "-B", "-c", _PROBE, str(asset), str(layer), str(runtime), module, apis],
        cwd=asset,
        env={"PATH": os.defpath, "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"{module} does not import from its asset alone:\n{result.stderr}"
    probed: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return probed


def test_every_function_has_its_own_asset(synthesized: Synthesized) -> None:
    assets = _dev_assets(synthesized)
    assert sorted(assets) == HANDLERS
    assert len({a.path for a in assets.values()}) == len(HANDLERS)
    for name, asset in assets.items():
        assert asset.handler == f"lambdas.{name}.handler.lambda_handler"
        assert zipfile.is_zipfile(asset.path), "each function ships one zip, as Lambda unpacks it"


@pytest.mark.parametrize("handler", HANDLERS)
def test_handler_imports_from_its_asset_with_only_the_runtime_and_the_layer(
    synthesized: Synthesized, handler: str, runtime_site: Path, layer_site: Path
) -> None:
    """The way Lambda loads it: and every Bedrock API it calls is in the SDK it finds there."""
    asset = _dev_assets(synthesized)[handler]
    code = unpacked(asset.path)
    _, floors = lambda_runtime.required_botocore(code, asset.module)
    probed = _probe(code, layer_site, runtime_site, asset.module, floors)
    assert str(probed["handler"]).startswith(str(code)), "the handler must load from its asset"
    assert probed["outside"] == [], "modules loaded from outside the asset, the layer and the runtime"
    assert probed["missing"] == [], f"APIs missing from the SDK {handler} finds in Lambda"
    bundled = lambda_runtime.bundled_botocore(code)
    if bundled is not None:
        assert str(probed["boto3"]).startswith(str(code)), "a bundled SDK must win over the runtime's"
        assert probed["botocore"] == bundled


def test_the_asset_check_fails_for_an_api_the_runtime_sdk_lacks(
    synthesized: Synthesized, runtime_site: Path, layer_site: Path, tmp_path: Path
) -> None:
    """Mutation: the stopped-run handler without its bundled SDK, on the runtime's: its deployment
    calls (botocore 1.39.7, July 2025) are not there, and the check says so."""
    asset = _dev_assets(synthesized)["run_ended"]
    stripped = tmp_path / "run_ended"
    shutil.copytree(unpacked(asset.path), stripped, ignore=shutil.ignore_patterns("boto*", "*.dist-info"))
    _, floors = lambda_runtime.required_botocore(stripped, asset.module)
    probed = _probe(stripped, layer_site, runtime_site, asset.module, floors)
    assert "bedrock:ListCustomModelDeployments" in probed["missing"]
    assert probed["botocore"] == RUNTIME_SDK.botocore


def test_the_asset_check_fails_for_a_module_the_asset_does_not_ship(
    synthesized: Synthesized, runtime_site: Path, layer_site: Path, tmp_path: Path
) -> None:
    """Mutation: an asset missing one shared module does not import (as run_ended's once did)."""
    asset = _dev_assets(synthesized)["evaluate_loss"]
    broken = tmp_path / "evaluate_loss"
    shutil.copytree(unpacked(asset.path), broken)
    (broken / "lambdas" / "common" / "metric_names.py").unlink()
    with pytest.raises(AssertionError, match="cannot import name 'metric_names'"):
        _probe(broken, layer_site, runtime_site, asset.module, [])


# -- handlers share only lambdas.common and pipeline ------------------------------------------------


def _imported_modules(path: Path, root: Path) -> Iterable[tuple[int, str]]:
    module = ".".join(path.relative_to(root).with_suffix("").parts)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # The same reading of imports as the asset check (a module is a package's __init__ or not).
    return lambda_runtime.import_lines(tree, module, is_package=False)


def handler_cross_imports(root: Path = ROOT) -> list[str]:
    """``file:line imports module`` for every import of one handler package by another."""
    found = []
    for handler_dir in sorted(p.parent for p in (root / "lambdas").glob("*/handler.py")):
        for path in sorted(handler_dir.rglob("*.py")):
            for line, module in _imported_modules(path, root):
                parts = module.split(".")
                if parts[0] == "lambdas" and len(parts) > 1 and parts[1] not in ("common", handler_dir.name):
                    found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return found


def test_no_handler_imports_another_handler() -> None:
    """Each handler ships alone with lambdas/common and pipeline: anything shared lives there."""
    assert handler_cross_imports() == []


def test_the_cross_import_check_finds_a_handler_importing_another(tmp_path: Path) -> None:
    (tmp_path / "lambdas" / "run_ended").mkdir(parents=True)
    (tmp_path / "lambdas" / "cleanup").mkdir(parents=True)
    (tmp_path / "lambdas" / "cleanup" / "handler.py").write_text("from lambdas.common import runtime\n")
    (tmp_path / "lambdas" / "run_ended" / "handler.py").write_text(
        "from lambdas.common import runtime\nfrom lambdas.cleanup import handler as cleanup\n"
    )
    assert handler_cross_imports(tmp_path) == [
        "lambdas/run_ended/handler.py:2 imports lambdas.cleanup",
        "lambdas/run_ended/handler.py:2 imports lambdas.cleanup.handler",
    ]


# -- SDK floors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("handler", HANDLERS)
def test_every_bedrock_call_of_a_handler_has_an_sdk_floor(handler: str) -> None:
    """A Bedrock call without a line in infra.lambda_runtime.API_FLOORS fails here: add one line
    (the first botocore release that has it, and the one before that does not)."""
    code = lambda_runtime.tree_of(ROOT)
    names = lambda_runtime.code_names(lambda_runtime.reachable_modules(code, f"lambdas.{handler}.handler"))
    assert lambda_runtime.unfloored_calls(names) == []


def test_every_floor_is_in_the_pinned_sdk_and_the_runtime_floor_is_older() -> None:
    import boto3
    import botocore

    pinned = version(botocore.__version__)
    assert version(RUNTIME_SDK.botocore) < pinned
    assert len({(f.service, f.operation, f.member) for f in API_FLOORS}) == len(API_FLOORS)
    for floor in API_FLOORS:
        assert version(floor.absent_in) < version(floor.botocore) <= pinned, floor
        model = boto3.client(floor.service, region_name="us-east-1").meta.service_model
        assert floor.operation in model.operation_names, floor
        assert floor.method == lambda_runtime.snake_case(floor.operation)


def test_the_pinned_sdk_is_the_one_pyproject_pins() -> None:
    import tomllib

    import boto3
    import botocore

    pins = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    assert f"boto3=={boto3.__version__}" in pins
    assert f"botocore=={botocore.__version__}" in pins


def test_a_function_bundles_the_pinned_sdk_exactly_when_it_calls_an_api_newer_than_the_runtime(
    synthesized: Synthesized,
) -> None:
    import botocore

    bundling = {}
    for name, asset in _dev_assets(synthesized).items():
        code = unpacked(asset.path)
        needed, _ = lambda_runtime.required_botocore(code, asset.module)
        bundled = lambda_runtime.bundled_botocore(code)
        if version(needed) > version(RUNTIME_SDK.botocore):
            assert bundled == botocore.__version__, name
            bundling[name] = needed
        else:
            assert bundled is None, f"{name} needs nothing newer than the runtime's SDK: keep it small"
    # Custom model deployments (botocore 1.39.7), their in-place update (1.42.2: serving slots) and
    # the judge's precomputed-response evaluation jobs with custom metrics (1.37.36) are newer than
    # what the runtime is counted on for. The preflight looks the run's deployment name up (name
    # reuse) and the retrying release deletes deployments: both need 1.39.7.
    assert bundling == {
        "check_status": "1.39.7",
        "cleanup": "1.39.7",
        "deploy": "1.39.7",
        "judge": "1.37.36",
        "preflight": "1.39.7",
        "release": "1.39.7",
        "run_ended": "1.39.7",
        "slots": "1.42.2",
    }


def test_adding_a_newer_api_to_a_handler_is_one_line_and_brings_the_sdk(tmp_path: Path) -> None:
    """The mechanism is table-driven: a call of an API in the table newer than the runtime's SDK
    makes the handler bundle it; an older one does not."""
    handler = tmp_path / "lambdas" / "deploy" / "handler.py"
    handler.parent.mkdir(parents=True)
    handler.write_text(
        "def lambda_handler(event, context, bedrock=None):\n"
        "    return bedrock.update_custom_model_deployment(customModelDeploymentIdentifier='x')\n"
    )
    assert lambda_runtime.needs_bundled_sdk(tmp_path, "lambdas.deploy.handler")
    assert lambda_runtime.required_botocore(tmp_path, "lambdas.deploy.handler")[0] == "1.42.2"
    handler.write_text(
        "def lambda_handler(event, context, bedrock=None):\n    return bedrock.get_foundation_model()\n"
    )
    assert not lambda_runtime.needs_bundled_sdk(tmp_path, "lambdas.deploy.handler")


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

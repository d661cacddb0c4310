"""One snapshot per stack. Only asset hashes are masked: any other change shows up as a diff.

A Lambda version's logical id (``<Function>CurrentVersion<8 of its path><32 of its code hash>``)
carries its code's hash too: any change to a function's asset (the shared ``pipeline`` package is
in every asset) renamed it in the snapshot, so its code-hash part is masked like the others. What
the version and its alias point at is still in the snapshot.

Update after an intended change with ``.venv/bin/pytest tests/infra/test_snapshot.py --snapshot-update``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.infra.conftest import Synthesized

_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
_VERSION_HASH = re.compile(r"(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}\b")


def mask_asset_hashes(value: Any) -> Any:
    """Replace 64-hex asset hashes (S3 keys of Lambda code and the like) with a fixed marker."""
    if isinstance(value, str):
        return _VERSION_HASH.sub(r"\1<code-hash>", _ASSET_HASH.sub("<asset-hash>", value))
    if isinstance(value, list):
        return [mask_asset_hashes(v) for v in value]
    if isinstance(value, dict):
        return {mask_asset_hashes(k): mask_asset_hashes(v) for k, v in value.items()}
    return value


def test_mask_touches_only_asset_hashes() -> None:
    digest = "a" * 64
    assert mask_asset_hashes({"S3Key": f"{digest}.zip", "n": 3, "l": ["x", digest[:63]]}) == {
        "S3Key": "<asset-hash>.zip",
        "n": 3,
        "l": ["x", digest[:63]],
    }
    version = "GraderFunctionCurrentVersion1C83530A3959a21dfad9fc1d49780408ad5e51d4"
    masked = "GraderFunctionCurrentVersion1C83530A<code-hash>"
    assert mask_asset_hashes({version: {"Ref": version}}) == {masked: {"Ref": masked}}
    assert mask_asset_hashes("GraderFunctionCurrentVersion1C83530A") == "GraderFunctionCurrentVersion1C83530A"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_stack_template_matches_snapshot(
    synthesized: Synthesized, env: str, snapshot: SnapshotAssertion
) -> None:
    template = synthesized.templates[f"BedrockCustomization-{env}"]
    assert mask_asset_hashes(template) == snapshot(extension_class=JSONSnapshotExtension)

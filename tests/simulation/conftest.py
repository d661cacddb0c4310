"""The simulation runs the state machine from the session's synthesized template (tests/conftest.py),
with each function's handler imported from its own asset of that cloud assembly."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (--dist loadgroup): the tests of one scenario share a worker (a module
    runs each scenario once and its tests read the result), different scenarios spread out."""
    for item in items:
        if "tests/simulation/" not in item.nodeid:
            continue
        callspec = getattr(item, "callspec", None)
        name = callspec.params.get("name") if callspec is not None else None
        module = item.nodeid.partition("::")[0]
        group = f"{module}[{name}]" if isinstance(name, str) else module
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def template(dev_template: Path) -> Path:
    """The dev stack's template (tests/conftest.py: synthesized once per session)."""
    return dev_template


def assembly_without(template: Path, handler: str, member: str, target: Path) -> Path:
    """A copy of ``template``'s cloud assembly in which ``handler``'s asset lacks ``member``
    (a path inside the asset, e.g. ``lambdas/common/metric_names.py``); returns the copied template.

    Only the template, its asset manifest and the broken asset are files of their own; the other
    assets are links to the originals.
    """
    from infra.lambda_runtime import function_assets

    target.mkdir(parents=True, exist_ok=True)
    copied = target / template.name
    copied.write_bytes(template.read_bytes())
    manifest = template.name.replace(".template.json", ".assets.json")
    (target / manifest).write_bytes((template.parent / manifest).read_bytes())
    broken = False
    for asset in function_assets(template).values():
        destination = target / asset.path.name
        if destination.exists():
            continue
        if asset.module != f"lambdas.{handler}.handler":
            destination.symlink_to(asset.path)
            continue
        with zipfile.ZipFile(asset.path) as source, zipfile.ZipFile(destination, "w") as rewritten:
            assert member in source.namelist(), f"{member} is not in {handler}'s asset"
            for info in source.infolist():
                if info.filename != member:
                    rewritten.writestr(info, source.read(info))
        broken = True
    assert broken, f"no function runs {handler}"
    json.loads(copied.read_text(encoding="utf-8"))  # still the same, valid template
    return copied

"""Synthesize the dev stack once per session: the simulation runs the state machine from that template."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``BedrockCustomization-dev.template.json`` as ``cdk synth`` writes it (dev environment only).

    ``SIMULATION_TEMPLATE=path`` runs the suite against an already synthesized template instead.
    """
    given = os.environ.get("SIMULATION_TEMPLATE")
    if given:
        return Path(given)
    from aws_cdk import App

    from infra.app_builder import build_app, context_from_cdk_json
    from infra.config import SELECT_KEY

    outdir = tmp_path_factory.mktemp("cdk.out")
    context = context_from_cdk_json(json.loads((ROOT / "cdk.json").read_text(encoding="utf-8")))
    app = App(context={**context, SELECT_KEY: "dev"}, outdir=str(outdir))
    build_app(app)
    app.synth()
    path = outdir / "BedrockCustomization-dev.template.json"
    assert path.is_file(), f"synth wrote no {path.name}"
    return path

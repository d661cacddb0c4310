"""Synthesize the dev stack once per session: the simulation runs the state machine from that template."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def template(dev_template: Path) -> Path:
    """The dev stack's template (tests/conftest.py: synthesized once per session)."""
    return dev_template

"""Serving slots through the real CLI against ``bedrock-customize sandbox`` (issue 23): two runs
into one slot, then a rollback; the slot's ARN never changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.sandbox.conftest import ROOT, Sandbox

ENV = ("--env", "sandbox")
SLOT = "support-answers"


def _slot_spec(directory: Path, name: str) -> Path:
    """examples/runs/serving-slot.yaml under another run name; a challenger only has to be as good
    as the champion (the sandbox's custom models all answer alike)."""
    text = (ROOT / "examples" / "runs" / "serving-slot.yaml").read_text(encoding="utf-8")
    text = text.replace("name: support-answers", f"name: {name}", 1)
    text = text.replace("minImprovementOverChampion: 0.02", "minImprovementOverChampion: 0.0", 1)
    text = text.replace("../datasets/", f"{ROOT / 'examples' / 'datasets'}/")
    text = text.replace("../prompts/", f"{ROOT / 'examples' / 'prompts'}/")
    path = directory / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _run_to_the_end(sandbox: Sandbox, name: str) -> str:
    started = sandbox.json("start", str(_slot_spec(sandbox.cwd, name)), *ENV, "--yes")
    run_id = str(started["runId"])
    watched = sandbox.cli("watch", run_id, *ENV, "--interval", "1", "--timeout", "120", check=False)
    assert watched.returncode == 0, watched.stdout + watched.stderr
    status = sandbox.json("status", run_id, *ENV)
    assert status["status"] == "SUCCEEDED", status
    return run_id


def _slot(sandbox: Sandbox) -> dict[str, Any]:
    listed = sandbox.json("slots", *ENV)
    slots = listed["slots"] if isinstance(listed, dict) else listed
    [slot] = [s for s in slots if s["name"] == SLOT]
    return dict(slot)


def test_two_runs_into_one_slot_then_a_rollback_keep_one_endpoint(sandbox: Sandbox) -> None:
    # Given a first run into the slot: its on-demand deployment becomes the slot's endpoint
    first = _run_to_the_end(sandbox, "slot-first")
    slot = _slot(sandbox)
    endpoint = slot["endpointArn"]
    assert ":custom-model-deployment/" in endpoint
    assert slot["champion"]["runId"] == first

    # When a second run beats (here: equals) the champion, it is promoted in place
    second = _run_to_the_end(sandbox, "slot-second")
    slot = _slot(sandbox)
    assert slot["endpointArn"] == endpoint
    assert slot["champion"]["runId"] == second
    shown = sandbox.cli("slots", "show", SLOT, *ENV).stdout
    assert first in shown and second in shown

    # And a rollback puts the first champion back behind the same ARN
    rolled = sandbox.cli("rollback", SLOT, *ENV, "--yes", "--timeout", "5m")
    assert first in rolled.stdout
    slot = _slot(sandbox)
    assert slot["endpointArn"] == endpoint
    assert slot["champion"]["runId"] == first

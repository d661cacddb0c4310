"""Serving slots through the real CLI against ``bedrock-customize sandbox`` (issue 23): two runs
into one slot, a rollback, then the second run's model promoted back by ``promote`` (evaluated
against the champion again); the slot's ARN never changes."""

from __future__ import annotations

import json
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
    return _followed(sandbox, str(started["runId"]))


def _followed(sandbox: Sandbox, run_id: str) -> str:
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

    # And promote puts the second run's model back, but only through a run that compares it with the
    # champion serving now (the first run's model): nothing is trained, the slot changes in place
    second_model = next(c["modelArn"] for c in _slot(sandbox)["history"] if c["runId"] == second)
    promoted = sandbox.json("promote", second, "--slot", SLOT, *ENV, "--yes")
    assert promoted["runId"] == f"{second}-p1" and promoted["started"] is True
    _followed(sandbox, promoted["runId"])
    slot = _slot(sandbox)
    assert slot["endpointArn"] == endpoint
    assert slot["champion"] == slot["champion"] | {"runId": promoted["runId"], "modelArn": second_model}
    status = sandbox.json("status", promoted["runId"], *ENV)
    assert "champion" in json.dumps(status)

    # A model that already serves in the slot is refused before anything starts, by its run or by
    # the promotion's (which served the earlier run's model)
    for run in (second, promoted["runId"]):
        refused = sandbox.cli("promote", run, "--slot", SLOT, *ENV, "--yes", check=False)
        assert refused.returncode != 0 and "already serves in the slot" in refused.stdout + refused.stderr

"""Every state of the synthesized workflow has a stage label (pipeline.workflow_stages).

``status``, ``watch``, ``list`` and the simulation show a run's stage in plain words from that one
table; a state without an entry would show its raw name. A state added to the workflow needs its
line in ``pipeline/workflow_stages.py`` (STAGES) in the same change.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Template

from pipeline import workflow_stages
from tests.infra.test_workflow import definition


def _state_names(states: Mapping[str, Any]) -> Iterator[str]:
    """Every state, nested ones (Parallel branches, Map processors) included."""
    for name, state in states.items():
        yield name
        for branch in state.get("Branches") or []:
            yield from _state_names(branch.get("States") or {})
        for key in ("Iterator", "ItemProcessor"):
            if isinstance(state.get(key), Mapping):
                yield from _state_names(state[key].get("States") or {})


@pytest.fixture(scope="module")
def synthesized_states(dev: Template) -> list[str]:
    return sorted(set(_state_names(definition(dev)["States"])))


def test_every_synthesized_state_has_a_stage_label(synthesized_states: list[str]) -> None:
    missing = [name for name in synthesized_states if name not in workflow_stages.STAGES]
    assert not missing, (
        "these states of the synthesized workflow have no stage label; add each to STAGES in "
        "pipeline/workflow_stages.py (label in plain words, and its group):\n"
        + "\n".join(f"  {name!r}" for name in missing)
    )


def test_no_label_for_a_state_the_workflow_no_longer_has(synthesized_states: list[str]) -> None:
    stale = sorted(set(workflow_stages.STAGES) - set(synthesized_states))
    assert not stale, (
        "pipeline/workflow_stages.py labels states the synthesized workflow does not have "
        f"(renamed or removed?): {stale}"
    )


def test_labels_are_plain_words_that_fit_a_narrow_terminal() -> None:
    for name, stage in workflow_stages.STAGES.items():
        assert stage.label and stage.label != name, name
        assert len(stage.label) <= 50, f"{name}: {stage.label!r} is too long for the 80-column live view"
        assert stage.group in workflow_stages.GROUPS, f"{name}: unknown group {stage.group!r}"


def test_the_approval_waits_are_the_only_human_stages(synthesized_states: list[str]) -> None:
    human = sorted(n for n in synthesized_states if workflow_stages.STAGES[n].human)
    assert human == ["Ask for approval to evaluate", "Ask for approval to serve"]

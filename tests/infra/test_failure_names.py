"""No run ends with a Step Functions error name: every path into a Fail state names its failure.

An execution may not end with a custom error whose name starts with ``States.`` (a Fail state's
ErrorPath that yields ``States.TaskFailed`` ends the execution with ``States.Runtime`` instead,
losing the cause: bedrock.md §13). So every path from ``StartAt`` to a Fail state must have had its
``$.failure`` last written by a Pass that names the failure with a literal project error (a gate,
or the "Failed: <name>" Pass every caught error goes through), keeping what was caught as
``Original``. Proven on every path of the synthesized definitions (tests/infra/asl_paths.py), and
shown to fail when a Catch is pointed straight at the failure path.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

import pytest

from pipeline.deployment import vehicle_result
from pipeline.workflow_names import RELEASE_ALL, STEP_ERROR_TEXT, STEP_ERRORS
from tests.infra.asl_paths import Situation, Walker
from tests.infra.conftest import Synthesized
from tests.infra.test_contracts import render_definitions

# Gates whose error comes from the slot the vehicle-creating state wrote with a literal name.
VEHICLE_ERROR_PATHS: Final = frozenset({"$.vehicle.FailedError", "$.vehicle.TimeoutError"})


class FailureNames(Walker):
    tracked = frozenset({"$.failure"})

    def __init__(self, definition: Mapping[str, Any]) -> None:
        super().__init__(definition)
        self.names: set[str] = set()

    def leave(self, situation: Situation, path: tuple[str, ...]) -> None:
        state = self.states[situation.state]
        if state["Type"] != "Fail":
            return
        if state.get("ErrorPath") != "$.failure.Error":
            error = str(state.get("Error", ""))
            if error.startswith("States.") or not error:
                self.violation("project-error-names", situation.state, f"raises {error!r}", path)
            return
        writer = situation.writer("$.failure")
        problem = self._names_it(writer)
        if problem:
            self.violation("project-error-names", situation.state, f"$.failure {problem}", path)

    def _names_it(self, writer: str | None) -> str | None:
        if writer is None:
            return "was never written"
        state = self.states[writer]
        if state["Type"] != "Pass":
            return f"was last written by {writer!r}, a {state['Type']} (what Step Functions caught)"
        parameters = state.get("Parameters") or {}
        if "Error" in parameters:
            error = str(parameters["Error"])
            if error.startswith("States."):
                return f"is named {error!r} by {writer!r}"
            self.names.add(error)
            return None
        if parameters.get("Error.$") in VEHICLE_ERROR_PATHS:
            return None
        return f"gets its error from a path in {writer!r}: {parameters.get('Error.$')!r}"


@pytest.fixture(scope="module")
def definitions(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        f"{stack}/{logical_id}": definition
        for stack, template in synthesized.templates.items()
        for logical_id, definition in render_definitions(template).items()
    }


def test_no_path_ends_with_a_step_functions_error_name(definitions: dict[str, dict[str, Any]]) -> None:
    for where, definition in definitions.items():
        names = FailureNames(definition)
        walk = names.run()
        assert not walk.violations, f"{where}:\n" + "\n".join(str(v) for v in walk.violations)
        # The caught errors end under the project's names for them
        assert {
            "TrainingJobFailed",
            "TrainingTimedOut",
            "TrainingQuotaExceeded",
            "ThroughputPurchaseError",
        } <= names.names


def test_every_vehicle_error_the_gates_read_is_a_project_name(definitions: dict[str, dict[str, Any]]) -> None:
    for definition in definitions.values():
        for name, state in definition["States"].items():
            if state.get("ResultPath") != "$.vehicle":
                continue
            if "ResultSelector" in state:  # the evaluation throughput: an SDK task
                selector = state["ResultSelector"]
                errors = (selector.get("FailedError"), selector.get("TimeoutError"))
            else:  # the deployment: the deploy handler's result (pipeline.deployment)
                result = vehicle_result("arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/x")
                errors = (result["FailedError"], result["TimeoutError"])
            assert all(isinstance(e, str) and not e.startswith("States.") for e in errors), name


def test_every_step_error_says_what_failed() -> None:
    for error in [*STEP_ERRORS.values(), "TrainingJobFailed", "TrainingTimedOut", "TrainingQuotaExceeded"]:
        assert not error.startswith("States.")
        # The text sits inside a States.Format literal: none of the characters that would need
        # escaping there (an unescaped quote ends the literal and breaks the intrinsic at run time).
        assert STEP_ERROR_TEXT[error] and not set(STEP_ERROR_TEXT[error]) & set("'{}\\"), error


def _intrinsics(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [
            found
            for key, value in node.items()
            for found in (
                [value]
                if key.endswith(".$") and isinstance(value, str) and value.startswith("States.")
                else []
            )
            + _intrinsics(value)
        ]
    if isinstance(node, list):
        return [found for item in node for found in _intrinsics(item)]
    return []


def test_no_intrinsic_literal_of_the_definition_needs_an_escape(
    definitions: dict[str, dict[str, Any]],
) -> None:
    # AWS accepts an escaped quote or brace (\' \{ \}) in an intrinsic's literal, but the simulation's
    # ASL parser mis-reads it and would run a different text: no shipped literal needs one, so what
    # the simulation runs is what AWS runs.
    for definition in definitions.values():
        intrinsics = _intrinsics(definition["States"])
        assert any(i.startswith("States.Format(") for i in intrinsics)
        escaped = [i for i in intrinsics if "\\" in i]
        assert escaped == [], escaped


def test_a_catch_straight_into_the_failure_path_is_reported(definitions: dict[str, dict[str, Any]]) -> None:
    # Given the shipped definition with one Catch pointed past its naming Pass
    definition = copy.deepcopy(next(iter(definitions.values())))
    (catch,) = definition["States"]["Buy provisioned throughput (no commitment)"]["Catch"]
    catch["Next"] = RELEASE_ALL

    # When the walk checks every path into Run failed / Then that path is reported
    walk = FailureNames(definition).run()
    assert walk.violations
    assert all(v.rule == "project-error-names" for v in walk.violations)
    assert any("Buy provisioned throughput (no commitment)" in v.detail for v in walk.violations)

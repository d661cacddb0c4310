"""Trust invariants: a purchase that waits for a person is bought only on a verified, distinct
person's decision of record, whatever else answers the task token.

Two kinds of check, both in every simulation's JSON ``checks``:

- over the state machine definition, every path: from each ``.waitForTaskToken`` approval wait,
  no purchase (``createProvisionedModelThroughput``) is reachable without first passing the
  approval's verification step (``approval_verify``, writing the wait's result) and then a Choice
  branch that requires that result's ``verified`` to be true (:func:`unverified_paths`);
- over the run: every purchase made after an approval wait follows an approving decision of record
  for that request, by someone other than the run's starter unless the stack allows it; an answer
  sent by hand (``forged`` / ``malformed``) is followed by no purchase at all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any, Final

from pipeline import approval_records
from pipeline.simulation.result import Check, SimulationResult

WAIT_FOR_TOKEN: Final = ".waitForTaskToken"  # noqa: S105 (an integration pattern, not a secret)
PURCHASE: Final = "createProvisionedModelThroughput"
VERIFY_HANDLER: Final = "ApprovalVerify"


def _resource(state: Mapping[str, Any]) -> str:
    return str(state.get("Resource") or "")


def _invokes_verify(state: Mapping[str, Any]) -> bool:
    """A Lambda task of the approval-verification function (by its ARN, or a placeholder naming it)."""
    target = str(state.get("Resource") or "") + str((state.get("Parameters") or {}).get("FunctionName") or "")
    return state.get("Type") == "Task" and VERIFY_HANDLER.lower() in target.replace("_", "").lower()


def _requires_verified(rule: Mapping[str, Any], path: str) -> bool:
    """Does this Choice rule only match when ``<path>.verified`` is the boolean true?"""
    if rule.get("Variable") == f"{path}.verified" and rule.get("BooleanEquals") is True:
        return True
    return any(_requires_verified(sub, path) for sub in rule.get("And") or [])


def _edges(state: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any] | None]]:
    """(next state, the Choice rule taken or None) for every way out of a state."""
    for rule in state.get("Choices") or []:
        yield str(rule["Next"]), rule
    for key in ("Next", "Default"):
        if state.get(key):
            yield str(state[key]), None
    for catch in state.get("Catch") or []:
        yield str(catch["Next"]), None


def unverified_paths(definition: Mapping[str, Any]) -> list[str]:
    """Every (approval wait, purchase) pair with a path between them that skips verification."""
    states: Mapping[str, Mapping[str, Any]] = definition.get("States") or {}
    problems = []
    for ask_name, ask in states.items():
        if not _resource(ask).endswith(WAIT_FOR_TOKEN):
            continue
        answer = str(ask.get("ResultPath") or "$")
        # Phases: 0 = the answer as given, 1 = replaced by the verification step, 2 = verified true.
        seen: set[tuple[str, int]] = set()
        queue = deque((target, 0) for target, _ in _edges(ask))
        while queue:
            name, phase = queue.popleft()
            if (name, phase) in seen or name not in states:
                continue
            seen.add((name, phase))
            state = states[name]
            if PURCHASE in _resource(state) and phase < 2:
                problems.append(f"{ask_name} -> {name} without a verified decision of record")
                continue
            if _invokes_verify(state) and state.get("ResultPath") == answer and phase == 0:
                phase = 1
            elif state.get("ResultPath") == answer and phase < 2 and state.get("Type") in ("Task", "Pass"):
                phase = 0  # something else rewrote the answer after its verification
            for target, rule in _edges(state):
                verified = rule is not None and phase == 1 and _requires_verified(rule, answer)
                queue.append((target, 2 if verified else phase))
    return sorted(set(problems))


def trust_checks(result: SimulationResult) -> list[Check]:
    """The trust invariants of one simulated run (see the module docstring)."""
    problems = unverified_paths(result.definition)
    checks = [
        Check(
            "no path from an approval wait to a purchase skips the verification of its decision of record",
            not problems,
            "; ".join(problems) if problems else "every path verifies first",
        )
    ]
    records = result.approval_records or {}
    decisions = [d for d in records.get("decisions") or [] if isinstance(d, Mapping)]
    starter = approval_records.starter_of(
        records.get("starter"),
        execution_arn=result.execution_arn,
        execution_start=str((records.get("starter") or {}).get("executionStart") or ""),
    )
    allowed = bool(records.get("allowSelfApproval"))
    purchases = [c for c in result.bedrock_calls if c["call"].endswith(":CreateProvisionedModelThroughput")]
    asked = [v for v in result.visits if v.name in _asks(result.definition)]
    if asked and purchases:
        first_ask = min(v.entered for v in asked)
        after = [c for c in purchases if c["at"] >= first_ask]
        approving = [d for d in decisions if d.get("approved") is True]
        distinct = [
            d
            for d in approving
            if allowed
            or (starter is not None and not approval_records.same_person(starter.name, str(d["approver"])))
        ]
        checks.append(
            Check(
                "a purchase after an approval wait follows an approval of record by a distinct person",
                not after or bool(distinct),
                f"{len(after)} purchase(s) after the wait; approvals of record: "
                + (", ".join(f"{d['approver']} ({d['requestId']})" for d in approving) or "none")
                + (f"; starter: {starter.name}" if starter is not None else "; no starter on record"),
            )
        )
    outcome = result.approval.get("outcome")
    if outcome in ("forged", "malformed"):
        answered_at = result.approval.get("answeredAt")
        late = [c["call"] for c in purchases if answered_at is not None and c["at"] >= answered_at]
        checks.append(
            Check(
                "an answer sent by hand (SendTaskSuccess without the answer function) buys nothing",
                not late,
                f"bought after it: {late}" if late else "nothing bought after it",
            )
        )
    if starter is not None and not allowed:
        own = [
            d
            for d in decisions
            if d.get("approved") is True
            and approval_records.same_person(starter.name, str(d.get("approver")))
        ]
        checks.append(
            Check(
                "the run's starter never approves it (self-approval is not allowed)",
                not own,
                f"approved by its starter: {[d['requestId'] for d in own]}"
                if own
                else f"starter {starter.name}",
            )
        )
    return checks


def _asks(definition: Mapping[str, Any]) -> set[str]:
    return {
        name
        for name, state in (definition.get("States") or {}).items()
        if _resource(state).endswith(WAIT_FOR_TOKEN)
    }

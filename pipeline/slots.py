"""Serving slots: one stable endpoint per use case, a champion, and the champions before it.

A slot is an on-demand custom model deployment or a Provisioned Throughput that keeps its ARN across
promotions: the first promotion into a slot makes the run's serving endpoint the slot's, and every
later one changes the model behind it in place (UpdateCustomModelDeployment,
UpdateProvisionedModelThroughput [BC]). Applications call the slot's ARN and never need re-pointing.

The slot's state lives in one SSM String parameter per slot, ``/bedrock-customization/<env>/slots/
<name>`` (the deployment manifest's prefix), a JSON document this module reads and writes:
the ARN to call, its kind, the champion (custom model, run, when promoted, its verdict) and a bounded
history of earlier champions kept for rollback. One writer at a time: a promotion holds the slot's
lock (:mod:`pipeline.slot_lock`) from the moment it re-checks the champion until the slot is
recorded or its run has failed.

Facts about an in-place change, as of bedrock.md §13 (botocore 1.44.18, 2026-12-07):

- whether an update interrupts requests in flight, or the old model answers until the change
  completes: UNCONFIRMED (the simulation assumes the old model answers; the workflow smoke-checks
  through the slot after the change either way);
- how long an update takes: UNCONFIRMED (the plan waits up to ``SLOT_UPDATE_WAIT_LIMIT_S``, 1 h,
  then rolls back; the simulation takes 10 min for a deployment, 15 min for a throughput);
- whether a custom model's customization date matters for an on-demand slot: on-demand deployment
  is documented for models customized on or after 2025-07-16 [bedrock.md §13]; whether an update to
  an older model is refused the same way is UNCONFIRMED (every model a run promotes is new);
- whether a deployment may change to a custom model of another base: UNCONFIRMED, refused here
  (:func:`compatible_problem`); a throughput may not [BC].

Pure: no AWS calls here (lambdas/slots and the CLI make them), so the rules are tested directly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

SLOT_NAME_RE: Final = re.compile(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9])){1,39}")
SLOT_NAME_RULE: Final = "2-40 lowercase letters, digits and single hyphens, starting with a letter"
DEPLOYMENT: Final = "deployment"
THROUGHPUT: Final = "throughput"
KINDS: Final = (DEPLOYMENT, THROUGHPUT)
# Earlier champions kept for rollback; their custom models are never swept while listed here.
HISTORY_LIMIT: Final = 5
DOCUMENT_VERSION: Final = 1
# The tag that marks an endpoint as a slot's: the workflow may update only endpoints that carry it.
SLOT_TAG: Final = "bedrock-customization:slot"


class SlotError(ValueError):
    """A slot document or a slot change that breaks the rules: says what and why."""


def parameter_name(env: str, slot: str) -> str:
    return f"/bedrock-customization/{env}/slots/{slot}"


def slots_prefix(env: str) -> str:
    return f"/bedrock-customization/{env}/slots/"


def slot_name_problem(name: Any) -> str | None:
    if not isinstance(name, str) or not SLOT_NAME_RE.fullmatch(name):
        return f"serving.slot must be {SLOT_NAME_RULE}, got {name!r}"
    return None


@dataclass(frozen=True)
class Champion:
    """A custom model that serves (or served) in a slot, and why it was allowed to."""

    model_arn: str
    run_id: str
    promoted_at: str
    verdict: str = ""  # the comparison summary it was promoted on

    def to_dict(self) -> dict[str, Any]:
        return {
            "modelArn": self.model_arn,
            "runId": self.run_id,
            "promotedAt": self.promoted_at,
            "verdict": self.verdict,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Champion:
        try:
            return cls(
                model_arn=str(data["modelArn"]),
                run_id=str(data["runId"]),
                promoted_at=str(data["promotedAt"]),
                verdict=str(data.get("verdict") or ""),
            )
        except (KeyError, TypeError) as error:
            raise SlotError(f"a champion entry lacks {error}") from None


@dataclass(frozen=True)
class Slot:
    """One slot's document: the endpoint that keeps its ARN, and who serves on it."""

    name: str
    kind: str
    endpoint_arn: str
    base_model: str
    champion: Champion
    history: tuple[Champion, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": DOCUMENT_VERSION,
            "name": self.name,
            "kind": self.kind,
            "endpointArn": self.endpoint_arn,
            "baseModel": self.base_model,
            "champion": self.champion.to_dict(),
            "history": [c.to_dict() for c in self.history],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Slot:
        if not isinstance(data, Mapping):
            raise SlotError("a slot document must be a JSON object")
        kind = data.get("kind")
        if kind not in KINDS:
            raise SlotError(f"slot kind must be one of {', '.join(KINDS)}, got {kind!r}")
        try:
            return cls(
                name=str(data["name"]),
                kind=str(kind),
                endpoint_arn=str(data["endpointArn"]),
                base_model=str(data["baseModel"]),
                champion=Champion.from_dict(data["champion"]),
                history=tuple(Champion.from_dict(c) for c in data.get("history") or ()),
            )
        except KeyError as error:
            raise SlotError(f"a slot document lacks {error}") from None

    @property
    def kept_models(self) -> tuple[str, ...]:
        """Every custom model the slot serves or keeps for rollback (never to be swept)."""
        return tuple(dict.fromkeys([self.champion.model_arn, *(c.model_arn for c in self.history)]))


def first_promotion(name: str, kind: str, endpoint_arn: str, base_model: str, champion: Champion) -> Slot:
    """The slot a first promotion creates: the run's serving endpoint becomes the slot's."""
    if kind not in KINDS:
        raise SlotError(f"slot kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return Slot(name, kind, endpoint_arn, base_model, champion)


def promoted(slot: Slot, champion: Champion) -> Slot:
    """The slot after ``champion`` replaced the current one in place (same endpoint, same ARN)."""
    if champion.model_arn == slot.champion.model_arn:
        raise SlotError(f"{champion.model_arn} already serves in slot {slot.name}")
    history = (slot.champion, *slot.history)[:HISTORY_LIMIT]
    return replace(slot, champion=champion, history=history)


def rollback_target(slot: Slot, to_run: str | None = None) -> Champion:
    """The earlier champion a rollback goes back to: the last one, or the one of ``to_run``."""
    if not slot.history:
        raise SlotError(f"slot {slot.name} has no earlier champion to roll back to")
    if to_run is None:
        return slot.history[0]
    for champion in slot.history:
        if champion.run_id == to_run:
            return champion
    kept = ", ".join(c.run_id for c in slot.history)
    raise SlotError(f"run {to_run} is not among the earlier champions of slot {slot.name} (kept: {kept})")


def rolled_back(slot: Slot, target: Champion) -> Slot:
    """The slot after a rollback to ``target``: it is champion again, the one it replaces goes first
    in the history (so a rollback can itself be rolled back)."""
    rest = [c for c in slot.history if c.model_arn != target.model_arn]
    return replace(slot, champion=target, history=(slot.champion, *rest)[:HISTORY_LIMIT])


def compatible_problem(slot: Slot, *, kind: str, base_model: str) -> str | None:
    """Why a run cannot be promoted into this slot, or None.

    A slot's kind never changes (its ARN would); a provisioned throughput serves only custom models of
    its own base model (UpdateProvisionedModelThroughput [UG:prov-thru-manage]); an on-demand
    deployment, only a deployable custom model of a base Bedrock deploys on demand (UNCONFIRMED:
    whether a deployment may switch to a custom model of another base is not documented, so it is
    refused too).
    """
    if slot.kind != kind:
        return (
            f"slot {slot.name} is served by a {slot.kind}; this run serves "
            f"{'on demand' if kind == DEPLOYMENT else 'on provisioned throughput'} (a slot keeps its kind: "
            "its ARN would change)"
        )
    if slot.base_model != base_model:
        return (
            f"slot {slot.name} serves custom models of {slot.base_model}; this run customizes {base_model} "
            "(an endpoint's model can only be changed to a custom model of the same base)"
        )
    return None


def kept_models(slots: Sequence[Slot]) -> dict[str, str]:
    """Custom model ARN → the slot that serves or keeps it (sweep never deletes these)."""
    kept: dict[str, str] = {}
    for slot in slots:
        for arn in slot.kept_models:
            kept.setdefault(arn, slot.name)
    return kept


# -- an in-place update, as Bedrock reports it ---------------------------------------------------
UPDATE_DONE: Final = "UpdateCompleted"
UPDATING: Final = "Updating"
UPDATE_FAILED: Final = "UpdateFailed"


def update_progress(kind: str, described: Mapping[str, Any], target_model_arn: str) -> tuple[str, str | None]:
    """(UpdateCompleted | Updating | UpdateFailed, failure message) of an in-place model change.

    A deployment reports ``updateDetails`` with the change's ``modelArn`` and ``updateStatus``
    (Updating | UpdateCompleted | UpdateFailed [BC]); a throughput goes ``Updating`` then
    ``InService`` with ``modelArn`` = the new model, or ``Failed`` [BC]. How long either takes, and
    whether requests in flight are interrupted, is UNCONFIRMED: the workflow waits on the plan's
    schedule and smoke-checks through the slot.
    """
    if kind == DEPLOYMENT:
        details = described.get("updateDetails") or {}
        status = details.get("updateStatus")
        if details.get("modelArn") not in (None, target_model_arn):
            # An earlier change's details: this one has not registered yet.
            return UPDATING, None
        if status == UPDATE_FAILED or described.get("status") == "Failed":
            return UPDATE_FAILED, described.get("failureMessage") or "the deployment update failed"
        if status == UPDATE_DONE or (not details and described.get("modelArn") == target_model_arn):
            return (UPDATE_DONE, None) if described.get("status") == "Active" else (UPDATING, None)
        return UPDATING, None
    if described.get("status") == "Failed":
        return UPDATE_FAILED, described.get("failureMessage") or "the throughput update failed"
    if described.get("status") == "InService" and described.get("modelArn") == target_model_arn:
        return UPDATE_DONE, None
    return UPDATING, None

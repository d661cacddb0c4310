"""The live check of `check` and `start`: what Bedrock says of the base model (and teacher) today.

The same check the workflow's preflight Lambda makes (lambdas/preflight, pipeline.live):
``GetFoundationModel`` in the run's region for the base model and a teacher given by its plain id;
LEGACY, a customization type the model does not list, or a model the region does not know are
problems of the spec (exit 2). It runs when the current credentials can reach AWS and is skipped
otherwise (``--offline``, ``BEDROCK_CUSTOMIZE_OFFLINE``, no credentials), and the command says
which. A reachable API that errors (access denied, throttling after the SDK's retries, an
endpoint that cannot be reached) is an operational error (exit 1): an unchecked model never passes
silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from pipeline import live
from pipeline.operate import aws
from pipeline.operate.errors import OperateError, OperationalError, describe_aws_error, error_code
from pipeline.problems import Problem
from pipeline.runspec import RunSpec

LIVE: Final = "live"
OFFLINE: Final = "offline"
NOT_MADE: Final = "not made"  # the local preflight already failed: nothing is asked
OFFLINE_HINT: Final = (
    "or pass --offline to check against the catalog's facts only (the workflow's preflight still "
    "checks live before any job)"
)


@dataclass(frozen=True)
class LiveCheck:
    mode: str
    region: str
    customization_type: str
    reason: str | None = None  # why offline
    models: tuple[live.LiveModel, ...] = ()
    skipped: tuple[str, ...] = ()  # what could not be checked by id (a teacher via a profile)

    @property
    def problems(self) -> list[Problem]:
        return [p for m in self.models for p in m.problems]

    def line(self) -> str:
        """``live check: ...``: what Bedrock said, or why nothing was asked."""
        if self.mode == NOT_MADE:
            return "live check: not made, the preflight found problems to fix first"
        if self.mode == OFFLINE:
            return f"live check: skipped, offline ({self.reason}) \u2014 the catalog's facts were used"
        parts = [_describe(m, self.customization_type) for m in self.models]
        parts += list(self.skipped)
        verdict = " \u2014 refused (see the problems above)" if self.problems else ""
        return f"live check: Bedrock in {self.region} says " + "; ".join(parts) + verdict

    def notes(self) -> list[str]:
        return [n for m in self.models for n in m.notes]

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "region": self.region,
            "reason": self.reason,
            "ok": not self.problems,
            "line": self.line(),
            "models": [m.to_dict() for m in self.models],
            "skipped": list(self.skipped),
        }


def _describe(model: live.LiveModel, customization_type: str) -> str:
    who = "" if model.role == live.BASE else f"teacher {model.model_id} "
    if not model.found:
        subject = who or f"{model.model_id} "
        return f"{subject}is NOT FOUND (not offered in the region, or past its end of life)"
    status = model.lifecycle.get("status") or "no lifecycle status"
    dates = ", ".join(
        f"{label} {model.lifecycle[key]}"
        for label, key in (("legacy since", "legacyTime"), ("end of life", "endOfLifeTime"))
        if model.lifecycle.get(key)
    )
    text = f"{who}{status}" + (f" ({dates})" if dates else "")
    if model.role == live.BASE:
        if customization_type in live.REPORTED_TYPES:
            offered = customization_type in model.customizations
            text += f", {customization_type} {'offered' if offered else 'NOT offered'}"
            if not offered:
                text += f" (offered: {', '.join(model.customizations) or 'none'})"
        else:
            text += f", {customization_type} cannot be confirmed live (the catalog's word)"
    return text


def not_made(spec: RunSpec) -> LiveCheck:
    return LiveCheck(NOT_MADE, spec.region, spec.customization_type)


def run(spec: RunSpec, *, offline: bool = False, clients: aws.Clients | None = None) -> LiveCheck:
    """GetFoundationModel for the spec's base model and teacher, or an offline result saying why."""
    reason = aws.offline_reason(requested=offline)
    if reason is not None:
        return LiveCheck(OFFLINE, spec.region, spec.customization_type, reason=reason)
    bedrock = (clients or aws.Clients(spec.region))("bedrock")
    skipped = live.models_to_check(spec)[1]
    asking: list[str] = []

    def get_foundation_model(*, modelIdentifier: str) -> Any:  # noqa: N803 - boto3's keyword
        asking.append(modelIdentifier)
        return bedrock.get_foundation_model(modelIdentifier=modelIdentifier)

    try:
        found = live.check_models(spec, get_foundation_model, error_code)
    except Exception as exc:
        raise failure(exc, asking[-1] if asking else spec.base_model, spec.region) from exc
    return LiveCheck(LIVE, spec.region, spec.customization_type, models=tuple(found), skipped=tuple(skipped))


def failure(exc: BaseException, model_id: str, region: str) -> OperateError:
    """The operational error of a live check that could not be made (never a pass)."""
    described = describe_aws_error(exc)
    if described is None:
        return OperationalError(
            f"live check failed: GetFoundationModel {model_id} in {region}: {exc}",
            hint=f"run the command again; {OFFLINE_HINT}",
        )
    hint = f"{described.hint}; {OFFLINE_HINT}" if described.hint else OFFLINE_HINT
    return type(described)(
        f"live check failed: GetFoundationModel {model_id} in {region}: {described.message}", hint=hint
    )

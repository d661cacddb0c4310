"""What the live Bedrock API says about a base model, checked before anything is paid for.

The catalog holds what the API cannot tell (data formats, limits, hyperparameter ranges, sources);
for what it can, the API is the authority in the run's own region: ``GetFoundationModel`` returns
``modelLifecycle {status ACTIVE|LEGACY, legacyTime, endOfLifeTime}``, ``customizationsSupported``
and ``inferenceTypesSupported`` [BC; UG:model-lifecycle]. A model past its end of life is no longer
returned at all (ResourceNotFoundException).

These functions are pure: they take the API's answer (a ``GetFoundationModel`` response, or the
error code it raised) and return problems and facts, so the preflight Lambda, the CLI and the tests
share them. Calling the API is the caller's business; an unreachable API is an operational error
there, never a pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from pipeline.problems import Problem

if TYPE_CHECKING:
    from pipeline.runspec import RunSpec

# The customization types GetFoundationModel reports [BC]. REINFORCEMENT_FINE_TUNING is not in the
# enum (ListFoundationModels cannot filter it either, bedrock.md §12): it cannot be confirmed live.
REPORTED_TYPES: Final = frozenset({"FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"})
BASE: Final = "base"
TEACHER: Final = "teacher"
NOT_FOUND: Final = frozenset({"ResourceNotFoundException"})


@dataclass
class LiveModel:
    """One model as the live API describes it, and what that means for the run."""

    model_id: str
    region: str
    role: str
    found: bool
    lifecycle: dict[str, Any] = field(default_factory=dict)
    customizations: list[str] = field(default_factory=list)
    inference_types: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def on_demand(self) -> bool:
        """Converse answers on the plain model id; False: only through an inference profile."""
        return "ON_DEMAND" in self.inference_types

    def to_dict(self) -> dict[str, Any]:
        return {
            "modelId": self.model_id,
            "region": self.region,
            "role": self.role,
            "found": self.found,
            "lifecycle": self.lifecycle,
            "customizationsSupported": self.customizations,
            "inferenceTypesSupported": self.inference_types,
            "onDemand": self.on_demand,
            "problems": [str(p) for p in self.problems],
            "notes": self.notes,
        }


def _iso(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d")
    return str(value)[:10] if value else None


def not_found(model_id: str, region: str, role: str, field_name: str) -> LiveModel:
    """GetFoundationModel said ResourceNotFoundException: not offered here (or past its end of life)."""
    what = "the teacher" if role == TEACHER else "the base model"
    return LiveModel(
        model_id,
        region,
        role,
        found=False,
        problems=[
            Problem(
                field_name,
                model_id,
                "a model Bedrock offers in the run's region",
                f"Bedrock does not know {what} {model_id} in {region} (GetFoundationModel: "
                "ResourceNotFoundException): it is not offered there, or past its end of life; "
                "run `bedrock-customize models --live` to see what the region offers",
            )
        ],
    )


def check_model(
    described: Mapping[str, Any],
    *,
    model_id: str,
    region: str,
    role: str = BASE,
    customization_type: str | None = None,
    field_name: str = "baseModel",
) -> LiveModel:
    """Read a GetFoundationModel response: lifecycle and (for a base) the customization type."""
    details = described.get("modelDetails") or {}
    lifecycle = details.get("modelLifecycle") or {}
    live = LiveModel(
        model_id,
        region,
        role,
        found=True,
        lifecycle={
            "status": lifecycle.get("status"),
            "legacyTime": _iso(lifecycle.get("legacyTime")),
            "endOfLifeTime": _iso(lifecycle.get("endOfLifeTime")),
            "publicExtendedAccessTime": _iso(lifecycle.get("publicExtendedAccessTime")),
        },
        customizations=list(details.get("customizationsSupported") or []),
        inference_types=list(details.get("inferenceTypesSupported") or []),
    )
    status = live.lifecycle["status"]
    end = live.lifecycle["endOfLifeTime"]
    end_text = f", end of life {end}" if end else ""
    if status == "LEGACY":
        since = live.lifecycle["legacyTime"]
        if role == BASE:
            live.problems.append(
                Problem(
                    field_name,
                    model_id,
                    "an ACTIVE model",
                    f"Bedrock reports {model_id} as LEGACY in {region}"
                    + (f" since {since}" if since else "")
                    + f"{end_text}: a Legacy model accepts no new customization job and no new "
                    "Provisioned Throughput [UG:model-lifecycle]; choose a current model "
                    "(`bedrock-customize models --live`)",
                )
            )
        else:
            live.notes.append(f"the teacher {model_id} is LEGACY in {region}{end_text}")
    if role == BASE and customization_type is not None:
        if customization_type in REPORTED_TYPES:
            if customization_type not in live.customizations:
                offered = ", ".join(live.customizations) or "none"
                live.problems.append(
                    Problem(
                        "customizationType",
                        customization_type,
                        offered,
                        f"Bedrock does not offer {customization_type} for {model_id} in {region} "
                        f"(GetFoundationModel customizationsSupported: {offered})",
                    )
                )
        else:
            live.notes.append(
                f"{customization_type} is not among the types GetFoundationModel reports "
                f"({', '.join(sorted(REPORTED_TYPES))}): support for it is taken from the catalog "
                "(UNCONFIRMED live)"
            )
    if not live.on_demand and live.inference_types:
        live.notes.append(
            f"{model_id} is not invocable on demand by its id in {region} "
            f"(inferenceTypesSupported: {', '.join(live.inference_types)}): the comparison calls it through "
            "a cross-Region inference profile"
        )
    return live


def models_to_check(spec: RunSpec) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(model id, role, spec field) to ask GetFoundationModel about, and what cannot be asked.

    A teacher named by an inference profile or an ARN of one is not a foundation model id.
    """
    from pipeline.catalog import parse_teacher  # the catalog imports nothing from here

    wanted = [(spec.base_model, BASE, "baseModel")]
    skipped = []
    if spec.teacher is not None:
        teacher = parse_teacher(spec.teacher)
        if teacher.via_profile:
            skipped.append(f"teacher {spec.teacher} is an inference profile: not checked live")
        else:
            wanted.append((teacher.model_id, TEACHER, "teacher"))
    return wanted, skipped


def check_models(
    spec: RunSpec,
    get_foundation_model: Callable[..., Mapping[str, Any]],
    error_code: Callable[[Exception], str],
) -> list[LiveModel]:
    """Ask about every model of the run; a model the API does not know is a problem of the spec.

    Any other error escapes unchanged: the caller turns it into an operational failure.
    """
    found = []
    for model_id, role, field_name in models_to_check(spec)[0]:
        try:
            described = get_foundation_model(modelIdentifier=model_id)
        except Exception as error:
            if error_code(error) not in NOT_FOUND:
                raise
            found.append(not_found(model_id, spec.region, role, field_name))
            continue
        found.append(
            check_model(
                described,
                model_id=model_id,
                region=spec.region,
                role=role,
                customization_type=spec.customization_type if role == BASE else None,
                field_name=field_name,
            )
        )
    return found

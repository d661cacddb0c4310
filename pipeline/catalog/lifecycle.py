"""Lifecycle rules: what a Legacy or end-of-life model may still be used for, and what replaces it.

Each model's lifecycle is stated in its catalog entry (a teacher's in pipeline.catalog.teachers),
checked on 2026-11-28: ACTIVE, LEGACY or END_OF_LIFE by the dates the guide publishes
[UG:model-lifecycle], [UG:model-lifecycle-legacy] and the model cards, or NOT_OFFERED when the
guide's customization tables dropped the model without a date. ``lifecycle_problems`` says what that
allows on a given day (UTC today by default, through ``pipeline.catalog.today_utc``): the run spec
refuses a new job on anything but an ACTIVE base and a teacher past its end of life, and names
current replacements.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from pipeline.catalog.registry import all_models, find_model
from pipeline.catalog.teachers import TEACHERS, Teacher, parse_teacher
from pipeline.catalog.types import (
    END_OF_LIFE,
    LEGACY,
    NOT_OFFERED,
    Lifecycle,
    ModelInfo,
    day_or_today,
)
from pipeline.problems import Problem

# Every catalog model's and teacher's lifecycle, by id (a view of the entries and the teachers).
LIFECYCLE: Final[Mapping[str, Lifecycle]] = MappingProxyType(
    {m.model_id: m.lifecycle for m in all_models()} | {t.model_id: t.lifecycle for t in TEACHERS.values()}
)
_UNKNOWN_LIFECYCLE: Final = Lifecycle(
    "no lifecycle recorded in the catalog", unconfirmed="Lifecycle status UNCONFIRMED; treated as ACTIVE."
)


def lifecycle_of(model_id: str) -> Lifecycle:
    """The lifecycle of a catalog model or teacher id (an unknown id counts as ACTIVE, UNCONFIRMED)."""
    model = find_model(model_id)
    if model is not None:
        return model.lifecycle
    teacher = TEACHERS.get(model_id)
    return teacher.lifecycle if teacher is not None else _UNKNOWN_LIFECYCLE


# What a model is about to be used for.
NEW_CUSTOMIZATION: Final = "customization"  # a new customization job on this base model
THROUGHPUT_PURCHASE: Final = "throughput"  # a new Provisioned Throughput for this base or its custom model
ON_DEMAND_DEPLOYMENT_OF_CUSTOM_MODEL: Final = "deployment"  # a new on-demand deployment of a custom model
TEACHER_USE: Final = "teacher"  # the teacher of a distillation job
PURPOSES: Final = (NEW_CUSTOMIZATION, THROUGHPUT_PURCHASE, ON_DEMAND_DEPLOYMENT_OF_CUSTOM_MODEL, TEACHER_USE)

# A Legacy model accepts no new fine-tuning job and no new Provisioned Throughput, but custom models made
# before may get new on-demand deployments; at end of life every request fails [UG:model-lifecycle]. A
# Legacy teacher is still served to existing users (new customers may be refused: not checked here).
_REFUSED: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        NEW_CUSTOMIZATION: frozenset({LEGACY, END_OF_LIFE, NOT_OFFERED}),
        THROUGHPUT_PURCHASE: frozenset({LEGACY, END_OF_LIFE}),
        ON_DEMAND_DEPLOYMENT_OF_CUSTOM_MODEL: frozenset({END_OF_LIFE}),
        TEACHER_USE: frozenset({END_OF_LIFE}),
    }
)
_WHAT: Final[Mapping[str, str]] = MappingProxyType(
    {
        NEW_CUSTOMIZATION: "a new customization job",
        THROUGHPUT_PURCHASE: "a new Provisioned Throughput",
        ON_DEMAND_DEPLOYMENT_OF_CUSTOM_MODEL: "a new on-demand deployment",
        TEACHER_USE: "distillation as the teacher",
    }
)
_LIFECYCLE_RULE: Final = "[UG:model-lifecycle]"


def usable_for(model_id: str, purpose: str, today: dt.date | None = None) -> bool:
    """Whether the lifecycle allows ``purpose`` for a catalog model or teacher id on ``today``."""
    return lifecycle_of(model_id).status(day_or_today(today)) not in _REFUSED[purpose]


def lifecycle_problems(
    model: ModelInfo | Teacher | str,
    *,
    purpose: str,
    today: dt.date | None = None,
    field: str = "baseModel",
    customization_type: str | None = None,
    student: ModelInfo | None = None,
) -> list[Problem]:
    """Why ``model`` cannot be used for ``purpose`` on ``today`` (UTC by default); empty when it can.

    ``model`` is a catalog model, a teacher, or an id (teacher ids may be profile ids or ARNs).
    ``customization_type`` and ``student`` narrow the replacement suggested in the message.
    """
    if purpose not in _REFUSED:
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}, not {purpose!r}")
    day = day_or_today(today)
    value, model_id, name = _lifecycle_subject(model)
    lifecycle = lifecycle_of(model_id)
    status = lifecycle.status(day)
    if status not in _REFUSED[purpose]:
        return []
    info = find_model(model_id)
    if purpose == TEACHER_USE or info is None:
        alternatives = _teacher_alternatives(model_id, student, day)
    else:
        alternatives = current_alternatives(info, customization_type=customization_type, today=day)
    what = _WHAT[purpose]
    subject = f"{model_id} ({name})" if name else model_id
    if status == END_OF_LIFE:
        assert lifecycle.end_of_life is not None
        legacy = f", Legacy since {lifecycle.legacy.isoformat()}" if lifecycle.legacy else ""
        reason = (
            f"{subject} reached end of life on {lifecycle.end_of_life.isoformat()}{legacy} "
            f"({lifecycle.source}): Bedrock no longer serves it, so it cannot be used for {what}"
        )
    elif status == LEGACY:
        since = f"since {lifecycle.legacy.isoformat()}" if lifecycle.legacy else "(since an unpublished date)"
        until = (
            f"end of life on {lifecycle.end_of_life.isoformat()}"
            if lifecycle.end_of_life
            else "end of life not yet dated"
        )
        reason = (
            f"{subject} is Legacy {since}, {until} ({lifecycle.source}): a Legacy model cannot be used "
            f"for {what} {_LIFECYCLE_RULE}"
        )
    else:
        assert lifecycle.removed_from_guide is not None
        reason = (
            f"{subject} is no longer offered for customization: checked on "
            f"{lifecycle.removed_from_guide.isoformat()}, {lifecycle.source}"
        )
    note = f" (UNCONFIRMED: {lifecycle.unconfirmed})" if lifecycle.unconfirmed else ""
    return [
        Problem(
            field,
            value,
            ", ".join(alternatives) or "a current model",
            f"{reason}{note}; {_suggestion(alternatives, purpose, customization_type, student)}",
        )
    ]


def current_alternatives(
    model: ModelInfo,
    *,
    customization_type: str | None = None,
    today: dt.date | None = None,
    purpose: str = NEW_CUSTOMIZATION,
    limit: int = 3,
) -> tuple[str, ...]:
    """Catalog models usable for ``purpose`` today that can replace ``model``.

    Candidates support the customization type (any of the model's when None), take at least the model's
    input modalities and produce the same output. The same provider comes first, then models customizable
    in one of the same regions, then catalog order.
    """
    day = day_or_today(today)
    types = (customization_type,) if customization_type else model.customization_types
    inputs = set(model.input_modalities)
    candidates = [
        m
        for m in all_models()
        if m.model_id != model.model_id
        and usable_for(m.model_id, purpose, day)
        and any(m.supports(t) for t in types)
        and inputs <= set(m.input_modalities)
        and m.output_modalities == model.output_modalities
    ]
    order = {m.model_id: i for i, m in enumerate(all_models())}
    candidates.sort(
        key=lambda m: (
            m.provider != model.provider,
            not set(m.regions) & set(model.regions),
            order[m.model_id],
        )
    )
    return tuple(m.model_id for m in candidates[:limit])


def _teacher_alternatives(model_id: str, student: ModelInfo | None, day: dt.date) -> tuple[str, ...]:
    return tuple(
        t.model_id
        for t in TEACHERS.values()
        if t.model_id != model_id
        and usable_for(t.model_id, TEACHER_USE, day)
        and (student is None or student.model_id in t.students)
    )


def _suggestion(
    alternatives: tuple[str, ...], purpose: str, customization_type: str | None, student: ModelInfo | None
) -> str:
    if purpose == TEACHER_USE:
        if alternatives:
            return f"use a current teacher instead: {' or '.join(alternatives)}"
        taught = f" for {student.model_id}" if student is not None else ""
        return f"no current teacher in the catalog{taught}; fine-tune the student instead"
    kind = f" with {customization_type}" if customization_type else ""
    if alternatives:
        return f"use a current model{kind} instead, e.g. {' or '.join(alternatives)}"
    return f"no current catalog model{kind} takes its place (run `bedrock-customize models`)"


def _lifecycle_subject(model: ModelInfo | Teacher | str) -> tuple[str, str, str]:
    """(value as given, catalog or teacher id, display name) for a model, a teacher or an id."""
    if isinstance(model, ModelInfo | Teacher):
        return model.model_id, model.model_id, model.name
    info = find_model(model)
    if info is not None:
        return model, model, info.name
    ref = parse_teacher(model)
    return model, ref.model_id, ref.teacher.name if ref.teacher is not None else ""

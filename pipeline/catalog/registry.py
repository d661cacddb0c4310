"""The catalog's models, built once from the entries and the teachers' student lists, and looked up.

Every lookup reads ``CATALOG``; a test may install another one (``Catalog.of(entries)``) to show
that a model added as one entry is customizable, planned and priced like the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from pipeline.catalog.entry import ModelEntry, build
from pipeline.catalog.models import ENTRIES
from pipeline.catalog.teachers import TEACHERS, Teacher
from pipeline.catalog.types import ModelInfo, UnknownModelError
from pipeline.problems import close_matches


@dataclass(frozen=True, eq=False)
class Catalog:
    """The built models in catalog order, by customization id and by the id their base is invoked by."""

    models: tuple[ModelInfo, ...]
    by_id: Mapping[str, ModelInfo]
    by_on_demand_id: Mapping[str, ModelInfo]

    @classmethod
    def of(cls, entries: Iterable[ModelEntry], teachers: Iterable[Teacher] | None = None) -> Catalog:
        """Build every entry; a teacher's students decide which models support distillation."""
        taught = teachers if teachers is not None else TEACHERS.values()
        students = MappingProxyType({t.model_id: t.students for t in taught})
        entries = tuple(entries)
        ids = [e.model_id for e in entries]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"the catalog states {', '.join(duplicated)} twice")
        models = tuple(build(entry, students) for entry in entries)
        return cls(
            models,
            MappingProxyType({m.model_id: m for m in models}),
            MappingProxyType({e.on_demand_id: m for e, m in zip(entries, models, strict=True)}),
        )


CATALOG: Catalog = Catalog.of(ENTRIES)

# Views of the entries for readers of the former tables (each fact is stated once, in its entry).
ON_DEMAND_DEPLOYMENT: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {m.model_id: m.on_demand_deployment_regions for m in CATALOG.models if m.on_demand_deployment_regions}
)
BASE_INVOKED_THROUGH_PROFILE: Final = frozenset(
    m.model_id for m in CATALOG.models if m.invoked_through_profile
)


def all_models() -> tuple[ModelInfo, ...]:
    """Every customizable base model, in catalog order."""
    return CATALOG.models


def find_model(model_id: str) -> ModelInfo | None:
    """The catalog model with this customization id, or None."""
    return CATALOG.by_id.get(model_id)


def model_invoked_as(on_demand_id: str) -> ModelInfo | None:
    """The catalog model whose base is invoked by ``on_demand_id`` (``amazon.nova-pro-v1:0``), or None."""
    return CATALOG.by_on_demand_id.get(on_demand_id)


def get_model(model_id: str) -> ModelInfo:
    """The catalog entry for a customization id (with its context suffix, e.g. ``:128k``)."""
    model = CATALOG.by_id.get(model_id)
    if model is not None:
        return model
    raise UnknownModelError(model_id, unknown_model_message(model_id))


def unknown_model_message(model_id: str) -> str:
    # The most common mistake is the on-demand id without the context suffix that customization needs.
    known = CATALOG.by_id
    suffixed = [m for m in known if m.startswith(model_id + ":")]
    if suffixed:
        return (
            f"{model_id!r} is the on-demand model id; customization needs the context-suffixed id: "
            f"{' or '.join(repr(s) for s in suffixed)}"
        )
    matches = close_matches(model_id, known, limit=3)
    hint = f"; did you mean {' or '.join(repr(m) for m in matches)}?" if matches else ""
    return (
        f"unknown base model {model_id!r}{hint} "
        f"(customizable models: run `bedrock-customize models`, or see pipeline/catalog/models/)"
    )

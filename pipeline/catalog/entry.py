"""One catalog entry per base model: everything the pipeline relies on about it, each fact sourced.

An entry states, with no defaults to forget: the regions, the data rules of each customization type
it supports, the hyperparameters, whether (and where) a custom model of it can be deployed on demand,
whether Converse reaches the base only through an inference profile, its lifecycle, and every price
(a ``Price`` with its source and date, or ``Unknown`` with what was searched). A field left out is a
``TypeError`` when the catalog is imported; a field stated without its source or date is named by
``incomplete`` (and fails tests/unit/test_catalog.py).

Distillation is the one thing an entry does not decide: the teachers list their students
(pipeline.catalog.teachers), and a model supports DISTILLATION exactly when one does. The entry only
holds the data rules such a job must meet (``distillation``), which ``build`` adds when it is taught.

To add a base model: write its entry in the family module under pipeline/catalog/models/ (or a new
one listed in models/__init__.py), with the source of each fact; add it to a teacher's students if a
teacher may distil into it. Nothing else in the code needs to know it exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any, Final

from pipeline.catalog.types import (
    CUSTOMIZATION_TYPES,
    DISTILLATION,
    PRICE_UNITS,
    CustomizationRules,
    Fact,
    HyperParameter,
    Lifecycle,
    ModelInfo,
    Price,
    Prices,
    Unknown,
)

# A date as sources give it: a day, a month, or a year.
_DATE_RE: Final = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")
UNDATED: Final = "undated"
_CONTEXT_SUFFIX: Final = re.compile(r":\d+k$")


@dataclass(frozen=True)
class PriceSheet:
    """Every price of a model, each a dated ``Price`` or an ``Unknown`` saying what was searched.

    The fields are those of ``Prices`` with no default: an entry cannot leave a price out by omission.
    """

    training: Price | Unknown
    storage_per_month: Price | Unknown
    pt_no_commit_per_mu_hour: Price | Unknown
    pt_one_month_per_mu_hour: Price | Unknown
    pt_six_month_per_mu_hour: Price | Unknown
    on_demand_input_per_1m_tokens: Price | Unknown
    on_demand_output_per_1m_tokens: Price | Unknown
    deployment_input_per_1m_tokens: Price | Unknown
    deployment_output_per_1m_tokens: Price | Unknown

    @classmethod
    def known(cls, unknown: Unknown, **prices: Price | Unknown) -> PriceSheet:
        """The named prices; every other field explicitly ``unknown`` (one reason for all of them)."""
        names = [f.name for f in fields(cls)]
        extra = set(prices) - set(names)
        if extra:
            raise TypeError(f"not a price of a catalog entry: {', '.join(sorted(extra))}")
        return cls(**{name: prices.get(name, unknown) for name in names})

    def items(self) -> Iterable[tuple[str, Price | Unknown]]:
        return ((f.name, getattr(self, f.name)) for f in fields(self))

    def prices(self) -> Prices:
        """The figures the code prices with: ``None`` where unknown (never zero)."""
        return Prices(**{name: value if isinstance(value, Price) else None for name, value in self.items()})

    def unknowns(self) -> dict[str, Unknown]:
        return {name: value for name, value in self.items() if isinstance(value, Unknown)}


@dataclass(frozen=True, eq=False)
class ModelEntry:
    """A customizable base model as the catalog states it (see the module docstring)."""

    model_id: str  # the customization id, with its context suffix where Bedrock has one (``:128k``)
    name: str
    provider: str
    regions: Fact[tuple[str, ...]]  # where CreateModelCustomizationJob takes this base
    input_modalities: tuple[str, ...]
    output_modalities: tuple[str, ...]
    # The customization types the model supports on its own, in the order they are listed.
    customizations: tuple[CustomizationRules, ...]
    # The data rules of a distillation job with this model as the student; None: none are known, so no
    # teacher may list it. Whether distillation is offered at all is the teachers' fact.
    distillation: CustomizationRules | None
    hyperparameters: tuple[HyperParameter, ...]
    # Regions where a custom model of this base can be deployed on demand; () states it cannot (the
    # model is then evaluated and served on Provisioned Throughput).
    on_demand_deployment_regions: Fact[tuple[str, ...]]
    # Whether Converse reaches the base model only through a cross-Region inference profile.
    invoked_through_profile: Fact[bool]
    lifecycle: Lifecycle
    prices: PriceSheet
    sources: tuple[str, ...]
    # The day the data rules and hyperparameters were last checked against their sources.
    rules_checked: str
    notes: tuple[str, ...] = ()
    unconfirmed: tuple[str, ...] = ()
    # Names the AWS Price List may give the model besides ``name`` (pipeline.pricelist matches
    # products by them; UNCONFIRMED: public code shows usage types like "Nova2.0Lite", "Canvas").
    price_list_names: tuple[str, ...] = ()

    @property
    def on_demand_id(self) -> str:
        """``amazon.nova-micro-v1:0:128k`` -> ``amazon.nova-micro-v1:0``: the id the base is invoked by."""
        return _CONTEXT_SUFFIX.sub("", self.model_id)

    def facts_dict(self) -> dict[str, Any]:
        """The sourced facts and the unknown prices, as JSON (``models --json``)."""
        return {
            "regions": self.regions.to_dict(),
            "onDemandDeploymentRegions": self.on_demand_deployment_regions.to_dict(),
            "baseInvokedThroughProfile": self.invoked_through_profile.to_dict(),
            "rulesChecked": self.rules_checked,
            "unknownPrices": {name: u.to_dict() for name, u in self.prices.unknowns().items()},
        }


def build(entry: ModelEntry, students_of: Mapping[str, tuple[str, ...]]) -> ModelInfo:
    """The ``ModelInfo`` of an entry; ``students_of`` maps each teacher (in catalog order) to its students.

    Raises ``ValueError`` when a teacher lists the model but the entry states no distillation rules.
    """
    teachers = tuple(teacher for teacher, students in students_of.items() if entry.model_id in students)
    rules = {r.customization_type: r for r in entry.customizations}
    if teachers:
        if entry.distillation is None:
            raise ValueError(
                f"{', '.join(teachers)} lists {entry.model_id} as a student, but its catalog entry "
                "states no distillation data rules"
            )
        rules[DISTILLATION] = entry.distillation
    sheet = entry.prices
    # One line per reason a price is UNCONFIRMED, naming the prices it applies to.
    by_note: dict[str, list[str]] = {}
    for name, value in sheet.items():
        if isinstance(value, Price) and value.unconfirmed:
            by_note.setdefault(value.unconfirmed, []).append(_LABELS[name])
    price_notes = tuple(
        f"Price{'s' if len(labels) > 1 else ''} UNCONFIRMED ({', '.join(labels)}): {note}."
        for note, labels in by_note.items()
    )
    return ModelInfo(
        model_id=entry.model_id,
        name=entry.name,
        provider=entry.provider,
        regions=entry.regions.value,
        customizations=MappingProxyType(rules),
        hyperparameters=MappingProxyType({hp.name: hp for hp in entry.hyperparameters}),
        input_modalities=entry.input_modalities,
        output_modalities=entry.output_modalities,
        on_demand_deployment_regions=entry.on_demand_deployment_regions.value,
        invoked_through_profile=entry.invoked_through_profile.value,
        lifecycle=entry.lifecycle,
        distillation_teachers=teachers,
        prices=sheet.prices(),
        notes=entry.notes,
        unconfirmed=entry.unconfirmed + price_notes,
        sources=entry.sources,
        entry=entry,
    )


_LABELS: Final = {
    "training": "training",
    "storage_per_month": "storage",
    "pt_no_commit_per_mu_hour": "no-commitment Provisioned Throughput",
    "pt_one_month_per_mu_hour": "1-month Provisioned Throughput",
    "pt_six_month_per_mu_hour": "6-month Provisioned Throughput",
    "on_demand_input_per_1m_tokens": "on-demand input",
    "on_demand_output_per_1m_tokens": "on-demand output",
    "deployment_input_per_1m_tokens": "on-demand deployment input",
    "deployment_output_per_1m_tokens": "on-demand deployment output",
}

# --------------------------------------------------------------------------------------------------
# Completeness: every fact stated with its source and date, or stated as unknown or UNCONFIRMED
# --------------------------------------------------------------------------------------------------


def incomplete(entry: ModelEntry) -> list[str]:
    """Every statement the entry is missing, in words (empty when the entry is complete)."""
    where = entry.model_id or "an entry without a model id"
    missing: list[str] = []
    for label, text in (("model id", entry.model_id), ("name", entry.name), ("provider", entry.provider)):
        if not text.strip():
            missing.append(f"{where}: no {label}")
    if not entry.sources:
        missing.append(f"{where}: cites no source")
    if not _dated(entry.rules_checked):
        missing.append(f"{where}: rules_checked {entry.rules_checked!r} is not a date")
    if not entry.input_modalities or not entry.output_modalities:
        missing.append(f"{where}: input and output modalities must both be stated")
    for label, fact in (
        ("regions", entry.regions),
        ("on-demand deployment regions", entry.on_demand_deployment_regions),
        ("inference-profile use", entry.invoked_through_profile),
    ):
        missing += [f"{where}: {label} {problem}" for problem in _fact_problems(fact)]
    if not entry.regions.value:
        missing.append(f"{where}: no customization region")
    if set(entry.on_demand_deployment_regions.value) - set(entry.regions.value):
        missing.append(f"{where}: deploys on demand in a region it is not customized in")
    missing += _rules_problems(entry, where)
    missing += _hyperparameter_problems(entry, where)
    missing += _lifecycle_problems(entry.lifecycle, where)
    missing += _price_problems(entry, where)
    return missing


def _dated(text: str) -> bool:
    return bool(_DATE_RE.fullmatch(text))


def _fact_problems(fact: Fact[Any]) -> list[str]:
    problems = []
    if not fact.source.strip():
        problems.append("has no source")
    if fact.as_of == UNDATED:
        if not fact.unconfirmed:
            problems.append("is undated and not marked UNCONFIRMED")
    elif not _dated(fact.as_of):
        problems.append(f"as_of {fact.as_of!r} is not a date")
    if fact.unconfirmed is not None and not fact.unconfirmed.strip():
        problems.append("has an empty UNCONFIRMED note")
    return problems


def _rules_problems(entry: ModelEntry, where: str) -> list[str]:
    problems = []
    stated = [r.customization_type for r in entry.customizations]
    if not stated:
        problems.append(f"{where}: supports no customization type")
    if len(set(stated)) != len(stated):
        problems.append(f"{where}: a customization type is stated twice")
    for rules in entry.customizations:
        if rules.customization_type not in CUSTOMIZATION_TYPES or rules.customization_type == DISTILLATION:
            problems.append(
                f"{where}: {rules.customization_type} is not a type an entry states (distillation "
                "support comes from the teachers; its rules go in 'distillation')"
            )
        if not rules.sources:
            problems.append(f"{where}: the {rules.customization_type} rules cite no source")
    if entry.distillation is not None:
        if entry.distillation.customization_type != DISTILLATION:
            problems.append(
                f"{where}: the distillation rules are typed {entry.distillation.customization_type}"
            )
        if not entry.distillation.sources:
            problems.append(f"{where}: the distillation rules cite no source")
    return problems


def _hyperparameter_problems(entry: ModelEntry, where: str) -> list[str]:
    problems = []
    specs = list(entry.hyperparameters) + [
        hp for rules in entry.customizations for hp in (rules.hyperparameters or {}).values()
    ]
    for hp in specs:
        if not hp.source.strip():
            problems.append(f"{where}: hyperparameter {hp.name} cites no source")
        if hp.type != "enum" and hp.min is None and hp.max is None and not hp.unconfirmed:
            problems.append(f"{where}: hyperparameter {hp.name} has no range and is not marked UNCONFIRMED")
    names = [hp.name for hp in entry.hyperparameters]
    if len(set(names)) != len(names):
        problems.append(f"{where}: a hyperparameter is stated twice")
    return problems


def _lifecycle_problems(lifecycle: Lifecycle, where: str) -> list[str]:
    problems = []
    if not lifecycle.source.strip():
        problems.append(f"{where}: the lifecycle cites no source")
    if lifecycle.checked is None:
        problems.append(f"{where}: the lifecycle has no date it was checked")
    return problems


def _price_problems(entry: ModelEntry, where: str) -> list[str]:
    problems = []
    for name, value in entry.prices.items():
        label = _LABELS[name]
        if isinstance(value, Unknown):
            if not value.reason.strip():
                problems.append(f"{where}: the unknown {label} price says nothing about what was searched")
            if not _dated(value.checked):
                problems.append(f"{where}: the unknown {label} price has no date it was searched")
            continue
        if not value.source.strip():
            problems.append(f"{where}: the {label} price has no source")
        if value.unit not in PRICE_UNITS[name]:
            problems.append(
                f"{where}: the {label} price is in {value.unit!r}; allowed: {', '.join(PRICE_UNITS[name])}"
            )
        if value.as_of == UNDATED:
            if not value.unconfirmed:
                problems.append(f"{where}: the {label} price is undated and not marked UNCONFIRMED")
        elif not _dated(value.as_of):
            problems.append(f"{where}: the {label} price's as_of {value.as_of!r} is not a date")
        if value.source.startswith("[3P]") and not value.unconfirmed:
            problems.append(
                f"{where}: the {label} price is a third party's reading but not marked UNCONFIRMED"
            )
        if not value.value > 0:
            problems.append(
                f"{where}: the {label} price is {value.value}; a price is positive (unknown is Unknown)"
            )
    if not entry.on_demand_deployment_regions.value:
        for name in ("deployment_input_per_1m_tokens", "deployment_output_per_1m_tokens"):
            if isinstance(getattr(entry.prices, name), Price):
                problems.append(f"{where}: prices an on-demand deployment it states it cannot have")
    return problems

"""The catalog as tables: which base models can be customized, how, where, with what data and prices.

Everything comes from pipeline.catalog, the same facts the preflight enforces. A model that is not in
the catalog cannot be customized through this pipeline, which answers "can I fine-tune X?". Models past
end of life, Legacy or no longer offered stay listed, with their lifecycle status and dates as of today
(UTC), so that "why was my spec refused?" has an answer here too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pipeline import catalog, money
from pipeline.catalog import (
    ACTIVE,
    NEW_CUSTOMIZATION,
    TEACHERS,
    ModelInfo,
    Price,
    RecordBounds,
    all_models,
    usable_for,
)
from pipeline.operate import output
from pipeline.operate.errors import InvalidInputError
from pipeline.problems import DASH, close_matches

_TYPE_SHORT = {"FINE_TUNING": "FT", "CONTINUED_PRE_TRAINING": "CPT", "DISTILLATION": "DIST"}


def select(
    models: Sequence[ModelInfo], *, region: str | None, ctype: str | None, query: str | None
) -> list[ModelInfo]:
    chosen = [
        m
        for m in models
        if (region is None or region in m.regions)
        and (ctype is None or m.supports(ctype))
        and (query is None or query.lower() in m.model_id.lower() or query.lower() in m.name.lower())
    ]
    return chosen


def not_customizable(query: str) -> InvalidInputError:
    teacher = TEACHERS.get(query) or next((t for t in TEACHERS.values() if query in t.model_id), None)
    teaching = ""
    if teacher is not None:
        teaching = f"; it can be a distillation teacher for {', '.join(teacher.students)}"
        today = catalog.today_utc()
        if teacher.lifecycle.status(today) != ACTIVE:
            teaching += f" (lifecycle: {teacher.lifecycle.describe(today)}, {teacher.lifecycle.source})"
    matches = close_matches(query, [m.model_id for m in all_models()])
    guess = f"; did you mean {' or '.join(repr(m) for m in matches)}?" if matches else ""
    return InvalidInputError(
        f"{query!r} cannot be customized through this pipeline: it is not a customizable base model in the "
        f"catalog{teaching}{guess}",
        hint="run `bedrock-customize models` for every customizable base model",
    )


def _price(price: Price | None, scale: str = "") -> str:
    if price is None:
        return money.UNKNOWN
    return f"{money.unit_price(price.value)}{scale}"


def _bounds(bounds: RecordBounds) -> str:
    low = f"{bounds.min:,}" if bounds.min is not None else "?"
    high = f"{bounds.max:,}" if bounds.max is not None else "?"
    text = f"{low}{DASH}{high}" + (" (quota)" if bounds.adjustable else "")
    return text + (f" ({bounds.recommended_min:,}+ advised)" if bounds.recommended_min else "")


def _records(model: ModelInfo) -> str:
    return "\n".join(
        f"{_TYPE_SHORT.get(ctype, ctype)}: {_bounds(rules.training_records)}"
        for ctype, rules in model.customizations.items()
    )


def _dates(model: ModelInfo) -> str:
    prices = model.prices
    dates = {
        p.as_of
        for p in (
            prices.training,
            prices.storage_per_month,
            prices.pt_no_commit_per_mu_hour,
            prices.pt_one_month_per_mu_hour,
            prices.pt_six_month_per_mu_hour,
            prices.on_demand_input_per_1m_tokens,
            prices.on_demand_output_per_1m_tokens,
        )
        if p is not None
    }
    return ", ".join(sorted(dates)) or "-"


def lifecycle_cell(model: ModelInfo, today: dt.date) -> str:
    """A model's LIFECYCLE cell: the status as of ``today``, then each published date on its own line."""
    lifecycle = model.lifecycle
    lines = [lifecycle.status(today)]
    for label, day in (
        ("legacy", lifecycle.legacy),
        ("ext. access", lifecycle.public_extended_access),
        ("end of life", lifecycle.end_of_life),
    ):
        if day is not None:
            lines.append(f"{label} {day.isoformat()}")
    if lifecycle.removed_from_guide is not None:
        lines.append(f"unlisted {lifecycle.removed_from_guide.isoformat()}")
    return "\n".join(lines)


def capability_table(models: Sequence[ModelInfo], *, today: dt.date | None = None) -> str:
    day = today or catalog.today_utc()
    rows = [
        [
            m.model_id,
            lifecycle_cell(m, day),
            "\n".join(f"{ctype} ({fmt})" for ctype, fmt in m.data_formats.items()),
            f"{', '.join(m.input_modalities)} -> {', '.join(m.output_modalities)}",
            ", ".join(m.regions),
            _records(m),
        ]
        for m in models
    ]
    return output.table(
        ["MODEL ID", "LIFECYCLE", "CUSTOMIZATION (DATA FORMAT)", "IN -> OUT", "REGIONS", "TRAINING RECORDS"],
        rows,
    )


def price_table(models: Sequence[ModelInfo]) -> str:
    rows = []
    for m in models:
        p = m.prices
        training = _price(p.training)
        if p.training is not None:
            training += " " + p.training.unit.removeprefix("USD ")
        rows.append(
            [
                m.model_id,
                training,
                _price(p.storage_per_month, "/mo"),
                " / ".join(
                    _price(x)
                    for x in (
                        p.pt_no_commit_per_mu_hour,
                        p.pt_one_month_per_mu_hour,
                        p.pt_six_month_per_mu_hour,
                    )
                ),
                f"{_price(p.on_demand_input_per_1m_tokens)} / {_price(p.on_demand_output_per_1m_tokens)}",
                _dates(m),
            ]
        )
    return output.table(
        [
            "MODEL ID",
            "TRAINING",
            "STORAGE",
            "PT PER MU-HOUR (none/1mo/6mo)",
            "ON-DEMAND IN/OUT PER 1M",
            "AS OF",
        ],
        rows,
    )


def render(models: Sequence[ModelInfo], *, total: int, filters: str, today: dt.date | None = None) -> str:
    day = today or catalog.today_utc()
    teachers = ", ".join(
        t.model_id if t.lifecycle.status(day) == ACTIVE else f"{t.model_id} ({t.lifecycle.status(day)})"
        for t in sorted(TEACHERS.values(), key=lambda t: t.model_id)
    )
    usable = sum(1 for m in models if usable_for(m.model_id, NEW_CUSTOMIZATION, day))
    parts = [
        f"Customizable base models{filters}: {len(models)} of {total} in the catalog, "
        f"{usable} of them open to new customization jobs on {day.isoformat()} (UTC)",
        "",
        capability_table(models, today=day),
        "",
        "Known prices in USD from the catalog (possibly stale; 'unknown' = no trusted source, never free; "
        "`estimate` and `check` use the AWS Price List API when your credentials allow)",
        "",
        price_table(models),
        "",
        "A model not listed here cannot be customized through this pipeline. Types a model lacks are not "
        "supported for it\n(e.g. image models take FINE_TUNING only, Claude 3 Haiku has no DISTILLATION).",
        f"Distillation teachers (on-demand ids): {teachers}.",
        "(quota) = a default Service Quotas limit that can be raised.",
        "LIFECYCLE as of today: ACTIVE models take new jobs; LEGACY ones take no new customization job or "
        "Provisioned Throughput\n(existing custom models may still be deployed on demand); END_OF_LIFE ones "
        "are no longer served; NOT_OFFERED ones\nare gone from the user guide's customization tables. "
        "check, start and the workflow refuse all but ACTIVE models.",
        "Everything about one model (hyperparameters, limits, unconfirmed facts): "
        "bedrock-customize models MODEL_ID",
        "What a region offers today, beside the catalog: bedrock-customize models --live --region REGION",
    ]
    return "\n".join(parts) + "\n"


def render_detail(model: ModelInfo, *, today: dt.date | None = None) -> str:
    day = today or catalog.today_utc()
    lifecycle = model.lifecycle
    lifecycle_lines = [lifecycle.describe(day), f"source: {lifecycle.source}"]
    if lifecycle.unconfirmed:
        lifecycle_lines.append(f"UNCONFIRMED: {lifecycle.unconfirmed}")
    pairs: list[tuple[str, Any]] = [
        ("Model", f"{model.model_id} ({model.name}, {model.provider})"),
        (f"Lifecycle ({day.isoformat()})", "\n".join(lifecycle_lines)),
        ("Regions", ", ".join(model.regions)),
        ("Modalities", f"{', '.join(model.input_modalities)} -> {', '.join(model.output_modalities)}"),
    ]
    for ctype, rules in model.customizations.items():
        limits = [
            f"format {rules.data_format}",
            f"training records {rules.training_records.describe()}"
            + (
                f" (at least {rules.training_records.recommended_min:,} advised)"
                if rules.training_records.recommended_min
                else ""
            ),
            "validation "
            + (
                f"records {rules.validation_records.describe()}"
                if rules.validation_allowed
                else "not accepted"
            ),
        ]
        limit = rules.token_limit(None)
        if limit is not None:
            limits.append(f"<= {limit:,} tokens per record")
        pairs.append((ctype, "\n".join(limits)))
    if model.distillation_teachers:
        pairs.append(("Teachers", ", ".join(model.distillation_teachers)))
    pairs.append(
        (
            "Hyperparameters",
            "\n".join(
                f"{hp.name}: {hp.describe_range()} (default {hp.default or 'none'})"
                for hp in model.hyperparameters.values()
            )
            or "none",
        )
    )
    # Customization types with hyperparameters of their own (reinforcement fine-tuning's typed ones).
    pairs += [
        (
            f"Hyperparameters ({ctype})",
            "\n".join(
                f"{hp.name}: {hp.describe_range()} (default {hp.default or 'not documented'})"
                for hp in rules.hyperparameters.values()
            ),
        )
        for ctype, rules in model.customizations.items()
        if rules.hyperparameters is not None
    ]
    p = model.prices
    price_lines = [
        f"{label}: {price.value:g} {price.unit} (as of {price.as_of}, {price.source})"
        if price is not None
        else f"{label}: unknown"
        for label, price in (
            ("training", p.training),
            ("storage", p.storage_per_month),
            ("PT no commitment", p.pt_no_commit_per_mu_hour),
            ("PT 1 month", p.pt_one_month_per_mu_hour),
            ("PT 6 months", p.pt_six_month_per_mu_hour),
            ("on-demand input", p.on_demand_input_per_1m_tokens),
            ("on-demand output", p.on_demand_output_per_1m_tokens),
        )
    ]
    pairs.append(("Prices", "\n".join(price_lines)))
    notes = list(model.notes) + [n for rules in model.customizations.values() for n in rules.notes]
    if notes:
        pairs.append(("Notes", "\n".join(dict.fromkeys(notes))))
    if model.all_unconfirmed():
        pairs.append(("Unconfirmed", "\n".join(dict.fromkeys(model.all_unconfirmed()))))
    return output.key_values(pairs) + "\n"


def models_view(region: str | None, ctype: str | None, query: str | None) -> tuple[list[ModelInfo], int]:
    models = all_models()
    chosen = select(models, region=region, ctype=ctype, query=query)
    if query is not None and not select(models, region=None, ctype=None, query=query):
        raise not_customizable(query)
    return chosen, len(models)

"""`models --live`: what the account's region actually offers for customization, beside the catalog.

``ListFoundationModels(byCustomizationType=...)`` for FINE_TUNING, CONTINUED_PRE_TRAINING and
DISTILLATION (the only values the filter takes [BC]; REINFORCEMENT_FINE_TUNING cannot be listed, so
the catalog's word stands for it) gives, per type, the models the region offers with their
lifecycle status. Differences are flagged both ways: offered by the API but unknown to the catalog
(this pipeline cannot customize them until the catalog learns their rules), and in the catalog but
not offered, or LEGACY, or a lifecycle the two sources disagree on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pipeline import catalog, live
from pipeline.catalog import ACTIVE, END_OF_LIFE, LEGACY, NOT_OFFERED, all_models
from pipeline.operate import output

LISTED_TYPES: Final = ("FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION")
SOURCE: Final = "ListFoundationModels(byCustomizationType)"


def list_offering(bedrock: Any) -> dict[str, list[dict[str, Any]]]:
    """The model summaries the region offers, per listable customization type (three calls)."""
    return {
        ctype: list(bedrock.list_foundation_models(byCustomizationType=ctype).get("modelSummaries") or [])
        for ctype in LISTED_TYPES
    }


@dataclass
class Row:
    model_id: str
    in_catalog: bool
    catalog_types: tuple[str, ...] = ()  # in this region
    catalog_status: str | None = None
    live_types: list[str] = field(default_factory=list)
    live_status: str | None = None
    live_dates: dict[str, str] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "modelId": self.model_id,
            "inCatalog": self.in_catalog,
            "catalogTypes": list(self.catalog_types),
            "catalogLifecycle": self.catalog_status,
            "liveTypes": self.live_types,
            "liveLifecycle": self.live_status,
            "liveLifecycleDates": self.live_dates,
            "differences": self.differences,
        }


@dataclass(frozen=True)
class Offering:
    region: str
    day: dt.date
    rows: tuple[Row, ...]

    @property
    def difference_count(self) -> int:
        return sum(len(r.differences) for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "checkedOn": self.day.isoformat(),
            "source": f"{SOURCE} in {self.region}",
            "listedTypes": list(LISTED_TYPES),
            "notListable": _not_listable(),
            "differenceCount": self.difference_count,
            "models": [r.to_dict() for r in self.rows],
        }

    def render(self) -> str:
        rows = [
            [
                r.model_id,
                "\n".join(r.catalog_types) or ("-" if r.in_catalog else "not in the catalog"),
                (r.catalog_status or "-") if r.in_catalog else "-",
                "\n".join(r.live_types) or "not offered",
                "\n".join([r.live_status or "-", *(f"{k} {v}" for k, v in r.live_dates.items())]),
                "\n".join(r.differences) or "none",
            ]
            for r in self.rows
        ]
        table = output.table(
            ["MODEL ID", "CATALOG TYPES", "CATALOG", "LIVE TYPES", "LIVE LIFECYCLE", "DIFFERENCES"], rows
        )
        unknown = sum(1 for r in self.rows if not r.in_catalog)
        lines = [
            f"Customization offered in {self.region}, per {SOURCE}, on {self.day.isoformat()} (UTC), "
            "beside the catalog",
            "",
            table,
            "",
            f"{self.difference_count} difference(s); {unknown} model(s) offered live but unknown to the "
            "catalog (they cannot be customized through this pipeline until it learns their data rules).",
        ]
        for ctype in _not_listable():
            lines.append(
                f"{ctype} cannot be listed live (ListFoundationModels cannot filter it): the catalog's "
                "word stands for it."
            )
        lines.append(
            "LIVE LIFECYCLE is the API's status; CATALOG is the catalog's status as of today "
            "(`bedrock-customize models MODEL_ID` shows its dates and sources)."
        )
        return "\n".join(lines) + "\n"


def _not_listable() -> list[str]:
    types = {t for m in all_models() for t in m.customization_types}
    return sorted(types - set(live.REPORTED_TYPES))


def compare(
    offered: Mapping[str, Sequence[Mapping[str, Any]]], *, region: str, today: dt.date | None = None
) -> Offering:
    """Catalog and API side by side for ``region``; pure (takes what :func:`list_offering` returns)."""
    day = today or catalog.today_utc()
    rows: dict[str, Row] = {}
    for ctype in LISTED_TYPES:
        for summary in offered.get(ctype) or ():
            model_id = str(summary.get("modelId") or "")
            if not model_id:
                continue
            row = rows.setdefault(model_id, Row(model_id, in_catalog=False))
            if ctype not in row.live_types:
                row.live_types.append(ctype)
            lifecycle = summary.get("modelLifecycle") or {}
            row.live_status = lifecycle.get("status") or row.live_status
            for label, key in (("legacy", "legacyTime"), ("end of life", "endOfLifeTime")):
                value = lifecycle.get(key)
                if value:
                    row.live_dates[label] = _day(value)
    for model in all_models():
        if region not in model.regions and model.model_id not in rows:
            continue
        row = rows.setdefault(model.model_id, Row(model.model_id, in_catalog=True))
        row.in_catalog = True
        row.catalog_types = model.customization_types if region in model.regions else ()
        row.catalog_status = model.lifecycle.status(day)
    for row in rows.values():
        row.differences = _differences(row, region)
    ordered = sorted(rows.values(), key=lambda r: (not r.differences, not r.in_catalog, r.model_id))
    return Offering(region, day, tuple(ordered))


def _differences(row: Row, region: str) -> list[str]:
    if not row.in_catalog:
        return [f"offered live ({', '.join(row.live_types)}) but unknown to the catalog"]
    out = []
    if not row.catalog_types:
        out.append(f"offered live in {region}, but the catalog does not list {region} for it")
    listed = [t for t in row.catalog_types if t in live.REPORTED_TYPES]
    gone = row.catalog_status in (END_OF_LIFE, NOT_OFFERED)
    if not row.live_types and (gone or not listed):
        pass  # both say it cannot be customized here (or the catalog's types cannot be listed live)
    elif not row.live_types:
        out.append(f"in the catalog for {region}, not offered by the API (no listed type)")
    else:
        out += [f"{t} in the catalog, not offered live" for t in listed if t not in row.live_types]
    out += [f"{t} offered live, not in the catalog" for t in row.live_types if t not in row.catalog_types]
    if row.live_status == LEGACY:
        out.append("LEGACY live: no new customization job or Provisioned Throughput")
    if row.live_status and row.catalog_status and row.live_status != row.catalog_status:
        out.append(f"lifecycle differs: catalog {row.catalog_status}, API {row.live_status}")
    elif row.live_types and row.catalog_status not in (None, ACTIVE, LEGACY):
        out.append(f"the catalog says {row.catalog_status}, but the API still offers it")
    return out


def _day(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return output.as_utc(value).date().isoformat()
    return str(value)[:10]

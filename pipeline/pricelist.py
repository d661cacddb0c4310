"""Prices from the AWS Price List Query API, mapped onto the catalog's ``Price``/``Prices`` shape.

``pricing:GetProducts`` (service code ``AmazonBedrock``, endpoint in us-east-1, filtered by
``regionCode``) answers with a ``PriceList``: one JSON document per product, in the documented
shape ``{"product": {"sku", "productFamily", "attributes": {...}}, "serviceCode", "terms":
{"OnDemand": {"<sku>.<offer term>": {"priceDimensions": {"<rate code>": {"unit", "description",
"beginRange", "endRange", "pricePerUnit": {"USD": "0.0010000000"}}}, "effectiveDate", ...}}},
"version", "publicationDate"}``.

This module is pure: it takes those documents (strings or parsed) and returns, per catalog model,
the prices a source knows, each a :class:`pipeline.catalog.Price` that names the Price List API
and the day it was fetched. Calling the API and caching its answer is pipeline.operate.prices'
business. Anything it cannot read with confidence is left out, so the catalog's dated price (or
``unknown``) stands: a price is never guessed and never zero.

How products are recognised (from public code that reads ``AmazonBedrock`` products; the attribute
values are UNCONFIRMED by any AWS document, and a product that does not match stays unknown):

- the ``usagetype`` attribute is ``<region prefix>-<model>-<what>``, e.g.
  ``USE1-NovaMicro-Customization-Training``, ``USE1-NovaMicro-Customization-Storage``,
  ``USE1-Nova2.0Lite-ProvisionedThroughput-NoCommit-ModelUnits`` (``1Month``, ``6Month``);
- on-demand token prices carry ``inferenceType`` ``Input tokens`` / ``Output tokens`` (usage types
  ending in ``input-tokens`` / ``output-tokens``) and a ``model`` attribute (``Nova Micro``); batch,
  cross-Region (global, geo), cache, long-context, flex/priority and reserved variants are skipped;
- a custom model's on-demand deployment is billed under the same usage types with the suffix
  ``-custom-model`` (``USE1-Nova2.0Lite-input-tokens-custom-model``, public code and a published
  reading of 2026-08-02): the catalog's deployment prices;
- units are read from the price dimension's ``unit`` and ``description`` (per 1K or 1M tokens,
  per month, per hour); a unit that cannot be read leaves the price out.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final

from pipeline.catalog import ModelInfo, Price, Prices
from pipeline.catalog.types import (
    PER_1K_TOKENS,
    PER_1M_INPUT,
    PER_1M_OUTPUT,
    PER_IMAGE_SEEN,
    PER_MONTH,
    PER_MU_HOUR,
)
from pipeline.runspec import RunSpec

SERVICE_CODE: Final = "AmazonBedrock"
ENDPOINT_REGION: Final = "us-east-1"
SOURCE: Final = f"AWS Price List API (GetProducts {SERVICE_CODE})"

# The catalog's Prices fields, with the unit each is kept in.
TRAINING: Final = "training"
STORAGE: Final = "storage_per_month"
PT_NONE: Final = "pt_no_commit_per_mu_hour"
PT_ONE_MONTH: Final = "pt_one_month_per_mu_hour"
PT_SIX_MONTHS: Final = "pt_six_month_per_mu_hour"
ON_DEMAND_INPUT: Final = "on_demand_input_per_1m_tokens"
ON_DEMAND_OUTPUT: Final = "on_demand_output_per_1m_tokens"
DEPLOYMENT_INPUT: Final = "deployment_input_per_1m_tokens"
DEPLOYMENT_OUTPUT: Final = "deployment_output_per_1m_tokens"
FIELDS: Final = (
    TRAINING,
    STORAGE,
    PT_NONE,
    PT_ONE_MONTH,
    PT_SIX_MONTHS,
    ON_DEMAND_INPUT,
    ON_DEMAND_OUTPUT,
    DEPLOYMENT_INPUT,
    DEPLOYMENT_OUTPUT,
)
LABELS: Final = {
    TRAINING: "training",
    STORAGE: "storage",
    PT_NONE: "PT no commitment",
    PT_ONE_MONTH: "PT 1 month",
    PT_SIX_MONTHS: "PT 6 months",
    ON_DEMAND_INPUT: "on-demand input",
    ON_DEMAND_OUTPUT: "on-demand output",
    DEPLOYMENT_INPUT: "on-demand deployment input",
    DEPLOYMENT_OUTPUT: "on-demand deployment output",
}
_JSON_KEYS: Final = {
    TRAINING: "training",
    STORAGE: "storagePerMonth",
    PT_NONE: "ptNoCommitPerMuHour",
    PT_ONE_MONTH: "ptOneMonthPerMuHour",
    PT_SIX_MONTHS: "ptSixMonthPerMuHour",
    ON_DEMAND_INPUT: "onDemandInputPer1MTokens",
    ON_DEMAND_OUTPUT: "onDemandOutputPer1MTokens",
    DEPLOYMENT_INPUT: "deploymentInputPer1MTokens",
    DEPLOYMENT_OUTPUT: "deploymentOutputPer1MTokens",
}

_TRAINING_MARK: Final = "-customization-training"
_STORAGE_MARK: Final = "-customization-storage"
_PT_MARK: Final = "-provisionedthroughput"
_COMMITMENTS: Final = ((("nocommit", "no-commit"), PT_NONE), (("1month", "onemonth"), PT_ONE_MONTH))
_SIX_MONTHS: Final = ("6month", "sixmonth")
# A custom model's on-demand deployment is billed under its base model's token usage types with this
# suffix (``USE1-Nova2.0Lite-input-tokens-custom-model``), at a rate of its own.
_DEPLOYMENT_SUFFIX: Final = "-custom-model"
# Usage-type words of on-demand variants that are not the plain in-Region rate.
_NOT_PLAIN: Final = re.compile(
    r"batch|global|(?:^|[-_])geo(?:$|[-_])|cache|lctx|long-?context|flex|priority|reserved|mantle|"
    r"custom|provisioned|tpm",
    re.IGNORECASE,
)
_PROVIDER_WORDS: Final = ("amazon", "meta", "anthropic")
_CONTEXT_SUFFIX: Final = re.compile(r":\d+k$")


def normalize(name: str) -> str:
    """A comparable key: lowercase letters and digits, without provider words and 'instruct'."""
    words = re.findall(r"[a-z]+|\d+", name.lower())
    while words and words[0] in _PROVIDER_WORDS:
        words = words[1:]
    return "".join(w for w in words if w != "instruct")


def model_keys(models: Iterable[ModelInfo]) -> dict[str, str]:
    """Every key a Price List product may name a catalog model by -> the catalog model id.

    A key two models share is dropped: it could not tell them apart.
    """
    seen: dict[str, set[str]] = {}
    for model in models:
        # The entry's other names in the Price List (ModelEntry.price_list_names), UNCONFIRMED.
        names = [model.name, *(model.entry.price_list_names if model.entry is not None else ())]
        keys = {normalize(n) for n in names}
        keys |= {k.replace("vision", "") for k in keys if "vision" in k}
        keys.add(_base_id(model.model_id))
        for key in keys:
            seen.setdefault(key, set()).add(model.model_id)
    return {key: next(iter(ids)) for key, ids in seen.items() if len(ids) == 1 and key}


def _base_id(model_id: str) -> str:
    """``amazon.nova-micro-v1:0:128k`` -> ``amazon.nova-micro-v1:0`` (the on-demand id)."""
    return _CONTEXT_SUFFIX.sub("", model_id).lower()


@dataclass(frozen=True)
class _Reading:
    model_id: str
    field: str
    value: float
    unit: str
    sku: str


@dataclass(frozen=True)
class Parsed:
    """What a set of GetProducts documents says about the catalog's models in one region."""

    region: str
    fetched: str  # YYYY-MM-DD (UTC) the documents were fetched
    prices: Mapping[str, Prices]
    items: int
    unmatched: tuple[str, ...] = ()  # usage types of customization products no catalog model matches
    notes: tuple[str, ...] = ()


def parse(
    documents: Sequence[str | Mapping[str, Any]],
    *,
    region: str,
    fetched: dt.date,
    models: Iterable[ModelInfo],
) -> Parsed:
    """Map GetProducts price documents of ``region`` onto the catalog models' Prices.

    Where several products give the same figure for a model (tiers, duplicates), the highest is
    kept: an estimate that errs, errs on the side of cost.
    """
    keys = model_keys(models)
    readings: dict[tuple[str, str], list[_Reading]] = {}
    unmatched: set[str] = set()
    for raw in documents:
        doc = _load(raw)
        if doc is None:
            continue
        product = doc.get("product") or {}
        attributes = product.get("attributes") or {}
        if not isinstance(attributes, Mapping):
            continue
        item_region = attributes.get("regionCode")
        if item_region and item_region != region:
            continue
        kind = _classify(attributes)
        if kind is None:
            continue
        price_field, names = kind
        model_id = _match(names, attributes, keys)
        if model_id is None:
            if price_field in (TRAINING, STORAGE, PT_NONE, PT_ONE_MONTH, PT_SIX_MONTHS):
                unmatched.add(str(attributes.get("usagetype")))
            continue
        for value, unit in _dimensions(doc, price_field):
            readings.setdefault((model_id, price_field), []).append(
                _Reading(model_id, price_field, value, unit, str(product.get("sku") or ""))
            )
    day = fetched.isoformat()
    source = f"{SOURCE}, {region}"
    per_model: dict[str, dict[str, Price]] = {}
    notes = []
    for (model_id, price_field), found in sorted(readings.items()):
        best = max(found, key=lambda r: r.value)
        values = sorted({r.value for r in found})
        if len(values) > 1:
            notes.append(
                f"{model_id} {LABELS[price_field]}: {len(values)} different prices "
                f"({', '.join(f'{v:g}' for v in values)}); the highest is used"
            )
        per_model.setdefault(model_id, {})[price_field] = Price(best.value, best.unit, day, source)
    return Parsed(
        region=region,
        fetched=day,
        prices={model_id: Prices(**found) for model_id, found in per_model.items()},
        items=len(documents),
        unmatched=tuple(sorted(unmatched)),
        notes=tuple(notes),
    )


def _load(raw: str | Mapping[str, Any]) -> Mapping[str, Any] | None:
    if isinstance(raw, Mapping):
        return raw
    try:
        doc = json.loads(raw)
    except (TypeError, ValueError):
        return None
    return doc if isinstance(doc, Mapping) else None


def _classify(attributes: Mapping[str, Any]) -> tuple[str, list[str]] | None:
    """(Prices field, names the product gives its model) or None for anything else."""
    usage = str(attributes.get("usagetype") or "")
    rest = usage.split("-", 1)[1] if "-" in usage else usage
    lower = rest.lower()
    names = [str(attributes[k]) for k in ("model", "modelId", "titanModel") if attributes.get(k)]
    for mark, price_field in ((_TRAINING_MARK, TRAINING), (_STORAGE_MARK, STORAGE)):
        at = lower.find(mark)
        if at > 0:
            return price_field, [rest[:at], *names]
    at = lower.find(_PT_MARK)
    if at > 0:
        term = lower[at + len(_PT_MARK) :]
        for words, price_field in _COMMITMENTS:
            if any(w in term for w in words):
                return price_field, [rest[:at], *names]
        if any(w in term for w in _SIX_MONTHS):
            return PT_SIX_MONTHS, [rest[:at], *names]
        return None
    if lower.endswith(_DEPLOYMENT_SUFFIX):
        return _classify_deployment(usage, rest[: -len(_DEPLOYMENT_SUFFIX)], names)
    if _NOT_PLAIN.search(usage):
        return None
    inference = str(attributes.get("inferenceType") or "").lower()
    for direction, price_field in (("input", ON_DEMAND_INPUT), ("output", ON_DEMAND_OUTPUT)):
        suffix = f"-{direction}-tokens"
        if lower.endswith(suffix):
            return price_field, [*names, rest[: -len(suffix)]]
        if inference == f"{direction} tokens":
            return price_field, names
    return None


def _classify_deployment(usage: str, rest: str, names: list[str]) -> tuple[str, list[str]] | None:
    """The deployment rate of a ``...-input-tokens-custom-model`` product; None for its variants."""
    if _NOT_PLAIN.search(usage[: -len(_DEPLOYMENT_SUFFIX)]):  # batch, cache, cross-Region...
        return None
    for direction, price_field in (("input", DEPLOYMENT_INPUT), ("output", DEPLOYMENT_OUTPUT)):
        suffix = f"-{direction}-tokens"
        if rest.lower().endswith(suffix):
            return price_field, [*names, rest[: -len(suffix)]]
    return None


def _match(names: Sequence[str], attributes: Mapping[str, Any], keys: Mapping[str, str]) -> str | None:
    """The one catalog model the product names, or None (none, or several disagree)."""
    found = set()
    for name in names:
        key = _base_id(name) if "." in name and ":" in name else normalize(name)
        if key in keys:
            found.add(keys[key])
    return next(iter(found)) if len(found) == 1 else None


def _dimensions(doc: Mapping[str, Any], price_field: str) -> list[tuple[float, str]]:
    """Each OnDemand price dimension of the product as (value, catalog unit); unreadable ones dropped."""
    out = []
    terms = (doc.get("terms") or {}).get("OnDemand") or {}
    for term in terms.values() if isinstance(terms, Mapping) else ():
        dimensions = term.get("priceDimensions") or {} if isinstance(term, Mapping) else {}
        for dimension in dimensions.values():
            if not isinstance(dimension, Mapping):
                continue
            try:
                usd = float(str((dimension.get("pricePerUnit") or {}).get("USD")))
            except (TypeError, ValueError):
                continue
            if not (usd > 0 and math.isfinite(usd)):  # a zero is a free tier or a placeholder
                continue
            converted = _convert(price_field, usd, str(dimension.get("unit") or ""), dimension)
            if converted is not None:
                out.append(converted)
    return out


def _convert(
    price_field: str, usd: float, unit: str, dimension: Mapping[str, Any]
) -> tuple[float, str] | None:
    text = f"{unit} {dimension.get('description') or ''}".lower()
    if price_field in (ON_DEMAND_INPUT, ON_DEMAND_OUTPUT, DEPLOYMENT_INPUT, DEPLOYMENT_OUTPUT):
        per = _tokens_per_unit(text)
        if per is None:
            return None
        direction = "input" if price_field in (ON_DEMAND_INPUT, DEPLOYMENT_INPUT) else "output"
        return _round(usd * 1_000_000 / per), PER_1M_INPUT if direction == "input" else PER_1M_OUTPUT
    if price_field == TRAINING:
        per = _tokens_per_unit(text)
        if per is not None:
            return _round(usd * 1000 / per), PER_1K_TOKENS
        if "image" in text:
            return usd, PER_IMAGE_SEEN
        return None
    if price_field == STORAGE:
        return (usd, PER_MONTH) if re.search(r"\bmonth|\bmo\b", text) else None
    if re.search(r"\bhour|\bhrs?\b", text):
        return usd, PER_MU_HOUR
    return None


def _tokens_per_unit(text: str) -> int | None:
    if "token" not in text:
        return None
    if re.search(r"\b1m\b|million|1,000,000|1000000", text):
        return 1_000_000
    if re.search(r"\b1k\b|thousand|1,000\b|1000\b", text):
        return 1000
    return None


def _round(value: float) -> float:
    return float(f"{value:.10g}")


# --------------------------------------------------------------------------------------------------
# A price book: what a command prices with, and where each figure came from
# --------------------------------------------------------------------------------------------------

LIVE: Final = "live"  # fetched from the API just now
CACHED: Final = "cached"  # a previous fetch, within the cache's max age
STALE: Final = "stale"  # a previous fetch past its max age: the API could not be read again
CATALOG: Final = "catalog"  # offline, or the API could not be read: the catalog's dated prices


@dataclass(frozen=True)
class PriceBook:
    """Live prices where a source knows them, the catalog's elsewhere; and a sentence saying so."""

    region: str
    status: str
    reason: str = ""  # why the catalog's prices (or stale ones) are used
    parsed: Parsed | None = None
    cache_path: str | None = None
    max_age_days: float | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def fetched(self) -> str | None:
        return self.parsed.fetched if self.parsed is not None else None

    def live_prices(self, model_id: str) -> Prices | None:
        return self.parsed.prices.get(model_id) if self.parsed is not None else None

    def prices_for(self, model: ModelInfo) -> Prices:
        """Each figure from the Price List API where it gives one, else the catalog's (or None)."""
        found = self.live_prices(model.model_id)
        if found is None:
            return model.prices
        merged = {
            name: live if (live := getattr(found, name)) is not None else getattr(model.prices, name)
            for name in FIELDS
        }
        return Prices(**merged)

    def priced(self, model: ModelInfo) -> ModelInfo:
        prices = self.prices_for(model)
        return model if prices == model.prices else replace(model, prices=prices)

    def priced_spec(self, spec: RunSpec) -> RunSpec:
        """The spec whose ``model`` carries these prices (for plan.estimate and costs)."""
        model = self.priced(spec.model)
        if model is spec.model:
            return spec
        values = {f.name: getattr(spec, f.name) for f in fields(RunSpec)}
        return PricedRunSpec(**values, priced_model=model)

    def live_fields(self, model_id: str) -> list[str]:
        found = self.live_prices(model_id)
        return [f for f in FIELDS if found is not None and getattr(found, f) is not None]

    def describe(self, model: ModelInfo | None = None) -> str:
        """One line: where this command's prices come from, with the date."""
        catalog = "the catalog's dated prices (each with its own source and date)"
        if self.status == CATALOG:
            return f"{catalog}: {self.reason}"
        origin = f"{SOURCE}, {self.region}, fetched {self.fetched}"
        if self.status == STALE:
            origin += f" (older than the {self.max_age_days:g}-day cache limit: {self.reason})"
        elif self.status == CACHED:
            origin += f" (cached in {self.cache_path}, kept {self.max_age_days:g} days)"
        if model is None:
            return origin
        found = self.live_fields(model.model_id)
        if not found:
            return f"{catalog}: the {origin} has no price it can read for {model.model_id}"
        rest = [f for f in FIELDS if f not in found]
        from_catalog = [LABELS[f] for f in rest if getattr(model.prices, f) is not None]
        unknown = [LABELS[f] for f in rest if getattr(model.prices, f) is None]
        return (
            f"{origin} for {', '.join(LABELS[f] for f in found)}"
            + (f"; the catalog's dated price for {', '.join(from_catalog)}" if from_catalog else "")
            + (f"; unknown (no source): {', '.join(unknown)}" if unknown else "")
        )

    def to_dict(self, model: ModelInfo | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "status": self.status,
            "source": SOURCE if self.status != CATALOG else "catalog",
            "region": self.region,
            "fetched": self.fetched,
            "reason": self.reason or None,
            "cachePath": self.cache_path,
            "maxAgeDays": self.max_age_days,
            "warnings": list(self.warnings),
            "description": self.describe(model),
        }
        if model is not None:
            doc["liveFields"] = [_JSON_KEYS[f] for f in self.live_fields(model.model_id)]
        return doc


@dataclass(frozen=True)
class PricedRunSpec(RunSpec):
    """A run spec whose base model carries prices other than the catalog's (live ones)."""

    priced_model: ModelInfo | None = field(default=None, compare=False, repr=False)

    @property
    def model(self) -> ModelInfo:
        return self.priced_model if self.priced_model is not None else super().model


# --------------------------------------------------------------------------------------------------
# The on-disk form (pipeline.operate.prices caches a Parsed)
# --------------------------------------------------------------------------------------------------


def to_json(parsed: Parsed) -> dict[str, Any]:
    return {
        "version": 1,
        "source": SOURCE,
        "endpointRegion": ENDPOINT_REGION,
        "region": parsed.region,
        "fetched": parsed.fetched,
        "items": parsed.items,
        "prices": {
            model_id: {_JSON_KEYS[f]: getattr(p, f).to_dict() for f in FIELDS if getattr(p, f) is not None}
            for model_id, p in parsed.prices.items()
        },
        "unmatched": list(parsed.unmatched),
        "notes": list(parsed.notes),
    }


def from_json(doc: Any) -> Parsed | None:
    """A cached Parsed, or None when the document is not one (then it is fetched again)."""
    try:
        if doc.get("version") != 1:
            return None
        dt.date.fromisoformat(doc["fetched"])
        prices = {
            str(model_id): Prices(
                **{
                    f: Price(float(p["value"]), str(p["unit"]), str(p["asOf"]), str(p["source"]))
                    for f in FIELDS
                    if (p := found.get(_JSON_KEYS[f])) is not None
                }
            )
            for model_id, found in doc["prices"].items()
        }
        return Parsed(
            region=str(doc["region"]),
            fetched=str(doc["fetched"]),
            prices=prices,
            items=int(doc.get("items") or 0),
            unmatched=tuple(str(u) for u in doc.get("unmatched") or ()),
            notes=tuple(str(n) for n in doc.get("notes") or ()),
        )
    except (AttributeError, KeyError, TypeError, ValueError):
        return None

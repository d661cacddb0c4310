"""Live Bedrock prices for the CLI: the AWS Price List Query API, cached on disk, the catalog offline.

``pricing:GetProducts`` (service code ``AmazonBedrock``; the API's endpoint is in us-east-1 whatever
the run's region) is read for the run's region when the current credentials allow, mapped onto the
catalog's prices by :mod:`pipeline.pricelist`, and kept in
``~/.cache/bedrock-customize/prices-<region>.json`` (``$BEDROCK_CUSTOMIZE_CACHE_DIR`` overrides the
folder, ``$XDG_CACHE_HOME`` is honoured) with the day it was fetched. A cache younger than
``$BEDROCK_CUSTOMIZE_PRICE_MAX_AGE_DAYS`` (default 7) is used as it is; an older one is fetched
again. Offline (``--offline``, ``BEDROCK_CUSTOMIZE_OFFLINE``, no credentials) the catalog's dated
prices are used. When the API cannot be read (no ``pricing:GetProducts`` permission, throttling,
no network), a stale cache or the catalog is used and the command says so: prices only inform, so
this never fails a command, but it is never silent either.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Final

from pipeline import costs, pricelist
from pipeline.catalog import all_models
from pipeline.datasets import PreflightReport
from pipeline.operate import aws, output
from pipeline.operate.errors import describe_aws_error
from pipeline.pricelist import CACHED, CATALOG, LIVE, STALE, PriceBook
from pipeline.runspec import RunSpec

CACHE_DIR_ENV: Final = "BEDROCK_CUSTOMIZE_CACHE_DIR"
MAX_AGE_ENV: Final = "BEDROCK_CUSTOMIZE_PRICE_MAX_AGE_DAYS"
DEFAULT_MAX_AGE_DAYS: Final = 7.0
PAGE_SIZE: Final = 100
# A region's Bedrock products fit in a few dozen pages; the cap bounds a runaway pagination.
MAX_PAGES: Final = 200


def cache_dir() -> Path:
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bedrock-customize"


def cache_path(region: str) -> Path:
    return cache_dir() / f"prices-{region}.json"


def max_age_days() -> float:
    text = os.environ.get(MAX_AGE_ENV, "")
    try:
        value = float(text) if text else DEFAULT_MAX_AGE_DAYS
    except ValueError:
        return DEFAULT_MAX_AGE_DAYS
    return max(value, 0.0)


def fetch(pricing: Any, region: str) -> tuple[list[Any], bool]:
    """Every AmazonBedrock price document of ``region`` (and whether pagination finished)."""
    documents: list[Any] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        request: dict[str, Any] = {
            "ServiceCode": pricelist.SERVICE_CODE,
            "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}],
            "FormatVersion": "aws_v1",
            "MaxResults": PAGE_SIZE,
        }
        if token:
            request["NextToken"] = token
        page = pricing.get_products(**request)
        documents += page.get("PriceList") or []
        token = page.get("NextToken")
        if not token:
            return documents, True
    return documents, False


def read_cache(region: str) -> pricelist.Parsed | None:
    path = cache_path(region)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    parsed = pricelist.from_json(doc)
    return parsed if parsed is not None and parsed.region == region else None


def write_cache(parsed: pricelist.Parsed) -> str | None:
    """Write the cache atomically; a warning when it cannot be written (the prices still count)."""
    path = cache_path(parsed.region)
    temporary: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, prefix=path.name, suffix=".tmp", delete=False
        ) as handle:
            temporary = Path(handle.name)
            json.dump(pricelist.to_json(parsed), handle, indent=2)
        temporary.replace(path)
    except OSError as exc:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        return f"the price cache {path} could not be written ({exc}); the next command fetches again"
    return None


def _age_days(fetched: str, today: dt.date) -> float:
    return float((today - dt.date.fromisoformat(fetched)).days)


def load(region: str, *, offline: bool = False, today: dt.date | None = None) -> PriceBook:
    """The prices a command uses for ``region``: live, cached, stale or the catalog's (see module doc)."""
    reason = aws.offline_reason(requested=offline)
    if reason is not None:
        return PriceBook(region, CATALOG, reason=f"offline ({reason})")
    day = today or dt.datetime.now(dt.UTC).date()
    limit = max_age_days()
    path = str(cache_path(region))
    cached = read_cache(region)
    if cached is not None and _age_days(cached.fetched, day) < limit:
        return PriceBook(region, CACHED, parsed=cached, cache_path=path, max_age_days=limit)
    output.note(
        f"reading Bedrock prices for {region} from the AWS Price List API (kept {limit:g} days in {path}) ..."
    )
    try:
        documents, complete = fetch(aws.Clients(pricelist.ENDPOINT_REGION)("pricing"), region)
    except Exception as exc:
        described = describe_aws_error(exc)
        if described is None:
            raise
        why = _unreadable(exc, described.message, described.hint)
        # Not printed here: every command shows the book's one line on where its prices come from
        # (PriceBook.describe), which carries this reason; printing it here too said it twice.
        if cached is not None:
            return PriceBook(region, STALE, reason=why, parsed=cached, cache_path=path, max_age_days=limit)
        return PriceBook(region, CATALOG, reason=why)
    parsed = pricelist.parse(documents, region=region, fetched=day, models=all_models())
    warnings = list(parsed.notes)
    if not complete:
        warnings.append(f"stopped after {MAX_PAGES} pages of GetProducts: prices not found are the catalog's")
    problem = write_cache(parsed)
    if problem:
        warnings.append(problem)
    for warning in warnings:
        output.note(f"warning: {warning}")
    return PriceBook(
        region, LIVE, parsed=parsed, cache_path=path, max_age_days=limit, warnings=tuple(warnings)
    )


def _unreadable(exc: BaseException, message: str, hint: str | None) -> str:
    """Why the Price List API could not be read, with the advice that applies to prices.

    A refusal is about ``pricing:GetProducts`` alone: the generic advice on --env/--region and the
    pipeline's operator permissions does not apply (the Price List API is not the pipeline's).
    """
    from pipeline.operate.errors import DENIED_CODES, error_code

    if error_code(exc) in DENIED_CODES:
        detail = str(getattr(exc, "response", {}).get("Error", {}).get("Message") or "").strip()
        return (
            f"the Price List API refused GetProducts ({error_code(exc)}"
            + (f": {detail}" if detail else "")
            + "); live prices need pricing:GetProducts"
        )
    return (
        f"the Price List API could not be read ({message}; {hint})"
        if hint
        else (f"the Price List API could not be read ({message})")
    )


def reprice_report(report: PreflightReport, spec: RunSpec, book: PriceBook) -> None:
    """Put the book's prices into a preflight report's training cost and approval decision."""
    if book.live_prices(spec.model.model_id) is None:
        return
    priced = book.priced_spec(spec)
    model = priced.model
    for dataset in report.datasets:
        if dataset.role == "training":
            dataset.training_cost = costs.training_cost(model, dataset.estimated_tokens, dataset.epochs)
            report.training_cost = dataset.training_cost
    report.approval = costs.approval_decision(priced)

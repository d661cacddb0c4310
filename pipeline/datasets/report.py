"""What validating one dataset found: findings (errors, warnings), counts and the dataset report.

The lowest layer of dataset validation: :mod:`pipeline.datasets.scan` fills a ``DatasetReport``
while it reads; :mod:`pipeline.datasets` gathers reports into the run's preflight report.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from pipeline.catalog import (
    EVALUATION_PROMPTS,
    TEACHER_EVALUATION_PROMPTS,
    CustomizationRules,
    RecordBounds,
)
from pipeline.costs import (
    CostEstimate,
)
from pipeline.datasets import sources
from pipeline.datasets.records import (
    ERROR,
    LIMIT_BYTES_PER_TOKEN,
    PLANNING_CHARS_PER_TOKEN,
    TOKEN_METHOD,
    planning_tokens,
)
from pipeline.datasets.sources import (
    is_s3,
)

TRAINING: Final = "training"
VALIDATION: Final = "validation"
PROMPTS: Final = "prompts"
ROLES: Final = (TRAINING, VALIDATION, PROMPTS)

# No model accepts records anywhere near this long; longer lines are skipped, not held in memory.
MAX_LINE_BYTES: Final = 8 * 1024 * 1024
DEFAULT_DUPLICATE_TRACKING: Final = 100_000
DEFAULT_MAX_ERRORS: Final = 20
SUMMARY_LIMIT: Final = 900

BOM: Final = b"\xef\xbb\xbf"
LINE_BITS: Final = 40
HEAD_BYTES: Final = 64 * 1024

# Rules for the evaluation prompts file: {"prompt", "reference"} records, at least one.
EVALUATION_RULES: Final = CustomizationRules(
    customization_type="EVALUATION",
    data_format=EVALUATION_PROMPTS,
    validation_allowed=False,
    training_records=RecordBounds(1, None),
    hyperparameters_allowed=False,
)
# evaluation.references=teacher: {"prompt"} records, a reference optional (the teacher's answer is it).
TEACHER_EVALUATION_RULES: Final = replace(EVALUATION_RULES, data_format=TEACHER_EVALUATION_PROMPTS)


@dataclass(frozen=True)
class Finding:
    """One problem (or warning) at a place: ``file:line: field: problem``."""

    file: str
    line: int | None
    field: str
    problem: str
    kind: str
    severity: str = ERROR

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.field}: {self.problem}" if self.field else f"{where}: {self.problem}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "problem": self.problem,
            "kind": self.kind,
            "severity": self.severity,
            "message": str(self),
        }


class Findings:
    """Keeps the first ``limit`` errors and warnings in full and counts all of them per kind."""

    def __init__(self, limit: int) -> None:
        self.limit = max(0, limit)
        self.errors: list[Finding] = []
        self.warnings: list[Finding] = []
        self.error_counts: Counter[str] = Counter()
        self.warning_counts: Counter[str] = Counter()

    def add(
        self, file: str, line: int | None, field_name: str, problem: str, kind: str, severity: str = ERROR
    ) -> None:
        if severity == ERROR:
            self.error_counts[kind] += 1
            if len(self.errors) < self.limit:
                self.errors.append(Finding(file, line, field_name, problem, kind, severity))
        else:
            self.warning_counts[kind] += 1
            if len(self.warnings) < self.limit:
                self.warnings.append(Finding(file, line, field_name, problem, kind, severity))


@dataclass
class DatasetReport:
    """What one dataset holds and everything wrong with it."""

    location: str
    role: str
    model_id: str
    customization_type: str
    data_format: str
    files: list[str] = field(default_factory=list)
    bytes: int = 0
    records: int = 0
    valid_records: int = 0
    blank_lines: int = 0
    characters: int = 0
    images: int = 0
    videos: int = 0
    duplicates: int = 0
    duplicate_tracking_stopped_after: int | None = None
    epochs: int | None = None
    training_cost: CostEstimate | None = None
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    error_counts: dict[str, int] = field(default_factory=dict)
    warning_counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def error_count(self) -> int:
        return sum(self.error_counts.values())

    @property
    def warning_count(self) -> int:
        return sum(self.warning_counts.values())

    @property
    def estimated_tokens(self) -> int:
        """AWS's planning estimate (characters ÷ 6); used for cost."""
        return planning_tokens(self.characters)

    @property
    def estimated_tokens_high(self) -> int:
        """The same text at 3 characters per token (AWS's Claude validator figure): a high estimate."""
        return -(-self.characters // LIMIT_BYTES_PER_TOKEN)

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "role": self.role,
            "modelId": self.model_id,
            "customizationType": self.customization_type,
            "format": self.data_format,
            "files": list(self.files),
            "ok": self.ok,
            "records": self.records,
            "validRecords": self.valid_records,
            "blankLines": self.blank_lines,
            "bytes": self.bytes,
            "characters": self.characters,
            "estimatedTokens": self.estimated_tokens,
            "estimatedTokensHigh": self.estimated_tokens_high,
            "images": self.images,
            "videos": self.videos,
            "duplicates": self.duplicates,
            "duplicateTrackingStoppedAfter": self.duplicate_tracking_stopped_after,
            "epochs": self.epochs,
            "estimatedTrainingCostUsd": round(self.training_cost.usd, 6) if self.training_cost else None,
            "costBasis": self.training_cost.basis if self.training_cost else None,
            "errorCount": self.error_count,
            "warningCount": self.warning_count,
            "errorCounts": dict(self.error_counts),
            "warningCounts": dict(self.warning_counts),
            "errors": [f.to_dict() for f in self.errors],
            "warnings": [f.to_dict() for f in self.warnings],
            "notes": list(self.notes),
            "tokenMethod": TOKEN_METHOD,
        }

    def render_text(self) -> str:
        status = "ok" if self.ok else "INVALID"
        lines = [
            f"{self.role} {self.location} [{status}]",
            f"  format {self.data_format} for {self.model_id} ({self.customization_type})",
            f"  {self.records:,} records ({self.valid_records:,} valid), "
            f"{self.blank_lines:,} blank line{plural_s(self.blank_lines)}, {size_text(self.bytes)}, "
            f"{self.characters:,} characters",
            f"  ~{self.estimated_tokens:,} tokens (characters/{PLANNING_CHARS_PER_TOKEN}; up to "
            f"~{self.estimated_tokens_high:,} at {LIMIT_BYTES_PER_TOKEN} characters/token)",
        ]
        if self.images or self.videos:
            lines.append(f"  {self.images:,} images, {self.videos:,} videos referenced (not downloaded)")
        if self.duplicates:
            lines.append(f"  {self.duplicates:,} duplicate record{plural_s(self.duplicates)}")
        if self.duplicate_tracking_stopped_after is not None:
            lines.append(
                f"  duplicate detection stopped after {self.duplicate_tracking_stopped_after:,} records"
            )
        if self.role == TRAINING:
            lines.append(
                "  estimated training cost: "
                + (
                    "unknown (reinforcement fine-tuning is not billed per token x epoch)"
                    if self.customization_type == "REINFORCEMENT_FINE_TUNING"
                    else cost_text(self.training_cost, self.epochs)
                )
            )
        lines += render_findings("errors", self.errors, self.error_counts)
        lines += render_findings("warnings", self.warnings, self.warning_counts)
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def summary(self) -> str:
        if self.ok:
            return f"VALID: {self.location}: {self.records:,} records, ~{self.estimated_tokens:,} tokens"
        first = f" ({self.errors[0]})" if self.errors else ""
        return clip(
            f"INVALID: {self.error_count:,} error{plural_s(self.error_count)} in {self.location}{first}"
        )


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def client_for(locations: Sequence[str], s3_client: Any | None) -> Any | None:
    """The given client, or one default client shared by every S3 location of a run (None if none)."""
    if s3_client is None and any(is_s3(location) for location in locations):
        return sources.default_s3_client()
    return s3_client


def within(count: int, bounds: RecordBounds) -> bool:
    return (bounds.min is None or count >= bounds.min) and (bounds.max is None or count <= bounds.max)


def json_error(exc: ValueError) -> str:
    """What is wrong with a line's JSON, and where; a record cut short is said to be cut short
    (the decoder's own column there is where the unfinished value began, e.g. column 1)."""
    if not isinstance(exc, json.JSONDecodeError):
        return str(exc)
    # The decoder's messages end "... starting at" / "... at": the column follows here, once.
    message = exc.msg.removesuffix(" starting at").removesuffix(" at")
    doc = exc.doc if isinstance(exc.doc, str) else ""
    end = len(doc.rstrip())
    if exc.msg.startswith("Unterminated string"):
        return (
            f"{message} from column {exc.colno} to the end of the line (column {end}): "
            "the record is cut short, or a quote is missing"
        )
    if end and exc.pos >= end:
        return f"the line ends at column {end} before the record's JSON is complete ({message}): cut short?"
    return f"{message} at column {exc.colno}"


def json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a boolean" if isinstance(value, bool) else "a number"


def plural_s(count: int) -> str:
    return "" if count == 1 else "s"


@dataclass(frozen=True)
class TokenCheck:
    """One per-record token limit and the record's two estimates against it."""

    what: str
    limit: int | None
    optimistic: int
    conservative: int
    characters: int
    utf8_bytes: int
    images: int

    def basis(self, per_image: int, *, conservative: bool) -> str:
        """How an estimate was made, e.g. "103,000 characters ÷ 6 + 2 images x 1,601"."""
        if conservative:
            text = f"{self.utf8_bytes:,} UTF-8 bytes ÷ {LIMIT_BYTES_PER_TOKEN}"
        else:
            text = f"{self.characters:,} characters ÷ {PLANNING_CHARS_PER_TOKEN}"
        if self.images and per_image:
            text += f" + {self.images} image{plural_s(self.images)} x {per_image:,}"
        return text


def segment_label(what: str) -> str:
    """The sentence opening of a token finding: the whole record, or its input or output."""
    return "" if what.startswith("tokens per record") else what.split()[0] + " "


def size_text(size: int) -> str:
    """Decimal units, like the limits in the Bedrock guides."""
    if size < 1000:
        return f"{size:,} bytes"
    value, unit = size / 1e3, "kB"
    if value >= 1000:
        value, unit = size / 1e6, "MB"
    if value >= 1000:
        value, unit = size / 1e9, "GB"
    return f"{value:,.1f} {unit}"


def clip(text: str) -> str:
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 3] + "..."


def cost_text(cost: CostEstimate | None, epochs: int | None) -> str:
    if cost is not None:
        return str(cost)
    if epochs is None:
        return "unknown (no epoch count)"
    return "unknown (no training price for this model in the catalog)"


def render_findings(title: str, items: list[Finding], counts: Mapping[str, int]) -> list[str]:
    total = sum(counts.values())
    if not total:
        return []
    per_kind = ", ".join(f"{kind} x{n:,}" for kind, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    lines = [f"  {title}: {total:,} ({per_kind})"]
    lines += [f"    {f}" for f in items]
    if total > len(items):
        lines.append(f"    ... and {total - len(items):,} more (counted per kind above)")
    return lines

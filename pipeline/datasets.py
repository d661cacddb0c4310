"""Streaming dataset validation and the preflight report, shared by the CLI and the workflow Lambda.

``validate_dataset`` reads one dataset (a local file, an S3 object or an S3 prefix) line by line
with constant memory and checks it against the catalog rules of a (model, customization type) pair.
``preflight``/``validate_run`` validate a whole run spec plus all its datasets, including the rules
that span files (e.g. training + validation record totals).

Memory stays bounded whatever the file size:
- lines are read with a length cap (``MAX_LINE_BYTES``); longer lines are skipped in chunks;
- only the first ``max_errors`` findings are kept in full, the rest are counted per kind;
- duplicate detection keeps one 64-bit hash per record (about 100 bytes each in a dict, with the
  line it was first seen on) and stops once the model's maximum record count is exceeded (at most
  ``DEFAULT_DUPLICATE_TRACKING`` records when no maximum is documented): past that point the file
  is invalid on count anyway. Duplicates are exact duplicate lines; they are reported as warnings
  because Bedrock accepts them (some datasets repeat records on purpose).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Final

from pipeline import graders, sources
from pipeline.catalog import (
    EVALUATION_PROMPTS,
    NEW_CUSTOMIZATION,
    CustomizationRules,
    ModelInfo,
    RecordBounds,
    get_model,
    lifecycle_problems,
)
from pipeline.costs import (
    ApprovalDecision,
    CostEstimate,
    approval_decision,
    epochs_for,
    format_usd,
    training_cost,
)
from pipeline.formats import (
    ERROR,
    FORMATS,
    LIMIT_BYTES_PER_TOKEN,
    NOVA_PATH_RE,
    OUTPUT,
    PLANNING_CHARS_PER_TOKEN,
    TOKEN_METHOD,
    WARNING,
    RecordContext,
    RecordFormat,
    RecordScratch,
    check_record,
    limit_tokens,
    planning_tokens,
    s3_uri_problem,
    utf8_len,
)
from pipeline.problems import Problem
from pipeline.runspec import ParsedRunSpec, RunSpec, parse_run_spec
from pipeline.sources import (
    DatasetObject,
    compressed_kind,
    has_compressed_suffix,
    is_s3,
    open_object,
    resolve,
    split_s3,
)

__all__ = [
    "DatasetReport",
    "Finding",
    "PreflightReport",
    "preflight",
    "validate_dataset",
    "validate_files",
    "validate_run",
]

TRAINING: Final = "training"
VALIDATION: Final = "validation"
PROMPTS: Final = "prompts"
ROLES: Final = (TRAINING, VALIDATION, PROMPTS)

# No model accepts records anywhere near this long; longer lines are skipped, not held in memory.
MAX_LINE_BYTES: Final = 8 * 1024 * 1024
DEFAULT_DUPLICATE_TRACKING: Final = 100_000
DEFAULT_MAX_ERRORS: Final = 20
SUMMARY_LIMIT: Final = 900

_BOM: Final = b"\xef\xbb\xbf"
_LINE_BITS: Final = 40
_HEAD_BYTES: Final = 64 * 1024

# Rules for the evaluation prompts file: {"prompt", "reference"} records, at least one.
EVALUATION_RULES: Final = CustomizationRules(
    customization_type="EVALUATION",
    data_format=EVALUATION_PROMPTS,
    validation_allowed=False,
    training_records=RecordBounds(1, None),
    hyperparameters_allowed=False,
)


def _reject_constant(name: str) -> Any:
    raise ValueError(
        f"{name} is not valid JSON (RFC 8259); Python's parser accepts it, strict parsers do not"
    )


# One decoder for every line: json.loads() with keyword arguments would build a new one per call.
_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)
# The C scanner behind JSONDecoder.decode(), called directly: decode() adds two whitespace regex
# matches per call, which cost a third of the parse time on typical records. Lines it cannot take
# as they are go through decode() for the exact error.
_SCAN_JSON: Final = _DECODER.scan_once  # type: ignore[attr-defined]


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


class _Findings:
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
            f"{self.blank_lines:,} blank line{_s(self.blank_lines)}, {_size(self.bytes)}, "
            f"{self.characters:,} characters",
            f"  ~{self.estimated_tokens:,} tokens (characters/{PLANNING_CHARS_PER_TOKEN}; up to "
            f"~{self.estimated_tokens_high:,} at {LIMIT_BYTES_PER_TOKEN} characters/token)",
        ]
        if self.images or self.videos:
            lines.append(f"  {self.images:,} images, {self.videos:,} videos referenced (not downloaded)")
        if self.duplicates:
            lines.append(f"  {self.duplicates:,} duplicate record{_s(self.duplicates)}")
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
                    else _cost_text(self.training_cost, self.epochs)
                )
            )
        lines += _render_findings("errors", self.errors, self.error_counts)
        lines += _render_findings("warnings", self.warnings, self.warning_counts)
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def summary(self) -> str:
        if self.ok:
            return f"VALID: {self.location}: {self.records:,} records, ~{self.estimated_tokens:,} tokens"
        first = f" ({self.errors[0]})" if self.errors else ""
        return _clip(f"INVALID: {self.error_count:,} error{_s(self.error_count)} in {self.location}{first}")


@dataclass
class PreflightReport:
    """The verdict on a whole run: its spec, every dataset, and the rules that span files."""

    spec: dict[str, Any] | None
    spec_source: str
    spec_problems: list[Problem] = field(default_factory=list)
    datasets: list[DatasetReport] = field(default_factory=list)
    run_findings: list[Finding] = field(default_factory=list)
    model_id: str | None = None
    customization_type: str | None = None
    epochs: int | None = None
    training_cost: CostEstimate | None = None
    approval: ApprovalDecision | None = None
    # Reinforcement fine-tuning: the grader's dry call (pipeline.graders.DryRunReport + its ARN).
    grader: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def error_count(self) -> int:
        run_errors = sum(1 for f in self.run_findings if f.severity == ERROR)
        return len(self.spec_problems) + run_errors + sum(d.error_count for d in self.datasets)

    @property
    def warning_count(self) -> int:
        run_warnings = sum(1 for f in self.run_findings if f.severity == WARNING)
        return run_warnings + sum(d.warning_count for d in self.datasets)

    @property
    def errors(self) -> list[Finding]:
        """Spec problems, cross-file errors, then each dataset's first errors."""
        spec = [Finding(self.spec_source, None, p.field, p.message, "spec") for p in self.spec_problems]
        run = [f for f in self.run_findings if f.severity == ERROR]
        return spec + run + [f for d in self.datasets for f in d.errors]

    @property
    def warnings(self) -> list[Finding]:
        run = [f for f in self.run_findings if f.severity == WARNING]
        return run + [f for d in self.datasets for f in d.warnings]

    def totals(self) -> dict[str, Any]:
        data = [d for d in self.datasets if d.role in (TRAINING, VALIDATION)]
        training_chars = sum(d.characters for d in data if d.role == TRAINING)
        return {
            "records": sum(d.records for d in data),
            "characters": sum(d.characters for d in data),
            "estimatedTokens": sum(d.estimated_tokens for d in data),
            "trainingTokens": planning_tokens(training_chars),
            "epochs": self.epochs,
            "estimatedTrainingCostUsd": round(self.training_cost.usd, 6) if self.training_cost else None,
            "costBasis": self.training_cost.basis if self.training_cost else None,
        }

    def files_with_errors(self) -> int:
        files = {f.file for f in self.run_findings if f.severity == ERROR}
        if self.spec_problems:
            files.add(self.spec_source)
        files.update(d.location for d in self.datasets if not d.ok)
        return len(files)

    def summary(self) -> str:
        if self.ok:
            totals = self.totals()
            files = len(self.datasets)
            cost = self.training_cost
            cost_text = f"est. training cost {format_usd(cost.usd)}" if cost else "training cost unknown"
            return _clip(
                f"VALID: {files} file{_s(files)}, {totals['records']:,} "
                f"records, ~{totals['estimatedTokens']:,} tokens, "
                f"{cost_text}"
                + (f", {self.warning_count:,} warning{_s(self.warning_count)}" if self.warning_count else "")
            )
        count = self.error_count
        files = self.files_with_errors()
        first = self.errors[0] if self.errors else None
        return _clip(
            f"INVALID: {count:,} error{_s(count)} in {files} file{_s(files)}"
            + (f" ({first})" if first else "")
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "summary": self.summary(),
            "specSource": self.spec_source,
            "spec": self.spec,
            "modelId": self.model_id,
            "customizationType": self.customization_type,
            "errorCount": self.error_count,
            "warningCount": self.warning_count,
            "errors": [f.to_dict() for f in self.errors],
            "specProblems": [p.to_dict() for p in self.spec_problems],
            "runFindings": [f.to_dict() for f in self.run_findings],
            "datasets": [d.to_dict() for d in self.datasets],
            "totals": self.totals(),
            "approval": self.approval.to_dict() if self.approval else None,
            "grader": self.grader,
            "tokenMethod": TOKEN_METHOD,
        }

    def render_text(self) -> str:
        header = "PREFLIGHT " + ("PASSED" if self.ok else "FAILED")
        lines = [header, self.summary(), ""]
        if self.spec_problems:
            lines.append(
                f"{self.spec_source}: {len(self.spec_problems)} problem{_s(len(self.spec_problems))}"
            )
            lines += [f"  {self.spec_source}: {p}" for p in self.spec_problems]
            lines.append("")
        if self.run_findings:
            lines.append("across files:")
            lines += [f"  [{f.severity}] {f}" for f in self.run_findings]
            lines.append("")
        for report in self.datasets:
            lines.append(report.render_text())
            lines.append("")
        if self.approval is not None:
            lines.append(f"approval: {self.approval.describe()}")
        if self.grader is not None:
            lines.append(graders.describe_dry_run(self.grader))
        lines.append(f"token estimate: {TOKEN_METHOD}")
        return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------------


def validate_dataset(
    uri_or_path: str,
    model: ModelInfo | str,
    customization_type: str,
    role: str = TRAINING,
    *,
    max_errors: int = DEFAULT_MAX_ERRORS,
    s3_client: Any | None = None,
    epochs: int | None = None,
    hyperparameters: Mapping[str, str] | None = None,
    base_dir: str | Path | None = None,
) -> DatasetReport:
    """Validate one dataset (local path, s3:// object or s3:// prefix) for a model and customization type.

    ``role`` is training, validation or prompts (evaluation prompts). ``hyperparameters`` (wire
    strings) select batch-size dependent token limits and the default epochs; ``epochs`` overrides
    the epoch count used for the cost estimate. Raises ``ValueError`` for a model that does not
    support the customization type and ``SourceAccessError`` when the data cannot be read.
    """
    info = get_model(model) if isinstance(model, str) else model
    s3_client = _client_for([uri_or_path], s3_client)
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    rules = EVALUATION_RULES if role == PROMPTS else info.rules(customization_type)
    values = dict(hyperparameters or {})
    if epochs is None and role == TRAINING:
        epochs = epochs_for(info, customization_type, values)
    batch = info.effective_hyperparameter("batchSize", values)
    scanner = _DatasetScanner(
        uri_or_path,
        info,
        customization_type,
        role,
        rules,
        max_errors=max_errors,
        batch_size=int(batch) if batch is not None and batch.isdigit() else None,
    )
    report = scanner.run(s3_client=s3_client, base_dir=base_dir)
    if role == TRAINING:
        report.epochs = epochs
        report.training_cost = training_cost(info, report.estimated_tokens, epochs)
    return report


def validate_files(
    training: str,
    model: ModelInfo | str,
    customization_type: str,
    *,
    validation: Sequence[str] = (),
    hyperparameters: Mapping[str, str] | None = None,
    max_errors: int = DEFAULT_MAX_ERRORS,
    s3_client: Any | None = None,
    base_dir: str | Path | None = None,
    source: str = "datasets",
) -> PreflightReport:
    """Validate a training dataset and its validation datasets "
    "together, without a run spec (CLI ``validate``)."""
    info = get_model(model) if isinstance(model, str) else model
    rules = info.rules(customization_type)
    report = PreflightReport(
        spec=None, spec_source=source, model_id=info.model_id, customization_type=customization_type
    )
    if validation and not rules.validation_allowed:
        report.run_findings.append(
            Finding(
                source,
                None,
                "validation",
                f"{info.model_id} does not accept a validation dataset for {customization_type}",
                "validation",
            )
        )
        validation = ()
    # The data may be fine while the model is not: say so, as a warning (check and start refuse it).
    for problem in lifecycle_problems(info, purpose=NEW_CUSTOMIZATION, customization_type=customization_type):
        report.run_findings.append(Finding(source, None, "model", problem.message, "lifecycle", WARNING))
    values = dict(hyperparameters or {})
    s3_client = _client_for([training, *validation], s3_client)
    _validate_all(
        report, info, customization_type, rules, training, validation, values, max_errors, s3_client, base_dir
    )
    return report


def preflight(
    data: Any,
    *,
    base_dir: str | Path | None = None,
    s3_client: Any | None = None,
    max_errors: int = DEFAULT_MAX_ERRORS,
    require_s3: bool = False,
    spec_source: str = "run spec",
) -> PreflightReport:
    """Validate a raw run spec mapping and every dataset it names; never raises for bad input.

    When parts of the spec are wrong, the datasets are still validated as far as the model and
    customization type are known, so the report lists all problems at once.
    """
    parsed = parse_run_spec(data, base_dir=base_dir, require_s3=require_s3)
    return _preflight_parsed(parsed, s3_client=s3_client, max_errors=max_errors, spec_source=spec_source)


def validate_run(
    spec: RunSpec,
    *,
    s3_client: Any | None = None,
    max_errors: int = DEFAULT_MAX_ERRORS,
    require_s3: bool = False,
    spec_source: str = "run spec",
) -> PreflightReport:
    """Validate a run spec's datasets and cross-file rules (the spec itself is already valid)."""
    parsed = parse_run_spec(spec.to_dict(), base_dir=spec.base_dir, require_s3=require_s3)
    return _preflight_parsed(parsed, s3_client=s3_client, max_errors=max_errors, spec_source=spec_source)


def _preflight_parsed(
    parsed: ParsedRunSpec, *, s3_client: Any | None, max_errors: int, spec_source: str
) -> PreflightReport:
    model, ctype = parsed.model, parsed.customization_type
    report = PreflightReport(
        spec=parsed.spec.to_dict() if parsed.spec else None,
        spec_source=spec_source,
        spec_problems=list(parsed.problems),
        model_id=model.model_id if model else None,
        customization_type=ctype,
    )
    if model is None or ctype is None or not model.supports(ctype):
        return report
    rules = model.rules(ctype)
    s3_client = _client_for([parsed.training or "", *parsed.validation, parsed.prompts or ""], s3_client)
    if parsed.training is not None:
        _validate_all(
            report,
            model,
            ctype,
            rules,
            parsed.training,
            parsed.validation,
            dict(parsed.hyper_parameters),
            max_errors,
            s3_client,
            parsed.base_dir,
        )
    spec = parsed.spec
    if spec is not None and spec.grader is not None and spec.grader.builtin is not None and report.datasets:
        _grader_findings(report, spec.grader.builtin, s3_client, parsed.base_dir, max_errors)
    if parsed.prompts is not None:
        prompts = validate_dataset(
            parsed.prompts,
            model,
            ctype,
            PROMPTS,
            max_errors=max_errors,
            s3_client=s3_client,
            base_dir=parsed.base_dir,
        )
        if prompts.records > parsed.max_prompts:
            prompts.warnings.append(
                Finding(
                    parsed.prompts,
                    None,
                    "records",
                    f"holds {prompts.records:,} prompts; only the first {parsed.max_prompts:,} are used "
                    "(evaluation.maxPrompts)",
                    "prompt-count",
                    WARNING,
                )
            )
            prompts.warning_counts["prompt-count"] = prompts.warning_counts.get("prompt-count", 0) + 1
        report.datasets.append(prompts)
    if parsed.spec is not None:
        report.approval = approval_decision(parsed.spec)
    return report


def _validate_all(
    report: PreflightReport,
    model: ModelInfo,
    ctype: str,
    rules: CustomizationRules,
    training: str,
    validation: Sequence[str],
    hyperparameters: dict[str, str],
    max_errors: int,
    s3_client: Any | None,
    base_dir: str | Path | None,
) -> None:
    common: dict[str, Any] = {
        "max_errors": max_errors,
        "s3_client": s3_client,
        "hyperparameters": hyperparameters,
        "base_dir": base_dir,
    }
    train = validate_dataset(training, model, ctype, TRAINING, **common)
    vals = [validate_dataset(v, model, ctype, VALIDATION, **common) for v in validation]
    report.datasets += [train, *vals]
    report.epochs = train.epochs
    report.training_cost = train.training_cost
    report.run_findings += _cross_file_findings(rules, model, train, vals, report.spec_source)


def _grader_findings(
    report: PreflightReport,
    grader: str,
    s3_client: Any | None,
    base_dir: str | Path | None,
    max_errors: int,
) -> None:
    """Every training record must be one the run's built-in grader can score (a record it cannot
    score fails the grader Lambda, and with it the paid job, mid-training). Only for data whose
    format is valid: the format errors say more. The grader's dry call on the first records runs
    here too, in this process (the workflow's preflight calls the deployed grader instead)."""
    train = report.datasets[0]
    if not train.ok:
        return
    found = 0
    first: list[tuple[int, Any]] = []
    resolved = resolve(train.location, s3_client=s3_client, base_dir=base_dir)
    for obj in resolved.objects:
        with open_object(obj, s3_client=s3_client) as stream:
            for line, record in graders.read_records(stream, limit=train.records + 1):
                if len(first) < graders.DRY_RUN_RECORDS:
                    first.append((line, record))
                problem = graders.record_problem(grader, record)
                if problem is None:
                    continue
                found += 1
                train.error_counts["grader"] = train.error_counts.get("grader", 0) + 1
                if len(train.errors) < max_errors:
                    train.errors.append(
                        Finding(
                            obj.name, line, "reference_answer", f"the {grader} grader: {problem}", "grader"
                        )
                    )
    train.valid_records = max(0, train.valid_records - found)
    if not found:
        train.notes.append(f"every record can be scored by the built-in {grader} grader")
        dry = graders.dry_run(grader, first, graders.local_invoker(grader))
        report.grader = {"lambdaArn": None, "builtin": grader, **dry.to_dict()}


def _cross_file_findings(
    rules: CustomizationRules, model: ModelInfo, train: DatasetReport, vals: list[DatasetReport], source: str
) -> list[Finding]:
    findings: list[Finding] = []
    total = train.records + sum(v.records for v in vals)
    bounds = rules.total_records
    if not _within(total, bounds):
        findings.append(
            Finding(
                source,
                None,
                "records",
                f"training + validation hold {total:,} records; {model.model_id} needs {bounds.describe()} "
                "records in total",
                "record-count",
            )
        )
    if len(vals) > 1:
        combined = sum(v.records for v in vals)
        limit = rules.validation_records.max
        if limit is not None and combined > limit:
            findings.append(
                Finding(
                    source,
                    None,
                    "validation",
                    f"the {len(vals)} validation datasets hold {combined:,} "
                    f"records together; {model.model_id} "
                    f"accepts at most {limit:,} validation records",
                    "record-count",
                )
            )
    return findings


# --------------------------------------------------------------------------------------------------
# The scanner
# --------------------------------------------------------------------------------------------------


class _DatasetScanner:
    def __init__(
        self,
        location: str,
        model: ModelInfo,
        customization_type: str,
        role: str,
        rules: CustomizationRules,
        *,
        max_errors: int,
        batch_size: int | None,
    ) -> None:
        self.location = location
        self.model = model
        self.role = role
        self.rules = rules
        self.fmt: RecordFormat = FORMATS[rules.data_format]
        self.findings = _Findings(max_errors)
        self.report = DatasetReport(location, role, model.model_id, customization_type, rules.data_format)
        self.batch_size = batch_size
        self.total_limit = rules.token_limit(batch_size)
        limits = [x for x in (self.total_limit, rules.max_input_tokens, rules.max_output_tokens) if x]
        self.tokens_per_image = rules.media.max_tokens_per_image if rules.media else None
        # A line of at most this many bytes cannot hold more text than the smallest token limit
        # allows (content bytes never exceed line bytes), so its texts need no byte counting.
        self.fast_path_bytes = min(limits) * LIMIT_BYTES_PER_TOKEN if limits else None
        self.collect_always = bool(limits) and self.tokens_per_image is not None
        bounds = rules.record_bounds(role)
        self.record_bounds = bounds
        self.track_limit = bounds.max or rules.total_records.max or DEFAULT_DUPLICATE_TRACKING
        self.seen: dict[int, int] | None = {}
        self.scratch = RecordScratch()
        self.mixing_reported = False
        # Files refused unread (compressed, binary): the dataset's record count is then unknown.
        self.unread_files = 0

    def add(
        self, file: str, line: int | None, field_name: str, problem: str, kind: str, severity: str = ERROR
    ) -> None:
        self.findings.add(file, line, field_name, problem, kind, severity)

    def run(self, *, s3_client: Any | None, base_dir: str | Path | None) -> DatasetReport:
        location = self.location
        if is_s3(location):
            problem = s3_uri_problem(location)
            if problem is not None:
                self.add(location, None, "location", f"{location!r} {problem}", "uri")
        resolved = resolve(location, s3_client=s3_client, base_dir=base_dir)
        if resolved.missing is not None:
            self.add(location, None, "file", resolved.missing, "not-found")
        dataset_bucket = split_s3(location)[0] if is_s3(location) else None
        ctx = RecordContext.build(self.rules, self.model.model_id, dataset_bucket)
        for obj in resolved.objects:
            self.report.files.append(obj.name)
            self.report.bytes += obj.size or 0
            self.check_name(obj)
            with open_object(obj, s3_client=s3_client) as stream:
                if self.check_head(stream, obj.name):
                    self.scan(stream, obj.name, ctx)
        if resolved.objects:
            self.finish(dataset_bucket)
        return self.build_report()

    def check_name(self, obj: DatasetObject) -> None:
        name = obj.key if obj.key is not None else Path(obj.name).name
        if not name.lower().endswith(".jsonl") and not has_compressed_suffix(name):
            self.add(
                obj.name,
                None,
                "file",
                "name does not end in .jsonl; Bedrock datasets are JSON Lines files",
                "file-name",
                WARNING,
            )
        if self.rules.strict_file_names and not NOVA_PATH_RE.fullmatch(name):
            message = (
                f"name {name!r} has characters {self.model.model_id} "
                "refuses; use only letters, digits, _, -, / and ."
            )
            if obj.key is not None:
                self.add(obj.name, None, "file", message, "file-name")
            else:
                self.add(
                    obj.name, None, "file", message + " (rename it before uploading)", "file-name", WARNING
                )

    def check_head(self, stream: BinaryIO, name: str) -> bool:
        """Refuse compressed, binary and non-UTF-8 files before reading them line by line."""
        peek = getattr(stream, "peek", None)
        head = bytes(peek(_HEAD_BYTES)[:_HEAD_BYTES]) if peek is not None else b""
        kind = compressed_kind(head)
        if kind is not None:
            self.add(
                name,
                None,
                "file",
                f"is {kind}-compressed; Bedrock model customization reads plain UTF-8 JSONL (compressed "
                "input is not documented), so decompress it before uploading",
                "compressed",
            )
            self.unread_files += 1
            return False
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            self.add(
                name, None, "file", "is UTF-16/UTF-32 encoded; save it as UTF-8 (without BOM)", "encoding"
            )
            self.unread_files += 1
            return False
        if b"\x00" in head:
            self.add(
                name,
                None,
                "file",
                "contains NUL bytes: it is binary or UTF-16/UTF-32 text, not UTF-8 JSONL",
                "encoding",
            )
            self.unread_files += 1
            return False
        if has_compressed_suffix(name):
            self.add(
                name,
                None,
                "file",
                "name says compressed but the content is plain text; rename it to .jsonl",
                "file-name",
                WARNING,
            )
        return True

    def scan(self, stream: BinaryIO, name: str, ctx: RecordContext) -> None:
        report = self.report
        fmt = self.fmt
        scratch = self.scratch
        add = self.findings.add
        readline = stream.readline
        decode = _DECODER.decode
        scan_json = _SCAN_JSON
        seen = self.seen
        track_limit = self.track_limit
        fast_bytes = self.fast_path_bytes
        collect_always = self.collect_always
        tokens_per_image = self.tokens_per_image
        records = report.records
        valid = report.valid_records
        blanks = report.blank_lines
        chars = report.characters
        duplicates = report.duplicates
        line_no = 0
        cap = MAX_LINE_BYTES + 1
        # One int per tracked record: the file's index in the upper bits, the line in the lower ones.
        file_tag = (len(self.report.files) - 1) << _LINE_BITS
        while True:
            line = readline(cap)
            if not line:
                break
            line_no += 1
            size = len(line)
            if size == cap and not line.endswith(b"\n"):
                records += 1
                self.skip_long_line(stream, name, line_no)
                continue
            if line.isspace():
                blanks += 1
                add(
                    name,
                    line_no,
                    "record",
                    "blank line; every line must hold one JSON object (delete it)",
                    "blank-line",
                )
                continue
            records += 1
            if line_no == 1 and line.startswith(_BOM):
                add(
                    name,
                    1,
                    "file",
                    "starts with a UTF-8 byte-order mark; save the file as UTF-8 without BOM",
                    "bom",
                )
                line = line[3:]
            if seen is not None:
                key = hash(line if line[-1:] == b"\n" else line + b"\n")
                here = file_tag | line_no
                first = seen.setdefault(key, here)
                if first != here:
                    duplicates += 1
                    add(
                        name,
                        line_no,
                        "record",
                        f"duplicate of {self.describe_line(first)}",
                        "duplicate",
                        WARNING,
                    )
                if records > track_limit:
                    seen = self.seen = None
                    report.duplicate_tracking_stopped_after = track_limit
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = line[exc.start : exc.start + 1]
                add(
                    name,
                    line_no,
                    "record",
                    f"invalid UTF-8 at byte {exc.start + 1} ({bad!r}); save the file as UTF-8",
                    "encoding",
                )
                continue
            try:
                try:
                    record, end = scan_json(text, 0)
                    if end != len(text) and not text[end:].isspace():
                        raise ValueError(end)
                except (StopIteration, ValueError):
                    # Leading whitespace, trailing data or invalid JSON: decode() either accepts the
                    # line or raises the precise error message.
                    record = decode(text)
            except ValueError as exc:
                add(name, line_no, "record", f"invalid JSON: {_json_error(exc)}", "json")
                continue
            if type(record) is not dict:
                add(
                    name,
                    line_no,
                    "record",
                    f"must be a JSON object, got {_json_kind(record)}; expected {fmt.example}",
                    "not-object",
                )
                continue
            scratch.reset(line_no, collect_always or (fast_bytes is not None and size > fast_bytes))
            check_record(record, fmt, ctx, scratch)
            if scratch.texts is not None:
                self.check_tokens(scratch, tokens_per_image)
            chars += scratch.in_chars + scratch.out_chars
            if scratch.images or scratch.videos:
                self.count_media(scratch, line_no)
            issues = scratch.issues
            if not issues:
                valid += 1
                continue
            if all(issue[3] != ERROR for issue in issues):
                valid += 1
            for field_name, problem, kind, severity in issues:
                add(name, line_no, field_name, problem, kind, severity)
        report.records = records
        report.valid_records = valid
        report.blank_lines = blanks
        report.characters = chars
        report.duplicates = duplicates

    def describe_line(self, tagged: int) -> str:
        index, line = tagged >> _LINE_BITS, tagged & ((1 << _LINE_BITS) - 1)
        if len(self.report.files) > 1 and index != len(self.report.files) - 1:
            return f"line {line} of {self.report.files[index]}"
        return f"line {line}"

    def skip_long_line(self, stream: BinaryIO, name: str, line_no: int) -> None:
        chunk = b""
        total = MAX_LINE_BYTES + 1
        while True:
            chunk = stream.readline(MAX_LINE_BYTES)
            total += len(chunk)
            if not chunk or chunk.endswith(b"\n"):
                break
        limit = (
            f"; the limit for {self.model.model_id} is {self.total_limit:,} tokens"
            if self.total_limit
            else ""
        )
        self.add(
            name,
            line_no,
            "record",
            f"is {_size(total)} long (over {_size(MAX_LINE_BYTES)}), far more than any Bedrock record{limit}",
            "too-long",
        )

    def check_tokens(self, scratch: RecordScratch, tokens_per_image: int | None) -> None:
        """Per-record token limits with two estimates; problems go to the record's issues.

        An error only when even the optimistic estimate (characters ÷ 6, the minimum tokens per image) is
        over a limit; a warning with both numbers when only the conservative one (UTF-8 bytes ÷ 3, the
        maximum tokens per image) is. See the pipeline.formats docstring for why.
        """
        texts = scratch.texts or []
        in_chars = out_chars = in_bytes = out_bytes = 0
        for segment, text in texts:
            if segment == OUTPUT:
                out_chars += len(text)
                out_bytes += utf8_len(text)
            else:
                in_chars += len(text)
                in_bytes += utf8_len(text)
        images = scratch.images
        media = self.rules.media
        low_per_image = (media.min_tokens_per_image if media else None) or 0
        high_per_image = tokens_per_image or 0
        in_low = planning_tokens(in_chars) + images * low_per_image
        in_high = limit_tokens(in_bytes) + images * high_per_image
        out_low, out_high = planning_tokens(out_chars), limit_tokens(out_bytes)
        rules = self.rules
        batch = ""
        if len(rules.token_limits) > 1 and self.batch_size is not None:
            batch = f" at batchSize {self.batch_size}"
        # Most inclusive first: one finding per record.
        checks = (
            _TokenCheck(
                f"tokens per record (input + output){batch}",
                self.total_limit,
                planning_tokens(in_chars + out_chars) + images * low_per_image,
                limit_tokens(in_bytes + out_bytes) + images * high_per_image,
                in_chars + out_chars,
                in_bytes + out_bytes,
                images,
            ),
            _TokenCheck("input tokens", rules.max_input_tokens, in_low, in_high, in_chars, in_bytes, images),
            _TokenCheck("output tokens", rules.max_output_tokens, out_low, out_high, out_chars, out_bytes, 0),
        )
        model = self.model.model_id
        for check in checks:
            if check.limit is not None and check.optimistic > check.limit:
                scratch.error(
                    "record",
                    f"{_segment(check.what)}is ~{check.optimistic:,} tokens even by the optimistic estimate "
                    f"({check.basis(low_per_image, conservative=False)}); {model} accepts at most "
                    f"{check.limit:,} {check.what}",
                    "too-long",
                )
                return
        for check in checks:
            if check.limit is not None and check.conservative > check.limit:
                scratch.warn(
                    "record",
                    f"{_segment(check.what)}may be over {model}'s limit of {check.limit:,} {check.what}: "
                    f"~{check.optimistic:,} tokens by the AWS planning estimate "
                    f"({check.basis(low_per_image, conservative=False)}), ~{check.conservative:,} by the "
                    f"conservative one ({check.basis(high_per_image, conservative=True)}); only Bedrock's "
                    "tokenizer decides, so shorten it if you can",
                    "token-estimate",
                )
                return

    def count_media(self, scratch: RecordScratch, line_no: int) -> None:
        """Media limits per record and per dataset; problems go to the record's issues."""
        report = self.report
        report.images += scratch.images
        report.videos += scratch.videos
        media = self.rules.media
        if media is None:
            return
        model = self.model.model_id
        if media.max_images_per_record is not None and scratch.images > media.max_images_per_record:
            scratch.error(
                "record",
                f"has {scratch.images} images; {model} allows at most "
                f"{media.max_images_per_record} per record",
                "media",
            )
        if media.max_videos_per_record is not None and scratch.videos > media.max_videos_per_record:
            scratch.error(
                "record",
                f"has {scratch.videos} videos; {model} allows at most "
                f"{media.max_videos_per_record} per record",
                "media",
            )
        if media.images_and_videos_exclusive and scratch.images and scratch.videos:
            # One record with both is that record's problem, whatever the rest of the dataset holds.
            scratch.error(
                "record",
                f"has {scratch.images} image{_s(scratch.images)} and {scratch.videos} "
                f"video{_s(scratch.videos)}; {model} takes text with images or text with videos, "
                "never both in one record",
                "media",
            )
            return
        if scratch.images and scratch.first_image_line is None:
            scratch.first_image_line = line_no
        if scratch.videos and scratch.first_video_line is None:
            scratch.first_video_line = line_no
        if (
            media.images_and_videos_exclusive
            and not self.mixing_reported
            and scratch.first_image_line is not None
            and scratch.first_video_line is not None
        ):
            self.mixing_reported = True
            scratch.error(
                "record",
                "the dataset mixes images (first at line "
                f"{scratch.first_image_line}) and videos (first at line "
                f"{scratch.first_video_line}); {model} takes text with images or text with videos, not both",
                "media",
            )

    def finish(self, dataset_bucket: str | None) -> None:
        report = self.report
        model = self.model.model_id
        role_name = "evaluation prompts" if self.role == PROMPTS else f"{self.role} records"
        bounds = self.record_bounds
        count = report.records
        location = self.location
        # A file refused unread (compressed, binary) has an unknown number of records: no count check.
        if self.unread_files == 0 and count == 0:
            self.add(
                location,
                None,
                "records",
                f"the dataset has no records; {model} needs {bounds.describe()} {role_name}",
                "record-count",
            )
        elif self.unread_files == 0 and not _within(count, bounds):
            self.add(
                location,
                None,
                "records",
                f"{count:,} records; {model} accepts {bounds.describe()} {role_name}",
                "record-count",
            )
        elif self.unread_files == 0 and bounds.recommended_min is not None and count < bounds.recommended_min:
            self.add(
                location,
                None,
                "records",
                f"{count:,} records; {model} accepts them, but AWS recommends at least "
                f"{bounds.recommended_min:,} {role_name}",
                "record-count",
                WARNING,
            )
        if bounds.max is None and self.rules.total_records.max is None and self.role != PROMPTS:
            self.add(
                location,
                None,
                "records",
                f"the maximum number of {role_name} for {model} is not documented (UNCONFIRMED); not checked",
                "unconfirmed",
                WARNING,
            )
        limit = None if self.role == PROMPTS else self.rules.file_max_bytes(self.role)
        if limit is not None and report.bytes > limit:
            self.add(
                location,
                None,
                "file",
                f"is {_size(report.bytes)}; {model} accepts {self.role} data up to {_size(limit)}",
                "file-size",
            )
        if (
            self.rules.token_limits == ()
            and self.rules.data_format != EVALUATION_PROMPTS
            and self.rules.caption_chars is None
        ):
            self.add(
                location,
                None,
                "records",
                f"per-record token limits for {model} are not documented; not checked",
                "unconfirmed",
                WARNING,
            )
        buckets = self.scratch.media_buckets
        if (
            buckets
            and dataset_bucket is None
            and self.rules.media
            and self.rules.media.same_bucket_as_dataset
        ):
            names = ", ".join(repr(b) for b in buckets)
            if len(buckets) > 1:
                self.add(
                    location,
                    None,
                    "media",
                    f"media come from {len(buckets)} buckets ({names}); {model} "
                    "reads media only from the dataset's own bucket",
                    "media",
                )
            else:
                self.add(
                    location,
                    None,
                    "media",
                    f"media are in bucket {names}: upload the dataset to "
                    f"that same bucket ({model} reads media only "
                    "from the dataset's bucket)",
                    "media",
                    WARNING,
                )

    def build_report(self) -> DatasetReport:
        report = self.report
        report.errors = self.findings.errors
        report.warnings = self.findings.warnings
        report.error_counts = dict(self.findings.error_counts)
        report.warning_counts = dict(self.findings.warning_counts)
        if self.role == TRAINING:  # the rules' notes concern the model, so say them once per run
            report.notes.extend(self.rules.notes)
        return report


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _client_for(locations: Sequence[str], s3_client: Any | None) -> Any | None:
    """The given client, or one default client shared by every S3 location of a run (None if none)."""
    if s3_client is None and any(is_s3(location) for location in locations):
        return sources.default_s3_client()
    return s3_client


def _within(count: int, bounds: RecordBounds) -> bool:
    return (bounds.min is None or count >= bounds.min) and (bounds.max is None or count <= bounds.max)


def _json_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    return str(exc)


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a boolean" if isinstance(value, bool) else "a number"


def _s(count: int) -> str:
    return "" if count == 1 else "s"


@dataclass(frozen=True)
class _TokenCheck:
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
            text += f" + {self.images} image{_s(self.images)} x {per_image:,}"
        return text


def _segment(what: str) -> str:
    """The sentence opening of a token finding: the whole record, or its input or output."""
    return "" if what.startswith("tokens per record") else what.split()[0] + " "


def _size(size: int) -> str:
    """Decimal units, like the limits in the Bedrock guides."""
    if size < 1000:
        return f"{size:,} bytes"
    value, unit = size / 1e3, "kB"
    if value >= 1000:
        value, unit = size / 1e6, "MB"
    if value >= 1000:
        value, unit = size / 1e9, "GB"
    return f"{value:,.1f} {unit}"


def _clip(text: str) -> str:
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 3] + "..."


def _cost_text(cost: CostEstimate | None, epochs: int | None) -> str:
    if cost is not None:
        return str(cost)
    if epochs is None:
        return "unknown (no epoch count)"
    return "unknown (no training price for this model in the catalog)"


def _render_findings(title: str, items: list[Finding], counts: Mapping[str, int]) -> list[str]:
    total = sum(counts.values())
    if not total:
        return []
    per_kind = ", ".join(f"{kind} x{n:,}" for kind, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    lines = [f"  {title}: {total:,} ({per_kind})"]
    lines += [f"    {f}" for f in items]
    if total > len(items):
        lines.append(f"    ... and {total - len(items):,} more (counted per kind above)")
    return lines

"""Streaming dataset validation and the preflight report, shared by the CLI and the workflow Lambda.

``validate_dataset`` reads one dataset (a local file, an S3 object or an S3 prefix) line by line
with constant memory and checks it against the catalog rules of a (model, customization type) pair.
``preflight``/``validate_run`` validate a whole run spec plus all its datasets, including the rules
that span files (e.g. training + validation record totals).

The reading itself is :class:`pipeline.datasets.scan.DatasetScanner`; what one dataset's check
found is :class:`pipeline.datasets.report.DatasetReport`. Memory stays bounded whatever the size:
- lines are read with a length cap (``MAX_LINE_BYTES``); longer lines are skipped in chunks;
- only the first ``max_errors`` findings are kept in full, the rest are counted per kind;
- duplicate detection keeps one 64-bit hash per record (about 100 bytes each in a dict, with the
  line it was first seen on) and stops once the model's maximum record count is exceeded (at most
  ``DEFAULT_DUPLICATE_TRACKING`` records when no maximum is documented): past that point the file
  is invalid on count anyway. Duplicates are exact duplicate lines; they are reported as warnings
  because Bedrock accepts them (some datasets repeat records on purpose).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import graders
from pipeline.catalog import (
    NEW_CUSTOMIZATION,
    CustomizationRules,
    ModelInfo,
    get_model,
    lifecycle_problems,
)
from pipeline.costs import (
    ApprovalDecision,
    CostEstimate,
    approval_decision,
    epochs_for,
    training_cost,
)
from pipeline.datasets.records import ERROR, TOKEN_METHOD, WARNING, planning_tokens
from pipeline.datasets.report import (
    DEFAULT_MAX_ERRORS,
    EVALUATION_RULES,
    MAX_LINE_BYTES,
    PROMPTS,
    ROLES,
    TEACHER_EVALUATION_RULES,
    TRAINING,
    VALIDATION,
    DatasetReport,
    Finding,
    client_for,
    clip,
    plural_s,
    within,
)
from pipeline.datasets.scan import DatasetScanner
from pipeline.datasets.sources import (
    open_object,
    resolve,
)
from pipeline.money import format_usd
from pipeline.problems import Problem

if TYPE_CHECKING:
    from pipeline.runspec import ParsedRunSpec, RunSpec

__all__ = [
    "DEFAULT_MAX_ERRORS",
    "MAX_LINE_BYTES",
    "DatasetReport",
    "Finding",
    "PreflightReport",
    "preflight",
    "validate_dataset",
    "validate_files",
    "validate_run",
]


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
        spec = [Finding(self.spec_source, p.line, p.field, p.message, "spec") for p in self.spec_problems]
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
            return clip(
                f"VALID: {files} file{plural_s(files)}, {totals['records']:,} "
                f"records, ~{totals['estimatedTokens']:,} tokens, "
                f"{cost_text}"
                + (
                    f", {self.warning_count:,} warning{plural_s(self.warning_count)}"
                    if self.warning_count
                    else ""
                )
            )
        count = self.error_count
        files = self.files_with_errors()
        first = self.errors[0] if self.errors else None
        return clip(
            f"INVALID: {count:,} error{plural_s(count)} in {files} file{plural_s(files)}"
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
                f"{self.spec_source}: {len(self.spec_problems)} problem{plural_s(len(self.spec_problems))}"
            )
            lines += [
                f"  {self.spec_source}{f':{p.line}' if p.line else ''}: {p}" for p in self.spec_problems
            ]
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
        if self.datasets:  # the method behind the datasets' token counts, when there are any
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
    teacher_references: bool = False,
) -> DatasetReport:
    """Validate one dataset (local path, s3:// object or s3:// prefix) for a model and customization type.

    ``role`` is training, validation or prompts (evaluation prompts). ``hyperparameters`` (wire
    strings) select batch-size dependent token limits and the default epochs; ``epochs`` overrides
    the epoch count used for the cost estimate. Raises ``ValueError`` for a model that does not
    support the customization type and ``SourceAccessError`` when the data cannot be read.
    """
    info = get_model(model) if isinstance(model, str) else model
    s3_client = client_for([uri_or_path], s3_client)
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role == PROMPTS:
        # With evaluation.references=teacher a prompt needs no reference: the teacher answers it.
        rules = TEACHER_EVALUATION_RULES if teacher_references else EVALUATION_RULES
    else:
        rules = info.rules(customization_type)
    values = dict(hyperparameters or {})
    if epochs is None and role == TRAINING:
        epochs = epochs_for(info, customization_type, values)
    batch = info.effective_hyperparameter("batchSize", values)
    scanner = DatasetScanner(
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
    s3_client = client_for([training, *validation], s3_client)
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
    # Imported here: the run-spec parser checks locations with pipeline.datasets.records, so this
    # package may be loaded while pipeline.runspec is still being imported.
    from pipeline.runspec import parse_run_spec

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
    from pipeline.runspec import parse_run_spec  # see preflight()

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
    s3_client = client_for([parsed.training or "", *parsed.validation, parsed.prompts or ""], s3_client)
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
            teacher_references=spec is not None
            and spec.evaluation is not None
            and spec.evaluation.references == "teacher",  # pipeline.runspec.model.REFERENCES_TEACHER
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
    if not within(total, bounds):
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

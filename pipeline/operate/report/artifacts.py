"""A run's report artifacts as the workflow writes them under ``runs/<runId>/``, read from S3 or from a
local directory holding the same files: what a report is made of."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pipeline.operate.errors import InvalidInputError, error_code
from pipeline.plan import RUNS_PREFIX

RECORD: Final = "record.json"
CURVES: Final = "loss-curves.json"
EVALUATION: Final = "evaluation.json"
JUDGE: Final = "judge.json"  # the LLM judge's verdict (lambdas/judge), only on runs with a judge
ARTIFACTS: Final = (RECORD, CURVES, EVALUATION, JUDGE)
# What every run that got past its start has, even one stopped before it wrote anything else: the
# preflight's report, and (stopped from outside, timed out) what the stopped-run cleanup did.
PREFLIGHT: Final = "preflight.json"
ENDED: Final = tuple(f"ended-{status}.json" for status in ("aborted", "timed_out", "failed"))


@dataclass
class RunArtifacts:
    run_id: str
    source: str
    record: dict[str, Any] | None = None
    curves: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = None
    judge: dict[str, Any] | None = None
    preflight: dict[str, Any] | None = None
    ended: dict[str, Any] | None = None
    # The execution's status when the run wrote no record (stopped, or still running).
    execution_status: str | None = None

    @property
    def status(self) -> str:
        record = self.record or {}
        return str(
            record.get("status") or (self.ended or {}).get("status") or self.execution_status or "IN PROGRESS"
        )

    @property
    def spec(self) -> dict[str, Any]:
        spec = (self.record or {}).get("spec") or (self.preflight or {}).get("spec") or {}
        return spec if isinstance(spec, dict) else {}

    @property
    def comparison(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(custom, base) aggregates: from evaluation.json, else from the record's metrics."""
        if self.evaluation:
            return self.evaluation.get("custom"), self.evaluation.get("base")
        metrics = ((self.record or {}).get("metrics") or {}).get("evaluation") or {}
        return metrics.get("custom"), metrics.get("base")

    @property
    def champion(self) -> dict[str, Any] | None:
        """The aggregate of the champion serving in the run's slot, measured on the same prompts
        (None: the run named no slot, or the slot had no champion yet)."""
        if self.evaluation:
            found = self.evaluation.get("champion")
        else:
            found = (((self.record or {}).get("metrics") or {}).get("evaluation") or {}).get("champion")
        return found if isinstance(found, dict) else None


def _read_json_file(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{path} is not a readable JSON document: {exc}") from exc
    if not isinstance(doc, dict):
        raise InvalidInputError(f"{path} must hold a JSON object")
    return doc


def load_dir(directory: str | Path) -> RunArtifacts:
    """A run's artifacts from a local directory (e.g. the bundled examples/report-run/)."""
    path = Path(directory)
    if not path.is_dir():
        raise InvalidInputError(
            f"{path} is not a directory", hint=f"give a directory holding {', '.join(ARTIFACTS)}"
        )
    docs = {name: _read_json_file(path / name) for name in ARTIFACTS}
    if not any(docs.values()):
        raise InvalidInputError(f"{path} holds none of {', '.join(ARTIFACTS)}")
    run_id = next((str(d["runId"]) for d in docs.values() if d and d.get("runId")), path.name)
    return RunArtifacts(run_id, str(path), docs[RECORD], docs[CURVES], docs[EVALUATION], docs[JUDGE])


def load_s3(s3: Any, bucket: str, run_id: str, *, execution_status: str | None = None) -> RunArtifacts:
    """A run's artifacts from s3://<bucket>/runs/<runId>/; missing ones are None.

    Any of them makes a report: a run stopped during training has its preflight report and what
    the stopped-run cleanup did, and the report says that much.
    """
    docs: dict[str, dict[str, Any] | None] = {}
    for name in (*ARTIFACTS, PREFLIGHT, *ENDED):
        docs[name] = _s3_json(s3, bucket, f"{RUNS_PREFIX}{run_id}/{name}")
    source = f"s3://{bucket}/{RUNS_PREFIX}{run_id}/"
    if not any(docs.values()):
        raise InvalidInputError(
            f"run {run_id} has no report artifacts yet under {source}",
            hint="the preflight writes its report first, loss curves appear after training, the "
            "comparison after evaluation, the record when the run ends",
        )
    return RunArtifacts(
        run_id,
        source,
        docs[RECORD],
        docs[CURVES],
        docs[EVALUATION],
        docs[JUDGE],
        preflight=docs[PREFLIGHT],
        ended=next((docs[name] for name in ENDED if docs[name]), None),
        execution_status=execution_status,
    )


def _s3_json(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    with response["Body"] as body:
        doc = json.loads(body.read())
    return doc if isinstance(doc, dict) else None

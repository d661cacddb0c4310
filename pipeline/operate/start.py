"""Start a run: preflight locally, upload datasets content-addressed, start one execution.

1. The full preflight runs on the operator's machine first (pipeline.datasets.validate_run, the
   workflow's own validation): an invalid spec or dataset uploads nothing.
2. Each local dataset is hashed by streaming it (SHA-256, constant memory) and belongs at
   ``s3://<bucket>/datasets/<sha256>/<file name>``. Content addressing makes the spec hash, and so
   the run id, depend on the data's content, not on where it sat locally.
3. The run id is ``pipeline.naming.run_id(name, spec_hash(spec with the s3 URIs))``. If an execution
   of that name exists, the run was already started: nothing is uploaded or started again.
   With ``--rerun``, a run that was rejected, cancelled or failed is started again without editing
   the spec: under the next attempt's run id ``<run id>-r<n>`` (pipeline.naming.rerun_id), so every
   job, model, deployment and throughput name and idempotency token is new; the execution input
   records which run it reruns (``rerunOf``). A run still going, or one that succeeded, is not
   rerun (:func:`rerun_plan`).
4. Otherwise uploads happen (skipped for objects already there), then the run starts with
   ``{"runSpec": spec.to_dict()}``: through the deployment's start URL, which records the
   STS-verified caller as the run's starter (approvals refuse self-approval by it), or with
   StartExecution for a deployment without one. A concurrent start of the same run is reported,
   not an error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Final

from pipeline import naming, plan
from pipeline.datasets.sources import resolve, split_s3
from pipeline.operate import output
from pipeline.operate.discovery import Deployment
from pipeline.operate.errors import InvalidInputError, OperationalError, error_code
from pipeline.runspec import RunSpec, spec_hash

CHUNK_BYTES: Final = 8 * 1024 * 1024
_NOT_FOUND: Final = frozenset({"404", "NoSuchKey", "NotFound"})


@dataclass(frozen=True)
class Upload:
    """One dataset of the spec: where it is, and where the workflow will read it."""

    role: str
    given: str  # the location as written in the spec
    source: str  # a readable local path or s3:// URI
    sha256: str | None  # None when the dataset already sits under the pipeline's datasets/ prefix
    bucket: str
    key: str
    size: int | None
    local: bool

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def needs_copy(self) -> bool:
        return self.sha256 is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "given": self.given,
            "uri": self.uri,
            "sha256": self.sha256,
            "bytes": self.size,
        }


def hash_stream(read: Callable[[int], bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := read(CHUNK_BYTES):
        digest.update(chunk)
    return digest.hexdigest()


def content_key(sha256: str, name: str) -> str:
    return f"{plan.DATASETS_PREFIX}{sha256}/{name}"


def plan_uploads(spec: RunSpec, deployment: Deployment, s3: Any) -> list[Upload]:
    """Hash every dataset that is not yet under the pipeline's prefix; nothing is written."""
    bucket = deployment.training_bucket
    inside = f"s3://{bucket}/{plan.DATASETS_PREFIX}"
    uploads: list[Upload] = []
    for role, given in spec.dataset_locations():
        source = spec.resolve(given)
        if source.startswith(inside):
            _, key = split_s3(source)
            uploads.append(Upload(role, given, source, None, bucket, key, None, local=False))
            continue
        if source.startswith("s3://"):
            resolved = resolve(source, s3_client=s3)
            if resolved.is_prefix or len(resolved.objects) != 1:
                raise InvalidInputError(
                    f"{role}={given} is an S3 prefix outside {inside}; the Bedrock service role can only "
                    "read the pipeline's dataset prefix",
                    hint=f"give one .jsonl object, or copy the files under {inside} and name them there",
                )
            obj = resolved.objects[0]
            assert obj.bucket is not None and obj.key is not None
            output.note(f"hashing {source} ({_size(obj.size)}) ...")
            body = s3.get_object(Bucket=obj.bucket, Key=obj.key)["Body"]
            with body:
                digest = hash_stream(body.read)
            name = PurePosixPath(obj.key).name
            uploads.append(
                Upload(role, given, source, digest, bucket, content_key(digest, name), obj.size, local=False)
            )
            continue
        path = Path(source)
        size = path.stat().st_size
        if size > CHUNK_BYTES * 4:
            output.note(f"hashing {given} ({_size(size)}) ...")
        with path.open("rb") as handle:
            digest = hash_stream(handle.read)
        uploads.append(
            Upload(role, given, source, digest, bucket, content_key(digest, path.name), size, local=True)
        )
    return uploads


def rewrite(spec: RunSpec, uploads: list[Upload]) -> RunSpec:
    """The spec with every dataset replaced by the s3:// URI the workflow reads."""
    by_role: dict[str, list[str]] = {}
    for upload in uploads:
        by_role.setdefault(upload.role, []).append(upload.uri)
    return spec.with_datasets(
        training=by_role["training"][0],
        validation=by_role.get("validation") if spec.validation else None,
        prompts=by_role["prompts"][0] if "prompts" in by_role else None,
    )


def run_id_of(spec: RunSpec) -> str:
    return naming.run_id(spec.name, spec_hash(spec))


# Attempts looked up before giving up: a spec rerun this often needs fixing, not another attempt.
MAX_ATTEMPTS: Final = 50
# Execution statuses after which a run may be started again under a new attempt.
RERUNNABLE: Final = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


@dataclass(frozen=True)
class Rerun:
    """What ``start --rerun`` does: which attempt ran last, and the run id to start (None: none)."""

    latest: str | None  # the last attempt that exists (None: the spec never ran)
    latest_status: str | None
    run_id: str | None  # what to start; None when the latest attempt is still going or succeeded

    @property
    def rerun_of(self) -> str | None:
        return self.latest if self.run_id is not None else None


def rerun_plan(describe: Callable[[str], Mapping[str, Any] | None], first: str) -> Rerun:
    """Find the spec's latest attempt (``first``, ``first-r2``, ...) and what to start after it.

    ``describe`` is DescribeExecution by run id (None: no such execution).
    """
    latest: str | None = None
    status: str | None = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        rid = first if attempt == 1 else naming.rerun_id(first, attempt)
        described = describe(rid)
        if described is None:
            if latest is None:
                return Rerun(None, None, first)
            return Rerun(latest, status, rid if status in RERUNNABLE else None)
        latest, status = rid, str(described.get("status"))
    raise InvalidInputError(
        f"{first} has {MAX_ATTEMPTS} attempts already; nothing was started",
        hint="a run that fails this often needs its spec fixed: change it (a new spec is a new run id)",
    )


def exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if error_code(exc) in _NOT_FOUND:
            return False
        raise
    return True


@dataclass(frozen=True)
class Transfer:
    upload: Upload
    skipped: bool

    def to_dict(self) -> dict[str, Any]:
        return {**self.upload.to_dict(), "uploaded": not self.skipped, "alreadyPresent": self.skipped}


def transfer(s3: Any, uploads: list[Upload]) -> list[Transfer]:
    """Put each dataset at its content address unless it is already there (HEAD first)."""
    done: list[Transfer] = []
    seen: set[str] = set()
    for upload in uploads:
        if not upload.needs_copy or upload.key in seen:
            done.append(Transfer(upload, skipped=True))
            continue
        seen.add(upload.key)
        if exists(s3, upload.bucket, upload.key):
            output.note(f"{upload.given}: already at {upload.uri}")
            done.append(Transfer(upload, skipped=True))
            continue
        extra = {"Metadata": {"sha256": upload.sha256 or ""}, "ContentType": "application/jsonl"}
        if upload.local:
            output.note(f"uploading {upload.given} ({_size(upload.size)}) to {upload.uri}")
            before = Path(upload.source).stat()
            # upload_file streams from disk and switches to multipart for large files.
            s3.upload_file(upload.source, upload.bucket, upload.key, ExtraArgs=extra)
            after = Path(upload.source).stat()
            if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
                s3.delete_object(Bucket=upload.bucket, Key=upload.key)
                raise OperationalError(
                    f"{upload.given} changed while it was uploaded; the upload was removed",
                    hint="run the command again once the file is no longer being written",
                )
        else:
            src_bucket, src_key = split_s3(upload.source)
            output.note(f"copying {upload.source} to {upload.uri}")
            s3.copy(
                {"Bucket": src_bucket, "Key": src_key},
                upload.bucket,
                upload.key,
                ExtraArgs={**extra, "MetadataDirective": "REPLACE"},
            )
        done.append(Transfer(upload, skipped=False))
    return done


def start_execution(
    sfn: Any,
    deployment: Deployment,
    run_id: str,
    spec: RunSpec,
    *,
    caller: Any = None,
    rerun_of: str | None = None,
    promote_from: str | None = None,
) -> tuple[str, bool]:
    """(execution ARN, started now?). ``False`` when the same run was started meanwhile.

    Through the deployment's start URL where it has one (``caller``: the signed URL caller,
    pipeline.operate.approvals), so the run's starter is on record for its approvals; a deployment
    from before the start function is started with StartExecution directly.
    """
    document: dict[str, Any] = {"runSpec": spec.to_dict()}
    if rerun_of is not None:
        # Recorded with the execution (its input is kept with it): status shows what it reruns.
        document["rerunOf"] = rerun_of
    if promote_from is not None:
        # A promotion of that run's model (pipeline.promotion): the preflight reads it from the input.
        from pipeline.promotion import PROMOTE_FROM

        document[PROMOTE_FROM] = promote_from
    execution_input = json.dumps(document, ensure_ascii=False)
    if deployment.start_url and caller is not None:
        from pipeline.operate import approvals

        arn, started, _starter = approvals.start_run(
            caller,
            url=deployment.start_url,
            audience=deployment.training_bucket,
            run_id=run_id,
            execution_input=execution_input,
        )
        return arn, started
    try:
        response = sfn.start_execution(
            stateMachineArn=deployment.state_machine_arn, name=run_id, input=execution_input
        )
    except Exception as exc:
        if error_code(exc) == "ExecutionAlreadyExists":
            return deployment.execution_arn(run_id), False
        raise
    return str(response["executionArn"]), True


def console_url(deployment: Deployment, execution_arn: str) -> str:
    return (
        f"https://{deployment.region}.console.aws.amazon.com/states/home?region={deployment.region}"
        f"#/v2/executions/details/{execution_arn}"
    )


def _size(size: int | None) -> str:
    if size is None:
        return "size unknown"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{size} B"

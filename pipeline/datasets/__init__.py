"""Datasets: where their bytes come from, the record formats they are checked against, and the
preflight that validates a run spec and every dataset it names, before anything is paid for.

By capability: :mod:`.sources` (local files and S3 objects, streamed), :mod:`.formats` (one table of
record formats and one checker per kind of field, token estimates), :mod:`.scan` (one dataset read
line by line with constant memory), :mod:`.report` (what checking one dataset found) and
:mod:`.validate` (``validate_dataset``, ``preflight``, ``validate_run``: the preflight report shared
by the CLI and the workflow Lambda).
"""

from pipeline.datasets.validate import (
    DEFAULT_MAX_ERRORS,
    MAX_LINE_BYTES,
    DatasetReport,
    Finding,
    PreflightReport,
    preflight,
    validate_dataset,
    validate_files,
    validate_run,
)

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

"""The dataset locations of a run spec: ``training``, ``validation`` (one or a list) and any other
location field (``evaluation.prompts``): a local path or an S3 URI Bedrock accepts."""

from __future__ import annotations

from typing import Any

from pipeline.catalog import MAX_VALIDATION_FILES, ModelInfo
from pipeline.datasets.records import s3_uri_problem
from pipeline.problems import DASH, show
from pipeline.runspec.fields import Fields


def parse_location(fields: Fields, value: Any, field_name: str, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            fields.problem(
                field_name,
                None,
                "a local path or s3:// URI",
                f"{field_name} is required (a local path or s3:// URI)",
            )
        return None
    if not isinstance(value, str) or not value.strip():
        fields.problem(
            field_name,
            value,
            "a local path or s3:// URI",
            f"{field_name} must be a path or s3:// URI string",
        )
        return None
    if value.startswith("s3://"):
        problem = s3_uri_problem(value)
        if problem is not None:
            fields.problem(
                field_name, value, "an S3 URI Bedrock accepts", f"{field_name}={show(value)} {problem}"
            )
            return None
    elif fields.require_s3:
        fields.problem(
            field_name,
            value,
            "an s3:// URI",
            f"{field_name}={show(value)} is a local path; the workflow reads only s3:// URIs "
            "(the CLI uploads local files before it starts a run)",
        )
        return None
    return value


def parse_validation(
    fields: Fields, value: Any, model: ModelInfo | None, ctype: str | None
) -> tuple[str, ...]:
    if value is None or value == []:  # to_dict() writes [] for "no validation dataset"
        return ()
    items: list[Any] = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    if not items:
        fields.problem(
            "validation",
            value,
            f"a location or a list of 1{DASH}10",
            "validation must be a location or a non-empty list of them",
        )
        return ()
    if len(items) > MAX_VALIDATION_FILES:
        fields.problem(
            "validation",
            len(items),
            f"at most {MAX_VALIDATION_FILES}",
            f"{len(items)} validation datasets given; CreateModelCustomizationJob "
            f"accepts at most {MAX_VALIDATION_FILES}",
        )
    if (
        model is not None
        and ctype is not None
        and model.supports(ctype)
        and not model.rules(ctype).validation_allowed
    ):
        fields.problem(
            "validation",
            value,
            "no validation dataset",
            f"{model.model_id} does not accept a validation dataset for {ctype}; remove 'validation'",
        )
        return ()
    single = isinstance(value, str)
    locations = [
        parse_location(fields, item, "validation" if single else f"validation[{i}]")
        for i, item in enumerate(items)
    ]
    return tuple(loc for loc in locations if loc is not None)

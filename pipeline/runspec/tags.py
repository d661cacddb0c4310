"""``tags``: the tags put on everything a run creates, within Bedrock's limits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from pipeline.problems import DASH, show
from pipeline.runspec.fields import Fields, kind

# Tags [BC]: at most 200; key 1 to 128 chars, value 0 to 256, both from this character set.
TAG_RE: Final = re.compile(r"[a-zA-Z0-9\s._:/=+@-]*")
MAX_TAGS: Final = 200
# The pipeline adds tags of its own to everything a run creates (pipeline.plan: run id and name, the
# creating execution's ARN and start, a purchase's commitment and purpose, and on a slot's endpoint
# pipeline.slots.SLOT_TAG), under its own prefix: a spec keeps room for them and may not use the
# prefix (cleanup decides ownership by those tags, and never deletes what carries the slot's).
PIPELINE_TAG_PREFIX: Final = "bedrock-customization:"
PIPELINE_TAGS: Final = 7
MAX_SPEC_TAGS: Final = MAX_TAGS - PIPELINE_TAGS


def parse_tags(fields: Fields, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        fields.problem("tags", value, "a mapping key → value", f"tags must be a mapping, got {kind(value)}")
        return {}
    if len(value) > MAX_SPEC_TAGS:
        fields.problem(
            "tags",
            len(value),
            f"at most {MAX_SPEC_TAGS}",
            f"{len(value)} tags given; at most {MAX_SPEC_TAGS}: Bedrock accepts {MAX_TAGS} per "
            f"resource and the pipeline adds up to {PIPELINE_TAGS} of its own",
        )
    tags: dict[str, str] = {}
    charset = "letters, digits, spaces and . _ : / = + @ -"
    for key, raw in value.items():
        where = f"tags.{key}"
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or not TAG_RE.fullmatch(key):
            fields.problem(
                where,
                key,
                f"1{DASH}128 characters: {charset}",
                f"tag key {show(key)} must be 1{DASH}128 characters of {charset}",
            )
            continue
        if key.lower().startswith(PIPELINE_TAG_PREFIX):
            fields.problem(
                where,
                key,
                f"a key not starting with {PIPELINE_TAG_PREFIX!r}",
                f"tag key {show(key)} uses the pipeline's own prefix {PIPELINE_TAG_PREFIX!r} "
                "(its tags name the run and the execution that created each resource); choose "
                "another key",
            )
            continue
        text = str(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else raw
        if not isinstance(text, str) or len(text) > 256 or not TAG_RE.fullmatch(text):
            fields.problem(
                where,
                raw,
                f"0{DASH}256 characters: {charset}",
                f"tag value {show(raw)} must be 0{DASH}256 characters of {charset}",
            )
            continue
        tags[key] = text
    return tags

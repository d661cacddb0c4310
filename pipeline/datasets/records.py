"""What every check of a dataset record shares: severities, the token estimates, S3 URIs as Bedrock
accepts them, field paths, the per-file context of the checkers and the per-record scratch they
write into (reused from record to record: the hot loop allocates nothing).

Token estimates (shown in every report). No tokenizer is bundled, so every count is an estimate:

- *Planning* (optimistic) estimate: characters ÷ 6, rounded up, AWS's own figure for planning dataset
  size ("about 6 characters per token") [UG:model-customization-prepare], plus the minimum tokens per
  image where a model documents a range. Used for totals and cost, and as the optimistic side of the
  per-record limit check.
- *Conservative* estimate: UTF-8 bytes ÷ 3, rounded up, plus the maximum tokens per image. For English
  text it equals the 3 characters per token of AWS's Claude validator [ABS]; for scripts that need 2 to
  4 bytes per character it counts 0.7 to 1.3 tokens per character, what sub-word tokenizers typically
  produce for them.

Per-record token limits use both: a record is an *error* only when even the optimistic estimate is
over the limit, so valid data is never refused because of the estimate (a 103,000-character English
record is ~17,200 tokens by the first and ~34,300 by the second, against a real ~21,000-26,000); it is
a *warning* naming both numbers when only the conservative estimate is over. For scripts where a
tokenizer makes about one token per character (Chinese, Japanese), characters ÷ 6 undercounts, so such
records over the conservative bound always get the warning, never silence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from pipeline.catalog import CustomizationRules, MediaRules
from pipeline.problems import DASH

PLANNING_CHARS_PER_TOKEN: Final = 6
LIMIT_BYTES_PER_TOKEN: Final = 3
TOKEN_METHOD: Final = (
    f"estimatedTokens = characters / {PLANNING_CHARS_PER_TOKEN} (AWS planning figure). Per-record limits: "
    f"an error only when even characters / {PLANNING_CHARS_PER_TOKEN} (plus the minimum tokens per image) is "
    f"over the limit; a warning with both numbers when only the conservative UTF-8 bytes / "
    f"{LIMIT_BYTES_PER_TOKEN} (plus the maximum tokens per image) is over it"
)

# CreateModelCustomizationJob's S3Uri pattern [BC]; keys outside this set are refused by the API.
S3_URI_RE: Final = re.compile(
    r"s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?"
)
S3_URI_MAX: Final = 1024
# Nova: "file names can consist of only alphanumeric characters, underscores, hyphens, slashes, and dots".
NOVA_PATH_RE: Final = re.compile(r"[\w\-/.]+")

INPUT: Final = 0
OUTPUT: Final = 1

ERROR: Final = "error"
WARNING: Final = "warning"

USER: Final = "user"
ASSISTANT: Final = "assistant"


def limit_tokens(utf8_bytes: int) -> int:
    """The conservative token estimate of per-record limits: over it, a warning (see module docstring)."""
    return -(-utf8_bytes // LIMIT_BYTES_PER_TOKEN)


def planning_tokens(characters: int) -> int:
    """AWS's planning estimate, used for totals and cost and, per record, as the optimistic estimate:
    over a limit by it, an error (see module docstring)."""
    return -(-characters // PLANNING_CHARS_PER_TOKEN)


def utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def s3_uri_problem(uri: str) -> str | None:
    """Why a string is not an S3 URI CreateModelCustomizationJob accepts, or None."""
    if not uri.startswith("s3://"):
        return "must be an s3:// URI"
    if len(uri) > S3_URI_MAX:
        return f"is {len(uri):,} characters; S3 URIs may have at most {S3_URI_MAX:,}"
    if not S3_URI_RE.fullmatch(uri):
        return (
            f"is not a valid S3 URI for Bedrock: bucket names are 3{DASH}63 lowercase letters, digits, '.' "
            "and '-', and keys may use only letters, digits and -!_*'(). between slashes (no spaces)"
        )
    return None


def bucket_of(uri: str) -> str:
    return uri[5:].split("/", 1)[0]


# Characters that rarely occur in ordinary text, in order of preference, used to skip the exact
# reserved-string search for texts that cannot contain any reserved string.
_ANCHOR_PREFERENCE: Final = "<>[]{}|\\\n:"

Path = tuple[str | int, ...]


def render_path(where: Path | str) -> str:
    """("messages", 1, "content", 0, "text") → "messages[1].content[0].text"."""
    if isinstance(where, str):
        return where
    parts: list[str] = []
    for part in where:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(f".{part}" if parts else part)
    return "".join(parts)


@dataclass(frozen=True)
class RecordContext:
    """Everything the field checkers need about the model and the dataset, computed once per file."""

    rules: CustomizationRules
    model_id: str
    media: MediaRules | None
    reserved_re: re.Pattern[str] | None
    # (anchor, pattern) pairs: each reserved string is found through one rare character it holds.
    # A text passes when it lacks the anchor (a plain ``in`` test, far faster than a regex character
    # class on non-ASCII strings) or when the pattern, which starts with the anchor as a literal so
    # that the regex engine can jump between candidates, does not match.
    reserved_anchors: tuple[tuple[str, re.Pattern[str]], ...]
    reserved_severity: str
    # For "media must be in the dataset's bucket": the bucket when the dataset is read from S3.
    dataset_bucket: str | None

    @classmethod
    def build(cls, rules: CustomizationRules, model_id: str, dataset_bucket: str | None) -> RecordContext:
        reserved = rules.reserved_strings
        return cls(
            rules=rules,
            model_id=model_id,
            media=rules.media,
            reserved_re=re.compile("|".join(re.escape(r) for r in reserved)) if reserved else None,
            reserved_anchors=_anchored_patterns(reserved),
            reserved_severity=ERROR if rules.reserved_strings_enforced else WARNING,
            dataset_bucket=dataset_bucket,
        )


def _anchored_patterns(reserved: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    groups: dict[str, list[str]] = {}
    for needle in reserved:
        anchor = next((c for c in _ANCHOR_PREFERENCE if c in needle), needle[-1])
        at = needle.index(anchor)
        # Match the anchor, look back for what precedes it in the needle, then match the rest.
        groups.setdefault(anchor, []).append(
            f"(?<={re.escape(needle[: at + 1])}){re.escape(needle[at + 1 :])}"
        )
    return tuple(
        (anchor, re.compile(re.escape(anchor) + "(?:" + "|".join(alternatives) + ")"))
        for anchor, alternatives in sorted(groups.items())
    )


def may_hold_reserved(text: str, anchors: tuple[tuple[str, re.Pattern[str]], ...]) -> bool:
    return any(anchor in text and pattern.search(text) is not None for anchor, pattern in anchors)


class RecordScratch:
    """Per-record results, reused from record to record to keep the hot loop allocation-free.

    ``issues`` holds (field, problem, kind, severity). The dataset-level media fields persist across
    records because Nova forbids mixing images and videos anywhere in one dataset.
    """

    __slots__ = (
        "first_image_line",
        "first_video_line",
        "images",
        "in_chars",
        "issues",
        "line",
        "media_buckets",
        "out_chars",
        "texts",
        "videos",
    )

    MAX_TRACKED_BUCKETS: Final = 16

    def __init__(self) -> None:
        self.issues: list[tuple[str, str, str, str]] = []
        self.in_chars = 0
        self.out_chars = 0
        self.images = 0
        self.videos = 0
        self.texts: list[tuple[int, str]] | None = None
        self.line = 0
        self.first_image_line: int | None = None
        self.first_video_line: int | None = None
        self.media_buckets: dict[str, int] = {}

    def reset(self, line: int, collect_texts: bool) -> None:
        if self.issues:
            self.issues = []
        self.in_chars = self.out_chars = self.images = self.videos = 0
        self.texts = [] if collect_texts else None
        self.line = line

    def error(self, where: Path | str, problem: str, kind: str) -> None:
        self.issues.append((render_path(where), problem, kind, ERROR))

    def warn(self, where: Path | str, problem: str, kind: str) -> None:
        self.issues.append((render_path(where), problem, kind, WARNING))

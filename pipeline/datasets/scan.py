"""One dataset read line by line with constant memory and checked record by record.

``DatasetScanner`` is the engine behind :func:`pipeline.datasets.validate_dataset`: it streams an
object (local file, S3 object or every object under an S3 prefix), caps line length, decodes JSON
strictly, checks each record with the model's format rules, tracks duplicates by hash, counts
records, characters and tokens, and fills a :class:`pipeline.datasets.report.DatasetReport`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, BinaryIO, Final

from pipeline.catalog import (
    EVALUATION_PROMPTS,
    TEACHER_EVALUATION_PROMPTS,
    CustomizationRules,
    ModelInfo,
)
from pipeline.datasets.formats import FORMATS, RecordFormat, check_record
from pipeline.datasets.records import (
    ERROR,
    LIMIT_BYTES_PER_TOKEN,
    NOVA_PATH_RE,
    OUTPUT,
    WARNING,
    RecordContext,
    RecordScratch,
    limit_tokens,
    planning_tokens,
    s3_uri_problem,
    utf8_len,
)
from pipeline.datasets.report import (
    BOM,
    DEFAULT_DUPLICATE_TRACKING,
    HEAD_BYTES,
    LINE_BITS,
    MAX_LINE_BYTES,
    PROMPTS,
    TRAINING,
    DatasetReport,
    Findings,
    TokenCheck,
    json_error,
    json_kind,
    plural_s,
    segment_label,
    size_text,
    within,
)
from pipeline.datasets.sources import (
    DatasetObject,
    compressed_kind,
    has_compressed_suffix,
    is_s3,
    open_object,
    resolve,
    split_s3,
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


# --------------------------------------------------------------------------------------------------
# The scanner
# --------------------------------------------------------------------------------------------------


class DatasetScanner:
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
        self.findings = Findings(max_errors)
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
        head = bytes(peek(HEAD_BYTES)[:HEAD_BYTES]) if peek is not None else b""
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
        file_tag = (len(self.report.files) - 1) << LINE_BITS
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
            if line_no == 1 and line.startswith(BOM):
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
                add(name, line_no, "record", f"invalid JSON: {json_error(exc)}", "json")
                continue
            if type(record) is not dict:
                add(
                    name,
                    line_no,
                    "record",
                    f"must be a JSON object, got {json_kind(record)}; expected {fmt.example}",
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
        index, line = tagged >> LINE_BITS, tagged & ((1 << LINE_BITS) - 1)
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
            f"is {size_text(total)} long (over {size_text(MAX_LINE_BYTES)}), "
            f"far more than any Bedrock record{limit}",
            "too-long",
        )

    def check_tokens(self, scratch: RecordScratch, tokens_per_image: int | None) -> None:
        """Per-record token limits with two estimates; problems go to the record's issues.

        An error only when even the optimistic estimate (characters ÷ 6, the minimum tokens per image) is
        over a limit; a warning with both numbers when only the conservative one (UTF-8 bytes ÷ 3, the
        maximum tokens per image) is. See the pipeline.datasets.records docstring for why.
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
            TokenCheck(
                f"tokens per record (input + output){batch}",
                self.total_limit,
                planning_tokens(in_chars + out_chars) + images * low_per_image,
                limit_tokens(in_bytes + out_bytes) + images * high_per_image,
                in_chars + out_chars,
                in_bytes + out_bytes,
                images,
            ),
            TokenCheck("input tokens", rules.max_input_tokens, in_low, in_high, in_chars, in_bytes, images),
            TokenCheck("output tokens", rules.max_output_tokens, out_low, out_high, out_chars, out_bytes, 0),
        )
        model = self.model.model_id
        for check in checks:
            if check.limit is not None and check.optimistic > check.limit:
                scratch.error(
                    "record",
                    f"{segment_label(check.what)}is ~{check.optimistic:,} tokens "
                    "even by the optimistic estimate "
                    f"({check.basis(low_per_image, conservative=False)}); {model} accepts at most "
                    f"{check.limit:,} {check.what}",
                    "too-long",
                )
                return
        for check in checks:
            if check.limit is not None and check.conservative > check.limit:
                scratch.warn(
                    "record",
                    f"{segment_label(check.what)}may be over {model}'s limit of "
                    f"{check.limit:,} {check.what}: "
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
                f"has {scratch.images} image{plural_s(scratch.images)} and {scratch.videos} "
                f"video{plural_s(scratch.videos)}; {model} takes text with images or text with videos, "
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
        elif self.unread_files == 0 and not within(count, bounds):
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
                f"is {size_text(report.bytes)}; {model} accepts {self.role} data up to {size_text(limit)}",
                "file-size",
            )
        if (
            self.rules.token_limits == ()
            and self.rules.data_format not in (EVALUATION_PROMPTS, TEACHER_EVALUATION_PROMPTS)
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

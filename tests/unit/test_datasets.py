"""Dataset validation: one failing case per rule, each with its specific message and line number."""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline.catalog import (
    CONTINUED_PRE_TRAINING,
    DISTILLATION,
    FINE_TUNING,
    CustomizationRules,
    ModelInfo,
    RecordBounds,
    get_model,
)
from pipeline.datasets import (
    MAX_LINE_BYTES,
    DatasetReport,
    Finding,
    preflight,
    validate_dataset,
    validate_files,
    validate_run,
)
from pipeline.datasets.records import TOKEN_METHOD
from pipeline.runspec import load_run_spec

NOVA_MICRO = "amazon.nova-micro-v1:0:128k"
NOVA_LITE = "amazon.nova-lite-v1:0:300k"
NOVA2_LITE = "amazon.nova-2-lite-v1:0:256k"
LLAMA31 = "meta.llama3-1-8b-instruct-v1:0:128k"
LLAMA32_1B = "meta.llama3-2-1b-instruct-v1:0:128k"
LLAMA32_11B = "meta.llama3-2-11b-instruct-v1:0:128k"
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0:200k"
TITAN_LITE = "amazon.titan-text-lite-v1:0:4k"
TITAN_EXPRESS = "amazon.titan-text-express-v1:0:8k"
TITAN_IMAGE = "amazon.titan-image-generator-v1:0"
TITAN_EMBED = "amazon.titan-embed-image-v1:0"

Line = dict[str, Any] | str | bytes


def turn(role: str, *blocks: Any) -> dict[str, Any]:
    return {"role": role, "content": list(blocks) or [{"text": f"{role} says hello"}]}


def text(value: Any) -> dict[str, Any]:
    return {"text": value}


def image(uri: str = "s3://data-bucket/images/a.png", fmt: str = "png") -> dict[str, Any]:
    return {"image": {"format": fmt, "source": {"s3Location": {"uri": uri}}}}


def video(uri: str = "s3://data-bucket/videos/a.mp4") -> dict[str, Any]:
    return {"video": {"format": "mp4", "source": {"s3Location": {"uri": uri}}}}


def reasoning(value: Any = "I add the numbers first.") -> dict[str, Any]:
    return {"reasoningContent": {"reasoningText": {"text": value}}}


def conv(*turns: dict[str, Any], system: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"schemaVersion": "bedrock-conversation-2024"}
    if system is not None:
        record["system"] = [{"text": system}]
    record["messages"] = list(turns) or [turn("user", text("question")), turn("assistant", text("answer"))]
    return record


# Valid filler records per (model, type), so that every case file meets its record-count bounds.
def nova_record(i: int) -> dict[str, Any]:
    return conv(
        turn("user", text(f"question {i}")), turn("assistant", text(f"answer {i}")), system="Be brief."
    )


def prompt_completion(i: int) -> dict[str, Any]:
    return {"prompt": f"question {i}", "completion": f"answer {i}"}


def claude_record(i: int) -> dict[str, Any]:
    return {
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": f"question {i}"},
            {"role": "assistant", "content": f"answer {i}"},
        ],
    }


def cpt_record(i: int) -> dict[str, Any]:
    return {"input": f"Unlabeled domain text number {i}."}


def prompt_only(i: int) -> dict[str, Any]:
    return {"schemaVersion": "bedrock-conversation-2024", "messages": [turn("user", text(f"prompt {i}"))]}


def caption_record(i: int) -> dict[str, Any]:
    return {"image-ref": f"s3://data-bucket/images/{i}.png", "caption": f"a photo of item {i}"}


FILLERS: dict[tuple[str, str], tuple[Callable[[int], dict[str, Any]], int]] = {
    (NOVA_MICRO, FINE_TUNING): (nova_record, 10),
    (NOVA_LITE, FINE_TUNING): (nova_record, 10),
    (NOVA2_LITE, FINE_TUNING): (nova_record, 10),
    (LLAMA31, FINE_TUNING): (prompt_completion, 10),
    (LLAMA32_1B, FINE_TUNING): (nova_record, 10),
    (LLAMA32_11B, FINE_TUNING): (nova_record, 10),
    (TITAN_LITE, FINE_TUNING): (prompt_completion, 10),
    (TITAN_LITE, CONTINUED_PRE_TRAINING): (cpt_record, 10),
    (CLAUDE, FINE_TUNING): (claude_record, 40),
    (NOVA_MICRO, DISTILLATION): (prompt_only, 110),
    (TITAN_IMAGE, FINE_TUNING): (caption_record, 10),
    (TITAN_EMBED, FINE_TUNING): (caption_record, 1_000),
}


def encode(line: Line) -> bytes:
    if isinstance(line, bytes):
        return line
    if isinstance(line, str):
        return line.encode("utf-8")
    return json.dumps(line, ensure_ascii=False).encode("utf-8")


def write(path: Path, lines: list[Line]) -> Path:
    path.write_bytes(b"".join(encode(line) + b"\n" for line in lines))
    return path


def dataset_with(tmp_path: Path, model: str, ctype: str, bad: list[Line], at: int = 4) -> Path:
    """A valid dataset for (model, type) with ``bad`` lines inserted so the first lands on line ``at``."""
    make, count = FILLERS[(model, ctype)]
    lines: list[Line] = [make(i) for i in range(count)]
    lines[at - 1 : at - 1] = bad
    return write(tmp_path / "train.jsonl", lines)


def errors_of(report: DatasetReport, kind: str) -> list[Finding]:
    return [f for f in report.errors if f.kind == kind]


def the_error(report: DatasetReport, kind: str) -> Finding:
    found = errors_of(report, kind)
    assert len(found) == 1, f"expected one {kind!r} error, got {[str(e) for e in report.errors]}"
    return found[0]


# --------------------------------------------------------------------------------------------------
# One case per record-level rule: (model, type, bad line, expected field, kind, message fragment)
# --------------------------------------------------------------------------------------------------

RECORD_CASES: list[tuple[str, str, str, Line, str, str, str]] = [
    ("invalid-json", NOVA_MICRO, FINE_TUNING, '{"messages": [', "record", "json", "invalid JSON"),
    ("nan-is-not-json", LLAMA31, FINE_TUNING, '{"prompt": NaN, "completion": "a"}', "record", "json", "NaN"),
    (
        "trailing-data",
        LLAMA31,
        FINE_TUNING,
        '{"prompt": "q", "completion": "a"} {}',
        "record",
        "json",
        "Extra data",
    ),
    (
        "invalid-utf8",
        LLAMA31,
        FINE_TUNING,
        b'{"prompt": "caf\xe9", "completion": "a"}',
        "record",
        "encoding",
        "UTF-8",
    ),
    ("not-an-object", NOVA_MICRO, FINE_TUNING, "[1, 2]", "record", "not-object", "must be a JSON object"),
    ("missing-key", LLAMA31, FINE_TUNING, {"prompt": "q"}, "completion", "missing-key", "is missing"),
    (
        "unknown-key",
        LLAMA31,
        FINE_TUNING,
        {"prompt": "q", "completion": "a", "id": 1},
        "id",
        "unknown-key",
        "'prompt'",
    ),
    ("wrong-type", LLAMA31, FINE_TUNING, {"prompt": 3, "completion": "a"}, "prompt", "type", "got a number"),
    ("empty-string", LLAMA31, FINE_TUNING, {"prompt": "  ", "completion": "a"}, "prompt", "empty", "empty"),
    (
        "role-alternation",
        NOVA_MICRO,
        FINE_TUNING,
        conv(turn("user"), turn("user")),
        "messages[1].role",
        "role-order",
        "expected 'assistant', got 'user'",
    ),
    (
        "first-turn-assistant",
        NOVA_MICRO,
        FINE_TUNING,
        conv(turn("assistant"), turn("user")),
        "messages[0].role",
        "role-order",
        "expected 'user'",
    ),
    (
        "unknown-role",
        NOVA_MICRO,
        FINE_TUNING,
        conv(turn("system"), turn("assistant")),
        "messages[0].role",
        "value",
        "not a role",
    ),
    (
        "last-turn-user",
        NOVA_MICRO,
        FINE_TUNING,
        conv(turn("user"), turn("assistant"), turn("user")),
        "messages",
        "role-order",
        "last turn must be from 'assistant'",
    ),
    (
        "single-turn",
        NOVA_MICRO,
        FINE_TUNING,
        conv(turn("user")),
        "messages",
        "role-order",
        "followed by an assistant",
    ),
    ("empty-messages", NOVA_MICRO, FINE_TUNING, {"messages": []}, "messages", "empty", "empty list"),
    (
        "content-not-blocks",
        NOVA_MICRO,
        FINE_TUNING,
        {"messages": [{"role": "user", "content": "hi"}, turn("assistant")]},
        "messages[0].content",
        "type",
        "non-empty list of blocks",
    ),
    (
        "empty-text-block",
        NOVA_MICRO,
        FINE_TUNING,
        conv(turn("user", text("")), turn("assistant")),
        "messages[0].content[0].text",
        "empty",
        "empty",
    ),
    (
        "unsupported-block",
        NOVA_MICRO,
        FINE_TUNING,
        conv(turn("user", {"document": {}}), turn("assistant")),
        "messages[0].content[0].document",
        "value",
        # Nova Micro takes no image or video: the message offers only what it takes.
        "are not training data; use text",
    ),
    (
        "unsupported-block-on-a-vision-model",
        NOVA_LITE,
        FINE_TUNING,
        conv(turn("user", {"document": {}}), turn("assistant")),
        "messages[0].content[0].document",
        "value",
        "use text, image or video",
    ),
    (
        "reasoning-on-a-model-without-it",
        NOVA_LITE,
        FINE_TUNING,
        conv(turn("user"), turn("assistant", reasoning(), text("a"))),
        "messages[1].content[0].reasoningContent",
        "value",
        "'reasoningContent' are not training data",
    ),
    (
        "tool-use-block",
        NOVA_MICRO,
        FINE_TUNING,
        conv(turn("user"), turn("assistant", {"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}})),
        "messages[1].content[0].toolUse",
        "tool-use",
        "tool use (toolUse block) is not supported",
    ),
    (
        "two-kinds-in-one-block",
        NOVA_LITE,
        FINE_TUNING,
        conv(turn("user", {"text": "a", "image": {}}), turn("assistant")),
        "messages[0].content[0]",
        "value",
        "exactly one of text, image or video",
    ),
    (
        "unknown-turn-key",
        NOVA_MICRO,
        FINE_TUNING,
        {"messages": [{"role": "user", "content": [text("q")], "name": "x"}, turn("assistant")]},
        "messages[0].name",
        "unknown-key",
        '"role" and "content"',
    ),
    (
        "empty-system-list",
        NOVA_MICRO,
        FINE_TUNING,
        {"system": [], "messages": [turn("user"), turn("assistant")]},
        "system",
        "empty",
        'omit "system"',
    ),
    (
        "schema-version-not-string",
        NOVA_MICRO,
        FINE_TUNING,
        {"schemaVersion": 2024, "messages": [turn("user"), turn("assistant")]},
        "schemaVersion",
        "type",
        "must be a string",
    ),
    (
        "nova-reserved-string",
        NOVA_MICRO,
        FINE_TUNING,
        conv(turn("user", text("User: where is my order?")), turn("assistant")),
        "messages[0].content[0].text",
        "reserved-string",
        "'User:'",
    ),
    (
        "nova-reserved-in-system",
        NOVA_MICRO,
        FINE_TUNING,
        conv(turn("user"), turn("assistant"), system="End every answer with [EOS]"),
        "system[0].text",
        "reserved-string",
        "'[EOS]'",
    ),
    (
        "nova-reserved-upper-case-unconfirmed",
        NOVA_MICRO,
        FINE_TUNING,
        conv(turn("user"), turn("assistant", text("ASSISTANT: sure"))),
        "messages[1].content[0].text",
        "reserved-string",
        "'ASSISTANT:'",
    ),
    (
        "image-on-text-only-model",
        NOVA_MICRO,
        FINE_TUNING,
        conv(turn("user", text("what is this?"), image()), turn("assistant")),
        "messages[0].content[1].image",
        "media",
        "does not accept images",
    ),
    (
        "image-in-assistant-turn",
        NOVA_LITE,
        FINE_TUNING,
        conv(turn("user"), turn("assistant", image())),
        "messages[1].content[0].image",
        "media",
        "only in user turns",
    ),
    (
        "image-format",
        NOVA_LITE,
        FINE_TUNING,
        conv(turn("user", text("q"), image(fmt="bmp")), turn("assistant")),
        "messages[0].content[1].image.format",
        "value",
        "png, jpeg, gif, webp",
    ),
    (
        "image-uri-not-s3",
        NOVA_LITE,
        FINE_TUNING,
        conv(turn("user", text("q"), image(uri="https://example.com/a.png")), turn("assistant")),
        "messages[0].content[1].image.source.s3Location.uri",
        "uri",
        "must be an s3:// URI",
    ),
    (
        "too-many-images",
        NOVA_LITE,
        FINE_TUNING,
        conv(turn("user", *[image(f"s3://data-bucket/i/{i}.png") for i in range(11)]), turn("assistant")),
        "record",
        "media",
        "at most 10 per record",
    ),
    (
        "two-videos",
        NOVA_LITE,
        FINE_TUNING,
        conv(turn("user", video(), video("s3://data-bucket/videos/b.mp4")), turn("assistant")),
        "record",
        "media",
        "at most 1 per record",
    ),
    (
        "image-and-video-in-one-record",
        NOVA_LITE,
        FINE_TUNING,
        conv(turn("user", text("q"), image(), video()), turn("assistant")),
        "record",
        "media",
        "has 1 image and 1 video; amazon.nova-lite-v1:0:300k takes text with images or text with videos",
    ),
    # Amazon Nova 2 Lite [UG:nova-2-sft-data-prep]
    (
        "nova2-reasoning-in-a-user-turn",
        NOVA2_LITE,
        FINE_TUNING,
        conv(turn("user", text("q"), reasoning()), turn("assistant")),
        "messages[0].content[1].reasoningContent",
        "value",
        "only in assistant turns",
    ),
    (
        "nova2-redacted-reasoning",
        NOVA2_LITE,
        FINE_TUNING,
        conv(turn("user"), turn("assistant", {"reasoningContent": {"redactedContent": "eyJ"}}, text("a"))),
        "messages[1].content[0].reasoningContent.redactedContent",
        "unknown-key",
        "only text reasoning",
    ),
    (
        "nova2-empty-reasoning",
        NOVA2_LITE,
        FINE_TUNING,
        conv(turn("user"), turn("assistant", reasoning(" "), text("a"))),
        "messages[1].content[0].reasoningContent.reasoningText.text",
        "empty",
        "empty",
    ),
    (
        "nova2-reasoning-text-not-an-object",
        NOVA2_LITE,
        FINE_TUNING,
        conv(turn("user"), turn("assistant", {"reasoningContent": {"reasoningText": "why"}}, text("a"))),
        "messages[1].content[0].reasoningContent.reasoningText",
        "type",
        "got a string",
    ),
    (
        "nova2-tool-use",
        NOVA2_LITE,
        FINE_TUNING,
        conv(turn("user"), turn("assistant", reasoning(), {"toolUse": {"toolUseId": "t", "name": "f"}})),
        "messages[1].content[1].toolUse",
        "tool-use",
        "tool use (toolUse block) is not supported in amazon.nova-2-lite-v1:0:256k",
    ),
    (
        "nova2-tool-result",
        NOVA2_LITE,
        FINE_TUNING,
        conv(turn("user", {"toolResult": {"toolUseId": "t", "content": [text("r")]}}), turn("assistant")),
        "messages[0].content[0].toolResult",
        "tool-use",
        "tool use (toolResult block) is not supported",
    ),
    (
        "nova2-tool-config",
        NOVA2_LITE,
        FINE_TUNING,
        {"toolConfig": {"tools": []}, "messages": [turn("user"), turn("assistant")]},
        "toolConfig",
        "tool-use",
        "tool definitions are not supported",
    ),
    (
        "nova2-webp-is-unconfirmed-so-refused",
        NOVA2_LITE,
        FINE_TUNING,
        conv(turn("user", text("q"), image(fmt="webp")), turn("assistant")),
        "messages[0].content[1].image.format",
        "value",
        "use one of png, jpeg, gif",
    ),
    (
        "nova2-reserved-string-in-reasoning",
        NOVA2_LITE,
        FINE_TUNING,
        conv(turn("user"), turn("assistant", reasoning("Assistant: think"), text("a"))),
        "messages[1].content[0].reasoningContent.reasoningText.text",
        "reserved-string",
        "'Assistant:'",
    ),
    (
        "llama32-system-blocks",
        LLAMA32_1B,
        FINE_TUNING,
        {"system": [text("a"), text("b")], "messages": [turn("user"), turn("assistant")]},
        "system",
        "value",
        "at most 1",
    ),
    (
        "claude-content-must-be-string",
        CLAUDE,
        FINE_TUNING,
        {"messages": [{"role": "user", "content": [text("q")]}, {"role": "assistant", "content": "a"}]},
        "messages[0].content",
        "type",
        "must be a string, got a list",
    ),
    (
        "claude-reserved-string",
        CLAUDE,
        FINE_TUNING,
        {
            "messages": [
                {"role": "user", "content": "hi\nHuman: again"},
                {"role": "assistant", "content": "a"},
            ]
        },
        "messages[0].content",
        "reserved-string",
        "'\\nHuman:'",
    ),
    (
        "claude-last-turn-user",
        CLAUDE,
        FINE_TUNING,
        {"messages": [{"role": "user", "content": "q"}]},
        "messages",
        "role-order",
        "followed by an assistant",
    ),
    ("cpt-empty-input", TITAN_LITE, CONTINUED_PRE_TRAINING, {"input": ""}, "input", "empty", "empty"),
    (
        "cpt-unknown-key",
        TITAN_LITE,
        CONTINUED_PRE_TRAINING,
        {"input": "x", "output": "y"},
        "output",
        "unknown-key",
        "'input'",
    ),
    (
        "distillation-starts-with-assistant",
        NOVA_MICRO,
        DISTILLATION,
        {"messages": [turn("assistant", text("hello"))]},
        "messages[0].role",
        "role-order",
        "expected 'user'",
    ),
    (
        "distillation-is-text-only",
        NOVA_MICRO,
        DISTILLATION,
        {"messages": [turn("user", text("q"), image())]},
        "messages[0].content[1].image",
        "media",
        "text only",
    ),
    (
        "caption-too-short",
        TITAN_IMAGE,
        FINE_TUNING,
        {"image-ref": "s3://data-bucket/a.png", "caption": "ab"},
        "caption",
        "length",
        "3\u20131,024 characters",
    ),
    (
        "caption-too-long",
        TITAN_IMAGE,
        FINE_TUNING,
        {"image-ref": "s3://data-bucket/a.png", "caption": "x" * 1025},
        "caption",
        "length",
        "1,025 characters",
    ),
    (
        "image-ref-not-s3",
        TITAN_IMAGE,
        FINE_TUNING,
        {"image-ref": "/home/me/a.png", "caption": "a cat"},
        "image-ref",
        "uri",
        "must be an s3:// URI",
    ),
    (
        "image-ref-not-png-or-jpeg",
        TITAN_IMAGE,
        FINE_TUNING,
        {"image-ref": "s3://data-bucket/a.gif", "caption": "a cat"},
        "image-ref",
        "media",
        "PNG or JPEG",
    ),
    (
        "s3-key-with-space",
        TITAN_IMAGE,
        FINE_TUNING,
        {"image-ref": "s3://data-bucket/my cat.png", "caption": "a cat"},
        "image-ref",
        "uri",
        "no spaces",
    ),
]


@pytest.mark.parametrize(
    ("model", "ctype", "bad", "field", "kind", "fragment"),
    [pytest.param(*case[1:], id=case[0]) for case in RECORD_CASES],
)
def test_each_record_rule_reports_its_message_at_the_right_line(
    tmp_path: Path, model: str, ctype: str, bad: Line, field: str, kind: str, fragment: str
) -> None:
    # Given a valid dataset with one bad record on line 4
    path = dataset_with(tmp_path, model, ctype, [bad], at=4)

    # When it is validated
    report = validate_dataset(str(path), model, ctype)

    # Then exactly that record is reported, at line 4, with the field and the specific message
    assert not report.ok
    error = the_error(report, kind)
    assert (error.line, error.field) == (4, field)
    assert fragment in error.problem
    assert str(error).startswith(f"{path}:4: {field}: ")
    assert report.records == FILLERS[(model, ctype)][1] + 1
    assert report.valid_records == report.records - 1


def test_blank_line_is_reported_and_not_counted(tmp_path: Path) -> None:
    path = dataset_with(tmp_path, NOVA_MICRO, FINE_TUNING, ["   "], at=3)

    report = validate_dataset(str(path), NOVA_MICRO, FINE_TUNING)

    error = the_error(report, "blank-line")
    assert error.line == 3
    assert report.blank_lines == 1
    assert report.records == 10


def test_utf8_bom_is_reported_on_line_one_and_the_record_still_checked(tmp_path: Path) -> None:
    lines: list[Line] = [nova_record(i) for i in range(10)]
    path = write(tmp_path / "train.jsonl", lines)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    report = validate_dataset(str(path), NOVA_MICRO, FINE_TUNING)

    assert the_error(report, "bom").line == 1
    assert report.error_count == 1
    assert report.valid_records == 10


def test_reserved_strings_are_only_warnings_for_distillation_because_unconfirmed(tmp_path: Path) -> None:
    path = dataset_with(tmp_path, NOVA_MICRO, DISTILLATION, [prompt_only(0) | {"system": [text("Bot: hi")]}])

    report = validate_dataset(str(path), NOVA_MICRO, DISTILLATION)

    assert report.ok
    warning = next(w for w in report.warnings if w.kind == "reserved-string")
    assert warning.line == 4
    assert "UNCONFIRMED" in warning.problem


def test_distillation_accepts_prompts_with_and_without_answers(tmp_path: Path) -> None:
    labelled = conv(turn("user", text("q")), turn("assistant", text("a")))
    path = dataset_with(tmp_path, NOVA_MICRO, DISTILLATION, [labelled])

    assert validate_dataset(str(path), NOVA_MICRO, DISTILLATION).ok


def test_content_block_may_name_its_type_as_the_guide_describes(tmp_path: Path) -> None:
    record = conv(
        turn("user", {"type": "text", "text": "q"}), turn("assistant", {"type": "text", "text": "a"})
    )
    wrong = conv(turn("user", {"type": "image", "text": "q"}), turn("assistant"))
    path = dataset_with(tmp_path, NOVA_MICRO, FINE_TUNING, [record, wrong])

    report = validate_dataset(str(path), NOVA_MICRO, FINE_TUNING)

    error = the_error(report, "value")
    assert (error.line, error.field) == (5, "messages[0].content[0].type")


def test_multimodal_nova_record_with_images_in_user_turns_is_valid(tmp_path: Path) -> None:
    record = conv(
        turn("user", text("what does it say?"), image(), image("s3://data-bucket/images/b.jpg", "jpeg"))
    )
    record["messages"].append(turn("assistant", text("LOL")))
    path = dataset_with(tmp_path, NOVA_LITE, FINE_TUNING, [record])

    report = validate_dataset(str(path), NOVA_LITE, FINE_TUNING)

    assert report.ok, [str(e) for e in report.errors]
    assert report.images == 2
    media_warning = next(w for w in report.warnings if w.kind == "media")
    assert "'data-bucket'" in media_warning.problem  # local dataset: upload it to the media's bucket


def test_nova_dataset_may_not_mix_images_and_videos(tmp_path: Path) -> None:
    with_image = conv(turn("user", text("q"), image()), turn("assistant"))
    with_video = conv(turn("user", text("q"), video()), turn("assistant"))
    path = dataset_with(tmp_path, NOVA_LITE, FINE_TUNING, [with_image, with_video], at=2)

    report = validate_dataset(str(path), NOVA_LITE, FINE_TUNING)

    error = the_error(report, "media")
    assert error.line == 3
    assert "first at line 2" in error.problem and "not both" in error.problem


def test_a_record_with_both_media_is_its_own_problem_not_a_dataset_mix(tmp_path: Path) -> None:
    both = conv(turn("user", text("q"), image(), video()), turn("assistant"))
    with_video = conv(turn("user", text("q"), video()), turn("assistant"))
    path = dataset_with(tmp_path, NOVA_LITE, FINE_TUNING, [both, with_video], at=2)

    report = validate_dataset(str(path), NOVA_LITE, FINE_TUNING)

    # Line 2 is wrong on its own; line 3 (videos only) is consistent with no other record.
    error = the_error(report, "media")
    assert (error.line, error.field) == (2, "record")
    assert "never both in one record" in error.problem and "mixes" not in error.problem


def test_nova2_lite_accepts_reasoning_in_assistant_turns(tmp_path: Path) -> None:
    records = [
        conv(turn("user", text(f"q{i}")), turn("assistant", reasoning(f"step {i}"), text(f"a{i}")))
        for i in range(8)
    ]
    records.append(
        conv(
            turn("user", text("q"), image("s3://data-bucket/i/a.gif", fmt="gif")),
            turn("assistant", reasoning(), text("a")),
            turn("user", text("and then?")),
            turn("assistant", reasoning("more"), text("b")),
        )
    )
    path = write(tmp_path / "train.jsonl", records)

    report = validate_dataset(str(path), NOVA2_LITE, FINE_TUNING)

    assert report.ok, [str(e) for e in report.errors]
    assert report.valid_records == 9
    # Reasoning text is training text (output), counted like the answers.
    assert report.characters == sum(len(f"q{i}") + len(f"step {i}") + len(f"a{i}") for i in range(8)) + len(
        "qI add the numbers first.aand then?moreb"
    )


@pytest.mark.parametrize(
    ("count", "ok", "warned"), [(7, False, False), (8, True, True), (199, True, True), (200, True, False)]
)
def test_nova2_lite_record_count_minimum_and_recommendation(
    tmp_path: Path, count: int, ok: bool, warned: bool
) -> None:
    path = write(tmp_path / "train.jsonl", [nova_record(i) for i in range(count)])

    report = validate_dataset(str(path), NOVA2_LITE, FINE_TUNING)

    assert report.ok is ok
    advice = [w for w in warnings_of(report, "record-count") if "recommends at least 200" in w.problem]
    assert bool(advice) is warned


def test_nova2_lite_refuses_a_validation_dataset(tmp_path: Path) -> None:
    train = write(tmp_path / "train.jsonl", [nova_record(i) for i in range(8)])

    report = validate_files(str(train), NOVA2_LITE, FINE_TUNING, validation=[str(train)])

    assert not report.ok
    assert "does not accept a validation dataset" in report.errors[0].problem


def test_nova_media_from_several_buckets_is_an_error_for_a_local_dataset(tmp_path: Path) -> None:
    first = conv(turn("user", text("q"), image("s3://bucket-one/a.png")), turn("assistant"))
    second = conv(turn("user", text("q"), image("s3://bucket-two/a.png")), turn("assistant"))
    path = dataset_with(tmp_path, NOVA_LITE, FINE_TUNING, [first, second])

    report = validate_dataset(str(path), NOVA_LITE, FINE_TUNING)

    assert "2 buckets" in the_error(report, "media").problem


# --------------------------------------------------------------------------------------------------
# Per-record length limits and the token estimate: an error only when even the optimistic estimate
# (characters / 6, the AWS planning figure) is over the limit; a warning naming both estimates when only
# the conservative one (UTF-8 bytes / 3) is.
# --------------------------------------------------------------------------------------------------


def warnings_of(report: DatasetReport, kind: str) -> list[Finding]:
    return [f for f in report.warnings if f.kind == kind]


def nova_text_record(characters: int, char: str = "x") -> dict[str, Any]:
    """A Nova record of exactly ``characters`` characters: the user text plus the 2-character answer."""
    return conv(turn("user", text(char * (characters - 2))), turn("assistant", text("ok")))


def test_a_103000_character_record_is_valid_with_a_warning_naming_both_estimates(tmp_path: Path) -> None:
    # The case of issue 12: bytes / 3 says ~34,334 tokens, over Nova's 32,000; a real tokenizer says
    # ~21,000-26,000 and characters / 6 says ~17,167. Not an error.
    path = dataset_with(tmp_path, NOVA_MICRO, FINE_TUNING, [nova_text_record(103_000)])

    report = validate_dataset(str(path), NOVA_MICRO, FINE_TUNING)

    assert report.ok and report.valid_records == report.records
    (warning,) = warnings_of(report, "token-estimate")
    assert warning.line == 4
    assert "~17,167 tokens by the AWS planning estimate (103,000 characters ÷ 6)" in warning.problem
    assert "~34,334 by the conservative one (103,000 UTF-8 bytes ÷ 3)" in warning.problem
    assert "32,000 tokens per record" in warning.problem


@pytest.mark.parametrize(
    ("characters", "warned"),
    [(96_000, False), (96_001, True)],  # 96,000 bytes / 3 = 32,000: the conservative limit exactly
)
def test_conservative_threshold_warns_only_above_the_limit(
    tmp_path: Path, characters: int, warned: bool
) -> None:
    path = dataset_with(tmp_path, NOVA_MICRO, FINE_TUNING, [nova_text_record(characters)])

    report = validate_dataset(str(path), NOVA_MICRO, FINE_TUNING)

    assert report.ok
    assert bool(warnings_of(report, "token-estimate")) is warned


@pytest.mark.parametrize(
    ("characters", "rejected"),
    [(192_000, False), (192_001, True)],  # 192,000 characters / 6 = 32,000: the optimistic limit exactly
)
def test_optimistic_threshold_rejects_only_above_the_limit(
    tmp_path: Path, characters: int, rejected: bool
) -> None:
    path = dataset_with(tmp_path, NOVA_MICRO, FINE_TUNING, [nova_text_record(characters)])

    report = validate_dataset(str(path), NOVA_MICRO, FINE_TUNING)

    assert report.ok is not rejected
    if rejected:
        error = the_error(report, "too-long")
        assert error.line == 4
        assert "is ~32,001 tokens even by the optimistic estimate (192,001 characters ÷ 6)" in error.problem
        assert "accepts at most 32,000 tokens per record (input + output)" in error.problem
        assert warnings_of(report, "token-estimate") == []  # one finding per record
    else:
        assert len(warnings_of(report, "token-estimate")) == 1


def test_non_ascii_text_counts_more_bytes_in_the_conservative_estimate(tmp_path: Path) -> None:
    # 35,000 CJK characters are 105,000 UTF-8 bytes: ~35,001 tokens conservatively, ~5,834 optimistically.
    record = conv(turn("user", text("字" * 35_000)), turn("assistant", text("好")))
    path = dataset_with(tmp_path, NOVA_MICRO, FINE_TUNING, [record])

    report = validate_dataset(str(path), NOVA_MICRO, FINE_TUNING)

    assert report.ok
    (warning,) = warnings_of(report, "token-estimate")
    assert "105,003 UTF-8 bytes" in warning.problem and "35,001 characters" in warning.problem


@pytest.mark.parametrize(
    ("images", "rejected"),
    # Llama 3.2 Vision: an image costs 1,601 to 6,404 tokens [UG]; the record limit is 16,000.
    [(3, False), (10, True)],
)
def test_llama_vision_counts_image_tokens_in_both_estimates(
    tmp_path: Path, images: int, rejected: bool
) -> None:
    record = conv(turn("user", text("compare"), *[image()] * images), turn("assistant", text("same")))
    path = dataset_with(tmp_path, LLAMA32_11B, FINE_TUNING, [record])

    report = validate_dataset(str(path), LLAMA32_11B, FINE_TUNING)

    if rejected:  # 10 x 1,601 = 16,010 > 16,000 even at the minimum per image
        error = the_error(report, "too-long")
        assert error.line == 4 and "10 images x 1,601" in error.problem and "16,000" in error.problem
    else:  # 3 x 6,404 = 19,212 > 16,000 only at the maximum per image
        assert report.ok
        (warning,) = warnings_of(report, "token-estimate")
        assert "3 images x 1,601" in warning.problem and "3 images x 6,404" in warning.problem


def test_input_and_output_limits_use_the_same_two_estimates(tmp_path: Path) -> None:
    # Llama 3.1: input <= 16,000, output <= 16,000, together <= 16,000 tokens.
    over = {"prompt": "q", "completion": "y" * 96_001}  # output: ~16,001 optimistic
    near = {"prompt": "q" * 48_001, "completion": "ok"}  # input: ~8,001 optimistic, ~16,001 conservative
    path = dataset_with(tmp_path, LLAMA31, FINE_TUNING, [over, near])

    report = validate_dataset(str(path), LLAMA31, FINE_TUNING)

    error = the_error(report, "too-long")
    assert error.line == 4 and "16,000 tokens per record" in error.problem
    (warning,) = warnings_of(report, "token-estimate")
    assert warning.line == 5 and "may be over" in warning.problem


def test_titan_token_limit_depends_on_batch_size(tmp_path: Path) -> None:
    # 13,002 characters: ~2,167 tokens optimistically, within 4,096 at batch size 1-2 for Titan Text Lite
    # (a warning: ~4,334 conservatively) and over 2,048 at batch size 3+ even optimistically.
    record = {"prompt": "y" * 13_000, "completion": "ok"}
    path = dataset_with(tmp_path, TITAN_LITE, FINE_TUNING, [record])

    at_one = validate_dataset(str(path), TITAN_LITE, FINE_TUNING, hyperparameters={"batchSize": "1"})
    at_four = validate_dataset(str(path), TITAN_LITE, FINE_TUNING, hyperparameters={"batchSize": "4"})

    assert at_one.ok and len(warnings_of(at_one, "token-estimate")) == 1
    error = the_error(at_four, "too-long")
    assert "2,048 tokens" in error.problem and "at batchSize 4" in error.problem


def test_line_longer_than_any_record_is_skipped_in_chunks(tmp_path: Path) -> None:
    huge = '{"prompt": "' + "z" * (MAX_LINE_BYTES + 10) + '", "completion": "a"}'
    path = dataset_with(tmp_path, LLAMA31, FINE_TUNING, [huge])

    report = validate_dataset(str(path), LLAMA31, FINE_TUNING)

    error = the_error(report, "too-long")
    assert error.line == 4
    assert "16,000 tokens" in error.problem
    assert report.records == 11  # the lines after it are still read, and numbered right
    assert report.valid_records == 10


def test_totals_report_characters_planning_tokens_and_method(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", [{"prompt": "a" * 60, "completion": "b" * 60}] * 1)

    report = validate_dataset(str(path), LLAMA31, FINE_TUNING)

    assert report.characters == 120
    assert report.estimated_tokens == 20  # 120 characters / 6
    assert report.estimated_tokens_high == 40  # 120 characters / 3
    assert report.to_dict()["tokenMethod"] == TOKEN_METHOD


# --------------------------------------------------------------------------------------------------
# File-level rules
# --------------------------------------------------------------------------------------------------


def test_gzip_is_rejected_by_its_magic_bytes_even_when_named_jsonl(tmp_path: Path) -> None:
    plain = b"".join(encode(nova_record(i)) + b"\n" for i in range(10))
    path = tmp_path / "train.jsonl"
    path.write_bytes(gzip.compress(plain))

    report = validate_dataset(str(path), NOVA_MICRO, FINE_TUNING)

    error = the_error(report, "compressed")
    assert error.line is None
    assert "gzip-compressed" in error.problem and "decompress" in error.problem
    assert report.records == 0  # nothing is parsed from a compressed file


def test_zip_is_rejected_too(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)

    assert (
        "zip-compressed"
        in the_error(validate_dataset(str(path), NOVA_MICRO, FINE_TUNING), "compressed").problem
    )


def test_plain_text_named_gz_is_read_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl.gz", [nova_record(i) for i in range(10)])

    report = validate_dataset(str(path), NOVA_MICRO, FINE_TUNING)

    assert report.ok
    assert any(w.kind == "file-name" and "plain text" in w.problem for w in report.warnings)


def test_utf16_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes("\n".join(json.dumps(nova_record(i)) for i in range(10)).encode("utf-16"))

    assert "UTF-16" in the_error(validate_dataset(str(path), NOVA_MICRO, FINE_TUNING), "encoding").problem


def test_binary_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"\x00\x01\x02binary")

    assert "NUL bytes" in the_error(validate_dataset(str(path), NOVA_MICRO, FINE_TUNING), "encoding").problem


def test_missing_file_and_directory_are_input_errors(tmp_path: Path) -> None:
    missing = validate_dataset(str(tmp_path / "nope.jsonl"), NOVA_MICRO, FINE_TUNING)
    directory = validate_dataset(str(tmp_path), NOVA_MICRO, FINE_TUNING)

    assert "does not exist" in the_error(missing, "not-found").problem
    assert "is a directory" in the_error(directory, "not-found").problem


def test_too_few_records_for_the_model(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", [nova_record(i) for i in range(5)])

    error = the_error(validate_dataset(str(path), NOVA_MICRO, FINE_TUNING), "record-count")

    assert error.problem == f"5 records; {NOVA_MICRO} accepts 8\u201320,000 training records"


def test_empty_file_has_no_records(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", [])

    assert (
        "no records"
        in the_error(validate_dataset(str(path), NOVA_MICRO, FINE_TUNING), "record-count").problem
    )


def test_claude_needs_32_training_records(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", [claude_record(i) for i in range(31)])

    error = the_error(validate_dataset(str(path), CLAUDE, FINE_TUNING), "record-count")

    assert "32\u201310,000" in error.problem


def test_file_size_over_the_model_limit(tmp_path: Path) -> None:
    # Given Titan's 100 MB validation limit shrunk to 100 bytes (same rule, small file)
    model = _with_rules(get_model(TITAN_LITE), FINE_TUNING, validation_file_max_bytes=100)
    path = write(tmp_path / "val.jsonl", [prompt_completion(i) for i in range(10)])

    error = the_error(validate_dataset(str(path), model, FINE_TUNING, "validation"), "file-size")

    assert "accepts validation data up to 100 bytes" in error.problem


def test_undocumented_record_maximum_is_an_unconfirmed_warning_not_a_guess(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", [prompt_completion(i) for i in range(3)])

    report = validate_dataset(str(path), TITAN_EXPRESS, FINE_TUNING)

    assert report.ok
    assert any(w.kind == "unconfirmed" and "UNCONFIRMED" in w.problem for w in report.warnings)


def test_file_name_that_is_not_jsonl_warns(tmp_path: Path) -> None:
    path = write(tmp_path / "train.txt", [nova_record(i) for i in range(10)])

    report = validate_dataset(str(path), NOVA_MICRO, FINE_TUNING)

    assert report.ok
    assert any(w.kind == "file-name" and ".jsonl" in w.problem for w in report.warnings)


def test_nova_file_name_characters_warn_for_local_files(tmp_path: Path) -> None:
    path = write(tmp_path / "train (copy).jsonl", [nova_record(i) for i in range(10)])

    report = validate_dataset(str(path), NOVA_MICRO, FINE_TUNING)

    assert any(w.kind == "file-name" and "rename it before uploading" in w.problem for w in report.warnings)


# --------------------------------------------------------------------------------------------------
# Duplicates, error limits and reports
# --------------------------------------------------------------------------------------------------


def test_duplicates_are_counted_and_located_as_warnings(tmp_path: Path) -> None:
    lines: list[Line] = [nova_record(i) for i in range(10)] + [nova_record(2), nova_record(2)]
    path = write(tmp_path / "train.jsonl", lines)

    report = validate_dataset(str(path), NOVA_MICRO, FINE_TUNING)

    assert report.ok
    assert report.duplicates == 2
    assert [(w.line, w.problem) for w in report.warnings if w.kind == "duplicate"] == [
        (11, "duplicate of line 3"),
        (12, "duplicate of line 3"),
    ]


def test_duplicate_tracking_stops_after_the_record_maximum(tmp_path: Path) -> None:
    model = _with_rules(get_model(LLAMA31), FINE_TUNING, training_records=RecordBounds(1, 5))
    lines: list[Line] = [prompt_completion(i) for i in range(8)] + [prompt_completion(0)]
    path = write(tmp_path / "train.jsonl", lines)

    report = validate_dataset(str(path), model, FINE_TUNING)

    assert report.duplicate_tracking_stopped_after == 5
    assert report.duplicates == 0  # memory stays bounded; the file is invalid on count anyway
    assert errors_of(report, "record-count")


def test_first_errors_in_full_and_the_rest_counted_per_kind(tmp_path: Path) -> None:
    bad: list[Line] = ["not json"] * 30 + [{"prompt": ""}] * 5
    path = dataset_with(tmp_path, LLAMA31, FINE_TUNING, bad, at=1)

    report = validate_dataset(str(path), LLAMA31, FINE_TUNING, max_errors=5)

    assert len(report.errors) == 5
    assert [e.line for e in report.errors] == [1, 2, 3, 4, 5]
    assert report.error_counts == {"json": 30, "empty": 5, "missing-key": 5}
    assert report.error_count == 40
    assert "... and 35 more" in report.render_text()


def test_report_summary_and_json_form(tmp_path: Path) -> None:
    path = dataset_with(tmp_path, NOVA_MICRO, FINE_TUNING, [conv(turn("user"), turn("user"))])

    report = validate_dataset(str(path), NOVA_MICRO, FINE_TUNING)
    document = json.loads(json.dumps(report.to_dict()))

    assert report.summary().startswith(f"INVALID: 1 error in {path} ({path}:4: messages[1].role: expected")
    assert document["ok"] is False
    assert document["errors"][0]["message"] == str(report.errors[0])
    assert document["errorCounts"] == {"role-order": 1}


def test_training_cost_is_tokens_times_epochs_times_price(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", [{"prompt": "a" * 3_000, "completion": "b" * 3_000}])

    report = validate_dataset(str(path), TITAN_EXPRESS, FINE_TUNING, epochs=3)

    assert report.estimated_tokens == 1_000
    assert report.training_cost is not None
    assert report.training_cost.usd == pytest.approx(1_000 / 1000 * 3 * 0.008)
    assert "as of 2024-04" in report.training_cost.basis


def test_default_epochs_come_from_the_catalog(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", [prompt_completion(0)])

    assert validate_dataset(str(path), TITAN_EXPRESS, FINE_TUNING).epochs == 5


def test_unsupported_customization_type_is_a_value_error(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", [cpt_record(0)])

    with pytest.raises(ValueError, match="does not support CONTINUED_PRE_TRAINING"):
        validate_dataset(str(path), CLAUDE, CONTINUED_PRE_TRAINING)


# --------------------------------------------------------------------------------------------------
# Several files together (validate_files)
# --------------------------------------------------------------------------------------------------


def test_training_plus_validation_total_is_checked_across_files(tmp_path: Path) -> None:
    # Claude 3 Haiku: training + validation <= 10,000 records
    train = write(tmp_path / "train.jsonl", [claude_record(i) for i in range(9_500)])
    val = write(tmp_path / "val.jsonl", [claude_record(i) for i in range(600)])

    report = validate_files(str(train), CLAUDE, FINE_TUNING, validation=[str(val)])

    assert not report.ok
    assert all(d.ok for d in report.datasets)
    (finding,) = [f for f in report.run_findings if f.severity == "error"]
    assert finding.kind == "record-count"
    assert "10,100 records" in finding.problem and "10,000" in finding.problem


def test_llama_needs_100_records_across_training_and_validation(tmp_path: Path) -> None:
    train = write(tmp_path / "train.jsonl", [prompt_completion(i) for i in range(80)])
    val = write(tmp_path / "val.jsonl", [prompt_completion(i) for i in range(100, 125)])
    short_val = write(tmp_path / "short.jsonl", [prompt_completion(i) for i in range(100, 110)])

    assert validate_files(str(train), LLAMA31, FINE_TUNING, validation=[str(val)]).ok
    short = validate_files(str(train), LLAMA31, FINE_TUNING, validation=[str(short_val)])
    assert "90 records" in short.run_findings[0].problem


def test_validation_files_for_a_model_without_validation_support(tmp_path: Path) -> None:
    train = write(tmp_path / "train.jsonl", [caption_record(i) for i in range(10)])

    report = validate_files(str(train), TITAN_IMAGE, FINE_TUNING, validation=[str(train)])

    assert not report.ok
    assert "does not accept a validation dataset" in report.errors[0].problem
    assert len(report.datasets) == 1


def test_preflight_summary_counts_files_with_errors(tmp_path: Path) -> None:
    train = dataset_with(tmp_path, NOVA_MICRO, FINE_TUNING, ["oops"])
    val = write(tmp_path / "val.jsonl", [{"messages": "x"}])

    report = validate_files(str(train), NOVA_MICRO, FINE_TUNING, validation=[str(val)])

    assert report.summary().startswith(f"INVALID: 2 errors in 2 files ({train}:4: record: invalid JSON")
    assert len(report.summary()) <= 900


def _with_rules(model: ModelInfo, ctype: str, **changes: Any) -> ModelInfo:
    rules: CustomizationRules = dataclasses.replace(model.rules(ctype), **changes)
    return dataclasses.replace(model, customizations={**model.customizations, ctype: rules})


# --------------------------------------------------------------------------------------------------
# Whole runs (validate_run / preflight)
# --------------------------------------------------------------------------------------------------

EXAMPLE_RUNS = Path(__file__).resolve().parents[2] / "examples" / "runs"


def test_validate_run_on_a_valid_spec(tmp_path: Path) -> None:
    write(tmp_path / "train.jsonl", [nova_record(i) for i in range(210)])
    spec = tmp_path / "run.json"
    spec.write_text(
        json.dumps(
            {
                "name": "nova2-run",
                "region": "us-east-1",
                "baseModel": NOVA2_LITE,
                "customizationType": FINE_TUNING,
                "training": "train.jsonl",
                "hyperParameters": {"epochCount": 1},
            }
        ),
        encoding="utf-8",
    )

    report = validate_run(load_run_spec(spec))

    assert report.ok
    totals = report.totals()
    assert totals["records"] == 210
    assert totals["epochs"] == 1
    assert totals["estimatedTrainingCostUsd"] == pytest.approx(
        totals["trainingTokens"] / 1000 * 0.00378, abs=1e-6
    )
    assert report.approval is not None and not report.approval.required
    assert "PREFLIGHT PASSED" in report.render_text()


def test_validate_run_requires_s3_inside_the_workflow() -> None:
    report = validate_run(load_run_spec(EXAMPLE_RUNS / "fine-tuning.yaml"), require_s3=True)

    assert not report.ok
    assert {p.field for p in report.spec_problems} == {"training", "validation[0]", "evaluation.prompts"}
    assert report.datasets == []


def test_preflight_validates_datasets_even_when_the_spec_has_other_problems(tmp_path: Path) -> None:
    data = dataset_with(tmp_path, NOVA_MICRO, FINE_TUNING, ["{broken"])
    spec = {
        "name": "X",
        "region": "us-east-1",
        "baseModel": NOVA_MICRO,
        "customizationType": "FINE_TUNING",
        "training": data.name,
        "serving": {"mode": "provisioned", "modelUnits": 1, "commitment": "OneMonth"},
    }

    report = preflight(spec, base_dir=tmp_path, spec_source="run.yaml")

    # Every problem of the spec is listed: the name, the commitment without a human, and throughput
    # for a model that no bar measures
    assert sorted(p.field for p in report.spec_problems) == ["approval.policy", "name", "serving.mode"]
    assert [e.kind for e in report.datasets[0].errors] == ["json"]
    assert report.error_count == 4
    assert report.summary().startswith("INVALID: 4 errors in 2 files (run.yaml: name: ")
    assert report.spec is None


def test_prompts_file_longer_than_max_prompts_warns(tmp_path: Path) -> None:
    train = write(tmp_path / "train.jsonl", [nova_record(i) for i in range(10)])
    prompts = write(tmp_path / "prompts.jsonl", [{"prompt": f"q{i}", "reference": f"a{i}"} for i in range(5)])
    spec = {
        "name": "prompt-run",
        "region": "us-east-1",
        "baseModel": NOVA_MICRO,
        "customizationType": "FINE_TUNING",
        "training": train.name,
        "evaluation": {"prompts": prompts.name, "maxPrompts": 3, "minQuality": 0.5},
        "serving": {"mode": "provisioned", "modelUnits": 1, "commitment": "none"},
    }

    report = preflight(spec, base_dir=tmp_path)

    assert report.ok
    assert any(w.kind == "prompt-count" and "only the first 3" in w.problem for w in report.warnings)


def test_evaluation_prompts_need_prompt_and_reference(tmp_path: Path) -> None:
    path = write(
        tmp_path / "prompts.jsonl", [{"prompt": "q"}, {"prompt": "q", "reference": "a", "category": "x"}]
    )

    report = validate_dataset(str(path), NOVA_MICRO, FINE_TUNING, "prompts")

    assert [(e.line, e.field, e.kind) for e in report.errors] == [
        (1, "reference", "missing-key"),
        (2, "category", "unknown-key"),
    ]

"""Record formats: one table of formats, one checker per kind of field, shared by every format.

Each format in ``FORMATS`` lists its top-level keys and what kind of field each one is. ``check_record``
walks a parsed JSON object with that table and writes problems into a ``RecordScratch``; it never
raises for bad data. Field checkers only build message strings when something is wrong, because they
run once per field of every record of multi-gigabyte files.

The shared plumbing (severities, token estimates, the record context and scratch) is
:mod:`pipeline.datasets.records`; the media fields' checkers are :mod:`pipeline.datasets.media`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from pipeline.catalog import (
    CLAUDE_MESSAGES,
    CONVERSATION,
    CONVERSATION_PROMPTS,
    EVALUATION_PROMPTS,
    IMAGE_CAPTION,
    PRETRAINING_TEXT,
    PROMPT_COMPLETION,
    RFT_PROMPTS,
    TEACHER_EVALUATION_PROMPTS,
)
from pipeline.datasets.media import check_caption, check_image_ref, check_media
from pipeline.datasets.records import (
    ASSISTANT,
    ERROR,
    INPUT,
    OUTPUT,
    USER,
    Path,
    RecordContext,
    RecordScratch,
    may_hold_reserved,
)
from pipeline.problems import show, type_name

# --------------------------------------------------------------------------------------------------
# Field checkers. ``where`` is the field's path as a tuple, rendered only when there is a problem.
# --------------------------------------------------------------------------------------------------

FieldChecker = Callable[[Any, Path, RecordContext, RecordScratch], None]


def _text(value: Any, where: Path, segment: int, ctx: RecordContext, out: RecordScratch) -> None:
    if type(value) is not str:
        out.error(where, f"must be a string, got {type_name(value)}", "type")
        return
    if not value or value.isspace():
        out.error(where, "is empty or whitespace only; every text field needs content", "empty")
        return
    if segment == OUTPUT:
        out.out_chars += len(value)
    else:
        out.in_chars += len(value)
    if out.texts is not None:
        out.texts.append((segment, value))
    if ctx.reserved_anchors and may_hold_reserved(value, ctx.reserved_anchors):
        _reserved(value, where, ctx, out)


def _reserved(value: str, where: Path, ctx: RecordContext, out: RecordScratch) -> None:
    assert ctx.reserved_re is not None
    found = sorted({m.group() for m in ctx.reserved_re.finditer(value)})
    if not found:
        return
    names = ", ".join(repr(f) for f in found)
    message = (
        f"contains reserved string{'s' if len(found) > 1 else ''} "
        f"{names}, which fail {ctx.model_id} jobs; reword it"
    )
    if ctx.reserved_severity == ERROR:
        out.error(where, message, "reserved-string")
    else:
        out.warn(where, message + " (UNCONFIRMED for this customization type)", "reserved-string")


def _input_text(value: Any, where: Path, ctx: RecordContext, out: RecordScratch) -> None:
    _text(value, where, INPUT, ctx, out)


def _output_text(value: Any, where: Path, ctx: RecordContext, out: RecordScratch) -> None:
    _text(value, where, OUTPUT, ctx, out)


def _label(value: Any, where: Path, ctx: RecordContext, out: RecordScratch) -> None:
    # schemaVersion "can be any string value" [NOVA]; it is not training text.
    if type(value) is not str:
        out.error(where, f"must be a string, got {type_name(value)}", "type")


def _system_blocks(value: Any, where: Path, ctx: RecordContext, out: RecordScratch) -> None:
    if type(value) is not list:
        out.error(where, f'must be a list of {{"text": ...}} blocks, got {type_name(value)}', "type")
        return
    if not value:
        out.error(where, 'is an empty list; omit "system" or give one {"text": ...} block', "empty")
        return
    limit = ctx.rules.max_system_blocks
    if limit is not None and len(value) > limit:
        out.error(where, f"has {len(value)} blocks; {ctx.model_id} allows at most {limit}", "value")
    for i, block in enumerate(value):
        if type(block) is dict and len(block) == 1 and "text" in block:
            _text(block["text"], (*where, i, "text"), INPUT, ctx, out)
            continue
        if type(block) is not dict:
            out.error((*where, i), f'must be an object {{"text": ...}}, got {type_name(block)}', "type")
            continue
        for key in block:
            if key != "text":
                out.error((*where, i, key), 'unknown key; a system block holds only "text"', "unknown-key")
        if "text" not in block:
            out.error((*where, i, "text"), "is missing", "missing-key")
        else:
            _text(block["text"], (*where, i, "text"), INPUT, ctx, out)


def _turns(
    value: Any, where: Path, ctx: RecordContext, out: RecordScratch, blocks: bool, final_assistant: bool
) -> None:
    """Shared by every chat format: role order, alternation, content, last turn."""
    if type(value) is not list:
        out.error(where, f"must be a list of turns, got {type_name(value)}", "type")
        return
    if not value:
        out.error(where, "is an empty list; a record needs at least one user turn", "empty")
        return
    expected = USER
    order_reported = False  # one wrong role shifts every later one: report only the first
    anchors = ctx.reserved_anchors
    fast = blocks and out.texts is None
    for i, message in enumerate(value):
        # Fast path for the common valid turn: {"role": <expected>, "content": [{"text": "..."}, ...]}
        # with no reserved-string candidate. Any other turn takes the general path below, which
        # counts its characters and reports its problems.
        if fast and type(message) is dict and len(message) == 2 and message.get("role") == expected:
            content = message.get("content")
            if type(content) is list and content:
                chars = 0
                for block in content:
                    if type(block) is not dict or len(block) != 1:
                        break
                    text = block.get("text")
                    if type(text) is not str or not text or text.isspace():
                        break
                    for anchor, pattern in anchors:
                        if anchor in text and pattern.search(text) is not None:
                            break
                    else:
                        chars += len(text)
                        continue
                    break
                else:
                    if expected == USER:
                        out.in_chars += chars
                        expected = ASSISTANT
                    else:
                        out.out_chars += chars
                        expected = USER
                    continue
        if type(message) is not dict:
            out.error(
                (*where, i), f'must be an object {{"role", "content"}}, got {type_name(message)}', "type"
            )
        else:
            if len(message) != 2 or "role" not in message or "content" not in message:
                _turn_keys(message, (*where, i), out)
            role = message.get("role")
            if role != expected and not (order_reported and role in (USER, ASSISTANT)):
                order_reported = order_reported or role in (USER, ASSISTANT)
                _wrong_role(role, expected, (*where, i, "role"), out)
            if "content" in message:
                content = message["content"]
                from_assistant = role == ASSISTANT
                if not blocks:
                    _text(content, (*where, i, "content"), OUTPUT if from_assistant else INPUT, ctx, out)
                elif type(content) is list and content:
                    _content_blocks(content, (*where, i, "content"), from_assistant, ctx, out)
                else:
                    what = "an empty list" if content == [] else type_name(content)
                    out.error(
                        (*where, i, "content"),
                        f'must be a non-empty list of blocks like {{"text": ...}}, got {what}',
                        "type",
                    )
        expected = ASSISTANT if expected == USER else USER
    # With an even number of turns a wrong last role is already an alternation error; an odd number
    # means the record ends on a user turn that has no answer to learn from.
    if final_assistant and len(value) % 2 == 1 and not order_reported:
        if len(value) == 1:
            out.error(
                where, "needs a user turn followed by an assistant turn (found only one turn)", "role-order"
            )
        else:
            out.error(
                where,
                "the last turn must be from 'assistant' (the answer to "
                f"learn); turn {len(value) - 1} is a user turn",
                "role-order",
            )


def _turn_keys(message: dict[str, Any], where: Path, out: RecordScratch) -> None:
    for key in message:
        if key != "role" and key != "content":
            out.error((*where, key), 'unknown key; a turn holds only "role" and "content"', "unknown-key")
    if "content" not in message:
        out.error((*where, "content"), "is missing", "missing-key")


def _wrong_role(role: Any, expected: str, where: Path, out: RecordScratch) -> None:
    if role is None:
        out.error(where, f"is missing (expected {expected!r})", "missing-key")
    elif role not in (USER, ASSISTANT):
        out.error(where, f"{show(role)} is not a role; use 'user' or 'assistant'", "value")
    else:
        out.error(
            where,
            f"expected {expected!r}, got {role!r}: turns must alternate "
            "user, assistant, ... starting with user",
            "role-order",
        )


def _content_blocks(
    value: list[Any], where: Path, from_assistant: bool, ctx: RecordContext, out: RecordScratch
) -> None:
    segment = OUTPUT if from_assistant else INPUT
    anchors = ctx.reserved_anchors
    chars = 0
    for j, block in enumerate(value):
        # Fast path for the shape nearly every block has: {"text": "<non-empty text>"} with no
        # reserved-string candidate and no text collection. Everything else goes through _text or
        # _other_block, which report the problems.
        if type(block) is dict and len(block) == 1:
            text = block.get("text")
            if type(text) is str and text and not text.isspace() and out.texts is None:
                for anchor, pattern in anchors:
                    if anchor in text and pattern.search(text) is not None:
                        break
                else:
                    chars += len(text)
                    continue
            if text is not None or "text" in block:
                _text(text, (*where, j, "text"), segment, ctx, out)
                continue
        _other_block(block, (*where, j), from_assistant, ctx, out)
    if segment == OUTPUT:
        out.out_chars += chars
    else:
        out.in_chars += chars


def _other_block(
    block: Any, where: Path, from_assistant: bool, ctx: RecordContext, out: RecordScratch
) -> None:
    if type(block) is not dict:
        out.error(where, f"must be an object, got {type_name(block)}", "type")
        return
    # The user guide's prose mentions a "type" field; accepted when it names the block's own kind.
    kinds = [k for k in block if k != "type"]
    if len(kinds) != 1:
        found = ", ".join(repr(k) for k in kinds) or "none"
        out.error(where, f"must hold exactly one of {allowed_blocks(ctx)}; found {found}", "value")
        return
    kind = kinds[0]
    declared = block.get("type", kind)
    if declared != kind:
        out.error((*where, "type"), f"{show(declared)} does not match the block's {kind!r} key", "value")
    if kind == "text":
        _text(block["text"], (*where, "text"), OUTPUT if from_assistant else INPUT, ctx, out)
    elif kind == "image" or kind == "video":
        check_media(block[kind], kind, (*where, kind), from_assistant, ctx, out)
    elif kind == REASONING and ctx.rules.reasoning_content:
        _reasoning(block[kind], (*where, kind), from_assistant, ctx, out)
    elif kind in _TOOL_BLOCKS:
        out.error(
            (*where, kind),
            f"tool use ({kind} block) is not supported in {ctx.model_id} training data; "
            "remove the tool calls and tool results",
            "tool-use",
        )
    else:
        out.error(
            (*where, kind),
            f"content blocks of type {kind!r} are not training data; use {allowed_blocks(ctx)}",
            "value",
        )


REASONING: Final = "reasoningContent"
_TOOL_BLOCKS: Final = frozenset({"toolUse", "toolResult"})


def allowed_blocks(ctx: RecordContext) -> str:
    """The content blocks the model's training data may hold, e.g. "text or image" (never a media kind the
    model does not take)."""
    media = ctx.media
    kinds = ["text"]
    if media is not None and media.image_formats:
        kinds.append("image")
    if media is not None and media.video_formats:
        kinds.append("video")
    if ctx.rules.reasoning_content:
        kinds.append(f"{REASONING} (assistant turns)")
    return kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " or " + kinds[-1]


def _reasoning(value: Any, where: Path, from_assistant: bool, ctx: RecordContext, out: RecordScratch) -> None:
    """{"reasoningText": {"text": "..."}}: text reasoning, assistant turns only [UG:nova-2-sft-data-prep]."""
    if not from_assistant:
        out.error(where, f"{REASONING} may appear only in assistant turns, not in user turns", "value")
    shape = '{"reasoningText": {"text": "..."}}'
    if type(value) is not dict:
        out.error(where, f"must be an object {shape}, got {type_name(value)}", "type")
        return
    for key in value:
        if key != "reasoningText":
            out.error(
                (*where, key),
                f"unknown key; only text reasoning {shape} is supported for {ctx.model_id}",
                "unknown-key",
            )
    if "reasoningText" not in value:
        out.error((*where, "reasoningText"), f"is missing; expected {shape}", "missing-key")
        return
    reasoning = value["reasoningText"]
    inner = (*where, "reasoningText")
    if type(reasoning) is not dict:
        out.error(inner, f'must be an object {{"text": "..."}}, got {type_name(reasoning)}', "type")
        return
    for key in reasoning:
        if key != "text":
            out.error((*inner, key), 'unknown key; reasoningText holds only "text"', "unknown-key")
    if "text" not in reasoning:
        out.error((*inner, "text"), "is missing", "missing-key")
    else:
        _text(reasoning["text"], (*inner, "text"), OUTPUT, ctx, out)


SYSTEM: Final = "system"


def _rft_messages(value: Any, where: Path, ctx: RecordContext, out: RecordScratch) -> None:
    """OpenAI chat-completions prompt turns [UG:rft-prepare-data]: an optional system turn, then one user
    turn, each ``{"role", "content": "<text>"}``. No assistant turn: the model samples the answers."""
    if type(value) is not list:
        out.error(where, f"must be a list of turns, got {type_name(value)}", "type")
        return
    if not value:
        out.error(where, "is an empty list; a prompt needs one user turn", "empty")
        return
    users = 0
    for i, message in enumerate(value):
        turn = (*where, i)
        if type(message) is not dict:
            out.error(turn, f'must be an object {{"role", "content"}}, got {type_name(message)}', "type")
            continue
        for key in message:
            if key != "role" and key != "content":
                out.error((*turn, key), 'unknown key; a turn holds only "role" and "content"', "unknown-key")
        role = message.get("role")
        if role == ASSISTANT:
            out.error(
                (*turn, "role"),
                "an RFT prompt holds no answer: the model samples the answers and the grader scores "
                "them against reference_answer; remove the assistant turn",
                "role-order",
            )
        elif role == SYSTEM:
            if i != 0:
                out.error((*turn, "role"), "the system turn must come first", "role-order")
        elif role == USER:
            users += 1
            if users == 2:
                out.error(
                    (*turn, "role"),
                    "a second user turn: RFT prompts are single-turn (one user turn, UNCONFIRMED for "
                    "multi-turn data: the guides disagree)",
                    "role-order",
                )
        elif role is None:
            out.error((*turn, "role"), "is missing (expected 'system' or 'user')", "missing-key")
        else:
            out.error((*turn, "role"), f"{show(role)} is not a role; use 'system' or 'user'", "value")
        if "content" not in message:
            out.error((*turn, "content"), "is missing", "missing-key")
        elif type(message["content"]) is list:
            out.error(
                (*turn, "content"),
                "must be a plain string; content-part lists are not documented for Bedrock RFT data",
                "type",
            )
        else:
            _text(message["content"], (*turn, "content"), INPUT, ctx, out)
    if users == 0:
        out.error(where, "has no user turn: the prompt the model answers is missing", "role-order")


def _reference_answer(value: Any, where: Path, ctx: RecordContext, out: RecordScratch) -> None:
    """What the grader scores the sampled answers against: a non-empty string or object.

    The user guide allows "any format the grader understands" [UG:rft-prepare-data], but AWS's
    two RFT dataset validators agree on a string or a dictionary and refuse anything else
    (aws-samples/amazon-nova-samples, customization/bedrock-finetuning/understanding/
    dataset_validation/nova_ft_dataset_validator.py, and the Nova customization SDK's
    rft_dataset_validator.py: ``reference_answer: Optional[Union[str, dict]]``, "must be a string
    or dictionary"): a number or a list goes in an object (``{"answer": 42}``) or a string.
    """
    if value is None:
        out.error(where, "is null; give the expected answer or the criteria the grader scores with", "empty")
    elif type(value) is str:
        if not value or value.isspace():
            out.error(where, "is empty or whitespace only; the grader has nothing to score against", "empty")
    elif type(value) is dict:
        if not value:
            out.error(where, "is an empty object; the grader has nothing to score against", "empty")
    else:
        out.error(
            where,
            f"must be a string or an object (AWS's RFT dataset validators refuse anything else), got "
            f'{type_name(value)}; write it as a string, or inside an object such as {{"answer": ...}}',
            "type",
        )


def _turns_with_blocks(final_assistant: bool) -> FieldChecker:
    def check(value: Any, where: Path, ctx: RecordContext, out: RecordScratch) -> None:
        _turns(value, where, ctx, out, True, final_assistant)

    return check


def _turns_with_strings(value: Any, where: Path, ctx: RecordContext, out: RecordScratch) -> None:
    _turns(value, where, ctx, out, False, True)


# --------------------------------------------------------------------------------------------------
# The formats table
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    key: str
    check: FieldChecker
    required: bool = True


@dataclass(frozen=True)
class RecordFormat:
    name: str
    title: str
    example: str
    fields: tuple[FieldSpec, ...]
    # Keys besides ``fields`` are allowed and not checked (RFT: they reach the grader as metadata).
    extra_keys: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields)

    def describe(self) -> str:
        return f"{self.title}, e.g. {self.example}"


_CONVERSATION_EXAMPLE: Final = (
    '{"schemaVersion": "bedrock-conversation-2024", "system": [{"text": "..."}], '
    '"messages": [{"role": "user", "content": [{"text": "..."}]}, '
    '{"role": "assistant", "content": [{"text": "..."}]}]}'
)

FORMATS: Final[Mapping[str, RecordFormat]] = MappingProxyType(
    {
        f.name: f
        for f in (
            RecordFormat(
                PROMPT_COMPLETION,
                "prompt/completion",
                '{"prompt": "...", "completion": "..."}',
                (FieldSpec("prompt", _input_text), FieldSpec("completion", _output_text)),
            ),
            RecordFormat(
                CONVERSATION,
                "Bedrock conversation schema (bedrock-conversation-2024)",
                _CONVERSATION_EXAMPLE,
                (
                    FieldSpec("schemaVersion", _label, required=False),
                    FieldSpec("system", _system_blocks, required=False),
                    FieldSpec("messages", _turns_with_blocks(final_assistant=True)),
                ),
            ),
            RecordFormat(
                CONVERSATION_PROMPTS,
                "distillation prompts (bedrock-conversation-2024; the assistant turn is optional)",
                '{"schemaVersion": "bedrock-conversation-2024", '
                '"messages": [{"role": "user", "content": [{"text": "..."}]}]}',
                (
                    FieldSpec("schemaVersion", _label, required=False),
                    FieldSpec("system", _system_blocks, required=False),
                    FieldSpec("messages", _turns_with_blocks(final_assistant=False)),
                ),
            ),
            RecordFormat(
                CLAUDE_MESSAGES,
                "Claude 3 Haiku system/messages (content is a plain string)",
                '{"system": "...", "messages": [{"role": "user", "content": "..."}, '
                '{"role": "assistant", "content": "..."}]}',
                (
                    FieldSpec("system", _input_text, required=False),
                    FieldSpec("messages", _turns_with_strings),
                ),
            ),
            RecordFormat(
                PRETRAINING_TEXT,
                "continued pre-training text",
                '{"input": "..."}',
                (FieldSpec("input", _input_text),),
            ),
            RecordFormat(
                IMAGE_CAPTION,
                "image-ref/caption",
                '{"image-ref": "s3://bucket/path/image.png", "caption": "..."}',
                (FieldSpec("image-ref", check_image_ref), FieldSpec("caption", check_caption)),
            ),
            RecordFormat(
                RFT_PROMPTS,
                "reinforcement fine-tuning prompt (OpenAI chat completions, no answer)",
                '{"messages": [{"role": "system", "content": "..."}, {"role": "user", "content": "..."}], '
                '"reference_answer": "...", "<any other key for the grader>": "..."}',
                (FieldSpec("messages", _rft_messages), FieldSpec("reference_answer", _reference_answer)),
                extra_keys=True,
            ),
            RecordFormat(
                EVALUATION_PROMPTS,
                "evaluation prompts",
                '{"prompt": "...", "reference": "..."}',
                (FieldSpec("prompt", _input_text), FieldSpec("reference", _output_text)),
            ),
            RecordFormat(
                TEACHER_EVALUATION_PROMPTS,
                "evaluation prompts (the teacher answers them: evaluation.references=teacher)",
                '{"prompt": "..."}',
                (FieldSpec("prompt", _input_text), FieldSpec("reference", _output_text, required=False)),
            ),
        )
    }
)

# Per format: the allowed keys, and (key, path, checker, required) with the path tuple built once.
_PLANS: Final = MappingProxyType(
    {
        name: (
            frozenset(fmt.keys),
            tuple((spec.key, (spec.key,), spec.check, spec.required) for spec in fmt.fields),
        )
        for name, fmt in FORMATS.items()
    }
)


def check_record(record: dict[str, Any], fmt: RecordFormat, ctx: RecordContext, out: RecordScratch) -> None:
    """Check one parsed record against its format; problems land in ``out.issues``."""
    allowed, plan = _PLANS[fmt.name]
    for key in record:
        if key not in allowed:
            if fmt.extra_keys:
                continue
            if key == "toolConfig":
                message = f"tool definitions are not supported in {ctx.model_id} training data; remove them"
                out.error(key, message, "tool-use")
                continue
            keys = ", ".join(repr(k) for k in fmt.keys)
            out.error(key, f"unknown key; {fmt.title} records hold only {keys}", "unknown-key")
    for key, where, check, required in plan:
        value = record.get(key, _MISSING)
        if value is not _MISSING:
            check(value, where, ctx, out)
        elif required:
            out.error(key, f"is missing; expected {fmt.example}", "missing-key")


_MISSING: Final = object()

"""The evaluation's prompts: where they come from and how each record becomes a prompt and its
reference answer (pipeline.evaluation asks the models; this module only reads).

The run's prompts file first (``{"prompt", "reference"}``), else a slice of the fine-tuning
validation data, else of the training data (optimistic: the model has seen it, and the notes say
so); the reference of a conversation is its final assistant turn. With the distillation teacher
answering for the references (evaluation.references=teacher), a record needs only a prompt.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

PROMPTS: Final = "prompts"
VALIDATION_SLICE: Final = "validation-slice"
TRAINING_SLICE: Final = "training-slice"


@dataclass(frozen=True)
class EvalPrompt:
    prompt: str
    reference: str
    line: int


@dataclass
class PromptSet:
    uri: str | None
    kind: str
    prompts: list[EvalPrompt] = field(default_factory=list)
    skipped: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "kind": self.kind,
            "count": len(self.prompts),
            "skippedRecords": self.skipped,
            "notes": list(self.notes),
        }


def prompt_source(plan: Mapping[str, Any]) -> tuple[str | None, str]:
    """Where the evaluation prompts come from: the run's prompts file, else validation, else training.

    Training records are the last resort: the custom model has seen them, so its scores on them are
    optimistic; the evaluation notes say so.
    """
    evaluation = plan.get("evaluation") or {}
    if evaluation.get("promptsUri"):
        return str(evaluation["promptsUri"]), PROMPTS
    job = plan.get("job") or {}
    validators = (job.get("ValidationDataConfig") or {}).get("Validators") or []
    if validators and validators[0].get("S3Uri"):
        return str(validators[0]["S3Uri"]), VALIDATION_SLICE
    training = (job.get("TrainingDataConfig") or {}).get("S3Uri")
    return (str(training), TRAINING_SLICE) if training else (None, TRAINING_SLICE)


def block_text(content: Any) -> str:
    """Text of a message's content: a plain string (Claude format) or a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)]
        return "\n".join(texts)
    return ""


def extract_pair(record: Any) -> tuple[str, str] | None:
    """(prompt, reference) from one dataset record, or None when it has no usable pair.

    - evaluation prompts: ``{"prompt", "reference"}``
    - prompt/completion: ``{"prompt", "completion"}``
    - conversations (Bedrock conversation schema or Claude messages): the last user turn before the
      final assistant turn is the prompt, the final assistant turn the reference. Earlier turns
      and the system prompt are not sent: every model gets the same single-turn question.
    """
    if not isinstance(record, dict):
        return None
    prompt: Any = record.get("prompt")
    reference: Any = record.get("reference", record.get("completion"))
    messages = record.get("messages")
    if prompt is None and isinstance(messages, list) and messages:
        last = messages[-1]
        if not isinstance(last, dict) or last.get("role") != "assistant":
            return None  # a prompt-only record (distillation data) has no reference answer
        reference = block_text(last.get("content"))
        users = [m for m in messages[:-1] if isinstance(m, dict) and m.get("role") == "user"]
        prompt = block_text(users[-1].get("content")) if users else None
    if not isinstance(prompt, str) or not isinstance(reference, str):
        return None
    if not prompt.strip() or not reference.strip():
        return None
    return prompt, reference


def extract_prompt(record: Any) -> str | None:
    """The prompt of a record that may carry no reference (evaluation.references=teacher):
    ``{"prompt"}``, or the last user turn of a conversation (a distillation prompt record)."""
    if not isinstance(record, dict):
        return None
    prompt: Any = record.get("prompt")
    messages = record.get("messages")
    if prompt is None and isinstance(messages, list):
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        prompt = block_text(users[-1].get("content")) if users else None
    return prompt if isinstance(prompt, str) and prompt.strip() else None


def read_prompts(
    lines: Iterable[bytes | str], *, uri: str | None, kind: str, max_prompts: int, teacher: bool = False
) -> PromptSet:
    """The first ``max_prompts`` usable records of a JSONL stream (it stops reading there).

    ``teacher``: the references come from the distillation teacher (``evaluate`` asks it), so a
    record needs only a prompt, and a reference it has is not used.
    """
    result = PromptSet(uri=uri, kind=kind)
    for number, raw in enumerate(lines, start=1):
        if len(result.prompts) >= max_prompts:
            break
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError:
            record = None
        pair = extract_pair(record)
        if teacher:
            prompt = extract_prompt(record)
            pair = (prompt, "") if prompt is not None else None
        if pair is None:
            result.skipped += 1
            continue
        result.prompts.append(EvalPrompt(pair[0], pair[1], number))
    if result.skipped:
        result.notes.append(
            f"{result.skipped} record(s) skipped: not JSON, or without "
            + ("a prompt" if teacher else "both a prompt and a reference answer")
        )
    if kind == TRAINING_SLICE and result.prompts:
        result.notes.append(
            "no evaluation prompts and no validation data: scored on training records the custom "
            "model has seen, so its scores are optimistic"
        )
    return result

"""What a reinforcement fine-tuning grader Lambda receives: every shape AWS's own sources document.

AWS's sources disagree on the payload, so a grader reads all of them (and the preflight's dry call
sends a team's grader each shape, to report which it understands):

- **the batch**: a bare list of samples [UG:reward-functions-open-weight] ("Input structure
  ``[{"id", "messages", ...}]``") [SM:nova-implementing-reward-functions] (``lambda_grader(samples:
  list[dict])``); a ``{"trajectories": [...]}`` envelope, which AWS's gpt-oss sample grader also
  reads ([ABS] reward-functions/gsm8k_gptoss_rew_func.py); a ``{"batch": [...]}`` envelope
  (named in this project's issue 19 as seen from Bedrock; no AWS source found: UNCONFIRMED). One
  sample object on its own (a test invocation by hand) is a batch of one.
- **where the reference answer is**: under ``metadata`` with the record's other keys, in the
  Bedrock user guide [UG:reward-functions] (``"metadata": {"reference_answer": ...}``, and
  [ABS] gsm8k_rew_func.py reads ``metadata.reference_answer``); at the top level beside
  ``messages`` in the SageMaker / Nova 2 guide "Implementing reward functions"
  [SM:nova-implementing-reward-functions] (the record's keys "same as your training dataset
  sample"), the Bedrock open-weight guide [UG:reward-functions-open-weight] and [ABS]
  finqa_rew_func.py; [ABS] bfcl_tool_call_rew_func.py (2026-02) reads both. Both are read here;
  a key at the top level wins over the same key under ``metadata``.
- **the answer**: the last message, role ``assistant`` [UG:reward-functions] or
  ``nova_assistant`` (the SageMaker RFT evaluation guide's request format; [ABS]
  finqa_rew_func.py accepts both), its ``content`` a string or a list of ``{"type": "text",
  "text"}`` parts (the SageMaker RFT evaluation guide: "the nested content array").

Sources: [UG] Amazon Bedrock user guide pages reward-functions, reward-functions-open-weight;
[SM] Amazon SageMaker AI developer guide (also the Amazon Nova 2 user guide) page
nova-implementing-reward-functions; [ABS] aws-samples/amazon-bedrock-samples,
custom-models/bedrock-reinforcement-fine-tuning/reward-functions/ (read 2026-12).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pipeline.problems import type_name

REFERENCE_KEY: Final = "reference_answer"
ASSISTANT_ROLES: Final = ("assistant", "nova_assistant")
# Envelopes around the list of samples (see the module docstring for their sources).
ENVELOPE_KEYS: Final = ("batch", "trajectories")
# The two places a record's keys reach the grader; METADATA is what Bedrock's own guide documents.
METADATA: Final = "metadata"
TOP_LEVEL: Final = "top-level"
SHAPES: Final = (METADATA, TOP_LEVEL)
# A sample's own keys (not the record's).
_SAMPLE_KEYS: Final = frozenset({"id", "messages", "metadata"})


class GraderPayloadError(ValueError):
    """An invocation payload that is not a batch of samples in any documented shape."""


def samples_of(event: Any) -> list[Any]:
    """The samples of one grader invocation, from any documented batch shape."""
    if isinstance(event, list):
        return event
    if isinstance(event, Mapping):
        for key in ENVELOPE_KEYS:
            if isinstance(event.get(key), list):
                return list(event[key])
        if "messages" in event or REFERENCE_KEY in event or "metadata" in event:
            return [event]
        raise GraderPayloadError(
            f"the grader expects a list of samples (or {{{', '.join(repr(k) for k in ENVELOPE_KEYS)}: "
            f"[...]}}), got an object with keys {sorted(map(str, event))[:8]}"
        )
    raise GraderPayloadError(f"the grader expects a list of samples, got {type_name(event)}")


def record_fields(sample: Mapping[str, Any]) -> dict[str, Any]:
    """The record's own keys as the grader sees them: ``metadata``'s, then the top level's over them."""
    metadata = sample.get("metadata")
    fields = dict(metadata) if isinstance(metadata, Mapping) else {}
    fields.update({k: v for k, v in sample.items() if k not in _SAMPLE_KEYS})
    return fields


def where_reference_is(sample: Mapping[str, Any]) -> str | None:
    """``top-level``, ``metadata`` or None: where this sample carries its reference answer."""
    if sample.get(REFERENCE_KEY) is not None:
        return TOP_LEVEL
    metadata = sample.get("metadata")
    if isinstance(metadata, Mapping) and metadata.get(REFERENCE_KEY) is not None:
        return METADATA
    return None


def response_text(sample: Mapping[str, Any]) -> str | None:
    """The sampled answer: the last message when it is an assistant turn, as text; else None."""
    messages = sample.get("messages")
    if not isinstance(messages, list) or not messages:
        return None
    last = messages[-1]
    if not isinstance(last, Mapping) or last.get("role") not in ASSISTANT_ROLES:
        return None
    content = last.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [str(p["text"]) for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str)]
        return "".join(parts) if parts else None
    return None


def prompt_messages(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    messages = record.get("messages")
    return [dict(m) for m in messages if isinstance(m, Mapping)] if isinstance(messages, list) else []


def sample_for(
    record: Mapping[str, Any], sample_id: str, answer: str, *, shape: str = METADATA
) -> dict[str, Any]:
    """A sample as Bedrock sends it: the prompt, the sampled answer, and the rest of the record under
    ``metadata`` (the Bedrock guide) or at the top level (the SageMaker / Nova 2 guide)."""
    if shape not in SHAPES:
        raise ValueError(f"unknown sample shape {shape!r}; shapes: {', '.join(SHAPES)}")
    rest = {key: value for key, value in record.items() if key != "messages"}
    sample: dict[str, Any] = {
        "id": sample_id,
        "messages": [*prompt_messages(record), {"role": "assistant", "content": answer}],
    }
    if shape == METADATA:
        sample["metadata"] = rest
    else:
        sample.update({k: v for k, v in rest.items() if k not in _SAMPLE_KEYS})
    return sample

"""Regenerate the bundled example datasets: ``python examples/make_examples.py``.

The output is deterministic (no randomness, fixed order), so re-running it produces identical files
and a diff shows any change. Each dataset is sized to meet the minimum record count of the models it
is meant for: Nova needs 8 fine-tuning samples, Llama 100 records, Claude 3 Haiku 32, distillation
100 prompts. The texts avoid the strings Nova reserves (a word followed by a colon such as the
speaker labels of chat transcripts, ``<image>``, ``[EOS]``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATASETS = HERE / "datasets"
PROMPTS = HERE / "prompts"

SYSTEM = (
    "You are the support assistant of Northwind Outfitters, an outdoor gear shop. Answer briefly and kindly."
)

# (product, category, weight, warranty years, care advice, setup advice)
PRODUCTS = (
    (
        "Trailhead 2 tent",
        "tent",
        "2.1 kg",
        3,
        "dry it fully before storage",
        "stake the corners first, then clip the poles",
    ),
    (
        "Summit 40 backpack",
        "backpack",
        "1.3 kg",
        5,
        "hand wash it with mild soap",
        "loosen all straps, then tighten the hip belt first",
    ),
    (
        "Glacier down jacket",
        "jacket",
        "0.6 kg",
        2,
        "tumble dry it on low heat with clean tennis balls",
        "no setup needed",
    ),
    (
        "Ridgeline trekking poles",
        "pole set",
        "0.5 kg",
        4,
        "rinse them after muddy hikes",
        "set the length so your elbows bend at 90 degrees",
    ),
    (
        "Basecamp stove",
        "stove",
        "0.9 kg",
        2,
        "clean the burner holes with a soft brush",
        "screw the canister on by hand and check for leaks",
    ),
    (
        "Nightfall sleeping bag",
        "sleeping bag",
        "1.1 kg",
        5,
        "store it loose, never compressed",
        "shake it out to loft for ten minutes before use",
    ),
    (
        "Riverbend water filter",
        "water filter",
        "0.2 kg",
        1,
        "backflush it after every trip",
        "prime it with two pumps of clean water",
    ),
    (
        "Canyon headlamp",
        "headlamp",
        "0.1 kg",
        2,
        "remove the batteries for long storage",
        "press the button twice for the red light",
    ),
    (
        "Meadow camp chair",
        "chair",
        "0.9 kg",
        2,
        "wipe the fabric with a damp cloth",
        "insert the frame hubs before pulling the seat over",
    ),
    (
        "Harbor dry bag",
        "dry bag",
        "0.2 kg",
        3,
        "turn it inside out to dry",
        "roll the top at least three times before clipping",
    ),
    (
        "Alpine gaiters",
        "gaiter pair",
        "0.3 kg",
        2,
        "brush off mud once it dries",
        "hook the front lace to your boot laces first",
    ),
    (
        "Pinecrest hammock",
        "hammock",
        "0.7 kg",
        3,
        "machine wash it cold in a laundry bag",
        "hang it with a 30 degree strap angle",
    ),
)

QUESTIONS = (
    ("How much does the {p} weigh?", "The {p} weighs {w}."),
    ("What warranty comes with the {p}?", "The {p} has a {y}-year warranty against manufacturing defects."),
    ("How should I care for my {p}?", "To keep your {p} in shape, {c}."),
    ("Any tips for setting up the {p}?", "For the {p}: {s}."),
    (
        "Can I return the {p} if it does not fit my needs?",
        "Yes. Unused items like the {p} can be returned within 60 days.",
    ),
    (
        "Is the {p} covered if it breaks on a trip?",
        "Defects are covered for {y} years; accidental damage to the {p} is repaired at cost.",
    ),
    ("Where is the {p} made?", "The {p} is designed in Oregon and assembled by certified partners."),
    ("Is the {p} suitable for beginners?", "Yes, the {p} is a good first {k}; {s}."),
    ("Does the {p} come in other colors?", "The {p} comes in forest green, slate grey and sunset orange."),
    (
        "How do I store the {p} over winter?",
        "Before winter storage, {c}, then keep the {p} somewhere cool and dry.",
    ),
)

FOLLOW_UPS = (
    (
        "And how long does shipping take?",
        "Standard shipping takes 3 to 5 business days; express takes 1 to 2.",
    ),
    (
        "Is there a discount for club members?",
        "Club members save 10 percent on every order, including the {p}.",
    ),
    ("Can I get spare parts later?", "Spare parts for the {p} stay available for at least {y} years."),
)

REPHRASED = (
    ("Quick question about the {p}: what does it weigh?", "It weighs {w}."),
    ("What is the warranty period on the {p}?", "{y} years against manufacturing defects."),
    ("What is the best way to clean the {p}?", "Simply {c}."),
)


def _facts(product: tuple[str, str, str, int, str, str]) -> dict[str, Any]:
    name, kind, weight, years, care, setup = product
    return {"p": name, "k": kind, "w": weight, "y": years, "c": care, "s": setup}


def _qa(templates: Iterable[tuple[str, str]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for q_template, a_template in templates:
        for product in PRODUCTS:
            facts = _facts(product)
            yield q_template.format(**facts), a_template.format(**facts), facts


def _write(path: Path, records: Iterable[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def _turn(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "content": [{"text": text}]}


def conversation_records(pairs: list[tuple[str, str, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for i, (question, answer, facts) in enumerate(pairs):
        messages = [_turn("user", question), _turn("assistant", answer)]
        if i % 4 == 3:  # every fourth record is a multi-turn conversation
            follow_q, follow_a = FOLLOW_UPS[i % len(FOLLOW_UPS)]
            messages += [_turn("user", follow_q), _turn("assistant", follow_a.format(**facts))]
        record: dict[str, Any] = {"schemaVersion": "bedrock-conversation-2024"}
        if i % 5:  # most records carry the system prompt; some show that it is optional
            record["system"] = [{"text": SYSTEM}]
        record["messages"] = messages
        yield record


def claude_records(pairs: list[tuple[str, str, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for i, (question, answer, facts) in enumerate(pairs):
        messages = [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        if i % 3 == 2:
            follow_q, follow_a = FOLLOW_UPS[i % len(FOLLOW_UPS)]
            messages += [
                {"role": "user", "content": follow_q},
                {"role": "assistant", "content": follow_a.format(**facts)},
            ]
        yield {"system": SYSTEM, "messages": messages}


def pretraining_records(offset: int, count: int) -> Iterator[dict[str, Any]]:
    for i in range(offset, offset + count):
        facts = _facts(PRODUCTS[i % len(PRODUCTS)])
        edition = i // len(PRODUCTS) + 1
        yield {
            "input": (
                f"Northwind Outfitters field guide, edition {edition}, entry {i + 1}. The {facts['p']} is a "
                f"{facts['k']} weighing {facts['w']}. Owners should {facts['c']}. When setting it up, "
                f"{facts['s']}. It carries a {facts['y']}-year warranty."
            )
        }


def distillation_records(pairs: list[tuple[str, str, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for i, (question, answer, _) in enumerate(pairs):
        record: dict[str, Any] = {"schemaVersion": "bedrock-conversation-2024", "system": [{"text": SYSTEM}]}
        messages = [_turn("user", question)]
        # The Nova guide suggests a few (~10) curated answers among unlabeled prompts.
        if i % 12 == 0:
            messages.append(_turn("assistant", answer))
        record["messages"] = messages
        yield record


def image_caption_records() -> Iterator[dict[str, Any]]:
    for product in PRODUCTS:
        facts = _facts(product)
        slug = facts["p"].lower().replace(" ", "-")
        yield {
            "image-ref": f"s3://amzn-s3-demo-bucket/catalog-images/{slug}.png",
            "caption": f"product photo of the {facts['p']}, a {facts['k']}, on a plain white background",
        }


# Reinforcement fine-tuning: route a customer message to the team that handles it. The answer is
# checkable (one team name), so the built-in exact-match grader can score every sampled answer.
ROUTING_SYSTEM = (
    "You route customer messages of Northwind Outfitters to the team that handles them. Reply with "
    "the team name only, one of returns, warranty, shipping, sizing, billing or repairs."
)
# (team, message templates with {p} for the product name)
ROUTING = (
    (
        "returns",
        (
            "I bought the {p} last week and want to send it back for a refund.",
            "Can I return the {p}? It is unused and still in its box.",
            "The {p} is not what I expected. How do I return it?",
        ),
    ),
    (
        "warranty",
        (
            "My {p} broke after two months of normal use. Is that covered?",
            "A seam on my {p} came apart. Will you replace it under the guarantee?",
            "The {p} stopped working although I followed the care advice. What are my options?",
        ),
    ),
    (
        "shipping",
        (
            "My order with the {p} has not arrived yet. Where is my parcel?",
            "The tracking link for my {p} shows no movement for five days.",
            "Can you deliver the {p} to a pickup point instead of my home?",
        ),
    ),
    (
        "sizing",
        (
            "Which size of the {p} fits someone who is 180 cm tall?",
            "Does the {p} run small, or should I order my usual size?",
            "I am between two sizes. Which {p} should I pick?",
        ),
    ),
    (
        "billing",
        (
            "I was charged twice for the {p}. Please refund one payment.",
            "My invoice for the {p} shows the wrong billing address.",
            "The discount code did not apply to the {p} at checkout.",
        ),
    ),
    (
        "repairs",
        (
            "Can you fix the zipper of my {p}? The warranty has ended.",
            "Do you offer a paid repair for the {p}?",
            "I need a spare part for my {p}. Can your workshop replace it?",
        ),
    ),
)


def routing_records(offset: int, count: int) -> Iterator[dict[str, Any]]:
    """``count`` routing prompts from the ``offset``-th combination of team, template and product."""
    combos = [
        (team, template, product[0])
        for product in PRODUCTS
        for team, templates in ROUTING
        for template in templates
    ]
    for index in range(offset, offset + count):
        team, template, product = combos[index % len(combos)]
        yield {
            "messages": [
                {"role": "system", "content": ROUTING_SYSTEM},
                {"role": "user", "content": template.format(p=product)},
            ],
            "reference_answer": team,
            # Any other key reaches the grader in the sample's metadata.
            "ticket_id": f"NW-{index + 1:04d}",
        }


def main() -> None:
    pairs = list(_qa(QUESTIONS))  # 120 question/answer pairs
    held_out = list(_qa(REPHRASED))  # 36 pairs worded differently, for validation and evaluation
    written = {
        "datasets/conversation-train.jsonl": _write(
            DATASETS / "conversation-train.jsonl", conversation_records(pairs)
        ),
        "datasets/conversation-validation.jsonl": _write(
            DATASETS / "conversation-validation.jsonl", conversation_records(held_out[:20])
        ),
        "datasets/prompt-completion-train.jsonl": _write(
            DATASETS / "prompt-completion-train.jsonl", ({"prompt": q, "completion": a} for q, a, _ in pairs)
        ),
        "datasets/prompt-completion-validation.jsonl": _write(
            DATASETS / "prompt-completion-validation.jsonl",
            ({"prompt": q, "completion": a} for q, a, _ in held_out[:20]),
        ),
        "datasets/claude-messages-train.jsonl": _write(
            DATASETS / "claude-messages-train.jsonl", claude_records(pairs[:40])
        ),
        "datasets/continued-pretraining-train.jsonl": _write(
            DATASETS / "continued-pretraining-train.jsonl", pretraining_records(0, 60)
        ),
        "datasets/continued-pretraining-validation.jsonl": _write(
            DATASETS / "continued-pretraining-validation.jsonl", pretraining_records(60, 12)
        ),
        "datasets/distillation-prompts.jsonl": _write(
            DATASETS / "distillation-prompts.jsonl", distillation_records(pairs)
        ),
        "datasets/image-caption-train.jsonl": _write(
            DATASETS / "image-caption-train.jsonl", image_caption_records()
        ),
        "prompts/eval-prompts.jsonl": _write(
            PROMPTS / "eval-prompts.jsonl", ({"prompt": q, "reference": a} for q, a, _ in held_out[20:])
        ),
        # The same held-out questions without references: a distillation's teacher answers them
        # (evaluation.references: teacher).
        "prompts/distillation-held-out.jsonl": _write(
            PROMPTS / "distillation-held-out.jsonl", ({"prompt": q} for q, _, _ in held_out[20:])
        ),
        "datasets/rft-routing-train.jsonl": _write(
            DATASETS / "rft-routing-train.jsonl", routing_records(0, 120)
        ),
        "prompts/rft-routing-eval.jsonl": _write(
            PROMPTS / "rft-routing-eval.jsonl",
            (
                {
                    "prompt": f"{ROUTING_SYSTEM}\n\n{r['messages'][1]['content']}",
                    "reference": r["reference_answer"],
                }
                for r in routing_records(120, 16)
            ),
        ),
    }
    for name, count in written.items():
        print(f"{count:4d} records  examples/{name}")


if __name__ == "__main__":
    main()

"""Property-based tests: valid generated data always passes; one corrupted line is found at its line."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.catalog import (
    CLAUDE_RESERVED,
    NEW_CUSTOMIZATION,
    NOVA_RESERVED,
    all_models,
    get_model,
    usable_for,
)
from pipeline.datasets import validate_dataset
from pipeline.runspec import RunSpec, spec_hash

RESERVED = NOVA_RESERVED + CLAUDE_RESERVED
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None)

# Any Unicode except surrogates (not encodable as UTF-8), never blank, never a reserved string.
texts = (
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60)
    .filter(lambda t: not t.isspace())
    .filter(lambda t: not any(r in t for r in RESERVED))
)


def _blocks(draw: st.DrawFn) -> list[dict[str, str]]:
    return [{"text": t} for t in draw(st.lists(texts, min_size=1, max_size=2))]


@st.composite
def conversations(draw: st.DrawFn, *, prompts_only: bool = False) -> dict[str, Any]:
    record: dict[str, Any] = {}
    if draw(st.booleans()):
        record["schemaVersion"] = "bedrock-conversation-2024"
    if draw(st.booleans()):
        record["system"] = [{"text": draw(texts)}]
    exchanges = draw(st.integers(1, 3))
    messages = []
    for i in range(exchanges):
        messages.append({"role": "user", "content": _blocks(draw)})
        last = i == exchanges - 1
        if not (prompts_only and last and draw(st.booleans())):
            messages.append({"role": "assistant", "content": _blocks(draw)})
    record["messages"] = messages
    return record


@st.composite
def claude_records(draw: st.DrawFn) -> dict[str, Any]:
    record: dict[str, Any] = {}
    if draw(st.booleans()):
        record["system"] = draw(texts)
    messages = []
    for _ in range(draw(st.integers(1, 3))):
        messages += [{"role": "user", "content": draw(texts)}, {"role": "assistant", "content": draw(texts)}]
    record["messages"] = messages
    return record


@dataclass(frozen=True)
class Case:
    model: str
    ctype: str
    records: st.SearchStrategy[dict[str, Any]]
    filler: Callable[[int], dict[str, Any]]
    minimum: int


def _text_chars(value: Any) -> int:
    """Characters of every training text in a record (what the report's ``characters`` counts)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(_text_chars(v) for v in value)
    if isinstance(value, dict):
        return sum(_text_chars(v) for k, v in value.items() if k not in ("role", "schemaVersion"))
    return 0


CASES = [
    Case(
        "amazon.nova-micro-v1:0:128k",
        "FINE_TUNING",
        conversations(),
        lambda i: {
            "messages": [
                {"role": "user", "content": [{"text": f"q{i}"}]},
                {"role": "assistant", "content": [{"text": f"a{i}"}]},
            ]
        },
        8,
    ),
    Case(
        "amazon.nova-micro-v1:0:128k",
        "DISTILLATION",
        conversations(prompts_only=True),
        lambda i: {"messages": [{"role": "user", "content": [{"text": f"prompt {i}"}]}]},
        100,
    ),
    Case(
        "meta.llama3-1-8b-instruct-v1:0:128k",
        "FINE_TUNING",
        st.fixed_dictionaries({"prompt": texts, "completion": texts}),
        lambda i: {"prompt": f"q{i}", "completion": f"a{i}"},
        1,
    ),
    Case(
        "anthropic.claude-3-haiku-20240307-v1:0:200k",
        "FINE_TUNING",
        claude_records(),
        lambda i: {
            "messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]
        },
        32,
    ),
    Case(
        "amazon.titan-text-lite-v1:0:4k",
        "CONTINUED_PRE_TRAINING",
        st.fixed_dictionaries({"input": texts}),
        lambda i: {"input": f"text {i}"},
        1,
    ),
]


@st.composite
def datasets(draw: st.DrawFn) -> tuple[Case, list[dict[str, Any]]]:
    case = draw(st.sampled_from(CASES))
    generated = draw(st.lists(case.records, min_size=1, max_size=12))
    fillers = [case.filler(i) for i in range(max(0, case.minimum - len(generated)))]
    return case, generated + fillers


def _write(directory: str, records: list[Any]) -> Path:
    path = Path(directory) / "data.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@PROPERTY_SETTINGS
@given(datasets())
def test_valid_generated_records_always_pass(dataset: tuple[Case, list[dict[str, Any]]]) -> None:
    case, records = dataset
    with tempfile.TemporaryDirectory() as directory:
        report = validate_dataset(str(_write(directory, records)), case.model, case.ctype)

    assert report.ok, [str(e) for e in report.errors]
    assert report.records == report.valid_records == len(records)
    assert report.characters == sum(_text_chars(r) for r in records)


def _truncate(record: dict[str, Any]) -> str:
    line = json.dumps(record, ensure_ascii=False)
    return line[: len(line) // 2]


def _not_an_object(record: dict[str, Any]) -> str:
    return json.dumps([record], ensure_ascii=False)


def _unknown_key(record: dict[str, Any]) -> str:
    return json.dumps({**record, "unexpectedKey": 1}, ensure_ascii=False)


def _blank_text(record: dict[str, Any]) -> str:
    def blank(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (blank(v) if k not in ("role", "schemaVersion") else v) for k, v in value.items()}
        if isinstance(value, list):
            return [blank(v) for v in value]
        return " " if isinstance(value, str) else value

    return json.dumps(blank(record), ensure_ascii=False)


def _invalid_utf8(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\xff"


CORRUPTIONS: list[Callable[[dict[str, Any]], str | bytes]] = [
    _truncate,
    _not_an_object,
    _unknown_key,
    _blank_text,
    _invalid_utf8,
]


@PROPERTY_SETTINGS
@given(datasets(), st.data())
def test_one_corrupted_line_is_reported_at_its_line(
    dataset: tuple[Case, list[dict[str, Any]]], data: st.DataObject
) -> None:
    case, records = dataset
    index = data.draw(st.integers(0, len(records) - 1), label="corrupted index")
    corrupt = data.draw(st.sampled_from(CORRUPTIONS), label="corruption")
    lines = [json.dumps(r, ensure_ascii=False).encode("utf-8") for r in records]
    bad = corrupt(records[index])
    lines[index] = bad if isinstance(bad, bytes) else bad.encode("utf-8")

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "data.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        report = validate_dataset(str(path), case.model, case.ctype)

    assert not report.ok
    assert {e.line for e in report.errors} == {index + 1}, [str(e) for e in report.errors]
    assert report.valid_records == len(records) - 1


# --------------------------------------------------------------------------------------------------
# Run specs and hyperparameters
# --------------------------------------------------------------------------------------------------

FINE_TUNABLE = [m for m in all_models() if m.supports("FINE_TUNING")]
# Run specs name only models that take new customization jobs today (Legacy and end-of-life ones are
# refused by the run spec; see tests/unit/test_lifecycle.py).
CURRENT_FINE_TUNABLE = [m for m in FINE_TUNABLE if usable_for(m.model_id, NEW_CUSTOMIZATION)]
names = st.from_regex(r"[a-z][a-z0-9]{2,10}(-[a-z0-9]{1,8}){0,2}", fullmatch=True)
WITH_BOUNDED_HYPERPARAMETERS = [
    m
    for m in FINE_TUNABLE
    if any(hp.max is not None and not hp.allowed_values for hp in m.hyperparameters.values())
]


@st.composite
def run_specs(draw: st.DrawFn) -> dict[str, Any]:
    model = draw(st.sampled_from(CURRENT_FINE_TUNABLE))
    hyper: dict[str, Any] = {}
    for name, hp in model.hyperparameters.items():
        if hp.min is None or hp.max is None or not (hp.required or draw(st.booleans())):
            continue
        if hp.type == "integer":
            hyper[name] = draw(st.integers(int(hp.min), int(hp.max)))
        else:
            hyper[name] = draw(st.floats(hp.min, hp.max, allow_nan=False, allow_infinity=False))
    spec: dict[str, Any] = {
        "name": draw(names),
        "region": draw(st.sampled_from(model.regions)),
        "baseModel": model.model_id,
        "customizationType": "FINE_TUNING",
        "training": "s3://my-bucket/datasets/train.jsonl",
        "hyperParameters": hyper,
        "tags": draw(
            st.dictionaries(
                st.from_regex(r"[a-z]{1,10}", fullmatch=True),
                st.from_regex(r"[a-z0-9 ]{0,10}", fullmatch=True),
                max_size=3,
            )
        ),
    }
    if model.validation_allowed("FINE_TUNING") and draw(st.booleans()):
        spec["validation"] = draw(st.sampled_from(["s3://my-bucket/v.jsonl", ["s3://my-bucket/v1.jsonl"]]))
    buys_throughput = draw(st.booleans())
    if buys_throughput or draw(st.booleans()):
        evaluation: dict[str, Any] = {"maxTrainingLoss": draw(st.floats(0.01, 10))}
        # A quality bar is measured on an on-demand deployment or an evaluation throughput; a spec
        # that buys throughput always has one (nothing is bought without a quality verdict).
        if buys_throughput or draw(st.booleans()):
            evaluation |= {"prompts": "s3://my-bucket/p.jsonl", "minQuality": draw(st.floats(0, 1))}
        if draw(st.booleans()):
            evaluation["maxPrompts"] = draw(st.integers(1, 1000))
        spec["evaluation"] = evaluation
    if buys_throughput:
        commitment = draw(st.sampled_from(["none", "OneMonth", "SixMonths"]))
        spec["serving"] = {
            "mode": "provisioned",
            "modelUnits": draw(st.integers(1, 5)),
            "commitment": commitment,
        }
        spec["approval"] = draw(
            st.sampled_from(
                [
                    {"policy": "above-cost", "monthlyCostThreshold": draw(st.integers(0, 10_000))},
                    {"policy": "always", "timeoutHours": draw(st.integers(1, 168))},
                ]
            )
        )
    elif model.deploys_on_demand(spec["region"]) and draw(st.booleans()):
        spec["serving"] = {"mode": "on-demand"}
    return spec


@PROPERTY_SETTINGS
@given(run_specs())
def test_valid_specs_round_trip_through_to_dict(data: dict[str, Any]) -> None:
    spec = RunSpec.from_dict(data)

    again = RunSpec.from_dict(json.loads(json.dumps(spec.to_dict())))

    assert again == spec
    assert spec_hash(again) == spec_hash(spec)
    assert all(isinstance(v, str) for v in spec.to_dict()["hyperParameters"].values())


@PROPERTY_SETTINGS
@given(st.sampled_from(WITH_BOUNDED_HYPERPARAMETERS), st.data())
def test_hyperparameters_outside_their_range_are_always_rejected(model: Any, data: st.DataObject) -> None:
    bounded = [hp for hp in model.hyperparameters.values() if hp.max is not None and not hp.allowed_values]
    hp = data.draw(st.sampled_from(bounded))
    excess = data.draw(st.integers(1, 1000))
    value = int(hp.max) + excess if hp.type == "integer" else hp.max * (1 + excess)

    _, problems = get_model(model.model_id).check_hyperparameters({hp.name: value}, "FINE_TUNING")

    problems = [p for p in problems if p.field == f"hyperParameters.{hp.name}"]
    assert len(problems) == 1
    assert f"is out of range {hp.describe_range()} for {model.model_id}" in problems[0].message

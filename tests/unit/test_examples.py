"""The bundled examples: each dataset is valid for the models it is meant for, and regenerating is exact."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from pipeline.datasets import validate_dataset, validate_files

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DATASETS = EXAMPLES / "datasets"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_examples", EXAMPLES / "make_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("training", "validation", "model", "ctype"),
    [
        (
            "conversation-train.jsonl",
            "conversation-validation.jsonl",
            "amazon.nova-micro-v1:0:128k",
            "FINE_TUNING",
        ),
        (
            "conversation-train.jsonl",
            "conversation-validation.jsonl",
            "amazon.nova-pro-v1:0:300k",
            "FINE_TUNING",
        ),
        ("conversation-train.jsonl", None, "meta.llama3-2-1b-instruct-v1:0:128k", "FINE_TUNING"),
        (
            "prompt-completion-train.jsonl",
            "prompt-completion-validation.jsonl",
            "meta.llama3-1-8b-instruct-v1:0:128k",
            "FINE_TUNING",
        ),
        ("prompt-completion-train.jsonl", None, "amazon.titan-text-express-v1:0:8k", "FINE_TUNING"),
        ("claude-messages-train.jsonl", None, "anthropic.claude-3-haiku-20240307-v1:0:200k", "FINE_TUNING"),
        (
            "continued-pretraining-train.jsonl",
            "continued-pretraining-validation.jsonl",
            "amazon.titan-text-lite-v1:0:4k",
            "CONTINUED_PRE_TRAINING",
        ),
        ("distillation-prompts.jsonl", None, "amazon.nova-micro-v1:0:128k", "DISTILLATION"),
        ("distillation-prompts.jsonl", None, "meta.llama3-1-8b-instruct-v1:0:128k", "DISTILLATION"),
        ("image-caption-train.jsonl", None, "amazon.titan-image-generator-v1:0", "FINE_TUNING"),
        ("rft-routing-train.jsonl", None, "amazon.nova-2-lite-v1:0:256k", "REINFORCEMENT_FINE_TUNING"),
    ],
)
def test_each_example_dataset_is_valid_for_its_models(
    training: str, validation: str | None, model: str, ctype: str
) -> None:
    report = validate_files(
        str(DATASETS / training),
        model,
        ctype,
        validation=[str(DATASETS / validation)] if validation else [],
    )

    assert report.ok, [str(e) for e in report.errors]
    assert not any(w.kind == "duplicate" for w in report.warnings)


def test_evaluation_prompts_example_is_valid() -> None:
    report = validate_dataset(
        str(EXAMPLES / "prompts" / "eval-prompts.jsonl"),
        "amazon.nova-micro-v1:0:128k",
        "FINE_TUNING",
        "prompts",
    )

    assert report.ok and report.records >= 10


def test_regenerating_the_examples_reproduces_the_committed_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = _generator()
    monkeypatch.setattr(generator, "DATASETS", tmp_path / "datasets")
    monkeypatch.setattr(generator, "PROMPTS", tmp_path / "prompts")

    generator.main()

    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.jsonl"))
    committed = sorted(
        p.relative_to(EXAMPLES)
        for folder in ("datasets", "prompts")
        for p in (EXAMPLES / folder).glob("*.jsonl")
    )
    assert generated == committed
    for relative in generated:
        assert (tmp_path / relative).read_bytes() == (EXAMPLES / relative).read_bytes(), relative

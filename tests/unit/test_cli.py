"""The bedrock-customize CLI: validate, check and models; exit codes 0 / 1 / 2; text and --json output."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from pipeline import cli
from pipeline.datasets import sources
from pipeline.runspec import load_run_spec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NOVA_MICRO = "amazon.nova-micro-v1:0:128k"
CONVERSATION = EXAMPLES / "datasets" / "conversation-train.jsonl"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def bad_dataset(tmp_path: Path) -> Path:
    lines = CONVERSATION.read_text(encoding="utf-8").splitlines()
    lines[6] = lines[6].replace('"role": "assistant"', '"role": "user"', 1)
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------------


def test_validate_valid_dataset_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", "--model", NOVA_MICRO, str(CONVERSATION))

    assert code == 0
    assert out.startswith("PREFLIGHT PASSED\nVALID: 1 file, 120 records")


def test_validate_invalid_dataset_exits_2_with_file_line_field_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = bad_dataset(tmp_path)

    code, out, _ = run(capsys, "validate", "--model", NOVA_MICRO, str(path))

    assert code == 2
    assert f"{path}:7: messages[1].role: expected 'assistant', got 'user'" in out


def test_validate_json_is_one_document(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = bad_dataset(tmp_path)

    code, out, _ = run(capsys, "validate", "--model", NOVA_MICRO, str(path), "--json")

    document = json.loads(out)
    assert code == 2
    assert document["ok"] is False
    assert document["errors"][0]["line"] == 7
    assert document["datasets"][0]["records"] == 120


def test_validate_with_validation_files_and_hyperparameters(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "validate",
        "--model",
        "amazon.titan-text-express-v1:0:8k",
        str(EXAMPLES / "datasets" / "prompt-completion-train.jsonl"),
        "--validation",
        str(EXAMPLES / "datasets" / "prompt-completion-validation.jsonl"),
        "-H",
        "epochCount=3",
        "--region",
        "us-west-2",
        "--json",
    )

    document = json.loads(out)
    assert code == 0
    assert [d["role"] for d in document["datasets"]] == ["training", "validation"]
    assert document["totals"]["epochs"] == 3
    assert document["totals"]["estimatedTrainingCostUsd"] > 0


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--model", "amazon.nova-micro-v1:0"], "context-suffixed id"),
        (
            ["--model", "anthropic.claude-3-haiku-20240307-v1:0:200k", "--type", "DISTILLATION"],
            "does not support",
        ),
        (["--model", NOVA_MICRO, "--region", "eu-west-1"], "cannot be customized in eu-west-1"),
        (["--model", NOVA_MICRO, "-H", "epochCount=9"], "epochCount=9 is out of range 1\u20135"),
        (["--model", NOVA_MICRO, "-H", "epochCount"], "is not NAME=VALUE"),
    ],
)
def test_validate_argument_problems_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    code, out, _ = run(capsys, "validate", *args, str(CONVERSATION))

    assert code == 2
    assert fragment in out


def test_operational_failure_exits_1_with_a_next_step(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Unreachable:
        calls = 0

        def head_object(self, **_: Any) -> Any:
            Unreachable.calls += 1
            raise EndpointConnectionError(endpoint_url="https://s3.amazonaws.com")

    monkeypatch.setattr(sources, "default_s3_client", Unreachable)

    code, out, err = run(capsys, "validate", "--model", NOVA_MICRO, "s3://my-bucket/train.jsonl", "--json")

    assert code == 1
    assert Unreachable.calls == 1
    assert json.loads(out)["exitCode"] == 1
    assert "error: cannot read s3://my-bucket/train.jsonl" in err
    assert "Next step: check network access to S3 and retry" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["validate", str(CONVERSATION)])

    assert caught.value.code == 2
    assert "--model" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", sorted((EXAMPLES / "runs").glob("*.yaml")), ids=lambda p: p.name)
def test_check_bundled_examples_pass(capsys: pytest.CaptureFixture[str], spec: Path) -> None:
    code, out, _ = run(capsys, "check", str(spec), "--json")

    document = json.loads(out)
    assert code == 0, document["errors"]
    assert document["errorCount"] == 0
    assert document["spec"] == load_run_spec(spec).to_dict()
    assert all(d["ok"] for d in document["datasets"])


def test_check_reports_spec_and_dataset_problems_together(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = bad_dataset(tmp_path)
    spec = tmp_path / "run.yaml"
    spec.write_text(
        f"name: broken-run\nregion: us-east-1\nbaseModel: {NOVA_MICRO}\ncustomizationType: FINE_TUNING\n"
        f"training: {data.name}\nhyperParameters:\n  epochCount: 9\n",
        encoding="utf-8",
    )

    code, out, _ = run(capsys, "check", str(spec))

    assert code == 2
    assert out.startswith("PREFLIGHT FAILED\nINVALID: 2 errors in 2 files")
    assert f"{spec}:7: hyperParameters.epochCount: epochCount=9 is out of range" in out
    assert "train.jsonl:7: messages[1].role" in out


def test_check_unreadable_spec_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "check", str(tmp_path / "missing.yaml"))

    assert code == 2
    assert "does not exist" in out


# --------------------------------------------------------------------------------------------------
# help and entry points
# --------------------------------------------------------------------------------------------------


def test_every_option_has_help_text() -> None:
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))

    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            if action.help == argparse.SUPPRESS:
                continue
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"
        assert "exit codes" in sub.format_help()


def test_python_dash_m_pipeline_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "validate", "--model", NOVA_MICRO, str(CONVERSATION), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True

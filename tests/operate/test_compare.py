"""`compare`: the same prompts through Converse to several models, scored by the workflow's scoring."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from pipeline import evaluation
from tests.operate.helpers import (
    DEPLOYMENT_ARN,
    MODEL_ARN,
    PT_ARN,
    REGION,
    bedrock_client,
    clients_with,
    deployment_summary,
    pt_summary,
    run_cli,
    tags,
)

PROMPTS = [
    ("What is the warranty on the Harbor dry bag?", "3 years against manufacturing defects."),
    ("How do I clean the Summit 40 backpack?", "Hand wash it with mild soap."),
    ("How much does the Trailhead 2 tent weigh?", "It weighs 2.1 kg."),
]
NOVA = "amazon.nova-micro-v1:0"
OTHER = "anthropic.claude-3-5-sonnet-20240620-v1:0"
RUN_ID = "support-express-0a1b2c3d4e"


def _prompts(tmp_path: Path) -> Path:
    path = tmp_path / "eval.jsonl"
    path.write_text(
        "".join(json.dumps({"prompt": p, "reference": r}) + "\n" for p, r in PROMPTS), encoding="utf-8"
    )
    return path


def _reply(text: str, latency: int, tokens_in: int, tokens_out: int) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {
            "inputTokens": tokens_in,
            "outputTokens": tokens_out,
            "totalTokens": tokens_in + tokens_out,
        },
        "metrics": {"latencyMs": latency},
    }


def _expect(stub: Stubber, model_id: str, prompt: str, reply: dict[str, Any]) -> None:
    stub.add_response(
        "converse",
        reply,
        {
            "modelId": model_id,
            "messages": [{"role": "user", "content": [{"text": prompt}]}],
            "inferenceConfig": {"maxTokens": evaluation.MAX_TOKENS, "temperature": evaluation.TEMPERATURE},
        },
    )


def test_compares_on_demand_models_side_by_side(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    runtime = boto3.client("bedrock-runtime", region_name=REGION)
    stub = Stubber(runtime)
    for index, (prompt, reference) in enumerate(PROMPTS):
        # The catalog id with its :128k suffix is sent as the on-demand id.
        _expect(stub, NOVA, prompt, _reply(reference, 200 + 100 * index, 20, 10))
        _expect(stub, OTHER, prompt, _reply("I am not sure.", 900, 30, 5))

    with stub, clients_with(**{"bedrock-runtime": runtime}):
        result = run_cli(
            capsys,
            "compare",
            "amazon.nova-micro-v1:0:128k",
            OTHER,
            "--prompts",
            str(_prompts(tmp_path)),
            "--json",
        )
        stub.assert_no_pending_responses()

    assert result.code == 0, result.err
    nova, other = result.json()["models"]
    assert nova["modelId"] == NOVA and nova["kind"] == "on-demand"
    assert nova["quality"] == 1.0
    assert nova["latencyMs"] == {"p50": 300.0, "p95": 400.0, "mean": 300.0}
    assert nova["inputTokens"]["mean"] == 20 and nova["outputTokens"]["mean"] == 10
    # (20 x $0.035 + 10 x $0.14) per 1M tokens, x 1,000 requests
    assert nova["costPer1000RequestsUsd"] == pytest.approx((20 * 0.035 + 10 * 0.14) / 1e6 * 1000, abs=1e-4)
    assert any("customizable: FINE_TUNING (bedrock-conversation-2024)" in n for n in nova["notes"])
    assert other["quality"] == 0.0
    assert other["costPer1000RequestsUsd"] is None  # not in the catalog: unknown, never zero
    assert any("not customizable through this pipeline" in n for n in other["notes"])
    assert "I am not sure." in result.out  # per-prompt answers are in the JSON


def test_a_run_id_compares_its_custom_model_on_provisioned_throughput(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bedrock = bedrock_client()
    inventory = Stubber(bedrock)
    inventory.add_response(
        "list_provisioned_model_throughputs",
        {"provisionedModelSummaries": [pt_summary(run_id=RUN_ID, created=dt.datetime.now(dt.UTC), units=2)]},
    )
    inventory.add_response("list_tags_for_resource", tags(RUN_ID), {"resourceARN": PT_ARN})
    runtime = boto3.client("bedrock-runtime", region_name=REGION)
    stub = Stubber(runtime)
    for prompt, reference in PROMPTS:
        _expect(stub, PT_ARN, prompt, _reply(reference, 360, 20, 10))
    html = tmp_path / "html"

    with inventory, stub, clients_with(bedrock=bedrock, **{"bedrock-runtime": runtime}):
        result = run_cli(capsys, "compare", RUN_ID, "--prompts", str(_prompts(tmp_path)), "--html", str(html))

    assert result.code == 0, result.err
    assert RUN_ID in result.out
    # $20.50/MU-hour x 2 MU x 1,000 requests x 0.36 s / 3,600 s
    assert "$4.10" in result.out
    assert (
        "run support-express-0a1b2c3d4e's custom model on provisioned throughput k3v9q2x7m1ab (2 MU"
        in result.out
    )
    page = (html / "compare.html").read_text(encoding="utf-8")
    assert 'id="comparison-chart"' in page and "<svg" in page and 'id="comparison-table"' in page
    assert (html / "compare.png").read_bytes().startswith(b"\x89PNG")
    assert "![Comparison](compare.png)" in (html / "compare.md").read_text(encoding="utf-8")


def test_a_prompt_a_model_refuses_scores_zero_and_is_noted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    runtime = boto3.client("bedrock-runtime", region_name=REGION)
    stub = Stubber(runtime)
    for index, (prompt, reference) in enumerate(PROMPTS):
        if index == 1:
            stub.add_client_error("converse", "ValidationException", "input is too long", 400)
        else:
            _expect(stub, NOVA, prompt, _reply(reference, 250, 20, 10))

    with stub, clients_with(**{"bedrock-runtime": runtime}):
        result = run_cli(capsys, "compare", NOVA, "--prompts", str(_prompts(tmp_path)))

    assert result.code == 0, result.err
    assert "could not answer 1 prompt(s) (scored 0): ValidationException" in result.out


def test_denied_model_access_is_an_operational_failure_with_a_next_step(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    runtime = boto3.client("bedrock-runtime", region_name=REGION)
    stub = Stubber(runtime)
    stub.add_client_error("converse", "AccessDeniedException", "You don't have access to the model", 403)

    with stub, clients_with(**{"bedrock-runtime": runtime}):
        result = run_cli(capsys, "compare", NOVA, "--prompts", str(_prompts(tmp_path)))

    assert result.code == 1
    assert "AWS refused Converse: AccessDeniedException" in result.err
    assert "next:" in result.err


def test_a_prompt_file_without_references_is_invalid_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "eval.jsonl"
    path.write_text('{"prompt": "no reference"}\n', encoding="utf-8")

    result = run_cli(capsys, "compare", NOVA, "--prompts", str(path), "--region", REGION)

    assert result.code == 2
    assert "holds no prompt with a reference answer" in result.err


def test_a_run_served_on_demand_compares_on_its_deployment_at_token_prices(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run_id = "support-nova-0a1b2c3d4e"
    bedrock = bedrock_client()
    control = Stubber(bedrock)
    control.add_response("list_provisioned_model_throughputs", {"provisionedModelSummaries": []})
    control.add_response(
        "list_custom_model_deployments",
        {
            "modelDeploymentSummaries": [
                {
                    "customModelDeploymentArn": DEPLOYMENT_ARN,
                    "customModelDeploymentName": f"{run_id}-od",
                    "modelArn": MODEL_ARN,
                    "createdAt": dt.datetime.now(dt.UTC),
                    "status": "Active",
                }
            ]
        },
        {"nameContains": f"{run_id}-od"},
    )
    control.add_response(
        "get_custom_model_deployment",
        deployment_summary(name=f"{run_id}-od", created=dt.datetime.now(dt.UTC)),
        {"customModelDeploymentIdentifier": DEPLOYMENT_ARN},
    )
    control.add_response(
        "list_tags_for_resource", tags(run_id, purpose="serving"), {"resourceARN": DEPLOYMENT_ARN}
    )
    control.add_response(
        "get_custom_model",
        {
            "modelArn": MODEL_ARN,
            "modelName": run_id,
            "baseModelArn": f"arn:aws:bedrock:{REGION}::foundation-model/amazon.nova-micro-v1:0:128k",
            "creationTime": dt.datetime.now(dt.UTC),
        },
        {"modelIdentifier": MODEL_ARN},
    )
    runtime = boto3.client("bedrock-runtime", region_name=REGION)
    stub = Stubber(runtime)
    for prompt, reference in PROMPTS:
        _expect(stub, DEPLOYMENT_ARN, prompt, _reply(reference, 300, 20, 10))

    with control, stub, clients_with(bedrock=bedrock, **{"bedrock-runtime": runtime}):
        result = run_cli(capsys, "compare", run_id, "--prompts", str(_prompts(tmp_path)), "--json")
        control.assert_no_pending_responses()

    assert result.code == 0, result.err
    (model,) = result.json()["models"]
    assert model["kind"] == "deployment" and model["modelId"] == DEPLOYMENT_ARN
    # Billed per token at Nova Micro's on-demand rate, not "unknown".
    assert model["costPer1000RequestsUsd"] == pytest.approx((20 * 0.035 + 10 * 0.14) / 1e6 * 1000, abs=1e-4)
    assert any(
        f"run {run_id}'s custom model on on-demand deployment d4p8o2y6m1nq, created for serving" in n
        for n in model["notes"]
    )

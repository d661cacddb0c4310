"""Reinforcement fine-tuning of Nova 2 Lite: catalog, data format, run spec, plan and CLI
[UG:rft-prepare-data], [UG:rft-submit-job], [UG:reward-functions], [BC] rftConfig."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline import cli
from pipeline.catalog import REINFORCEMENT_FINE_TUNING, get_model
from pipeline.datasets import preflight, validate_dataset
from pipeline.plan import PlanContext, build_plan, job_timeout_seconds
from pipeline.problems import DASH
from pipeline.runspec import RunSpec, parse_run_spec, spec_hash

ROOT = Path(__file__).resolve().parents[2]
NOVA2_LITE = "amazon.nova-2-lite-v1:0:256k"
RFT = REINFORCEMENT_FINE_TUNING
EXAMPLE = ROOT / "examples" / "runs" / "reinforcement-fine-tuning.yaml"
GRADER = "arn:aws:lambda:us-east-1:123456789012:function:BedrockCustomization-dev-Grader"
TEAM_GRADER = "arn:aws:lambda:us-east-1:123456789012:function:search-team-grader"
DATA = "s3://training-bucket/datasets/abc/train.jsonl"


def prompt(i: int, reference: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": "Answer with one number."},
            {"role": "user", "content": f"What is {i} plus {i}?"},
        ],
        "reference_answer": str(2 * i) if reference is None else reference,
        **extra,
    }


def write(path: Path, records: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), "utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


def spec(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "rft-probe",
        "region": "us-east-1",
        "baseModel": NOVA2_LITE,
        "customizationType": RFT,
        "training": DATA,
        "grader": {"builtin": "numeric"},
        "hyperParameters": {"epochCount": 3, "learningRate": 0.00005, "reasoningEffort": "high"},
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def problems(data: dict[str, Any]) -> list[str]:
    return [f"{p.field}: {p.message}" for p in parse_run_spec(data).problems]


# -- catalog ------------------------------------------------------------------------------------------


def test_nova2_lite_offers_rft_with_its_own_typed_hyperparameters() -> None:
    model = get_model(NOVA2_LITE)
    rules = model.rules(RFT)
    assert rules.data_format == "rft-prompts"
    assert (rules.training_records.min, rules.training_records.max) == (100, 20_000)
    assert not rules.validation_allowed and rules.media is None
    specs = model.hyperparameters_for(RFT)
    assert list(specs) == [
        "epochCount",
        "batchSize",
        "learningRate",
        "maxPromptLength",
        "trainingSamplePerPrompt",
        "inferenceMaxTokens",
        "reasoningEffort",
        "evalInterval",
    ]
    # botocore's RFTHyperParameters bounds [BC]
    assert (specs["epochCount"].min, specs["epochCount"].max) == (1, 50)
    assert (specs["batchSize"].min, specs["batchSize"].max) == (16, 512)
    assert (specs["learningRate"].min, specs["learningRate"].max) == (1e-7, 1e-3)
    assert (specs["trainingSamplePerPrompt"].min, specs["trainingSamplePerPrompt"].max) == (2, 16)
    assert (specs["evalInterval"].min, specs["evalInterval"].max) == (1, 100)
    assert specs["reasoningEffort"].allowed_values == ("low", "medium", "high")
    # fine-tuning keeps its own (strings on the wire, 1-5 epochs)
    assert model.hyperparameters_for("FINE_TUNING")["epochCount"].max == 5


def test_rft_hyperparameters_are_checked_and_typed() -> None:
    model = get_model(NOVA2_LITE)
    values, found = model.check_hyperparameters(
        {
            "epochCount": 50,
            "batchSize": "16",
            "learningRate": 1e-7,
            "reasoningEffort": "low",
            "maxPromptLength": 8192,
        },
        RFT,
    )
    assert found == []
    assert model.typed_hyperparameters(values, RFT) == {
        "epochCount": 50,
        "batchSize": 16,
        "learningRate": 1e-7,
        "reasoningEffort": "low",
        "maxPromptLength": 8192,
    }
    _, found = model.check_hyperparameters(
        {
            "epochCount": 51,
            "batchSize": 8,
            "reasoningEffort": "extreme",
            "learningRateWarmupSteps": 5,
            "evalInterval": 1.5,
        },
        RFT,
    )
    messages = [p.message for p in found]
    assert any(f"epochCount=51 is out of range 1{DASH}50" in m for m in messages)
    assert any(f"batchSize=8 is out of range 16{DASH}512" in m for m in messages)
    assert any("reasoningEffort='extreme' is not one of 'low' or 'medium' or 'high'" in m for m in messages)
    assert any("unknown hyperparameter 'learningRateWarmupSteps'" in m for m in messages)
    assert any("evalInterval='1.5' is not an integer" in m for m in messages)
    _, found = model.check_hyperparameters({"maxPromptLength": 0}, RFT)
    assert "an integer >= 1 (no documented maximum)" in found[0].message


# -- the data format ----------------------------------------------------------------------------------


def test_a_valid_rft_file_passes_and_extra_keys_are_allowed(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", [prompt(i, task_id=f"t{i}", domain="math") for i in range(120)])
    report = validate_dataset(str(path), NOVA2_LITE, RFT)
    assert report.ok, report.errors
    assert report.valid_records == 120


@pytest.mark.parametrize(
    ("record", "field", "problem"),
    [
        (
            {
                "messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}],
                "reference_answer": "4",
            },
            "messages[1].role",
            "an RFT prompt holds no answer",
        ),
        ({"messages": [{"role": "user", "content": "2+2?"}]}, "reference_answer", "is missing"),
        (
            {"messages": [{"role": "user", "content": "2+2?"}], "reference_answer": ""},
            "reference_answer",
            "is empty",
        ),
        (
            {"messages": [{"role": "user", "content": "2+2?"}], "reference_answer": None},
            "reference_answer",
            "is null",
        ),
        (
            {"messages": [{"role": "user", "content": "2+2?"}], "reference_answer": {}},
            "reference_answer",
            "empty object",
        ),
        # AWS's two RFT dataset validators take a string or an object, nothing else.
        (
            {"messages": [{"role": "user", "content": "2+2?"}], "reference_answer": 4},
            "reference_answer",
            "must be a string or an object (AWS's RFT dataset validators refuse anything else), got a number",
        ),
        (
            {"messages": [{"role": "user", "content": "2+2?"}], "reference_answer": ["4", "four"]},
            "reference_answer",
            'got a list; write it as a string, or inside an object such as {"answer": ...}',
        ),
        (
            {"messages": [{"role": "user", "content": "2+2?"}], "reference_answer": True},
            "reference_answer",
            "must be a string or an object",
        ),
        (
            {
                "messages": [{"role": "user", "content": [{"type": "text", "text": "2+2?"}]}],
                "reference_answer": "4",
            },
            "messages[0].content",
            "must be a plain string",
        ),
        (
            {"messages": [{"role": "system", "content": "Be brief."}], "reference_answer": "4"},
            "messages",
            "has no user turn",
        ),
        (
            {
                "messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}],
                "reference_answer": "4",
            },
            "messages[1].role",
            "the system turn must come first",
        ),
        (
            {
                "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
                "reference_answer": "4",
            },
            "messages[1].role",
            "a second user turn",
        ),
        (
            {"messages": [{"role": "tool", "content": "a"}], "reference_answer": "4"},
            "messages[0].role",
            "is not a role",
        ),
        (
            {"messages": [{"role": "user", "content": " "}], "reference_answer": "4"},
            "messages[0].content",
            "is empty",
        ),
        (
            {"messages": [{"role": "user", "content": "a", "name": "x"}], "reference_answer": "4"},
            "messages[0].name",
            "unknown key",
        ),
        ({"messages": [], "reference_answer": "4"}, "messages", "is an empty list"),
        ({"prompt": "2+2?", "reference_answer": "4"}, "messages", "is missing"),
    ],
)
def test_faulty_rft_records_are_refused_with_the_line_and_the_rule(
    tmp_path: Path, record: dict[str, Any], field: str, problem: str
) -> None:
    records: list[Any] = [prompt(i) for i in range(110)]
    records[41] = record
    report = validate_dataset(str(write(tmp_path / "train.jsonl", records)), NOVA2_LITE, RFT)
    assert not report.ok
    matching = [e for e in report.errors if e.line == 42 and e.field == field and problem in e.problem]
    assert matching, [str(e) for e in report.errors]


def test_record_counts_and_reserved_strings(tmp_path: Path) -> None:
    few = validate_dataset(
        str(write(tmp_path / "few.jsonl", [prompt(i) for i in range(99)])), NOVA2_LITE, RFT
    )
    assert [e.kind for e in few.errors] == ["record-count"]
    assert (
        f"99 records; amazon.nova-2-lite-v1:0:256k accepts 100{DASH}20,000 training records"
        in few.errors[0].problem
    )
    records: list[Any] = [prompt(i) for i in range(100)]
    records[3]["messages"][1]["content"] = "User: what is 3 plus 3?"
    reserved = validate_dataset(str(write(tmp_path / "reserved.jsonl", records)), NOVA2_LITE, RFT)
    # Whether reserved strings fail an RFT job is UNCONFIRMED: a warning, not an error.
    assert reserved.ok
    assert [(w.line, w.kind) for w in reserved.warnings if w.kind == "reserved-string"] == [
        (4, "reserved-string")
    ]


def test_cli_validate_accepts_a_valid_file_and_refuses_a_faulty_one_with_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = write(tmp_path / "good.jsonl", [prompt(i) for i in range(100)])
    code, out = run(capsys, "validate", "--model", NOVA2_LITE, "--type", RFT, str(good))
    assert code == 0, out
    assert "PREFLIGHT PASSED" in out
    records: list[Any] = [prompt(i) for i in range(100)]
    records[9] = "not json"
    records[20]["messages"].append({"role": "assistant", "content": "40"})
    bad = write(tmp_path / "bad.jsonl", records)
    code, out = run(capsys, "validate", "--model", NOVA2_LITE, "--type", RFT, str(bad), "-H", "epochCount=60")
    assert code == 2
    assert f"{bad}:10: " in out
    assert f"{bad}:21: messages[2].role: an RFT prompt holds no answer" in out
    assert f"epochCount=60 is out of range 1{DASH}50" in out
    code, out = run(
        capsys, "validate", "--model", NOVA2_LITE, "--type", RFT, str(good), "--validation", str(good)
    )
    assert code == 2
    assert "does not accept a validation dataset for REINFORCEMENT_FINE_TUNING" in out


# -- the run spec -------------------------------------------------------------------------------------


def test_a_valid_rft_spec_has_a_grader() -> None:
    parsed = parse_run_spec(spec())
    assert parsed.problems == []
    assert parsed.spec is not None and parsed.spec.grader is not None
    assert parsed.spec.grader.builtin == "numeric" and parsed.spec.to_dict()["grader"] == {
        "builtin": "numeric"
    }
    team = parse_run_spec(spec(grader={"lambdaArn": TEAM_GRADER})).spec
    assert team is not None and team.to_dict()["grader"] == {"lambdaArn": TEAM_GRADER}


def test_only_rft_specs_carry_a_grader_so_other_spec_hashes_do_not_change() -> None:
    fine_tuning = {
        "name": "ft-probe",
        "region": "us-east-1",
        "baseModel": "amazon.nova-micro-v1:0:128k",
        "customizationType": "FINE_TUNING",
        "training": DATA,
    }
    assert "grader" not in RunSpec.from_dict(fine_tuning).to_dict()
    assert problems({**fine_tuning, "grader": {"builtin": "numeric"}}) == [
        "grader: grader is only used with REINFORCEMENT_FINE_TUNING, not FINE_TUNING; remove it"
    ]
    a, b = RunSpec.from_dict(spec()), RunSpec.from_dict(spec(grader={"builtin": "exact-match"}))
    assert spec_hash(a) != spec_hash(b)  # the grader is part of what the run is


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"grader": None}, "grader: REINFORCEMENT_FINE_TUNING needs a grader"),
        ({"grader": {}}, "grader: grader needs exactly one of builtin and lambdaArn"),
        ({"grader": {"builtin": "numeric", "lambdaArn": TEAM_GRADER}}, "grader needs exactly one of"),
        ({"grader": {"builtin": "exact"}}, "grader.builtin: grader.builtin='exact' is not a built-in grader"),
        ({"grader": {"builtin": "numeric", "tolerance": 1}}, "grader.tolerance: unknown key 'tolerance'"),
        ({"grader": "numeric"}, "grader: grader must be a mapping"),
        ({"grader": {"lambdaArn": "my-grader"}}, "is not a Lambda function ARN"),
        (
            {"grader": {"lambdaArn": TEAM_GRADER.replace("us-east-1", "eu-west-1")}},
            "is in eu-west-1, but the run is in us-east-1",
        ),
        ({"evaluation": {"maxTrainingLoss": 1.0}}, "maxTrainingLoss cannot gate reinforcement fine-tuning"),
        ({"validation": DATA}, "does not accept a validation dataset for REINFORCEMENT_FINE_TUNING"),
        ({"hyperParameters": {"epochCount": "two"}}, "epochCount='two' is not an integer"),
        ({"baseModel": "amazon.nova-micro-v1:0:128k"}, "does not support REINFORCEMENT_FINE_TUNING"),
    ],
)
def test_faulty_rft_specs_name_the_field_and_the_rule(overrides: dict[str, Any], expected: str) -> None:
    found = problems(spec(**overrides))
    assert any(expected in p for p in found), found


def test_the_example_spec_checks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "check", str(EXAMPLE), "--json")
    report = json.loads(out)
    assert code == 0, report["errors"]
    assert report["customizationType"] == RFT
    assert report["grader"]["ok"] is True and report["grader"]["builtin"] == "exact-match"
    assert "every record can be scored by the built-in exact-match grader" in report["datasets"][0]["notes"]


def test_check_reports_every_record_the_builtin_grader_cannot_score_by_line(tmp_path: Path) -> None:
    records = [prompt(i) for i in range(100)]
    records[5]["reference_answer"] = "twelve"
    records[70]["reference_answer"] = {"unit": "kg"}
    path = write(tmp_path / "train.jsonl", records)
    report = preflight(spec(training=str(path)))
    assert not report.ok
    assert [(e.line, e.kind) for e in report.errors] == [(6, "grader"), (71, "grader")]
    assert "the numeric grader: numeric reference 'twelve' is not a number" in report.errors[0].problem
    assert report.grader is None  # no dry call on data the grader cannot score


# -- the plan -----------------------------------------------------------------------------------------


def plan_of(data: dict[str, Any], builtin: str | None = GRADER) -> dict[str, Any]:
    context = PlanContext(bucket="training-bucket", run_id="rft-probe-0123456789", builtin_grader_arn=builtin)
    return build_plan(RunSpec.from_dict(data), context, estimated_tokens=10_000)


def test_the_rft_plan_sends_the_grader_and_typed_hyperparameters_and_no_string_map() -> None:
    plan = plan_of(spec())
    assert plan["jobVariant"] == RFT
    job = plan["job"]
    assert job["CustomizationType"] == RFT
    assert "HyperParameters" not in job and "ValidationDataConfig" not in job
    assert job["CustomizationConfig"] == {
        "RftConfig": {
            "GraderConfig": {"LambdaGrader": {"LambdaArn": f"{GRADER}:numeric"}},
            "HyperParameters": {"EpochCount": 3, "LearningRate": 5e-05, "ReasoningEffort": "high"},
        }
    }
    assert plan["grader"] == {"builtin": "numeric", "lambdaArn": f"{GRADER}:numeric"}


def test_a_team_grader_is_passed_as_given_and_no_hyperparameters_means_none_sent() -> None:
    plan = plan_of(spec(grader={"lambdaArn": TEAM_GRADER}, hyperParameters=None), builtin=None)
    assert plan["job"]["CustomizationConfig"] == {
        "RftConfig": {"GraderConfig": {"LambdaGrader": {"LambdaArn": TEAM_GRADER}}}
    }


def test_a_builtin_grader_needs_the_deployments_grader_arn() -> None:
    with pytest.raises(ValueError, match="BUILTIN_GRADER_ARN"):
        plan_of(spec(), builtin=None)


def test_other_plans_keep_their_string_hyperparameters_and_have_no_grader() -> None:
    data = {
        "name": "ft-probe",
        "region": "us-east-1",
        "baseModel": NOVA2_LITE,
        "customizationType": "FINE_TUNING",
        "training": DATA,
        "hyperParameters": {"epochCount": 2},
    }
    plan = plan_of(data)
    assert plan["job"]["HyperParameters"] == {"epochCount": "2"}
    assert "grader" not in plan and "CustomizationConfig" not in plan["job"]


def test_rft_jobs_get_a_longer_timeout_that_grows_with_the_answers_sampled() -> None:
    assert job_timeout_seconds(0, None, RFT) == 12 * 3600
    four = job_timeout_seconds(1_000_000, 2, RFT)
    sixteen = job_timeout_seconds(1_000_000, 2, RFT, samples_per_prompt=16)
    assert 12 * 3600 < four < sixteen
    assert plan_of(spec(hyperParameters={"trainingSamplePerPrompt": 8}))[
        "jobTimeoutSeconds"
    ] == job_timeout_seconds(10_000, None, RFT, samples_per_prompt=8)


# -- bedrock-customize grader test ----------------------------------------------------------------------


def test_grader_test_runs_a_builtin_grader_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "grader", "test", str(EXAMPLE), "--json")
    report = json.loads(out)
    assert code == 0
    assert report["ok"] is True and report["lambdaArn"] == "built-in exact-match grader (in this process)"
    assert [s["score"] for s in report["scores"]] == [1.0, 0.0] * 6  # three records, in both shapes
    assert report["understood"] == ["metadata", "top-level"]


def test_grader_test_invokes_a_team_grader_and_exits_2_when_it_breaks_the_contract(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import io

    from pipeline.operate.aws import client_maker

    data = write(tmp_path / "train.jsonl", [prompt(i) for i in range(100)])
    spec_file = tmp_path / "run.json"
    spec_file.write_text(json.dumps(spec(training=str(data), grader={"lambdaArn": TEAM_GRADER})), "utf-8")
    calls: list[dict[str, Any]] = []

    class FakeLambda:
        def invoke(self, **kwargs: Any) -> dict[str, Any]:
            calls.append(kwargs)
            return {"StatusCode": 200, "Payload": io.BytesIO(b'[{"id": "x", "aggregate_reward_score": 1}]')}

    with client_maker(lambda service, region: FakeLambda()):
        code, out = run(capsys, "grader", "test", str(spec_file), "--records", "2")
    assert code == 2
    assert calls[0]["FunctionName"] == TEAM_GRADER
    assert len(calls) == 2  # once per documented shape
    assert len(json.loads(calls[0]["Payload"])) == 4  # two records, two answers each
    assert "reference_answer" in json.loads(calls[0]["Payload"])[0]["metadata"]
    assert "reference_answer" in json.loads(calls[1]["Payload"])[0]
    assert "problem: metadata samples: the grader returned 1 results for 4 samples" in out


def test_grader_test_refuses_a_spec_without_a_grader(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["grader", "test", str(ROOT / "examples" / "runs" / "fine-tuning.yaml")])
    assert code == 2
    assert "only REINFORCEMENT_FINE_TUNING has a grader" in capsys.readouterr().err


# -- reward per step: metrics files and the report ----------------------------------------------------


def test_reward_columns_of_the_step_wise_metrics_are_read_beside_the_loss() -> None:
    from pipeline import training_loss

    text = (
        "step_number,epoch_number,training_loss,critic/rewards/mean,critic/rewards/min,critic/rewards/max\n"
        "0,1,0.50,0.25,0.0,1.0\n1,1,0.40,0.50,0.0,1.0\n2,2,0.35,,0.0,1.0\n"
    )
    curve = training_loss.parse_metrics_csv(text, training_loss.TRAINING, "s3://b/metrics.csv")
    assert [p.reward for p in curve.points] == [0.25, 0.5, None]
    assert curve.has_reward and curve.last_reward == 0.5
    document = curve.to_dict()
    assert document["lastReward"] == 0.5
    assert document["points"][0] == {
        "step": 0, "epoch": 1, "loss": 0.5, "perplexity": None,
        "reward": 0.25, "rewardMin": 0.0, "rewardMax": 1.0,
    }  # fmt: skip
    assert "reward" not in document["points"][2]
    # loss-only files (every other customization type) keep their shape
    plain = training_loss.parse_metrics_csv(
        "step_number,training_loss\n0,1.0\n", training_loss.TRAINING
    ).to_dict()
    assert "lastReward" not in plain and "reward" not in plain["points"][0]


def test_the_report_draws_the_reward_curve_only_when_there_is_one() -> None:
    from pipeline.operate import report

    points = [
        {"step": i, "loss": 1.0 - i / 10, "reward": i / 10, "rewardMin": 0.0, "rewardMax": 1.0}
        for i in range(5)
    ]
    chart = report.reward_chart({"training": [{"points": points}]})
    assert chart is not None and chart.png_name == "reward-curve.png" and chart.png.startswith(b"\x89PNG")
    assert "Reward per step" in chart.svg
    assert report.reward_chart({"training": [{"points": [{"step": 0, "loss": 1.0}]}]}) is None

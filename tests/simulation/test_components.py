"""The simulation's parts alone: template staging, simulated Bedrock, faults, clock, wire, scenarios."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from pipeline import metrics
from pipeline.simulation.clock import SimClock, format_duration, format_elapsed
from pipeline.simulation.fake_bedrock import BedrockBehaviour, FakeBedrock, JobBehaviour, ThroughputBehaviour
from pipeline.simulation.faults import FaultConfigError, FaultInjector, FaultRule
from pipeline.simulation.runner import aws_routes
from pipeline.simulation.scenarios import Scenario, ScenarioError, expand_path, load_scenarios, merge
from pipeline.simulation.template import Resolver, Template, TemplateError, provision
from pipeline.simulation.wire import Request, RestJsonCodec, ServiceError, ShapeMismatchError

ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = "training"
TRAIN_KEY = "datasets/abc/train.jsonl"
VALIDATION_KEY = "datasets/abc/validation.jsonl"


# --------------------------------------------------------------------------------------------------
# The synthesized template, staged in moto
# --------------------------------------------------------------------------------------------------


def test_state_machine_in_moto_is_the_synthesized_definition(template: Path) -> None:
    loaded = Template.load(template)
    _, machine = loaded.state_machine()
    join = machine["Properties"]["DefinitionString"]["Fn::Join"]
    with mock_aws():
        clients = {
            n: boto3.client(n, region_name=REGION)
            for n in ("s3", "sns", "kms", "iam", "lambda", "stepfunctions")
        }
        resolver = Resolver(region=REGION, account=ACCOUNT, stack_name=loaded.stack_name)
        staged = provision(loaded, resolver, clients)
        stored = clients["stepfunctions"].describe_state_machine(stateMachineArn=staged.state_machine_arn)
        in_moto = json.loads(stored["definition"])
        # Token by token: the literal text of the template is kept, each token becomes a moto resource.
        rebuilt = "".join(p if isinstance(p, str) else str(resolver.resolve(p)) for p in join[1])
        assert in_moto == json.loads(rebuilt) == staged.definition
        function_arns = {arn for _, arn in staged.functions.values()}
        lambda_arns = {f["FunctionArn"] for f in clients["lambda"].list_functions()["Functions"]}
        assert function_arns == lambda_arns
        handlers = {spec.handler for spec, _ in staged.functions.values()}
        assert handlers == {
            f"lambdas.{name}.handler.lambda_handler"
            for name in (
                "preflight",
                "evaluate_loss",
                "approval_request",
                "evaluate_model",
                "cleanup",
                "record",
            )
        }
        assert all(
            spec.environment["TRAINING_BUCKET"] == staged.bucket for spec, _ in staged.functions.values()
        )
    text = json.dumps(in_moto)
    assert "Fn::" not in text and '"Ref"' not in text
    assert text.count("arn:aws:states:::bedrock:createModelCustomizationJob.sync") == 3


def test_template_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="synthesize"):
        Template.load(tmp_path / "missing.template.json")
    resolver = Resolver(region=REGION, account=ACCOUNT, stack_name="s")
    with pytest.raises(TemplateError, match="Nope"):
        resolver.resolve({"Ref": "Nope"})
    with pytest.raises(TemplateError, match="Fn::ImportValue"):
        resolver.resolve({"Fn::ImportValue": "x"})
    resolver.refs["Bucket"] = "b"
    resolver.attributes[("Role", "Arn")] = "arn:aws:iam::1:role/r"
    assert resolver.resolve({"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}/${Role.Arn}"}) == (
        "arn:aws:s3:::b/arn:aws:iam::1:role/r"
    )
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}) == "b"


# --------------------------------------------------------------------------------------------------
# The simulated Bedrock, through boto3 as every caller reaches it
# --------------------------------------------------------------------------------------------------


class World:
    def __init__(self, fake: FakeBedrock, clock: SimClock) -> None:
        self.fake = fake
        self.clock = clock
        self.bedrock = boto3.client("bedrock", region_name=REGION)
        self.runtime = boto3.client("bedrock-runtime", region_name=REGION)
        self.s3 = boto3.client("s3", region_name=REGION)
        self.role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="bedrock", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        self.key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]

    def create_job(self, token: str = "run-1", name: str = "run-1", **changes: Any) -> str:
        request: dict[str, Any] = {
            "jobName": name,
            "customModelName": name,
            "roleArn": self.role,
            "clientRequestToken": token,
            "baseModelIdentifier": "amazon.nova-micro-v1:0:128k",
            "customizationType": "FINE_TUNING",
            "customModelKmsKeyId": self.key,
            "trainingDataConfig": {"s3Uri": f"s3://{BUCKET}/{TRAIN_KEY}"},
            "validationDataConfig": {"validators": [{"s3Uri": f"s3://{BUCKET}/{VALIDATION_KEY}"}]},
            "outputDataConfig": {"s3Uri": f"s3://{BUCKET}/outputs/run-1/"},
            "hyperParameters": {"epochCount": "2"},
        }
        request.update(changes)
        return str(self.bedrock.create_model_customization_job(**request)["jobArn"])

    def buy(self, model: str, token: str = "run-1-pt", **changes: Any) -> str:
        request: dict[str, Any] = {
            "modelUnits": 1,
            "provisionedModelName": "run-1-pt",
            "modelId": model,
            "clientRequestToken": token,
        }
        request.update(changes)
        return str(self.bedrock.create_provisioned_model_throughput(**request)["provisionedModelArn"])


def make_world(
    behaviour: BedrockBehaviour | None = None, faults: FaultInjector | None = None
) -> Iterator[World]:
    clock = SimClock()
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        for key in (TRAIN_KEY, VALIDATION_KEY):
            s3.put_object(Bucket=BUCKET, Key=key, Body=b"{}\n")
        faults = faults or FaultInjector()
        fake = FakeBedrock(clock=clock, account=ACCOUNT, region=REGION, behaviour=behaviour, faults=faults)
        with aws_routes(fake, faults):
            yield World(fake, clock)


@pytest.fixture
def world() -> Iterator[World]:
    yield from make_world(
        BedrockBehaviour(job=JobBehaviour(duration_seconds=3600, validation_loss=(2.0, 1.25)))
    )


def test_job_creation_is_idempotent_by_client_request_token(world: World) -> None:
    arn = world.create_job()
    assert world.create_job() == arn
    (job,) = world.fake.ledger()["jobs"]
    assert job["createRequests"] == 2
    with pytest.raises(ClientError, match="ConflictException"):
        world.create_job(hyperParameters={"epochCount": "3"})
    with pytest.raises(ClientError, match="ConflictException"):
        world.create_job(token="other-token")
    assert len(world.fake.ledger()["jobs"]) == 1


def test_job_lifecycle_metrics_files_and_losses(world: World) -> None:
    arn = world.create_job()
    job = world.bedrock.get_model_customization_job(jobIdentifier="run-1")
    assert job["status"] == "InProgress"
    assert "outputModelArn" not in job and "trainingMetrics" not in job
    world.clock.sleep(3599)
    assert world.bedrock.get_model_customization_job(jobIdentifier=arn)["status"] == "InProgress"
    world.clock.sleep(1)
    job = world.bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "Completed"
    assert job["outputModelArn"].startswith(f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/")
    assert job["validationMetrics"] == [{"validationLoss": 1.25}]
    assert (job["endTime"] - job["creationTime"]).total_seconds() == 3600
    keys = [o["Key"] for o in world.s3.list_objects_v2(Bucket=BUCKET, Prefix="outputs/run-1/")["Contents"]]
    job_id = metrics.job_id_from_arn(arn)
    assert (
        f"outputs/run-1/model-customization-job-{job_id}/training_artifacts/step_wise_training_metrics.csv"
        in keys
    )
    found = metrics.find_metrics_files(keys, arn)
    (validation_key,) = found[metrics.VALIDATION]
    assert "/validation_artifacts/" in validation_key
    body = world.s3.get_object(Bucket=BUCKET, Key=validation_key)["Body"].read().decode()
    curve = metrics.parse_metrics_csv(body, metrics.VALIDATION)
    assert curve.points[-1].loss == pytest.approx(1.25)
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["step_number", "epoch_number", "validation_loss", "perplexity"]


def test_stopping_a_job(world: World) -> None:
    world.create_job()
    world.bedrock.stop_model_customization_job(jobIdentifier="run-1")
    assert world.bedrock.get_model_customization_job(jobIdentifier="run-1")["status"] == "Stopping"
    world.clock.sleep(60)
    assert world.bedrock.get_model_customization_job(jobIdentifier="run-1")["status"] == "Stopped"
    with pytest.raises(ClientError, match="ConflictException"):
        world.bedrock.stop_model_customization_job(jobIdentifier="run-1")


def test_a_job_whose_data_is_missing_fails(world: World) -> None:
    world.create_job(trainingDataConfig={"s3Uri": f"s3://{BUCKET}/datasets/none.jsonl"})
    world.clock.sleep(300)
    job = world.bedrock.get_model_customization_job(jobIdentifier="run-1")
    assert job["status"] == "Failed"
    assert "datasets/none.jsonl" in job["failureMessage"]


def test_requests_are_validated_like_bedrock(world: World) -> None:
    with pytest.raises(ClientError, match="ValidationException"):
        world.create_job(name="bad name")
    with pytest.raises(ClientError, match="ValidationException"):
        world.create_job(baseModelIdentifier="amazon.not-a-model")
    with pytest.raises(ClientError, match="ValidationException"):
        world.create_job(roleArn=f"arn:aws:iam::{ACCOUNT}:role/missing")
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        world.bedrock.get_model_customization_job(jobIdentifier="unknown")


def completed_model(world: World) -> str:
    world.create_job()
    world.clock.sleep(3600)
    return str(world.bedrock.get_model_customization_job(jobIdentifier="run-1")["outputModelArn"])


def test_throughput_lifecycle_idempotency_and_deletion(world: World) -> None:
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        world.buy("arn:aws:bedrock:us-east-1:123456789012:custom-model/x/y")
    model = completed_model(world)
    arn = world.buy(model)
    assert world.buy(model) == arn
    described = world.bedrock.get_provisioned_model_throughput(provisionedModelId=arn)
    assert described["status"] == "Creating"
    world.clock.sleep(15 * 60)
    assert (
        world.bedrock.get_provisioned_model_throughput(provisionedModelId="run-1-pt")["status"] == "InService"
    )
    listed = world.bedrock.list_provisioned_model_throughputs(nameContains="run-1")[
        "provisionedModelSummaries"
    ]
    assert [p["provisionedModelArn"] for p in listed] == [arn]
    world.bedrock.delete_provisioned_model_throughput(provisionedModelId=arn)
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        world.bedrock.get_provisioned_model_throughput(provisionedModelId=arn)
    (pt,) = world.fake.ledger()["throughputs"]
    assert pt["createRequests"] == 2 and not pt["alive"]


def test_a_commitment_cannot_be_deleted(world: World) -> None:
    arn = world.buy(completed_model(world), commitmentDuration="OneMonth")
    described = world.bedrock.get_provisioned_model_throughput(provisionedModelId=arn)
    assert described["commitmentDuration"] == "OneMonth"
    with pytest.raises(ClientError, match="ConflictException"):
        world.bedrock.delete_provisioned_model_throughput(provisionedModelId=arn)
    assert world.fake.ledger()["throughputs"][0]["alive"]


def test_converse_quality_usage_and_latency(world: World) -> None:
    reference = "Open Settings, choose Account, then Reset password and follow the emailed link."
    world.fake.learn("How do I reset my password?", reference)
    arn = world.buy(completed_model(world))
    with pytest.raises(ClientError, match="ModelNotReadyException"):
        world.runtime.converse(modelId=arn, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    world.clock.sleep(15 * 60)
    before = world.clock.elapsed()
    messages = [{"role": "user", "content": [{"text": "How do I reset my password?"}]}]
    custom = world.runtime.converse(modelId=arn, messages=messages)
    base = world.runtime.converse(modelId="amazon.nova-micro-v1:0", messages=messages)
    from pipeline import scoring

    def quality(response: dict[str, Any]) -> float:
        return scoring.rouge_l(response["output"]["message"]["content"][0]["text"], reference)

    assert quality(custom) == pytest.approx(0.85, abs=0.08)
    assert quality(base) == pytest.approx(0.45, abs=0.1)
    for response in (custom, base):
        usage = response["usage"]
        assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"] > 0
        assert response["metrics"]["latencyMs"] > 0
        assert response["stopReason"] == "end_turn"
    waited = world.clock.elapsed() - before
    assert waited == pytest.approx((custom["metrics"]["latencyMs"] + base["metrics"]["latencyMs"]) / 1000)
    with pytest.raises(ClientError, match="ValidationException"):
        world.runtime.converse(modelId="no.such-model", messages=messages)


def test_throughput_outcomes() -> None:
    for outcome, status in (("Failed", "Failed"), ("Creating", "Creating")):
        behaviour = BedrockBehaviour(
            job=JobBehaviour(duration_seconds=60),
            throughput=ThroughputBehaviour(creating_seconds=60, outcome=outcome),
        )
        for world in make_world(behaviour):
            arn = world.buy(completed_model(world))
            world.clock.sleep(86400)
            described = world.bedrock.get_provisioned_model_throughput(provisionedModelId=arn)
            assert described["status"] == status
            assert ("failureMessage" in described) == (outcome == "Failed")


def test_injected_faults_reach_the_caller() -> None:
    faults = FaultInjector(
        (FaultRule("bedrock:GetModelCustomizationJob", "ThrottlingException", times=2, per="call"),)
    )
    for world in make_world(faults=faults):
        world.create_job()
        fast = boto3.client("bedrock", region_name=REGION, config=_no_retries())
        for _ in range(2):
            with pytest.raises(ClientError) as raised:
                fast.get_model_customization_job(jobIdentifier="run-1")
            assert raised.value.response["Error"]["Code"] == "ThrottlingException"
            assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert fast.get_model_customization_job(jobIdentifier="run-1")["status"] == "InProgress"
        outcomes = [c.outcome for c in world.fake.calls if c.operation == "GetModelCustomizationJob"]
        assert outcomes == ["fault:ThrottlingException", "fault:ThrottlingException", "ok"]


def test_a_lost_answer_still_takes_effect() -> None:
    faults = FaultInjector(
        (FaultRule("bedrock:CreateModelCustomizationJob", "InternalServerException", effect="after"),)
    )
    for world in make_world(faults=faults):
        with pytest.raises(ClientError, match="InternalServerException"):
            boto3.client("bedrock", region_name=REGION, config=_no_retries()).create_model_customization_job(
                jobName="run-1",
                customModelName="run-1",
                roleArn=world.role,
                clientRequestToken="run-1",
                baseModelIdentifier="amazon.nova-micro-v1:0:128k",
                trainingDataConfig={"s3Uri": f"s3://{BUCKET}/{TRAIN_KEY}"},
                outputDataConfig={"s3Uri": f"s3://{BUCKET}/outputs/run-1/"},
            )
        assert len(world.fake.ledger()["jobs"]) == 1


def _no_retries() -> Any:
    from botocore.config import Config

    return Config(retries={"total_max_attempts": 1})


# --------------------------------------------------------------------------------------------------
# Faults, clock, wire, scenarios
# --------------------------------------------------------------------------------------------------


def test_fault_counting_modes() -> None:
    per_operation = FaultInjector((FaultRule("bedrock:*", "ThrottlingException", times=1, skip=1),))
    assert per_operation.check("bedrock", "GetX", {"a": 1}) is None
    assert per_operation.check("bedrock", "GetX", {"a": 2}) is not None
    assert per_operation.check("bedrock", "GetX", {"a": 3}) is None
    assert per_operation.check("bedrock-runtime", "Converse") is None
    per_call = FaultInjector((FaultRule("lambda:*", "TooManyRequestsException", times=1, per="call"),))
    assert per_call.check("lambda", "record", {"a": 1}) is not None
    assert per_call.check("lambda", "record", {"a": 1}) is None
    assert per_call.check("lambda", "record", {"a": 2}) is not None
    per_rule = FaultInjector((FaultRule("sns:Publish", "Throttled", times=2, per="rule"),))
    assert [per_rule.check("sns", "Publish", i) is not None for i in range(3)] == [True, True, False]
    assert per_rule.total() == 2


@pytest.mark.parametrize(
    "rule",
    [
        {"call": "bedrock", "error": "X"},
        {"call": "dynamodb:GetItem", "error": "X"},
        {"call": "bedrock:*", "error": ""},
        {"call": "bedrock:*", "error": "X", "times": 0},
        {"call": "bedrock:*", "error": "X", "per": "day"},
        {"call": "bedrock:*", "error": "X", "effect": "during"},
        {"call": "bedrock:*", "error": "X", "often": 2},
    ],
)
def test_bad_fault_rules_are_refused(rule: dict[str, Any]) -> None:
    with pytest.raises(FaultConfigError):
        FaultRule.from_dict(rule)


def test_clock_stops_at_deadlines_and_waits_without_sleeping() -> None:
    clock = SimClock()
    event = clock.event_class()()
    outcome: list[bool] = []
    waiter = threading.Thread(target=lambda: outcome.append(event.wait(3600)))
    waiter.start()
    while not clock.has_deadline():
        time.sleep(0.001)
    started = time.monotonic()
    assert clock.sleep(10 * 86400) == 3600  # the pending deadline stops time
    waiter.join(5)
    assert outcome == [False]
    assert time.monotonic() - started < 2
    assert clock.sleep(60) == 60  # nothing pending any more
    setter = clock.event_class()()
    threading.Timer(0.05, setter.set).start()
    assert setter.wait(86400) is True
    assert clock.elapsed() == 3660
    clock.schedule(4000)
    assert clock.sleep_until_next(10_000) == 340
    assert format_elapsed(90061) == "+1d 01:01:01"
    assert format_duration(3725) == "1h 02m"


def test_wire_refuses_fields_the_api_does_not_have() -> None:
    codec = RestJsonCodec("bedrock")
    with pytest.raises(ShapeMismatchError, match="noSuchField"):
        codec.encode("CreateModelCustomizationJob", {"jobArn": "a", "noSuchField": 1})
    with pytest.raises(ShapeMismatchError, match="required"):
        codec.encode("CreateProvisionedModelThroughput", {})
    status, headers, _ = codec.encode_error(ServiceError("ThrottlingException", "slow down"))
    assert (status, headers["x-amzn-ErrorType"]) == (429, "ThrottlingException")
    arn = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc"
    request = Request(
        "GET",
        "https://bedrock.us-east-1.amazonaws.com/provisioned-model-throughput/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aprovisioned-model%2Fabc",
        {},
        b"",
    )
    assert codec.route(request) == ("GetProvisionedModelThroughput", {"provisionedModelId": arn})
    stop = Request("POST", "https://bedrock.us-east-1.amazonaws.com/model-customization-jobs/j/stop", {}, b"")
    assert codec.route(stop) == ("StopModelCustomizationJob", {"jobIdentifier": "j"})


def test_scenario_file_is_valid_and_strict() -> None:
    scenarios = load_scenarios()
    assert all(isinstance(s, Scenario) for s in scenarios.values())
    good = {"name": "x", "description": "d", "spec": "s.yaml", "expect": {"status": "FAILED"}}
    assert Scenario.from_dict(good).name == "x"
    for bad in (
        {**good, "surprise": 1},
        {**good, "expect": {"status": "MAYBE"}},
        {**good, "approval": {"decision": "perhaps"}},
        {**good, "bedrock": {"job": {"durationHours": 1}}},
        {**good, "datasets": {"labels": {"appendLines": ["x"]}}},
        {**good, "name": "Not A Name"},
    ):
        with pytest.raises(ScenarioError):
            Scenario.from_dict(bad)
    with pytest.raises(ScenarioError, match="twice"):
        load_scenarios(json.dumps({"scenarios": [good, good]}))


def test_overrides_merge_and_paths_expand() -> None:
    spec = {
        "name": "a",
        "evaluation": {"maxValidationLoss": 2.5, "prompts": "p"},
        "throughput": {"modelUnits": 1},
    }
    merged = merge(spec, {"evaluation": {"maxTrainingLoss": 1.5}, "throughput": None, "tags": {"t": "v"}})
    assert merged == {
        "name": "a",
        "evaluation": {"maxValidationLoss": 2.5, "prompts": "p", "maxTrainingLoss": 1.5},
        "tags": {"t": "v"},
    }
    assert spec["throughput"] == {"modelUnits": 1}
    assert expand_path(["a", {"repeat": ["b", "c"], "times": 2}, "d"]) == ["a", "b", "c", "b", "c", "d"]
    with pytest.raises(ScenarioError):
        expand_path([{"repeat": [], "times": 1}])

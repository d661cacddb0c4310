"""The simulation's parts alone: template staging, simulated Bedrock, faults, clock, wire, scenarios."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from pipeline import training_loss
from pipeline.simulation.clock import SimClock, format_duration, format_elapsed
from pipeline.simulation.fake_bedrock import (
    BedrockBehaviour,
    DeploymentBehaviour,
    FakeBedrock,
    JobBehaviour,
    ModelBehaviour,
    ThroughputBehaviour,
)
from pipeline.simulation.faults import FaultConfigError, FaultInjector, FaultRule
from pipeline.simulation.runner import aws_routes
from pipeline.simulation.scenarios import Scenario, ScenarioError, expand_path, load_scenarios, merge
from pipeline.simulation.template import PROVISIONED_SERVICES, Resolver, Template, TemplateError, provision
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
        clients = {n: boto3.client(n, region_name=REGION) for n in PROVISIONED_SERVICES}
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
                "check_status",
                "deploy",
                "cleanup",
                "record",
                "run_ended",
                "approval_answer",
                "approval_verify",
                "run_start",
                "grader",
                "judge",
                "slots",
                "release",
            )
        }
        # Every function works in the training bucket, but the RFT grader, which only scores text,
        # and the retrying release, which only deletes and notifies.
        assert all(
            spec.environment["TRAINING_BUCKET"] == staged.bucket
            for spec, _ in staged.functions.values()
            if spec.short_name not in ("grader", "release")
        )
        # The retrying release's state machine is created too, as synthesized.
        assert staged.release_state_machine_arn
        clients["stepfunctions"].describe_state_machine(stateMachineArn=staged.release_state_machine_arn)
    text = json.dumps(in_moto)
    assert "Fn::" not in text and '"Ref"' not in text
    assert text.count("arn:aws:states:::bedrock:createModelCustomizationJob.sync") == 4


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
    job_id = training_loss.job_id_from_arn(arn)
    assert (
        f"outputs/run-1/model-customization-job-{job_id}/training_artifacts/step_wise_training_metrics.csv"
        in keys
    )
    found = training_loss.find_metrics_files(keys, arn)
    (validation_key,) = found[training_loss.VALIDATION]
    assert "/validation_artifacts/" in validation_key
    body = world.s3.get_object(Bucket=BUCKET, Key=validation_key)["Body"].read().decode()
    curve = training_loss.parse_metrics_csv(body, training_loss.VALIDATION)
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


# --------------------------------------------------------------------------------------------------
# Custom model deployments (on-demand serving) and the base model's reachability
# --------------------------------------------------------------------------------------------------

PROMPT = "How do I reset my password?"
REFERENCE = "Open Settings, choose Account, then Reset password and follow the emailed link."
MESSAGES = [{"role": "user", "content": [{"text": PROMPT}]}]


def deploy(world: World, model: str, token: str = "run-1-dep", **changes: Any) -> str:
    request: dict[str, Any] = {
        "modelDeploymentName": "run-1-dep",
        "modelArn": model,
        "description": "run-1 on demand",
        "clientRequestToken": token,
    }
    request.update(changes)
    return str(world.bedrock.create_custom_model_deployment(**request)["customModelDeploymentArn"])


def rouge(response: dict[str, Any]) -> float:
    from pipeline import scoring

    return scoring.rouge_l(response["output"]["message"]["content"][0]["text"], REFERENCE)


def error_of(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, str, int]:
    """(code, message, HTTP status) of the error ``call(*args, **kwargs)`` raises."""
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    response = raised.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def test_deployment_lifecycle_idempotency_listing_and_deletion(world: World) -> None:
    unknown = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/amazon.nova-micro-v1:0:128k/abcdefghijkl"
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        deploy(world, unknown)
    with pytest.raises(ClientError, match="ValidationException"):
        deploy(world, f"arn:aws:bedrock:{REGION}::foundation-model/amazon.nova-micro-v1:0")  # not custom
    model = completed_model(world)
    with pytest.raises(ClientError, match="ValidationException"):
        deploy(world, model, modelDeploymentName="bad name")
    arn = deploy(world, model)
    assert re.fullmatch(rf"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/[a-z0-9]{{12}}", arn)
    assert deploy(world, model) == arn
    created = world.clock.elapsed()
    described = world.bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=arn)
    assert described["status"] == "Creating"
    assert (described["modelDeploymentName"], described["modelArn"]) == ("run-1-dep", model)
    assert described["description"] == "run-1 on demand"
    assert "failureMessage" not in described
    world.clock.sleep(479)
    assert (
        world.bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=arn)["status"] == "Creating"
    )
    world.clock.sleep(1)
    active = world.bedrock.get_custom_model_deployment(customModelDeploymentIdentifier="run-1-dep")
    assert active["status"] == "Active"
    assert (active["lastUpdatedAt"] - active["createdAt"]).total_seconds() == 480
    second = deploy(world, model, token="run-2-dep", modelDeploymentName="run-2-dep")

    def listed(**filters: Any) -> list[str]:
        summaries = world.bedrock.list_custom_model_deployments(**filters)["modelDeploymentSummaries"]
        return [s["customModelDeploymentArn"] for s in summaries]

    assert listed() == [arn, second]
    assert listed(sortOrder="Descending") == [second, arn]
    assert listed(nameContains="run-2") == [second]
    assert listed(statusEquals="Active") == [arn]
    assert listed(statusEquals="Creating") == [second]
    assert listed(modelArnEquals=model) == [arn, second]
    assert listed(createdAfter=active["createdAt"]) == [second]
    first_page = world.bedrock.list_custom_model_deployments(maxResults=1)
    assert [s["customModelDeploymentName"] for s in first_page["modelDeploymentSummaries"]] == ["run-1-dep"]
    paginator = world.bedrock.get_paginator("list_custom_model_deployments")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 1}))
    assert [s["customModelDeploymentArn"] for p in pages for s in p["modelDeploymentSummaries"]] == [
        arn,
        second,
    ]
    world.bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=arn)
    world.bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier="run-2-dep")  # Creating
    for identifier in (arn, "run-1-dep"):
        with pytest.raises(ClientError, match="ResourceNotFoundException"):
            world.bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=identifier)
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        world.bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=arn)
    assert listed() == []
    first, other = world.fake.ledger()["deployments"]
    assert first == {
        "name": "run-1-dep",
        "arn": arn,
        "clientRequestToken": "run-1-dep",
        "modelArn": model,
        "firstModelArn": model,
        "changes": [],
        "addedTags": {},
        "createdAt": created,
        "createRequests": 2,
        "readyAt": created + 480,
        "status": "Deleted",
        "deletedAt": world.clock.elapsed(),
        "alive": False,
    }
    assert (other["arn"], other["alive"], other["createRequests"]) == (second, False, 1)
    calls = [(c.operation, c.subject) for c in world.fake.calls if "CustomModelDeployment" in c.operation]
    assert ("DeleteCustomModelDeployment", arn) in calls
    assert ("CreateCustomModelDeployment", "run-2-dep") in calls


def test_deployment_conflicts_and_name_reuse(world: World) -> None:
    model = completed_model(world)
    arn = deploy(world, model)
    with pytest.raises(ClientError, match="ConflictException"):
        deploy(world, model, description="something else")  # same token, different request
    with pytest.raises(ClientError, match="ConflictException"):
        deploy(world, model, token="other-token")  # same name, different token
    assert len(world.fake.ledger()["deployments"]) == 1
    world.bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=arn)
    again = deploy(world, model, token="other-token")  # the name is free again
    assert again != arn
    assert [d["alive"] for d in world.fake.ledger()["deployments"]] == [False, True]


def test_a_base_without_on_demand_deployment_is_refused(world: World) -> None:
    world.create_job(token="titan", name="titan", baseModelIdentifier="amazon.titan-text-express-v1:0:8k")
    world.clock.sleep(3600)
    model = world.bedrock.get_model_customization_job(jobIdentifier="titan")["outputModelArn"]
    code, message, _ = error_of(deploy, world, model)
    assert code == "ValidationException" and "amazon.titan-text-express-v1:0:8k" in message
    assert world.fake.ledger()["deployments"] == []


def test_deployment_outcomes_failed_and_stuck() -> None:
    for outcome in ("Failed", "Creating"):
        behaviour = BedrockBehaviour(
            job=JobBehaviour(duration_seconds=60),
            deployment=DeploymentBehaviour(
                creating_seconds=60, outcome=outcome, failure_message="no capacity"
            ),
        )
        for world in make_world(behaviour):
            arn = deploy(world, completed_model(world))
            world.clock.sleep(86400)
            described = world.bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=arn)
            assert described["status"] == outcome
            assert described.get("failureMessage") == ("no capacity" if outcome == "Failed" else None)
            (summary,) = world.bedrock.list_custom_model_deployments()["modelDeploymentSummaries"]
            assert summary["status"] == outcome
            fast = boto3.client("bedrock-runtime", region_name=REGION, config=_no_retries())
            code, _, status = error_of(fast.converse, modelId=arn, messages=MESSAGES)
            expected = (
                ("ValidationException", 400) if outcome == "Failed" else ("ModelNotReadyException", 429)
            )
            assert (code, status) == expected
            (entry,) = world.fake.ledger()["deployments"]
            assert (entry["status"], entry["alive"]) == (outcome, True)
            assert entry["readyAt"] == (None if outcome == "Creating" else entry["createdAt"] + 60)
            world.bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=arn)
            assert not world.fake.ledger()["deployments"][0]["alive"]


def test_converse_on_a_deployment_answers_as_the_custom_model(world: World) -> None:
    world.fake.learn(PROMPT, REFERENCE)
    model = completed_model(world)
    arn = deploy(world, model)
    fast = boto3.client("bedrock-runtime", region_name=REGION, config=_no_retries())
    code, message, _ = error_of(fast.converse, modelId=arn, messages=MESSAGES)
    assert code == "ModelNotReadyException" and "Creating" in message
    world.clock.sleep(480)
    custom = world.runtime.converse(modelId=arn, messages=MESSAGES)
    base = world.runtime.converse(modelId="us.amazon.nova-micro-v1:0", messages=MESSAGES)
    assert rouge(custom) == pytest.approx(0.85, abs=0.08)
    assert rouge(base) == pytest.approx(0.45, abs=0.1)
    assert 300 <= custom["metrics"]["latencyMs"] < base["metrics"]["latencyMs"]
    world.buy(model)
    world.bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=arn)
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        world.runtime.converse(modelId=arn, messages=MESSAGES)
    invocations = world.fake.ledger()["invocations"]
    assert [(i["target"], i["customModelArn"], i["outcome"]) for i in invocations] == [
        ("deployment", model, "ModelNotReadyException"),
        ("deployment", model, "ok"),
        ("base", None, "ok"),
        ("deployment", model, "ResourceNotFoundException"),
    ]
    assert invocations[0]["modelId"] == arn and invocations[2]["modelId"] == "us.amazon.nova-micro-v1:0"
    # The order the runner checks: the custom model was tried before any throughput was bought.
    first_custom = min(i["at"] for i in invocations if i["target"] != "base" and i["outcome"] == "ok")
    purchases = [c.elapsed for c in world.fake.calls if c.operation == "CreateProvisionedModelThroughput"]
    assert purchases and first_custom < min(purchases)


def test_base_model_ids_profiles_and_arns(world: World) -> None:
    fast = boto3.client("bedrock-runtime", region_name=REGION, config=_no_retries())
    for model_id in (
        "amazon.nova-micro-v1:0",
        "us.amazon.nova-micro-v1:0",
        f"arn:aws:bedrock:{REGION}::foundation-model/amazon.nova-micro-v1:0",
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/us.amazon.nova-micro-v1:0",
        "us.meta.llama3-3-70b-instruct-v1:0",
    ):
        assert fast.converse(modelId=model_id, messages=MESSAGES)["stopReason"] == "end_turn"
    for model_id in (
        "eu.amazon.nova-micro-v1:0",  # a profile of another geography
        "us.amazon.nova-micro-v1:0:128k",  # the customization id is not invocable
        "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-micro-v1:0",
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/abcdefghijkl",
    ):
        code, _, _ = error_of(fast.converse, modelId=model_id, messages=MESSAGES)
        assert code in ("ValidationException", "ResourceNotFoundException"), model_id
    # Llama 3.3 is served on demand only through a profile: its plain id is refused like Bedrock does.
    code, message, _ = error_of(fast.converse, modelId="meta.llama3-3-70b-instruct-v1:0", messages=MESSAGES)
    assert code == "ValidationException"
    assert "with on-demand throughput isn\u2019t supported" in message and "inference profile" in message


@pytest.mark.parametrize(
    ("code", "status", "message", "profile_answers"),
    [
        (
            "AccessDeniedException",
            403,
            "You don't have access to the model with the specified model ID.",
            False,
        ),
        ("ValidationException", 400, "Invocation of model ID amazon.nova-micro-v1:0 with on-demand", True),
        ("ResourceNotFoundException", 404, "reached the end of its life", False),
    ],
)
def test_an_unreachable_base_model(code: str, status: int, message: str, profile_answers: bool) -> None:
    behaviour = BedrockBehaviour(
        job=JobBehaviour(duration_seconds=60), models=ModelBehaviour(base_error=code)
    )
    for world in make_world(behaviour):
        fast = boto3.client("bedrock-runtime", region_name=REGION, config=_no_retries())
        for _ in range(2):  # every call, not just the first
            got = error_of(fast.converse, modelId="amazon.nova-micro-v1:0", messages=MESSAGES)
            assert (got[0], got[2]) == (code, status) and message in got[1]
        if profile_answers:
            assert fast.converse(modelId="us.amazon.nova-micro-v1:0", messages=MESSAGES)["usage"]
        else:
            got = error_of(fast.converse, modelId="us.amazon.nova-micro-v1:0", messages=MESSAGES)
            assert got[0] == code
        # The custom model is not affected.
        arn = deploy(world, completed_model(world))
        world.clock.sleep(480)
        assert fast.converse(modelId=arn, messages=MESSAGES)["stopReason"] == "end_turn"
        outcomes = [(i["target"], i["outcome"]) for i in world.fake.ledger()["invocations"]]
        assert outcomes[:2] == [("base", code), ("base", code)] and outcomes[-1] == ("deployment", "ok")


def test_deployment_and_base_error_behaviour_parse_from_scenarios() -> None:
    good = {"name": "x", "description": "d", "spec": "s.yaml", "expect": {"status": "FAILED"}}
    scenario = Scenario.from_dict(
        {
            **good,
            "bedrock": {
                "deployment": {"creatingSeconds": 60, "outcome": "Failed", "failureMessage": "boom"},
                "models": {"baseError": "AccessDeniedException"},
            },
        }
    )
    assert scenario.bedrock.deployment == DeploymentBehaviour(60, "Failed", "boom")
    assert scenario.bedrock.models.base_error == "AccessDeniedException"
    defaults = Scenario.from_dict(good).bedrock
    assert defaults.deployment == DeploymentBehaviour(480, "Active")
    assert defaults.models.base_error is None
    for bad in (
        {"deployment": {"creatingMinutes": 8}},
        {"deployment": {"outcome": "InService"}},
        {"models": {"baseError": "NoSuchError"}},
        {"models": {"baseError": ["AccessDeniedException"]}},
    ):
        with pytest.raises(ScenarioError):
            Scenario.from_dict({**good, "bedrock": bad})


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

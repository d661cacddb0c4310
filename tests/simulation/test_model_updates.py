"""The simulated Bedrock's in-place model changes (UpdateCustomModelDeployment,
UpdateProvisionedModelThroughput), its tags, and the fault that makes a change fail later: shapes are
botocore's (the wire checks every request and response against the service model)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from pipeline.simulation.fake_bedrock import BedrockBehaviour, DeploymentBehaviour, JobBehaviour
from pipeline.simulation.fake_bedrock.behaviour import ThroughputBehaviour
from pipeline.simulation.faults import FaultConfigError, FaultInjector, FaultRule
from pipeline.simulation.scenarios import Scenario, ScenarioError
from tests.simulation.test_components import (
    MESSAGES,
    PROMPT,
    REFERENCE,
    World,
    completed_model,
    deploy,
    error_of,
    make_world,
    rouge,
)

NOVA_MICRO = "amazon.nova-micro-v1:0:128k"
BEHAVIOUR = BedrockBehaviour(
    job=JobBehaviour(duration_seconds=3600),
    deployment=DeploymentBehaviour(update_seconds=600),
    throughput=ThroughputBehaviour(update_seconds=900),
)
UPDATE_FAILS = FaultRule(
    "bedrock:Update*", "UpdateFailed", effect="eventually", message="capacity is gone (simulated)"
)


def worlds(*rules: FaultRule) -> Iterator[World]:
    return make_world(BEHAVIOUR, FaultInjector(rules))


@pytest.fixture
def world() -> Iterator[World]:
    yield from worlds()


def champion(world: World, quality: float = 0.5) -> str:
    """A custom model an earlier run made (the champion of a slot), answering with ``quality``."""
    world.fake.learn(PROMPT, REFERENCE)
    return world.fake.declare_custom_model("support-champion", NOVA_MICRO, quality=quality)


def described(world: World, arn: str) -> dict[str, Any]:
    return dict(world.bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=arn))


def test_a_deployment_changes_its_model_in_place(world: World) -> None:
    old = champion(world)
    arn = deploy(world, old)
    world.clock.sleep(480)
    new = completed_model(world)
    assert "updateDetails" not in described(world, arn)

    answer = world.bedrock.update_custom_model_deployment(customModelDeploymentIdentifier=arn, modelArn=new)

    assert answer["customModelDeploymentArn"] == arn
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202
    during = described(world, arn)
    assert during["status"] == "Active" and during["modelArn"] == old
    assert during["updateDetails"] == {"modelArn": new, "updateStatus": "Updating"}
    # The old model answers until the change completes.
    assert rouge(world.runtime.converse(modelId=arn, messages=MESSAGES)) == pytest.approx(0.5, abs=0.08)
    code, message, _ = error_of(
        world.bedrock.update_custom_model_deployment, customModelDeploymentIdentifier=arn, modelArn=old
    )
    assert code == "ValidationException" and "already being updated" in message
    world.clock.sleep(600)
    after = described(world, arn)
    assert after["modelArn"] == new and after["customModelDeploymentArn"] == arn
    assert after["updateDetails"] == {"modelArn": new, "updateStatus": "UpdateCompleted"}
    assert rouge(world.runtime.converse(modelId=arn, messages=MESSAGES)) == pytest.approx(0.85, abs=0.08)
    (entry,) = world.fake.ledger()["deployments"]
    assert entry["firstModelArn"] == old and entry["modelArn"] == new
    assert [(c["previousModelArn"], c["targetModelArn"], c["status"]) for c in entry["changes"]] == [
        (old, new, "UpdateCompleted")
    ]
    served = [i["customModelArn"] for i in world.fake.ledger()["invocations"]]
    assert served == [old, new]
    listed = world.bedrock.list_custom_model_deployments(modelArnEquals=new)["modelDeploymentSummaries"]
    assert [d["customModelDeploymentArn"] for d in listed] == [arn]


def test_a_deployment_update_that_fails_keeps_the_old_model_and_can_be_undone() -> None:
    for world in worlds(UPDATE_FAILS):
        old = champion(world)
        arn = deploy(world, old)
        world.clock.sleep(480)
        new = completed_model(world)
        world.bedrock.update_custom_model_deployment(customModelDeploymentIdentifier=arn, modelArn=new)
        world.clock.sleep(600)
        failed = described(world, arn)
        assert failed["status"] == "Active" and failed["modelArn"] == old
        assert failed["updateDetails"] == {"modelArn": new, "updateStatus": "UpdateFailed"}
        assert failed["failureMessage"] == "capacity is gone (simulated)"
        assert rouge(world.runtime.converse(modelId=arn, messages=MESSAGES)) == pytest.approx(0.5, abs=0.08)
        # The rule fired once: changing back completes.
        world.bedrock.update_custom_model_deployment(customModelDeploymentIdentifier=arn, modelArn=old)
        world.clock.sleep(600)
        assert described(world, arn)["updateDetails"] == {"modelArn": old, "updateStatus": "UpdateCompleted"}
        assert world.fake.faults.injected == {"bedrock:UpdateCustomModelDeployment UpdateFailed": 1}


def test_a_deployment_update_is_refused_like_bedrock(world: World) -> None:
    old = champion(world)
    new = completed_model(world)
    arn = deploy(world, old)
    code, message, _ = error_of(
        world.bedrock.update_custom_model_deployment, customModelDeploymentIdentifier=arn, modelArn=new
    )
    assert code == "ValidationException" and "only an Active deployment" in message
    world.clock.sleep(480)
    other_base = world.fake.declare_custom_model("other-base", "amazon.nova-lite-v1:0:300k")
    code, message, _ = error_of(
        world.bedrock.update_custom_model_deployment, customModelDeploymentIdentifier=arn, modelArn=other_base
    )
    assert code == "ValidationException" and "amazon.nova-lite-v1:0:300k" in message
    missing = new[:-12] + "zzzzzzzzzzzz"
    assert (
        error_of(
            world.bedrock.update_custom_model_deployment,
            customModelDeploymentIdentifier=arn,
            modelArn=missing,
        )[0]
        == "ResourceNotFoundException"
    )
    assert (
        error_of(
            world.bedrock.update_custom_model_deployment, customModelDeploymentIdentifier="nope", modelArn=new
        )[0]
        == "ResourceNotFoundException"
    )


def test_a_throughput_changes_its_model_in_place(world: World) -> None:
    old = champion(world)
    arn = world.buy(old)
    world.clock.sleep(15 * 60)
    new = completed_model(world)

    world.bedrock.update_provisioned_model_throughput(provisionedModelId=arn, desiredModelId=new)

    during = world.bedrock.get_provisioned_model_throughput(provisionedModelId=arn)
    assert (during["status"], during["modelArn"], during["desiredModelArn"]) == ("Updating", old, new)
    assert rouge(world.runtime.converse(modelId=arn, messages=MESSAGES)) == pytest.approx(0.5, abs=0.08)
    code, _, _ = error_of(
        world.bedrock.update_provisioned_model_throughput, provisionedModelId=arn, desiredModelId=old
    )
    assert code == "ValidationException"
    world.clock.sleep(900)
    after = world.bedrock.get_provisioned_model_throughput(provisionedModelId=arn)
    assert (after["status"], after["modelArn"], after["desiredModelArn"]) == ("InService", new, new)
    assert after["provisionedModelArn"] == arn
    assert after["foundationModelArn"].endswith(f"foundation-model/{NOVA_MICRO}")
    other_base = world.fake.declare_custom_model("other-base", "amazon.nova-lite-v1:0:300k")
    code, message, _ = error_of(
        world.bedrock.update_provisioned_model_throughput, provisionedModelId=arn, desiredModelId=other_base
    )
    assert code == "ValidationException" and "same base model" in message
    world.bedrock.update_provisioned_model_throughput(
        provisionedModelId=arn, desiredProvisionedModelName="renamed"
    )
    assert world.bedrock.get_provisioned_model_throughput(provisionedModelId="renamed")["modelArn"] == new


def test_a_throughput_update_that_fails_is_failed_until_changed_back() -> None:
    for world in worlds(UPDATE_FAILS):
        old = champion(world)
        arn = world.buy(old)
        world.clock.sleep(15 * 60)
        new = completed_model(world)
        world.bedrock.update_provisioned_model_throughput(provisionedModelId=arn, desiredModelId=new)
        world.clock.sleep(900)
        failed = world.bedrock.get_provisioned_model_throughput(provisionedModelId=arn)
        assert (failed["status"], failed["modelArn"], failed["desiredModelArn"]) == ("Failed", old, new)
        assert failed["failureMessage"] == "capacity is gone (simulated)"
        assert error_of(world.runtime.converse, modelId=arn, messages=MESSAGES)[0] == "ValidationException"
        world.bedrock.update_provisioned_model_throughput(provisionedModelId=arn, desiredModelId=old)
        world.clock.sleep(900)
        back = world.bedrock.get_provisioned_model_throughput(provisionedModelId=arn)
        assert (back["status"], back["modelArn"]) == ("InService", old)


def test_tags_from_the_create_request_and_tag_resource(world: World) -> None:
    model = completed_model(world)
    arn = deploy(world, model, tags=[{"key": "run", "value": "run-1"}])

    world.bedrock.tag_resource(
        resourceARN=arn, tags=[{"key": "bedrock-customization:slot", "value": "support"}]
    )

    tags = world.bedrock.list_tags_for_resource(resourceARN=arn)["tags"]
    assert tags == [
        {"key": "run", "value": "run-1"},
        {"key": "bedrock-customization:slot", "value": "support"},
    ]
    assert world.fake.ledger()["deployments"][0]["addedTags"] == {"bedrock-customization:slot": "support"}
    world.bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=arn)
    assert error_of(world.bedrock.list_tags_for_resource, resourceARN=arn)[0] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    "rule",
    [
        {"call": "bedrock:CreateProvisionedModelThroughput", "error": "UpdateFailed", "effect": "eventually"},
        {
            "call": "bedrock:UpdateCustomModelDeployment",
            "error": "ThrottlingException",
            "effect": "eventually",
        },
    ],
)
def test_only_an_update_can_fail_eventually(rule: dict[str, Any]) -> None:
    with pytest.raises(FaultConfigError):
        FaultRule.from_dict(rule)


def test_update_timings_parse_from_scenarios() -> None:
    scenario = Scenario.from_dict(
        {
            "name": "x",
            "description": "x",
            "spec": "examples/runs/serving-slot.yaml",
            "bedrock": {"deployment": {"updateSeconds": 60}, "throughput": {"updateSeconds": 120}},
            "faults": [
                {
                    "call": "bedrock:UpdateCustomModelDeployment",
                    "error": "UpdateFailed",
                    "effect": "eventually",
                }
            ],
            "expect": {"status": "FAILED"},
        }
    )
    assert scenario.bedrock.deployment.update_seconds == 60
    assert scenario.bedrock.throughput.update_seconds == 120
    assert scenario.faults[0].effect == "eventually"
    assert boto3  # the module's clients are boto3's, as every caller's


def test_a_declared_slot_parses_from_scenarios() -> None:
    good = {
        "name": "x",
        "description": "x",
        "spec": "examples/runs/serving-slot.yaml",
        "expect": {"status": "SUCCEEDED"},
    }
    slot = Scenario.from_dict({**good, "slot": {"championQuality": 0.6, "earlierChampions": 2}}).slot
    assert slot is not None and (slot.champion_quality, slot.earlier_champions) == (0.6, 2)
    assert Scenario.from_dict(good).slot is None
    for bad in ({"championQuality": 1.5}, {"championQuality": True}, {"earlierChampions": -1}, {"kind": "x"}):
        with pytest.raises(ScenarioError):
            Scenario.from_dict({**good, "slot": bad})


def test_remeasure_folds_loops_as_scenarios_json_writes_them() -> None:
    from pipeline.simulation.remeasure import fold
    from pipeline.simulation.scenarios import expand_path, load_scenarios

    check, ready, again = "Check the slot", "Is the slot ready?", "Wait before checking the slot again"
    path = ["Promote", "Wait for the slot", *[check, ready, again] * 3, check, ready, "Smoke-check"]
    assert fold(path) == [
        "Promote",
        "Wait for the slot",
        check,
        ready,
        {"repeat": [again, check, ready], "times": 3},
        "Smoke-check",
    ]
    for scenario in load_scenarios().values():
        # What scenarios.json says is what the fold of its path says: --write changes nothing else.
        assert expand_path(fold(scenario.expect["path"])) == scenario.expect["path"]

"""Serving slots in the template: who may change a slot's endpoint, and that no cleanup can delete it."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template

from pipeline.slots import SLOT_TAG
from tests.infra.conftest import actions_of, resource_with_prefix, resources_of_type, role_statements

UPDATES = {"bedrock:UpdateCustomModelDeployment", "bedrock:UpdateProvisionedModelThroughput"}
DELETES = {"bedrock:DeleteCustomModelDeployment", "bedrock:DeleteProvisionedModelThroughput"}
CLEANUP_ROLES = ("FunctionsCleanupRole", "StoppedRunsHandlerRole")


def _resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def _names(statement: dict[str, Any]) -> str:
    return json.dumps(_resources(statement))


def test_only_the_slots_function_changes_a_model_in_place(dev: Template) -> None:
    for role in resources_of_type(dev, "AWS::IAM::Role"):
        if role.startswith("FunctionsSlotsRole"):
            continue
        for statement in role_statements(dev, role):
            if statement["Effect"] == "Allow":
                assert not actions_of(statement) & UPDATES, role


def test_an_endpoint_is_changed_in_place_only_when_it_carries_the_slot_tag(dev: Template) -> None:
    updates = [s for s in role_statements(dev, "FunctionsSlotsRole") if actions_of(s) & UPDATES]
    on_endpoints = [
        s for s in updates if "custom-model-deployment" in _names(s) or "provisioned-model" in _names(s)
    ]
    on_models = [s for s in updates if s not in on_endpoints]
    assert {a for s in on_endpoints for a in actions_of(s)} == UPDATES
    for statement in on_endpoints:
        assert statement["Condition"] == {"StringLike": {f"aws:ResourceTag/{SLOT_TAG}": "*"}}
    # The custom model changed to carries no slot tag: its own statement, on custom models only
    (models,) = on_models
    assert "Condition" not in models and all("custom-model/" in json.dumps(r) for r in _resources(models))


def test_the_slots_function_tags_nothing_but_the_slot_tag(dev: Template) -> None:
    (tagging,) = [
        s for s in role_statements(dev, "FunctionsSlotsRole") if "bedrock:TagResource" in actions_of(s)
    ]
    assert tagging["Condition"] == {"ForAllValues:StringEquals": {"aws:TagKeys": [SLOT_TAG]}}


def test_no_cleanup_can_delete_a_slots_endpoint(dev: Template) -> None:
    for role in CLEANUP_ROLES:
        statements = role_statements(dev, role)
        # The cleanups may delete deployments and throughput (what their runs bought)...
        assert any(s["Effect"] == "Allow" and actions_of(s) & DELETES for s in statements), role
        # ...but a deny, which wins over any allow, covers every one tagged as a slot's
        (deny,) = [s for s in statements if s.get("Sid") == "NeverDeleteAServingSlotsEndpoint"]
        assert deny["Effect"] == "Deny" and actions_of(deny) == DELETES
        assert deny["Condition"] == {"Null": {f"aws:ResourceTag/{SLOT_TAG}": "false"}}
        names = _names(deny)
        assert "custom-model-deployment/*" in names and "provisioned-model/*" in names


def test_the_cleanups_give_back_only_the_lock(dev: Template) -> None:
    table = resource_with_prefix(dev, "AWS::DynamoDB::Table", "ServingSlotsLocks")
    expected = {
        "FunctionsCleanupRole": {"dynamodb:DeleteItem"},
        # A stopped run has no plan at hand: its lock is found by the execution (a scan)
        "StoppedRunsHandlerRole": {"dynamodb:DeleteItem", "dynamodb:Scan"},
    }
    for role, actions in expected.items():
        on_table = [s for s in role_statements(dev, role) if table in json.dumps(s["Resource"])]
        assert set().union(*(actions_of(s) for s in on_table)) == actions, role
    for function in resources_of_type(dev, "AWS::Lambda::Function").values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        role = json.dumps(function["Properties"]["Role"])
        if any(r in role for r in (*CLEANUP_ROLES, "FunctionsSlotsRole")):
            assert variables.get("SLOT_LOCK_TABLE") == {"Ref": table}, role


def test_a_lock_table_keyed_by_slot_billed_per_request(dev: Template) -> None:
    table = resources_of_type(dev, "AWS::DynamoDB::Table")[
        resource_with_prefix(dev, "AWS::DynamoDB::Table", "ServingSlotsLocks")
    ]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "slot", "KeyType": "HASH"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_the_manifest_names_the_lock_table(dev: Template) -> None:
    """`bedrock-customize slots` reads a slot's pending promotion from the lock table it names."""
    table = resource_with_prefix(dev, "AWS::DynamoDB::Table", "ServingSlotsLocks")
    (parameter,) = (r for r in dev.to_json()["Resources"].values() if r["Type"] == "AWS::SSM::Parameter")
    value = parameter["Properties"]["Value"]
    parts = value["Fn::Join"][1] if isinstance(value, dict) else [value]
    at = next(i for i, p in enumerate(parts) if isinstance(p, str) and p.endswith('"slotLockTable":"'))
    assert parts[at + 1] == {"Ref": table}

"""The Bedrock customization service role: who may assume it and exactly what it may touch."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from tests.infra.conftest import (
    VPC_SETTINGS,
    cdk_json_context,
    resources_of_type,
    storage_key_id,
    workflow_machine,
)


def _bedrock_role(template: Template) -> tuple[str, dict[str, Any]]:
    roles = {
        k: r
        for k, r in resources_of_type(template, "AWS::IAM::Role").items()
        if r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        == {"Service": "bedrock.amazonaws.com"}
        # The LLM judge's evaluation jobs have their own role (tests/infra/test_judge_infra.py).
        and not k.startswith("EvaluationJobRole")
    }
    assert len(roles) == 1
    return next(iter(roles.items()))


def _statements_of(template: Template, role_id: str) -> dict[str, dict[str, Any]]:
    policies = [
        p
        for p in resources_of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    assert len(policies) == 1, "the role has exactly one policy: its own"
    return {s["Sid"]: s for s in policies[0]["Properties"]["PolicyDocument"]["Statement"]}


def _bucket_id(template: Template) -> str:
    (bucket_id,) = [
        k
        for k, b in resources_of_type(template, "AWS::S3::Bucket").items()
        if "LoggingConfiguration" in b["Properties"]
    ]
    return bucket_id


def test_trusted_only_by_bedrock_for_this_accounts_customization_jobs(dev: Template) -> None:
    _, role = _bedrock_role(dev)
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Effect"] == "Allow"
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {
            "aws:SourceArn": {
                "Fn::Join": [
                    "",
                    ["arn:aws:bedrock:us-east-1:", {"Ref": "AWS::AccountId"}, ":model-customization-job/*"],
                ]
            }
        },
    }
    assert "ManagedPolicyArns" not in role["Properties"]


def test_reads_only_datasets_and_writes_only_outputs(dev: Template) -> None:
    role_id, _ = _bedrock_role(dev)
    bucket = _bucket_id(dev)
    statements = _statements_of(dev, role_id)
    assert set(statements) == {
        "ReadTrainingAndValidationData",
        "WriteJobOutput",
        "ListOnlyDatasetAndOutputPrefixes",
        "UseDataKeyThroughS3Only",
        "EncryptCustomModelThroughBedrock",
        "InvokeDistillationTeachers",
        "InvokeReinforcementFineTuningGraders",
    }
    read = statements["ReadTrainingAndValidationData"]
    assert read["Action"] == "s3:GetObject"
    assert read["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/datasets/*"]]}
    write = statements["WriteJobOutput"]
    assert sorted(write["Action"]) == ["s3:GetObject", "s3:PutObject"]
    assert write["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/outputs/*"]]}
    listing = statements["ListOnlyDatasetAndOutputPrefixes"]
    assert listing["Action"] == "s3:ListBucket"
    assert listing["Resource"] == {"Fn::GetAtt": [bucket, "Arn"]}
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["datasets/*", "outputs/*"]}}
    assert all(s["Effect"] == "Allow" for s in statements.values())


def test_uses_the_key_only_through_s3(dev: Template) -> None:
    role_id, _ = _bedrock_role(dev)
    key_id = storage_key_id(dev)
    kms = _statements_of(dev, role_id)["UseDataKeyThroughS3Only"]
    assert sorted(kms["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert kms["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}


def test_custom_model_key_is_usable_only_through_bedrock(dev: Template) -> None:
    role_id, _ = _bedrock_role(dev)
    key_id = storage_key_id(dev)
    kms = _statements_of(dev, role_id)["EncryptCustomModelThroughBedrock"]
    assert sorted(kms["Action"]) == [
        "kms:CreateGrant",
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:GenerateDataKey",
    ]
    assert kms["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "bedrock.us-east-1.amazonaws.com"}}


def test_teacher_invocation_is_limited_to_the_catalog_teachers(dev: Template) -> None:
    from pipeline.catalog import TEACHERS

    role_id, _ = _bedrock_role(dev)
    teachers = _statements_of(dev, role_id)["InvokeDistillationTeachers"]
    assert teachers["Action"] == "bedrock:InvokeModel"
    rendered = " ".join(str(r) for r in teachers["Resource"])
    for model_id in TEACHERS:
        assert f"arn:aws:bedrock:*::foundation-model/{model_id}" in rendered
    assert "foundation-model/*" not in rendered


def test_pass_role_grant_is_scoped_to_the_role_and_to_bedrock() -> None:
    # Given a stack with the role and some other principal
    from infra.constructs.bedrock_service_role import BedrockServiceRole
    from infra.constructs.training_storage import TrainingStorage

    app = App(context=cdk_json_context())  # same feature flags as the real app
    stack = Stack(app, "PassRoleProbe")
    from aws_cdk import Duration, RemovalPolicy

    storage = TrainingStorage(
        stack, "Storage", removal_policy=RemovalPolicy.DESTROY, noncurrent_version_expiration=Duration.days(1)
    )
    bedrock_role = BedrockServiceRole(stack, "BedrockRole", storage=storage)
    caller = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("states.amazonaws.com"))
    # When
    bedrock_role.grant_pass_role(caller)
    # Then
    template = Template.from_stack(stack)
    role_id = stack.resolve(bedrock_role.role.node.default_child.logical_id)  # type: ignore[union-attr]
    caller_id = stack.resolve(caller.node.default_child.logical_id)  # type: ignore[union-attr]
    caller_policy = next(
        p
        for p in resources_of_type(template, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": caller_id}]
    )
    assert caller_policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [role_id, "Arn"]},
        }
    ]


VPC_STATEMENTS = {
    "DescribeTheJobNetwork",
    "CreateBedrockManagedNetworkInterfaces",
    "CreateNetworkInterfacesInTheConfiguredSubnets",
    "ManageOnlyBedrockManagedNetworkInterfaces",
    "TagNetworkInterfacesOnlyWhenCreatingThem",
}


def _ec2_arn(kind: str, name: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:aws:ec2:us-east-1:", {"Ref": "AWS::AccountId"}, f":{kind}/{name}"]]}


def _sorted(values: list[Any]) -> list[Any]:
    return sorted(values, key=json.dumps)


JOB_ARNS = {
    "Fn::Join": ["", ["arn:aws:bedrock:us-east-1:", {"Ref": "AWS::AccountId"}, ":model-customization-job/*"]]
}


def test_without_a_vpc_the_role_has_no_ec2_permissions(dev: Template, prod: Template) -> None:
    for template in (dev, prod):
        role_id, _ = _bedrock_role(template)
        statements = _statements_of(template, role_id)
        assert not VPC_STATEMENTS & set(statements)
        actions = json.dumps([s["Action"] for s in statements.values()])
        assert "ec2:" not in actions


def test_in_a_vpc_the_role_may_describe_the_network(dev_in_a_vpc: Template) -> None:
    role_id, _ = _bedrock_role(dev_in_a_vpc)
    describe = _statements_of(dev_in_a_vpc, role_id)["DescribeTheJobNetwork"]
    assert sorted(describe["Action"]) == [
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
    ]
    assert describe["Resource"] == "*"
    assert "Condition" not in describe


def test_in_a_vpc_the_role_creates_only_bedrock_tagged_interfaces_in_the_configured_network(
    dev_in_a_vpc: Template,
) -> None:
    role_id, _ = _bedrock_role(dev_in_a_vpc)
    statements = _statements_of(dev_in_a_vpc, role_id)
    assert set(statements) >= VPC_STATEMENTS
    tagged = statements["CreateBedrockManagedNetworkInterfaces"]
    assert tagged["Action"] == "ec2:CreateNetworkInterface"
    assert tagged["Resource"] == _ec2_arn("network-interface", "*")
    assert tagged["Condition"] == {
        "StringEquals": {"aws:RequestTag/BedrockManaged": "true"},
        "ArnEquals": {"aws:RequestTag/BedrockModelCustomizationJobArn": JOB_ARNS},
    }
    network = statements["CreateNetworkInterfacesInTheConfiguredSubnets"]
    assert network["Action"] == "ec2:CreateNetworkInterface"
    assert _sorted(network["Resource"]) == _sorted(
        [
            *(_ec2_arn("subnet", s) for s in VPC_SETTINGS["subnetIds"]),
            *(_ec2_arn("security-group", g) for g in VPC_SETTINGS["securityGroupIds"]),
        ]
    )
    assert "Condition" not in network


def test_in_a_vpc_the_role_deletes_and_tags_only_bedrock_managed_interfaces(dev_in_a_vpc: Template) -> None:
    role_id, _ = _bedrock_role(dev_in_a_vpc)
    statements = _statements_of(dev_in_a_vpc, role_id)
    manage = statements["ManageOnlyBedrockManagedNetworkInterfaces"]
    assert sorted(manage["Action"]) == [
        "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterface",
        "ec2:DeleteNetworkInterfacePermission",
    ]
    assert manage["Resource"] == _ec2_arn("network-interface", "*")
    assert manage["Condition"] == {
        "ArnEquals": {
            "ec2:Subnet": [_ec2_arn("subnet", s) for s in sorted(VPC_SETTINGS["subnetIds"])],
            "ec2:ResourceTag/BedrockModelCustomizationJobArn": JOB_ARNS,
        },
        "StringEquals": {"ec2:ResourceTag/BedrockManaged": "true"},
    }
    tags = statements["TagNetworkInterfacesOnlyWhenCreatingThem"]
    assert tags["Action"] == "ec2:CreateTags"
    assert tags["Resource"] == _ec2_arn("network-interface", "*")
    assert tags["Condition"] == {
        "StringEquals": {"ec2:CreateAction": "CreateNetworkInterface"},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["BedrockManaged", "BedrockModelCustomizationJobArn"]},
    }


def test_in_a_vpc_the_job_gets_the_configured_network(dev_in_a_vpc: Template) -> None:
    machine = workflow_machine(dev_in_a_vpc)
    rendered = json.dumps(machine["Properties"]["DefinitionString"])
    for subnet in VPC_SETTINGS["subnetIds"]:
        assert subnet in rendered

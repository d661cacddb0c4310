"""The Bedrock customization service role: who may assume it and exactly what it may touch."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from tests.infra.conftest import cdk_json_context, resources_of_type


def _bedrock_role(template: Template) -> tuple[str, dict[str, Any]]:
    roles = {
        k: r
        for k, r in resources_of_type(template, "AWS::IAM::Role").items()
        if r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        == {"Service": "bedrock.amazonaws.com"}
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
    (key_id,) = resources_of_type(dev, "AWS::KMS::Key")
    kms = _statements_of(dev, role_id)["UseDataKeyThroughS3Only"]
    assert sorted(kms["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert kms["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}


def test_custom_model_key_is_usable_only_through_bedrock(dev: Template) -> None:
    role_id, _ = _bedrock_role(dev)
    (key_id,) = resources_of_type(dev, "AWS::KMS::Key")
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

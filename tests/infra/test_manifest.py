"""Tooling discovers the deployment from one SSM parameter and the stack outputs, not from names."""

from __future__ import annotations

from aws_cdk.assertions import Template

from tests.infra.conftest import resources_of_type


def test_manifest_parameter_names_bucket_key_and_role(dev: Template) -> None:
    (param,) = resources_of_type(dev, "AWS::SSM::Parameter").values()
    props = param["Properties"]
    assert props["Name"] == "/bedrock-customization/dev/deployment"
    assert props["Type"] == "String"
    rendered = str(props["Value"])
    for key in ('"trainingBucket"', '"keyArn"', '"bedrockServiceRoleArn"', '"environment"', '"version"'):
        assert key in rendered


def test_outputs_expose_the_same_entries(prod: Template) -> None:
    outputs = prod.find_outputs("*")
    assert {"TrainingBucket", "KeyArn", "BedrockServiceRoleArn", "ManifestParameter"} <= set(outputs)

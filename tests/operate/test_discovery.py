"""Finding the deployed pipeline: SSM manifest first, stack outputs second, a clear error otherwise."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from infra.config import EnvironmentConfig
from pipeline.operate import aws, discovery
from pipeline.operate.errors import InvalidInputError, NotDeployedError, OperationalError
from tests.operate.helpers import (
    ACCOUNT,
    BUCKET,
    MANIFEST,
    REGION,
    STATE_MACHINE_ARN,
    clients_with,
    deploy,
    run_cli,
)

pytestmark = pytest.mark.usefixtures("moto")


def _stack_template() -> str:
    outputs = {
        key[0].upper() + key[1:]: {"Value": MANIFEST[key]}
        for key in ("trainingBucket", "keyArn", "bedrockServiceRoleArn", "stateMachineArn", "topicArn")
    }
    return json.dumps(
        {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "placeholder"}}},
            "Outputs": outputs,
        }
    )


def test_names_match_the_stack_that_publishes_them() -> None:
    config = EnvironmentConfig("prod", None, "us-east-1", "retain", 30, None)

    assert discovery.parameter_name("prod") == config.ssm_parameter_name
    assert discovery.stack_name("prod") == config.stack_name


def test_reads_the_ssm_manifest() -> None:
    deploy()

    found = discovery.discover(aws.Clients(REGION), "dev")

    assert found.training_bucket == BUCKET
    assert found.state_machine_arn == STATE_MACHINE_ARN
    assert found.account == ACCOUNT
    assert found.source == "ssm:/bedrock-customization/dev/deployment"
    assert found.execution_arn("run-1") == (
        f"arn:aws:states:{REGION}:{ACCOUNT}:execution:BedrockCustomization-dev-Workflow:run-1"
    )


def test_falls_back_to_the_stack_outputs_without_the_parameter() -> None:
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="BedrockCustomization-dev", TemplateBody=_stack_template()
    )

    found = discovery.discover(aws.Clients(REGION), "dev")

    assert found.source == "cloudformation:BedrockCustomization-dev"
    assert found.training_bucket == BUCKET
    assert found.topic_arn == MANIFEST["topicArn"]
    assert found.region == REGION


def test_names_environment_region_and_what_to_deploy_when_nothing_is_there() -> None:
    with pytest.raises(NotDeployedError) as raised:
        discovery.discover(aws.Clients("eu-west-1"), "staging")

    text = raised.value.render()
    assert "'staging' environment is not deployed in eu-west-1" in text
    assert "/bedrock-customization/staging/deployment" in text
    assert "make deploy STACK=BedrockCustomization-staging" in text


def test_a_broken_manifest_says_to_redeploy() -> None:
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/bedrock-customization/dev/deployment", Type="String", Value=json.dumps({"version": 1})
    )

    with pytest.raises(OperationalError, match="lacks trainingBucket, keyArn") as raised:
        discovery.discover(aws.Clients(REGION), "dev")
    assert "redeploy" in (raised.value.hint or "")


def test_rejects_an_environment_name_that_cannot_exist() -> None:
    with pytest.raises(InvalidInputError, match="not an environment name"):
        discovery.discover(aws.Clients(REGION), "Prod_1")


def test_deploy_info_reports_the_deployment_and_what_the_caller_can_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    deploy()
    bedrock = boto3.client("bedrock", region_name=REGION)
    stub = Stubber(bedrock)
    stub.add_response(
        "list_provisioned_model_throughputs", {"provisionedModelSummaries": []}, {"maxResults": 1}
    )
    stub.add_response("list_custom_model_deployments", {"modelDeploymentSummaries": []}, {"maxResults": 1})

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "deploy-info", "--region", REGION, "--json")

    assert result.code == 0, result.err
    doc = result.json()
    assert doc["usable"] is True
    assert doc["deployment"]["trainingBucket"] == BUCKET
    assert {c["action"] for c in doc["checks"]} >= {
        "sts:GetCallerIdentity",
        "states:DescribeStateMachine",
        "s3:ListBucket",
        "bedrock:ListProvisionedModelThroughputs",
        "bedrock:ListCustomModelDeployments",
    }
    assert doc["identity"]["account"] == ACCOUNT


def test_deploy_info_exits_1_and_names_the_denied_call(capsys: pytest.CaptureFixture[str]) -> None:
    deploy()
    bedrock = boto3.client("bedrock", region_name=REGION)
    stub = Stubber(bedrock)
    stub.add_client_error("list_provisioned_model_throughputs", "AccessDeniedException", "not allowed", 403)
    stub.add_response("list_custom_model_deployments", {"modelDeploymentSummaries": []}, {"maxResults": 1})

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "deploy-info", "--region", REGION)

    assert result.code == 1
    assert "bedrock:ListProvisionedModelThroughputs  NO" in result.out
    assert "AccessDeniedException" in result.out
    assert "Some checks failed" in result.out


def test_commands_exit_1_with_the_deploy_hint_when_not_deployed(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "status", "some-run-0123456789", "--env", "qa", "--region", REGION)

    assert result.code == 1
    assert "'qa' environment is not deployed in us-east-1" in result.err
    assert "next: deploy it with `make deploy STACK=BedrockCustomization-qa`" in result.err
    assert "Traceback" not in result.err


def test_no_region_anywhere_is_invalid_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    result = run_cli(capsys, "list", "--json")

    assert result.code == 2
    assert result.json() == {
        "ok": False,
        "error": "no AWS region: the command does not know where the pipeline is deployed",
        "next": "pass --region (e.g. --region us-east-1), or set AWS_REGION or a region in your AWS profile",
        "exitCode": 2,
    }

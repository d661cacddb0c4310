"""Publishes where the deployed pipeline's parts are, for the CLI and other tooling to discover."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_ssm as ssm
from constructs import Construct

MANIFEST_VERSION = 1


class DeploymentManifest(Construct):
    """One SSM String parameter holding a JSON manifest, and one stack output per entry.

    Tooling reads the parameter (a fixed, environment-derived name) instead of hard-coding bucket,
    key or role names, which CloudFormation generates.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        parameter_name: str,
        environment: str,
        entries: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        manifest = {
            "version": MANIFEST_VERSION,
            "environment": environment,
            "stackName": stack.stack_name,
            "region": stack.region,
            "account": stack.account,
            **entries,
        }
        self.parameter = ssm.StringParameter(
            self,
            "Parameter",
            parameter_name=parameter_name,
            description=f"Deployment manifest of the Bedrock customization pipeline ({environment})",
            string_value=stack.to_json_string(manifest),
            tier=ssm.ParameterTier.STANDARD,
        )
        for key, value in entries.items():
            CfnOutput(stack, key[0].upper() + key[1:], value=value, description=f"Pipeline {key}")
        CfnOutput(
            stack,
            "ManifestParameter",
            value=self.parameter.parameter_name,
            description="SSM parameter with the JSON deployment manifest",
        )

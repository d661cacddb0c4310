"""The deployable unit: one per configured environment."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack, Tags
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.bedrock_service_role import BedrockServiceRole
from infra.constructs.deployment_manifest import DeploymentManifest
from infra.constructs.training_storage import TrainingStorage


class CustomizationStack(Stack):
    """Training storage, the Bedrock service role and the manifest that lets tooling find them."""

    def __init__(self, scope: Construct, *, config: EnvironmentConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            config.stack_name,
            description=f"Bedrock model customization pipeline: storage, roles and workflow ({config.name})",
            **kwargs,
        )
        self.config = config
        for key, value in config.tags.items():
            Tags.of(self).add(key, value)

        removal = RemovalPolicy.RETAIN if config.removal_policy == "retain" else RemovalPolicy.DESTROY
        self.storage = TrainingStorage(
            self,
            "Storage",
            removal_policy=removal,
            noncurrent_version_expiration=Duration.days(config.noncurrent_version_expiration_days),
        )
        self.bedrock_role = BedrockServiceRole(self, "BedrockServiceRole", storage=self.storage)

        self.manifest = DeploymentManifest(
            self,
            "Manifest",
            parameter_name=config.ssm_parameter_name,
            environment=config.name,
            entries={
                "trainingBucket": self.storage.bucket.bucket_name,
                "keyArn": self.storage.key.key_arn,
                "bedrockServiceRoleArn": self.bedrock_role.role_arn,
            },
        )

"""One customer-managed KMS key per stack for its CloudWatch Logs log groups (Lambda and Step Functions)."""

from __future__ import annotations

from typing import Final

import jsii
from aws_cdk import ArnFormat, Aspects, IAspect, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct


class LogEncryption(Construct):
    """The key every log group of a stack is encrypted with, created once per stack.

    Separate from the storage key: the logs key is used by CloudWatch Logs only, and the storage
    key's policy stays limited to the services that reach training data. Its key policy lets the
    CloudWatch Logs service of this region use it for log groups of this account and region only
    (``kms:EncryptionContext:aws:logs:arn``), as the CloudWatch Logs guide prescribes: "Encrypt
    log data in CloudWatch Logs using AWS Key Management Service",
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html.

    Reach it through :meth:`of`, which creates it on first use, so every construct that makes a
    log group can encrypt it without being handed the key. Creating it also registers an aspect
    that gives this key to every log group of the stack created without one (the state machine's,
    and any added later), so no log group of the stack is left unencrypted (checkov CKV_AWS_158).
    """

    CONSTRUCT_ID: Final = "LogEncryption"
    # What CloudWatch Logs needs on the key, per the guide above, less its "kms:Describe*": the
    # guide puts it under the same kms:EncryptionContext:aws:logs:arn condition, a key DescribeKey
    # requests never carry (Service Authorization Reference, AWS KMS), so it never matched and
    # granting it authorizes nothing (tests/infra/test_iam_contract.py).
    LOGS_ACTIONS: Final = (
        "kms:Encrypt*",
        "kms:Decrypt*",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
    )

    def __init__(self, scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the CloudWatch Logs log groups of the Bedrock customization pipeline",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsForLogGroupsOfThisAccountAndRegion",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=list(self.LOGS_ACTIONS),
                # In a key policy "*" means this key.
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )
        Aspects.of(stack).add(_EncryptLogGroups(self.key))

    @classmethod
    def of(cls, scope: Construct, *, removal_policy: RemovalPolicy) -> LogEncryption:
        """The stack's log key, created on first use.

        A log group may outlive its stack (RETAIN), so if any caller retains its log group the key
        is retained too: retention wins over deletion, whatever order the callers come in.
        """
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(cls.CONSTRUCT_ID)
        if existing is None:
            return cls(stack, cls.CONSTRUCT_ID, removal_policy=removal_policy)
        if not isinstance(existing, LogEncryption):
            raise TypeError(f"{existing.node.path} is not a {cls.__name__}")
        if removal_policy == RemovalPolicy.RETAIN:
            existing.key.apply_removal_policy(RemovalPolicy.RETAIN)
        return existing


@jsii.implements(IAspect)
class _EncryptLogGroups:
    """Set the stack's log key on every log group that has no key of its own."""

    def __init__(self, key: kms.IKey) -> None:
        self._key = key

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, logs.CfnLogGroup) and node.kms_key_id is None:
            node.kms_key_id = self._key.key_arn

"""Where the pipeline tells people what happened: one encrypted SNS topic."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.training_storage import TrainingStorage
from infra.nag import acknowledge


def executions_ended_badly(state_machine: sfn.StateMachine) -> cloudwatch.MathExpression:
    """Executions of ``state_machine`` that failed, timed out or were stopped, per 5 minutes: what the
    workflow's and the retrying release's alarms watch."""
    period = Duration.minutes(5)
    return cloudwatch.MathExpression(
        expression="failed + timedOut + aborted",
        using_metrics={
            "failed": state_machine.metric_failed(period=period),
            "timedOut": state_machine.metric_timed_out(period=period),
            "aborted": state_machine.metric_aborted(period=period),
        },
        period=period,
    )


class Notifications(Construct):
    """KMS-encrypted topic for run outcomes, approval requests and alarms.

    Encrypted with the project key, because messages carry run details and approval commands.
    CloudWatch alarms publish to it too, so the key policy lets CloudWatch (for this account
    only) use the key.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, storage: TrainingStorage, email: str | None
    ) -> None:
        super().__init__(scope, construct_id)
        self.storage = storage
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="Bedrock customization runs",
            master_key=storage.key,
            enforce_ssl=True,
        )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        storage.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublishToTheEncryptedTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                # In a key policy "*" means this key.
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )

    def grant_publish(self, grantee: iam.IRole) -> None:
        """Publish to the topic; the key may be used for it only through SNS.

        Not ``Topic.grant_publish``: that also grants the key without a ``kms:ViaService``
        condition, which would let the grantee decrypt training data keys directly.
        """
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["sns:Publish"], resource_arns=[self.topic.topic_arn]
        )
        self.storage.grant_key_via(grantee, "sns", "kms:Decrypt", "kms:GenerateDataKey*")
        acknowledge(
            grantee,
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "The SNS guide lists kms:GenerateDataKey* for publishers to an SSE-KMS topic; it stays behind "
            "kms:ViaService=sns",
        )

"""Approvals that only a verified, distinct person can give, and runs whose starter is on record.

- **Start.** ``bedrock-customize start`` calls the start function's URL (``AuthType: AWS_IAM``)
  with an identity proof (a signed STS GetCallerIdentity, pipeline.approval_records); the function
  starts the execution and writes who started it to ``starters/<runId>.json``.
- **Ask.** The workflow's approval request stores the task token under ``approvals/``, readable by
  the answer function only, and tells people the request's id and who started the run.
- **Answer.** The answer function sits behind its own IAM-authenticated URL. It accepts a session of
  the approver role only, confirmed by STS, and refuses the run's starter (unless the environment
  sets ``approvals.allowSelfApproval``). It writes the decision of record to
  ``decisions/<runId>/<requestId>.json``, then answers the task token.
- **Verify.** After the wait, the workflow reads that record (lambdas/approval_verify, wired in
  infra.constructs.workflow_states) and acts on it, not on the token's answer: a SendTaskSuccess
  sent by hand decides nothing.
- **Records only their writer may write.** A bucket policy denies writing and deleting under
  ``decisions/`` to every principal but the answer function's role, and under ``starters/`` to every
  principal but the start function's role (account administrators included; they can still change
  the policy itself, which CloudTrail records).
- **The approver role.** Its trust lets an IAM user of this account assume it only with a source
  identity and a session name both equal to their IAM user name (``${aws:username}``), and with MFA
  where ``approvals.requireMfa`` (the default). So the session name the answer function sees is a
  person AWS authenticated, not a name they typed. With ``approvals.federatedSourceIdentity`` a
  session that already carries a source identity (set by a SAML or OIDC identity provider) may
  assume it with that source identity as its session name. The role may call the answer URL only
  through the URL (``lambda:InvokeFunction`` only with ``lambda:InvokedViaFunctionUrl``; new
  function URLs need both actions since October 2025 [Lambda developer guide, urls-auth]).
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import ApprovalSettings
from infra.constructs.pipeline_function import PipelineFunction
from infra.constructs.quota_reading import UNSCOPED_REASON, quota_check_statements
from infra.constructs.training_storage import RUNS_PREFIX, TrainingStorage
from infra.nag import acknowledge, finding_value, resource_ref
from pipeline.approval_records import DECISIONS_PREFIX, PENDING_PREFIX, STARTERS_PREFIX

# Everything that creates, replaces or removes an object (CopyObject and multipart uploads are
# authorized as s3:PutObject). Reading stays open to whoever IAM allows: the records hold no secret.
WRITE_ACTIONS = (
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:ReplicateObject",
    "s3:ReplicateDelete",
    "s3:RestoreObject",
)


def approver_trust(settings: ApprovalSettings) -> iam.PolicyDocument:
    """Who may assume the approver role, and under which name (the name is the approver of record).

    IAM users only, by default: ``sts:SourceIdentity`` and ``sts:RoleSessionName`` must both equal
    ``${aws:username}`` (present for IAM users only [IAM User Guide, sts:RoleSessionName]), so
    neither can be made up. ``sts:SetSourceIdentity`` must be allowed next to ``sts:AssumeRole`` to
    set one [IAM User Guide, "Permissions required to set source identity"].
    """
    principal = iam.AccountRootPrincipal()
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}} if settings.require_mfa else {}

    def pair(sid: str, name: str) -> list[iam.PolicyStatement]:
        # Two statements: sts:SetSourceIdentity supports sts:SourceIdentity but not
        # sts:RoleSessionName [Service Authorization Reference], and a condition on a key an action
        # does not support never matches, which would deny setting the source identity at all.
        return [
            iam.PolicyStatement(
                sid=f"{sid}Assume",
                principals=[principal],
                actions=["sts:AssumeRole"],
                conditions={
                    "StringEquals": {"sts:SourceIdentity": name, "sts:RoleSessionName": name},
                    **mfa,
                },
            ),
            iam.PolicyStatement(
                sid=f"{sid}SourceIdentity",
                principals=[principal],
                actions=["sts:SetSourceIdentity"],
                conditions={"StringEquals": {"sts:SourceIdentity": name}, **mfa},
            ),
        ]

    statements = pair("IamUsersAsThemselves", "${aws:username}")
    if settings.federated_source_identity:
        statements += pair("FederatedSessionsAsTheirSourceIdentity", "${aws:SourceIdentity}")
    return iam.PolicyDocument(statements=statements)


class Approvals(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        storage: TrainingStorage,
        request_function: PipelineFunction,
        verify_function: PipelineFunction,
        manifest_parameter_name: str,
        settings: ApprovalSettings,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        bucket = resource_ref(storage.bucket)
        self_approval = "true" if settings.allow_self_approval else "false"

        self.approver_role = iam.Role(
            self,
            "ApproverRole",
            description="Approves or rejects purchases of the Bedrock customization pipeline "
            "(bedrock-customize approve/reject); its session name is the approver of record",
            assumed_by=iam.AccountRootPrincipal(),
            max_session_duration=Duration.hours(1),
        )
        # The trust written out in full (assumed_by cannot express two statements with conditions).
        trust = self.approver_role.node.default_child
        assert isinstance(trust, iam.CfnRole)
        trust.assume_role_policy_document = approver_trust(settings)
        approver_env = {
            "APPROVER_ROLE_ARN": self.approver_role.role_arn,
            "APPROVER_ROLE_ID": self.approver_role.role_id,
        }

        # -- the answer function ----------------------------------------------------------------------
        self.function = PipelineFunction(
            self,
            "Answer",
            handler="approval_answer",
            description="Records an approval decision for a verified approver, then answers the waiting "
            "run (function URL, AWS_IAM)",
            timeout=Duration.seconds(30),
            log_retention=log_retention,
            removal_policy=removal_policy,
            environment={
                "TRAINING_BUCKET": storage.bucket.bucket_name,
                "ALLOW_SELF_APPROVAL": self_approval,
                **approver_env,
            },
        )
        self.url = self.function.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.AWS_IAM)
        answer_role = self.function.role
        storage.grant_read(answer_role, PENDING_PREFIX)
        iam.Grant.add_to_principal(
            grantee=answer_role,
            actions=["s3:DeleteObject"],
            resource_arns=[storage.prefix_arn(PENDING_PREFIX)],
        )
        storage.grant_read(answer_role, DECISIONS_PREFIX)
        storage.grant_write(answer_role, DECISIONS_PREFIX)
        storage.grant_read(answer_role, STARTERS_PREFIX)
        # Reading a record that may not exist: without s3:ListBucket, S3 answers a missing key with
        # 403 AccessDenied instead of 404 NoSuchKey, and a run without a record would look broken.
        for prefix in (DECISIONS_PREFIX, STARTERS_PREFIX):
            storage.grant_list(answer_role, prefix)
        storage.grant_write(answer_role, RUNS_PREFIX)
        # SendTaskSuccess has no resource-level permissions ("*" is the only valid resource); what this
        # function can answer is limited by the tokens it can read: this stack's approvals/ prefix.
        iam.Grant.add_to_principal(
            grantee=answer_role, actions=["states:SendTaskSuccess"], resource_arns=["*"]
        )
        for prefix, reason in (
            (PENDING_PREFIX, "pending approvals are stored per run under approvals/<run id>.json"),
            (DECISIONS_PREFIX, "decisions of record are kept per request under decisions/<run id>/"),
            (STARTERS_PREFIX, "the starter record of each run is starters/<run id>.json"),
            (RUNS_PREFIX, "each decision is copied under runs/<run id>/, a key known only at run time"),
        ):
            acknowledge(answer_role, f"AwsSolutions-IAM5[Resource::{bucket}/{prefix}*]", reason)
        acknowledge(
            answer_role,
            "AwsSolutions-IAM5[Resource::*]",
            "states:SendTaskSuccess and X-Ray tracing support no resource-level permissions; the tokens "
            "this function can read are this stack's pending approvals only",
        )
        # The approver role calls the answer function through its URL only: InvokeFunctionUrl with
        # AuthType AWS_IAM, and InvokeFunction only with lambda:InvokedViaFunctionUrl (both needed for
        # function URLs created since October 2025). No plain InvokeFunction: a direct invoke carries a
        # hand-built event.
        self.url.grant_invoke_url(self.approver_role)

        # -- the start function ---------------------------------------------------------------------
        self.start_function = PipelineFunction(
            self,
            "Start",
            handler="run_start",
            description="Starts a run for an STS-verified caller and records who started it "
            "(function URL, AWS_IAM)",
            timeout=Duration.seconds(30),
            log_retention=log_retention,
            removal_policy=removal_policy,
            environment={
                "TRAINING_BUCKET": storage.bucket.bucket_name,
                "STATE_MACHINE_ARN": state_machine.state_machine_arn,
                **approver_env,
            },
        )
        self.start_url = self.start_function.function.add_function_url(
            auth_type=lambda_.FunctionUrlAuthType.AWS_IAM
        )
        start_role = self.start_function.role
        state_machine.grant_start_execution(start_role)
        storage.grant_read(start_role, STARTERS_PREFIX)
        storage.grant_list(start_role, STARTERS_PREFIX)
        storage.grant_write(start_role, STARTERS_PREFIX)
        acknowledge(
            start_role,
            f"AwsSolutions-IAM5[Resource::{bucket}/{STARTERS_PREFIX}*]",
            "the starter record of each run is starters/<run id>.json, a key known only at run time",
        )
        # Who may start runs: attach this policy to the people and CI roles that start them.
        start_arn = self.start_function.function.function_arn
        self.starter_policy = iam.ManagedPolicy(
            self,
            "StarterPolicy",
            description="Start runs of the Bedrock customization pipeline through its start URL "
            "(bedrock-customize start)",
            statements=[
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunctionUrl"],
                    resources=[start_arn],
                    conditions={"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
                ),
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"],
                    resources=[start_arn],
                    conditions={"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
                ),
                # check/estimate/start read the run's quotas and count the jobs in progress with the
                # operator's credentials (pipeline.quotas.check); without these the check says "not
                # checked" and a purchase that cannot fit fails only after paid training.
                *quota_check_statements(Stack.of(self)),
            ],
        )
        acknowledge(self.starter_policy, "AwsSolutions-IAM5[Resource::*]", UNSCOPED_REASON)

        # -- the workflow's side: ask, verify ---------------------------------------------------------
        storage.grant_write(request_function.role, PENDING_PREFIX)
        storage.grant_read(request_function.role, STARTERS_PREFIX)
        storage.grant_list(request_function.role, STARTERS_PREFIX)
        request_function.function.add_environment("ALLOW_SELF_APPROVAL", self_approval)
        for prefix in (DECISIONS_PREFIX, STARTERS_PREFIX):
            storage.grant_read(verify_function.role, prefix)
            storage.grant_list(verify_function.role, prefix)
        verify_function.function.add_environment("ALLOW_SELF_APPROVAL", self_approval)
        for role, prefix, reason in (
            (request_function.role, PENDING_PREFIX, "pending approvals are stored per run under approvals/"),
            (
                request_function.role,
                STARTERS_PREFIX,
                "the request names the run's starter: starters/<run id>",
            ),
            (verify_function.role, DECISIONS_PREFIX, "decisions of record are kept per request, per run"),
            (verify_function.role, STARTERS_PREFIX, "self-approval is checked against starters/<run id>"),
        ):
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{bucket}/{prefix}*]", reason)

        # -- records only their writer may write ------------------------------------------------------
        storage.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyTheApprovalAnswerReadsTaskTokens",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[storage.prefix_arn(PENDING_PREFIX)],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": answer_role.role_arn}},
            )
        )
        for sid, prefix, writer in (
            ("OnlyTheApprovalAnswerWritesDecisions", DECISIONS_PREFIX, answer_role),
            ("OnlyTheStartFunctionWritesStarters", STARTERS_PREFIX, start_role),
        ):
            storage.bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=list(WRITE_ACTIONS),
                    resources=[storage.prefix_arn(prefix)],
                    conditions={"ArnNotEquals": {"aws:PrincipalArn": writer.role_arn}},
                )
            )

        # -- what `approve` reads before answering: the request, the run's state, the manifest --------
        storage.grant_read(self.approver_role, RUNS_PREFIX)
        executions = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{state_machine.state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        iam.Grant.add_to_principal(
            grantee=self.approver_role,
            actions=["states:DescribeExecution", "states:GetExecutionHistory"],
            resource_arns=[executions],
        )
        iam.Grant.add_to_principal(
            grantee=self.approver_role,
            actions=["ssm:GetParameter"],
            resource_arns=[
                stack.format_arn(
                    service="ssm", resource="parameter", resource_name=manifest_parameter_name.lstrip("/")
                )
            ],
        )
        acknowledge(
            self.approver_role,
            f"AwsSolutions-IAM5[Resource::{bucket}/{RUNS_PREFIX}*]",
            "approvers read the approval request of the run they answer, under runs/<run id>/",
        )
        acknowledge(
            self.approver_role,
            f"AwsSolutions-IAM5[Resource::{finding_value(self, executions)}]",
            "executions of the pipeline's state machine are named per run",
        )

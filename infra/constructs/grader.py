"""The built-in reinforcement fine-tuning grader: one Lambda function, one alias per grader."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.pipeline_function import PipelineFunction
from infra.constructs.platform_load import never_reserve
from pipeline.graders import BUILTIN_GRADERS, GRADER_TIMEOUT_SECONDS


class BuiltinGrader(Construct):
    """``lambdas/grader`` behind one alias per built-in grader (``<function ARN>:exact-match`` ...).

    Bedrock invokes a grader ARN per run (``rftConfig.graderConfig.lambdaGrader.lambdaArn`` [BC]); the
    alias in it tells the function which grader to run (the context's ``invoked_function_arn``).

    The aliases point at a published version of the function, never at ``$LATEST``: a deployment
    that changes the grader's code or configuration publishes a new version (CDK's
    ``current_version``: its logical id follows a hash of both) and moves every alias to it in one
    step, so no call ever runs half-updated code (``$LATEST`` takes the new code before the new
    configuration); a rollback moves the aliases back, and earlier versions are retained, each an
    immutable record of a reward function that trained a model. What this does not do: a job that
    is already running invokes the alias, so a deployment that changes the grader's code during a
    multi-hour job changes its reward function from then on. Pinning a running job needs the job
    to be handed an immutable qualifier (a version, or an alias that never moves), which the plan
    and the Bedrock role's grant must then follow (UNCONFIRMED whether Bedrock re-resolves the
    alias per call; Lambda does for every invocation).

    Nothing else may invoke it: the function has no resource-based policy. The Bedrock service role
    is granted ``lambda:InvokeFunction`` on exactly these alias ARNs, which is how the user guide
    documents grader access [UG:rft-access-security], and the preflight role on the same ARNs for its
    dry call.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = PipelineFunction(
            self,
            "Function",
            handler="grader",
            description="Built-in reinforcement fine-tuning grader (exact-match, numeric, json-schema, "
            "rouge-l by alias): scores the answers Bedrock samples",
            # Lambda's maximum, the grader's limit in the guide [UG:reward-functions]; scoring a batch
            # takes milliseconds, the headroom is for very large batches.
            timeout=Duration.seconds(GRADER_TIMEOUT_SECONDS),
            log_retention=log_retention,
            removal_policy=removal_policy,
        )
        # Bedrock scores the answers of a step in parallel ("take advantage of Lambda's parallel
        # scaling" [UG:reinforcement-fine-tuning]); a throttled grader could fail a paid job (how
        # Bedrock treats a throttled grader is UNCONFIRMED). So no reservation caps it, whatever the
        # stack's setting for the workflow's functions: it runs in the account's unreserved pool.
        never_reserve(
            self.function.function,
            "Bedrock invokes the grader in parallel during a reinforcement fine-tuning job; a concurrency "
            "reservation would throttle the job's reward computation (the function only scores text)",
        )
        # Published per change of code or configuration; kept when a newer one replaces it.
        self.version = self.function.function.current_version
        self.version.apply_removal_policy(RemovalPolicy.RETAIN)
        self.alias_arns: dict[str, str] = {}
        for name in BUILTIN_GRADERS:
            alias = lambda_.CfnAlias(
                self,
                f"Alias-{name}",
                function_name=self.function.function.function_name,
                function_version=self.version.version,
                name=name,
                description=f"The built-in {name} grader, at the version the last deployment published",
            )
            # Ref of an alias is its ARN: <function ARN>:<alias name>.
            self.alias_arns[name] = alias.ref

    @property
    def function_arn(self) -> str:
        """The unqualified function ARN; a run's grader is ``<this>:<grader name>``."""
        return self.function.function.function_arn

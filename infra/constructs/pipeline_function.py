"""One Lambda function of the pipeline: its own small asset, role, log group and shared defaults."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.log_encryption import LogEncryption
from infra.nag import acknowledge, acknowledge_checkov
from lambdas.common import metric_names

ROOT: Final = Path(__file__).resolve().parents[2]
STAGING_DIR: Final = ROOT / "build" / "lambda-assets"
# Code shared by every function: the handler plumbing and the pure cores the CLI also uses.
_SHARED: Final = ("lambdas/__init__.py", "lambdas/common", "pipeline")
# The CLI, its operations commands and the offline simulator need third-party packages and never
# run in Lambda: they stay out of the assets.
_NOT_SHIPPED: Final = frozenset({"cli.py", "__main__.py"})
_NOT_SHIPPED_PACKAGES: Final = frozenset({"operate", "simulation"})
# Powertools for AWS Lambda (Python) comes from the layer AWS publishes, so the assets hold only the
# pipeline's own code. Source: Powertools docs "Installation > Lambda Layer" (docs/getting-started/
# install.md, read 2026-11-28): arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-
# {python_version}-{arm64|x86_64}:27, one layer per Python version (python314 listed). That account
# publishes in the aws partition only (China and GovCloud have publishers of their own).
# aws-lambda-powertools in pyproject.toml (tests, simulation) pins the same release.
POWERTOOLS_LAYER_ACCOUNT: Final = "017000801446"
POWERTOOLS_LAYER_VERSION: Final = 27
POWERTOOLS_VERSION: Final = "3.23.0"


def stage_asset(handler: str, *, root: Path = ROOT, staging_dir: Path = STAGING_DIR) -> Path:
    """Copy one handler package plus the shared code into a clean folder and return it.

    Only ``.py`` files of this repository are copied, so caches, editor files, test data and
    third-party packages (Powertools comes from its layer) never reach the asset (and never change
    its hash).
    """
    source_dir = root / "lambdas" / handler
    if not (source_dir / "handler.py").is_file():
        raise FileNotFoundError(f"no handler at {source_dir / 'handler.py'}")
    target = staging_dir / handler
    if target.exists():
        shutil.rmtree(target)
    for relative in (*_SHARED, f"lambdas/{handler}"):
        src = root / relative
        if src.is_file():
            _copy(src, target / relative)
        elif src.is_dir():
            for path in sorted(src.rglob("*.py")):
                parts = set(path.relative_to(root).parts)
                if "__pycache__" in parts or path.name in _NOT_SHIPPED or parts & _NOT_SHIPPED_PACKAGES:
                    continue
                _copy(path, target / path.relative_to(root))
    return target


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def powertools_layer_arn(
    scope: Construct, runtime: lambda_.Runtime, architecture: lambda_.Architecture
) -> str:
    """The AWS-published Powertools layer for ``runtime`` and ``architecture`` in the stack's region."""
    stack = Stack.of(scope)
    python = runtime.name.replace(".", "")  # python3.14 -> python314
    return (
        f"arn:{stack.partition}:lambda:{stack.region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{python}-{architecture.name}:{POWERTOOLS_LAYER_VERSION}"
    )


def service_name(scope: Construct) -> str:
    """The Powertools service of every function of the stack (and the metrics' ``service``
    dimension): the stack name, so each deployed environment has series of its own."""
    return Stack.of(scope).stack_name


class PipelineFunction(Construct):
    """A Python Lambda function with the pipeline's defaults.

    - Python 3.14 (the latest Lambda runtime) on arm64 (cheaper per GB-second than x86 for this
      I/O-bound work).
    - JSON structured logs into a log group with the environment's retention, encrypted with the
      stack's log key (:class:`LogEncryption`), written through a role that may write only to that
      log group (no AWS managed policy).
    - X-Ray active tracing; its reserved concurrency is the stack's setting (none by default), applied
      to every function by ``infra.constructs.platform_load``.
    - Powertools (logs, traces, metrics: ``lambdas.common.runtime``) from the AWS-published layer,
      with ``POWERTOOLS_SERVICE_NAME`` (the stack) and ``POWERTOOLS_METRICS_NAMESPACE`` set.
    - Handler ``lambdas.<name>.handler.lambda_handler`` in an asset holding only that handler and
      the shared ``lambdas/common`` and ``pipeline`` code.
    """

    RUNTIME: Final = lambda_.Runtime.PYTHON_3_14
    ARCHITECTURE: Final = lambda_.Architecture.ARM_64

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        description: str,
        timeout: Duration,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        environment: Mapping[str, str] | None = None,
        memory_size: int = 256,
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=log_retention,
            removal_policy=removal_policy,
            encryption_key=LogEncryption.of(self, removal_policy=removal_policy).key,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Runs the {handler} handler of the Bedrock customization pipeline",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=self.RUNTIME,
            architecture=self.ARCHITECTURE,
            handler=f"lambdas.{handler}.handler.lambda_handler",
            code=lambda_.Code.from_asset(str(stage_asset(handler))),
            timeout=timeout,
            memory_size=memory_size,
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            environment={
                **(environment or {}),
                "POWERTOOLS_SERVICE_NAME": service_name(self),
                "POWERTOOLS_METRICS_NAMESPACE": metric_names.NAMESPACE,
            },
            layers=[
                lambda_.LayerVersion.from_layer_version_arn(
                    self, "Powertools", powertools_layer_arn(self, self.RUNTIME, self.ARCHITECTURE)
                )
            ],
            tracing=lambda_.Tracing.ACTIVE,
            # Only for functions invoked asynchronously (EventBridge): failed events land there.
            dead_letter_queue=dead_letter_queue,
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which "
            "support no resource-level permissions",
        )
        skips = [
            (
                "CKV_AWS_116",
                "The workflow invokes every function synchronously and retries and catches its errors; "
                "a dead-letter queue only receives failed asynchronous invocations",
            ),
            (
                "CKV_AWS_117",
                "A deployment choice: the functions call only AWS APIs (S3, Bedrock, SNS), never "
                "resources inside a VPC",
            ),
            (
                "CKV_AWS_173",
                "The environment holds no secrets (bucket name, topic ARN); Lambda encrypts it at rest "
                "with an AWS managed key already",
            ),
        ]
        for check, reason in skips:
            if check == "CKV_AWS_116" and dead_letter_queue is not None:
                continue
            acknowledge_checkov(self.function, check, reason)

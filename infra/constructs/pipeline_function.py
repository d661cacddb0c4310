"""One Lambda function of the pipeline: its own small asset, role, log group and shared defaults."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
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
from infra.lambda_runtime import handler_module, needs_bundled_sdk, sdk_files
from infra.nag import acknowledge, acknowledge_checkov
from lambdas.common import metric_names

ROOT: Final = Path(__file__).resolve().parents[2]
# Each synth stages each function's asset in a fresh directory of its own under this one, so
# synths that run at the same time (parallel test workers, a `cdk synth` beside the tests) never
# see each other's files. CDK copies a staged asset into the cloud assembly as the function is
# created; the staging directory is removed right after.
STAGING_ROOT: Final = ROOT / "build" / "lambda-assets"
# Set by tools that read assets in place instead of from the cloud assembly (SAM): keep the staging.
_ASSET_STAGING_DISABLED: Final = "aws:cdk:disable-asset-staging"
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


def asset_files(handler: str, *, root: Path = ROOT) -> dict[str, Path]:
    """What one function's asset holds, as ``{path in the asset: file}``.

    The handler package plus the shared code: only ``.py`` files of this repository, so caches,
    editor files, test data and third-party packages (Powertools comes from its layer) never reach
    the asset (and never change its hash). A handler that calls a Bedrock API newer than the SDK the
    Lambda runtime is counted on to ship (:mod:`infra.lambda_runtime`) also gets the pinned
    boto3/botocore, first on its path (/var/task comes before the runtime's site-packages).
    """
    source_dir = root / "lambdas" / handler
    if not (source_dir / "handler.py").is_file():
        raise FileNotFoundError(f"no handler at {source_dir / 'handler.py'}")
    files: dict[str, Path] = {}
    for relative in (*_SHARED, f"lambdas/{handler}"):
        src = root / relative
        if src.is_file():
            files[relative] = src
        elif src.is_dir():
            for path in sorted(src.rglob("*.py")):
                parts = set(path.relative_to(root).parts)
                if "__pycache__" in parts or path.name in _NOT_SHIPPED or parts & _NOT_SHIPPED_PACKAGES:
                    continue
                files[path.relative_to(root).as_posix()] = path
    if needs_bundled_sdk(files, handler_module(handler)):
        files.update(sdk_files())
    return files


# Fixed metadata so that the same files always make the same zip (and the same asset hash).
_ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)
_ZIP_MODE: Final = 0o100644 << 16  # a regular file, readable by the Lambda runtime's user


def stage_asset(handler: str, *, root: Path = ROOT, staging_dir: Path | None = None) -> Path:
    """The function's asset as a zip file (deterministic: the same files make the same zip).

    The code ships as this one file, exactly what Lambda unpacks into /var/task: CDK hashes and
    copies one file into the cloud assembly instead of walking thousands (a bundled SDK has ~2,300),
    and no staging folder of files is written. Already compressed files (botocore's ``*.json.gz``)
    are stored. ``staging_dir``: where to write it (default: a new directory under
    ``STAGING_ROOT``, unique to this call).
    """
    files = asset_files(handler, root=root)
    if staging_dir is None:
        STAGING_ROOT.mkdir(parents=True, exist_ok=True)
        staging_dir = Path(tempfile.mkdtemp(prefix=f"{handler}-", dir=STAGING_ROOT))
    target = staging_dir / f"{handler}.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.external_attr = _ZIP_MODE
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".gz") else zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name].read_bytes())
    return target


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
      the shared ``lambdas/common`` and ``pipeline`` code (plus the pinned SDK where the handler
      needs a newer one than the runtime's: :mod:`infra.lambda_runtime`).
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
        staged = stage_asset(handler)
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=self.RUNTIME,
            architecture=self.ARCHITECTURE,
            handler=f"lambdas.{handler}.handler.lambda_handler",
            code=lambda_.Code.from_asset(str(staged)),
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
        if not self.node.try_get_context(_ASSET_STAGING_DISABLED):
            # Copied into the cloud assembly when the function took its code: not needed any more.
            shutil.rmtree(staged.parent, ignore_errors=True)
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

"""One Lambda function of the pipeline: its own small asset, role, log group and shared defaults."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

ROOT: Final = Path(__file__).resolve().parents[2]
STAGING_DIR: Final = ROOT / "build" / "lambda-assets"
# Code shared by every function: the handler plumbing and the pure cores the CLI also uses.
_SHARED: Final = ("lambdas/__init__.py", "lambdas/common", "pipeline")
# The CLI, its operations commands and the offline simulator need third-party packages and never
# run in Lambda: they stay out of the assets.
_NOT_SHIPPED: Final = frozenset({"cli.py", "__main__.py"})
_NOT_SHIPPED_PACKAGES: Final = frozenset({"operate", "simulation"})


def stage_asset(handler: str, *, root: Path = ROOT, staging_dir: Path = STAGING_DIR) -> Path:
    """Copy one handler package plus the shared code into a clean folder and return it.

    Only ``.py`` files are copied, so caches, editor files and test data never reach the asset
    (and never change its hash).
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


class PipelineFunction(Construct):
    """A Python Lambda function with the pipeline's defaults.

    - Python 3.14 (the latest Lambda runtime) on arm64 (cheaper per GB-second than x86 for this
      I/O-bound work).
    - JSON structured logs into a log group with the environment's retention, written through a
      role that may write only to that log group (no AWS managed policy).
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
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=removal_policy)
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
            environment=dict(environment or {}),
        )

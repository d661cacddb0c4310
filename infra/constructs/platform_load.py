"""Platform load: how much of the account's Lambda concurrency the pipeline's functions may use.

One stack setting (cdk.json ``lambdaReservedConcurrency``, :class:`infra.config.EnvironmentConfig`)
decides it for every function of the stack, those added later included: an aspect visits each
``AWS::Lambda::Function`` when the stack is synthesized.

- ``None`` (the default): no reservation. The functions draw on the account's unreserved pool, as
  much as the runs need; nothing the pipeline does can throttle itself (five reserved executions
  used to throttle the sixth evaluation running at once, and the run failed after hours of paid
  training). checkov's CKV_AWS_115 (functions should reserve concurrency) is acknowledged on each
  function with the reason: a reservation caps a function and guarantees it capacity, but every
  function here is invoked only by the workflow (or, for the start and answer URLs, by the IAM
  principals the stack names), so there is no runaway caller to cap; and a guarantee is paid for
  out of the account's unreserved pool (which Lambda keeps at 100 or more, failing the deployment
  otherwise), which new accounts with a low concurrency limit do not have. Throttling from a busy
  account is retried by the workflow for tens of minutes (``StateKit.retry_lambda_unavailable``).
- ``N``: every function reserves exactly N. For platforms that want the cap, or the guarantee.

A function that must never be capped (the RFT grader, which Bedrock invokes in parallel) opts out
with :func:`never_reserve`; it keeps its own acknowledgement.
"""

from __future__ import annotations

from typing import Final

import jsii
from aws_cdk import IAspect
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

from infra.nag import acknowledge_checkov

RESERVED: Final = "ReservedConcurrentExecutions"
NO_RESERVATION_REASON: Final = (
    "No reservation by design (cdk.json lambdaReservedConcurrency: null): the function is invoked only "
    "by the workflow or by the IAM principals the stack names, so there is no runaway caller to cap, and "
    "a reservation would throttle parallel runs of a platform and fail deployments in accounts with a "
    "low concurrency limit; a throttle from a busy account is retried by the workflow for 30+ minutes"
)
# The construct-tree metadata type that marks a function :func:`never_reserve` applies to.
_NEVER_RESERVE: Final = "bedrock-customization:never-reserve"


def never_reserve(function: lambda_.Function, reason: str) -> None:
    """Keep ``function`` out of any reservation, whatever the stack setting, acknowledging CKV_AWS_115."""
    cfn = function.node.default_child
    assert isinstance(cfn, lambda_.CfnFunction)
    cfn.node.add_metadata(_NEVER_RESERVE, True)
    cfn.reserved_concurrent_executions = None
    acknowledge_checkov(function, "CKV_AWS_115", reason)


def _never_reserved(cfn: lambda_.CfnFunction) -> bool:
    return any(entry.type == _NEVER_RESERVE for entry in cfn.node.metadata)


@jsii.implements(IAspect)
class LambdaConcurrency:
    """Apply the stack's reserved-concurrency setting to every Lambda function under the scope."""

    def __init__(self, reserved: int | None) -> None:
        self.reserved = reserved

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, lambda_.CfnFunction) or _never_reserved(node):
            return
        node.reserved_concurrent_executions = self.reserved
        if self.reserved is None:
            acknowledge_checkov(node, "CKV_AWS_115", NO_RESERVATION_REASON)

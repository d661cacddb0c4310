"""cdk-nag acknowledgements, kept next to the resource they concern and always with a reason."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (rule id, optionally with ``[finding]``) on ``construct``."""
    if len(reason) < 20:
        raise ValueError(f"acknowledgement of {rule_id} needs a specific reason, got {reason!r}")
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def resource_ref(construct: IConstruct) -> str:
    """How cdk-nag spells a reference to ``construct`` inside a finding id, e.g. ``<BucketABC12.Arn>``.

    Computed from the construct tree rather than copied from a synth log, so a renamed construct
    keeps its acknowledgement pointing at the right resource.
    """
    child = construct.node.default_child
    if not isinstance(child, CfnElement):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to reference")
    stack = Stack.of(construct)
    return f"<{stack.resolve(stack.get_logical_id(child))}.Arn>"


def finding_value(scope: IConstruct, value: str) -> str:
    """Spell a (possibly tokenized) string the way cdk-nag does in finding ids.

    ``Ref`` becomes ``<Name>`` and ``Fn::GetAtt`` becomes ``<Resource.Attr>``, so
    ``arn:aws:bedrock:us-east-1:<AWS::AccountId>:provisioned-model/*``.
    """
    return _spell(Stack.of(scope).resolve(value))


def _spell(resolved: Any) -> str:
    if isinstance(resolved, str):
        return resolved
    if isinstance(resolved, dict):
        if "Ref" in resolved:
            return f"<{resolved['Ref']}>"
        if "Fn::GetAtt" in resolved:
            resource, attribute = resolved["Fn::GetAtt"]
            return f"<{resource}.{attribute}>"
        if "Fn::Join" in resolved:
            separator, parts = resolved["Fn::Join"]
            return str(separator).join(_spell(p) for p in parts)
    raise TypeError(f"cannot spell {resolved!r} as a cdk-nag finding value")

"""cdk-nag and checkov acknowledgements, kept next to the resource they concern and always with a reason."""

from __future__ import annotations

import re
from typing import Any, Final

from aws_cdk import Acknowledgment, CfnElement, CfnResource, Stack, Validations
from constructs import IConstruct

_CHECKOV_ID: Final = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (rule id, optionally with ``[finding]``) on ``construct``."""
    if len(reason) < 20:
        raise ValueError(f"acknowledgement of {rule_id} needs a specific reason, got {reason!r}")
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def acknowledge_checkov(construct: IConstruct, check_id: str, reason: str) -> None:
    """Acknowledge one checkov finding (``CKV_AWS_116``...) on the CloudFormation resource of ``construct``.

    checkov reads skips from the template itself: resource ``Metadata``
    ``{"checkov": {"skip": [{"id": ..., "comment": ...}]}}``. ``construct`` is an L1 resource or
    an L2 construct whose default child is one. Call once per check; calls add up.
    """
    if not _CHECKOV_ID.match(check_id):
        raise ValueError(f"{check_id!r} is not a checkov check id such as CKV_AWS_116")
    if len(reason) < 20:
        raise ValueError(f"acknowledgement of {check_id} needs a specific reason, got {reason!r}")
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to put a checkov skip on")
    existing = resource.get_metadata("checkov") or {}
    skips = [s for s in existing.get("skip", []) if s.get("id") != check_id]
    resource.add_metadata("checkov", {**existing, "skip": [*skips, {"id": check_id, "comment": reason}]})


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

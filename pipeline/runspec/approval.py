"""``approval``: who approves a purchase before it is made (always, never, or above a monthly cost),
and how long the workflow waits for the answer."""

from __future__ import annotations

from typing import Any, Final

from pipeline.problems import did_you_mean, show
from pipeline.runspec.fields import Fields
from pipeline.runspec.model import APPROVAL_POLICIES, DEFAULT_TIMEOUT_HOURS, Approval

APPROVAL_KEYS: Final = ("policy", "monthlyCostThreshold", "timeoutHours")


def parse_approval(fields: Fields, value: Any) -> Approval | None:
    section = fields.section(value, "approval", APPROVAL_KEYS)
    if section is None:
        return None
    policy = section.get("policy")
    allowed = " | ".join(APPROVAL_POLICIES)
    if policy is None:
        fields.problem(
            "approval.policy",
            None,
            allowed,
            f"approval.policy is required when 'approval' is given ({allowed})",
        )
        return None
    if policy not in APPROVAL_POLICIES:
        fields.problem(
            "approval.policy",
            policy,
            allowed,
            f"approval.policy={show(policy)} is not one of "
            f"{allowed}{did_you_mean(str(policy), APPROVAL_POLICIES)}",
        )
        return None
    threshold = fields.number(section.get("monthlyCostThreshold"), "approval.monthlyCostThreshold", 0.0, None)
    if policy == "above-cost" and section.get("monthlyCostThreshold") is None:
        fields.problem(
            "approval.monthlyCostThreshold",
            None,
            "USD ≥ 0",
            "approval.policy=above-cost needs monthlyCostThreshold "
            "(USD per month above which a human approves)",
        )
    timeout = fields.integer(section.get("timeoutHours"), "approval.timeoutHours", 1, 168)
    return Approval(str(policy), threshold, timeout if timeout is not None else DEFAULT_TIMEOUT_HOURS)

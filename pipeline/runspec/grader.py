"""``grader``: the reward function of a reinforcement fine-tuning run, a built-in grader of the
stack (``{builtin: <name>}``) or the team's own Lambda function (``{lambdaArn: <ARN>}``)."""

from __future__ import annotations

from typing import Any, Final

from pipeline.catalog import REINFORCEMENT_FINE_TUNING
from pipeline.graders import BUILTIN_GRADERS, LAMBDA_ARN_RE, lambda_arn_problem
from pipeline.problems import did_you_mean, show
from pipeline.runspec.fields import Fields
from pipeline.runspec.model import Grader

GRADER_KEYS: Final = ("builtin", "lambdaArn")


def parse_grader(fields: Fields, value: Any, ctype: str | None, region: str | None) -> Grader | None:
    """REINFORCEMENT_FINE_TUNING's reward function: ``{builtin: <name>}`` or ``{lambdaArn: <ARN>}``."""
    builtins = " | ".join(BUILTIN_GRADERS)
    allowed = f"{{builtin: {builtins}}} or {{lambdaArn: arn:aws:lambda:<region>:<account>:function:<name>}}"
    if ctype != REINFORCEMENT_FINE_TUNING:
        if value is not None:
            fields.problem(
                "grader",
                value,
                f"only with {REINFORCEMENT_FINE_TUNING}",
                f"grader is only used with {REINFORCEMENT_FINE_TUNING}, not {ctype}; remove it",
            )
        return None
    if value is None:
        fields.problem(
            "grader",
            None,
            allowed,
            f"{REINFORCEMENT_FINE_TUNING} needs a grader (the Lambda function that scores the sampled "
            f"answers): {allowed}",
        )
        return None
    section = fields.section(value, "grader", GRADER_KEYS)
    if section is None:
        return None
    builtin, arn = section.get("builtin"), section.get("lambdaArn")
    if (builtin is None) == (arn is None):
        fields.problem(
            "grader",
            dict(section),
            allowed,
            f"grader needs exactly one of builtin and lambdaArn: {allowed}",
        )
        return None
    if builtin is not None:
        if builtin not in BUILTIN_GRADERS:
            fields.problem(
                "grader.builtin",
                builtin,
                builtins,
                f"grader.builtin={show(builtin)} is not a built-in grader; use one of {builtins}"
                f"{did_you_mean(str(builtin), BUILTIN_GRADERS)}",
            )
            return None
        return Grader(builtin=str(builtin))
    if not isinstance(arn, str):
        fields.problem("grader.lambdaArn", arn, "a Lambda function ARN", "grader.lambdaArn must be a string")
        return None
    problem = lambda_arn_problem(arn, region=region or "", account=None) if region else None
    if problem is None and LAMBDA_ARN_RE.fullmatch(arn) is None:
        problem = "is not a Lambda function ARN"
    if problem is not None:
        fields.problem(
            "grader.lambdaArn",
            arn,
            f"a Lambda function ARN in {region or 'the run region'}",
            f"grader.lambdaArn={show(arn)} {problem}",
        )
        return None
    return Grader(lambda_arn=arn)

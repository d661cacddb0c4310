"""The preflight's check of a reinforcement fine-tuning run's grader, before any job exists.

1. The grader ARN: the built-in grader's alias (``BUILTIN_GRADER_ARN:<name>``) or the team's own
   Lambda, which must be a function of the pipeline's region and account and one of the names the
   deployment lets the Bedrock service role invoke (``GRADER_FUNCTION_NAMES``, from cdk.json
   ``graderFunctionNames``): a grader the role cannot invoke would fail the job after it started.
2. A dry call: the first records of the training data, each with two answers (its reference answer
   and a wrong one), sent to the grader once per documented payload shape (``reference_answer``
   under ``metadata`` as the Bedrock guide shows, then at the top level as the SageMaker / Nova 2
   guide shows: AWS's sources disagree, pipeline.grader_payload); each answer must follow the
   contract (pipeline.graders.check_grader_output). The report says which shapes the grader
   understood (scored the reference answers above the wrong ones); a shape it does not understand
   is a warning of the run, failing on every shape a problem. The scores land in the preflight
   report.

Env: ``BUILTIN_GRADER_ARN`` (the built-in grader function, unqualified), ``GRADER_FUNCTION_NAMES``
(comma-separated function names, ``*`` for any characters). Calls lambda:InvokeFunction on the
grader and s3:GetObject on the training data.

A wrong ARN, a grader that does not exist or refuses the pipeline, a grader that fails or answers
out of contract: problems of the run spec (valid=false). Throttling and service errors raise, for
the workflow's retry.
"""

from __future__ import annotations

import fnmatch
import json
import os
from contextlib import closing
from typing import Any, Final

from lambdas.common import runtime
from pipeline import graders
from pipeline.datasets import Finding, PreflightReport
from pipeline.datasets.records import WARNING
from pipeline.plan import grader_arn
from pipeline.problems import Problem
from pipeline.runspec import RunSpec

BUILTIN_ENV: Final = "BUILTIN_GRADER_ARN"
TEAM_ENV: Final = "GRADER_FUNCTION_NAMES"
# Lambda errors that mean "this grader cannot be used" (user input), not "try again".
_USER_ERRORS: Final = frozenset(
    {"ResourceNotFoundException", "AccessDeniedException", "InvalidParameterValueException"}
)


def builtin_grader_arn() -> str | None:
    return os.environ.get(BUILTIN_ENV, "").strip() or None


def team_grader_names() -> tuple[str, ...]:
    return tuple(n.strip() for n in os.environ.get(TEAM_ENV, "").split(",") if n.strip())


def account_of(context: Any) -> str | None:
    match = graders.LAMBDA_ARN_RE.fullmatch(str(getattr(context, "invoked_function_arn", "") or ""))
    return match["account"] if match else None


def check(spec: RunSpec, report: PreflightReport, context: Any) -> None:
    """Add the grader's problems (and the dry call's scores) to ``report``; nothing for other runs."""
    if spec.grader is None or not report.ok:
        return
    problems = _arn_problems(spec, context)
    if problems:
        report.spec_problems.extend(problems)
        return
    arn = grader_arn(spec, builtin_grader_arn())
    assert arn is not None
    records = list(_first_records(spec.training))
    dry = graders.dry_run(arn, records, lambda samples: _invoke(arn, samples))
    report.grader = {"lambdaArn": arn, "builtin": spec.grader.builtin, **dry.to_dict()}
    for problem in dry.problems:
        report.spec_problems.append(
            Problem(
                "grader",
                arn,
                "a grader that follows the Bedrock grader contract",
                f"grader dry call: {problem}",
            )
        )
    for warning in dry.warnings:
        report.run_findings.append(
            Finding("grader", None, "grader", f"dry call: {warning}", "grader", WARNING)
        )


def _arn_problems(spec: RunSpec, context: Any) -> list[Problem]:
    assert spec.grader is not None
    if spec.grader.builtin is not None:
        if builtin_grader_arn() is None:
            return [
                Problem(
                    "grader.builtin",
                    spec.grader.builtin,
                    "a deployment with the built-in grader",
                    f"this deployment has no built-in grader ({BUILTIN_ENV} is not set on the preflight "
                    "function): redeploy the stack",
                )
            ]
        return []
    arn = spec.grader.lambda_arn or ""
    problem = graders.lambda_arn_problem(arn, region=spec.region, account=account_of(context))
    if problem is not None:
        return [
            Problem(
                "grader.lambdaArn",
                arn,
                "a Lambda function of the pipeline's account",
                f"grader.lambdaArn {problem}",
            )
        ]
    match = graders.LAMBDA_ARN_RE.fullmatch(arn)
    assert match is not None
    allowed = team_grader_names()
    if not any(fnmatch.fnmatchcase(match["function"], pattern) for pattern in allowed):
        names = ", ".join(allowed) or "none"
        return [
            Problem(
                "grader.lambdaArn",
                arn,
                f"a function named like {names}",
                f"the Bedrock service role of this deployment may not invoke {match['function']} "
                f"(team graders allowed: {names}); add its name to graderFunctionNames in cdk.json and "
                "redeploy, or use a built-in grader",
            )
        ]
    return []


def _first_records(location: str) -> list[tuple[int, Any]]:
    bucket, key = runtime.parse_s3_uri(location)
    response = runtime.client("s3").get_object(Bucket=bucket, Key=key)
    with closing(response["Body"]) as body:
        return list(graders.read_records(body.iter_lines(), graders.DRY_RUN_RECORDS))


def _invoke(arn: str, samples: list[dict[str, Any]]) -> Any:
    try:
        response = runtime.client("lambda").invoke(
            FunctionName=arn, InvocationType="RequestResponse", Payload=json.dumps(samples).encode("utf-8")
        )
    except Exception as error:
        code = runtime.error_code(error)
        if code in _USER_ERRORS:
            raise graders.GraderInvocationError(f"Lambda refused the invocation: {code}: {error}") from None
        raise
    return graders.decode_lambda_response(response)

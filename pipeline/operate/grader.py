"""``bedrock-customize grader test RUN_SPEC``: what the run's grader says about the first prompts.

The same dry call the workflow's preflight makes (pipeline.graders.dry_run): the first records of
the training data, each with two answers (its reference answer and a wrong one), sent to the grader
as Bedrock sends samples [UG:reward-functions]; the answer is checked against the contract and the
scores are shown.

- A built-in grader runs in this process (the code the deployed grader Lambda runs), offline; with
  ``--deployed`` the deployed grader of ``--env`` is invoked through its alias instead.
- A team's own grader (``grader.lambdaArn``) is invoked with your credentials.

Exit codes: 0 the grader follows the contract, 2 it does not (or the spec is not an RFT spec), 1 AWS
refused or could not be reached.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, Final

from pipeline import graders
from pipeline.datasets import sources
from pipeline.operate import output
from pipeline.operate.cli_options import HelpFormatter
from pipeline.operate.errors import EXIT_INVALID, EXIT_OK, InvalidInputError, OperationalError, guarded
from pipeline.runspec import RunSpec, RunSpecError, load_run_spec

MANIFEST_KEY: Final = "builtinGraderArn"
_EXIT_CODES: Final = """\
exit codes:
  0  the grader follows the contract
  1  operational failure (AWS refused or unreachable): the message says what to do next
  2  the grader breaks the contract, or the run spec has no grader
"""


def add_grader_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "grader",
        help="reinforcement fine-tuning graders: test a run spec's grader on its first prompts",
        description="Reinforcement fine-tuning graders.",
        epilog=_EXIT_CODES,
        formatter_class=HelpFormatter,
    )
    actions = parser.add_subparsers(
        dest="grader_command",
        required=True,
        metavar="ACTION",
        help="test: a dry call of the run spec's grader",
    )
    test = actions.add_parser(
        "test",
        help="send the run spec's first training prompts to its grader and show the scores",
        description=(
            "Send the first training prompts of a REINFORCEMENT_FINE_TUNING run spec to its grader, "
            "each with two answers (its reference answer, and a wrong one), exactly as Bedrock sends "
            "samples, and check the answer against the grader contract. A built-in grader runs in this "
            "process unless --deployed; a team's grader (grader.lambdaArn) is invoked with your "
            "credentials."
        ),
        epilog=f"{_EXIT_CODES}\nexamples:\n"
        "  bedrock-customize grader test examples/runs/reinforcement-fine-tuning.yaml\n"
        "  bedrock-customize grader test run.yaml --deployed --env prod --json",
        formatter_class=HelpFormatter,
    )
    test.add_argument("run_spec", metavar="RUN_SPEC", help="run spec file (.yaml, .yml or .json)")
    test.add_argument(
        "--records",
        type=int,
        default=graders.DRY_RUN_RECORDS,
        metavar="N",
        help=f"how many training records to send (default: {graders.DRY_RUN_RECORDS}, as the preflight)",
    )
    test.add_argument(
        "--deployed",
        action="store_true",
        help="invoke the deployed built-in grader of --env instead of running it in this process",
    )
    test.add_argument("--env", default="dev", metavar="ENV", help="deployment environment (with --deployed)")
    test.add_argument("--json", action="store_true", help="print one JSON document (for scripts and CI)")
    test.set_defaults(handler=cmd_grader_test)


@guarded
def cmd_grader_test(args: argparse.Namespace) -> int:
    try:
        spec = load_run_spec(args.run_spec)
    except RunSpecError as error:
        raise InvalidInputError(
            str(error), hint="fix the run spec (`bedrock-customize check` lists every problem)"
        ) from None
    if spec.grader is None:
        raise InvalidInputError(
            f"{args.run_spec} is a {spec.customization_type} run: "
            "only REINFORCEMENT_FINE_TUNING has a grader",
            hint="add customizationType: REINFORCEMENT_FINE_TUNING and a grader section",
        )
    if args.records < 1:
        raise InvalidInputError("--records must be at least 1", hint="e.g. --records 3")
    clients = None
    if spec.grader.builtin is not None and not args.deployed:
        where, invoke = (
            f"built-in {spec.grader.builtin} grader (in this process)",
            graders.local_invoker(spec.grader.builtin),
        )
    else:
        from pipeline.operate.aws import Clients

        clients = Clients(spec.region)
        arn = spec.grader.lambda_arn or f"{_deployed_grader(clients, args.env)}:{spec.grader.builtin}"
        where, invoke = arn, _lambda_invoker(clients, arn)
    records = _first_records(spec, args.records, clients)
    report = graders.dry_run(where, records, invoke)
    document = {"runSpec": str(args.run_spec), "lambdaArn": where, **report.to_dict()}
    if args.json:
        output.emit_json(document)
    else:
        print(graders.describe_dry_run(document))
        rows = [(s["line"], s.get("shape", ""), s["answer"], f"{s['score']:g}") for s in report.scores]
        if rows:
            print(output.table(("line", "shape", "answer", "score"), rows, right=(0, 3)))
    return EXIT_OK if report.ok else EXIT_INVALID


def _first_records(spec: RunSpec, count: int, clients: Any) -> list[tuple[int, Any]]:
    location = spec.resolve(spec.training)
    s3 = clients("s3") if clients is not None and sources.is_s3(location) else None
    resolved = sources.resolve(location, s3_client=s3)
    if resolved.missing:
        raise InvalidInputError(resolved.missing, hint="fix training in the run spec")
    found: list[tuple[int, Any]] = []
    for obj in resolved.objects:
        with sources.open_object(obj, s3_client=s3) as stream:
            found += graders.read_records(stream, count - len(found))
        if len(found) >= count:
            break
    return found


def _deployed_grader(clients: Any, env: str) -> str:
    from pipeline.operate.discovery import check_env, parameter_name

    name = parameter_name(check_env(env))
    manifest = json.loads(clients("ssm").get_parameter(Name=name)["Parameter"]["Value"])
    arn = manifest.get(MANIFEST_KEY)
    if not arn:
        raise OperationalError(
            f"the {env!r} deployment's manifest ({name}) names no built-in grader",
            hint="redeploy the stack (it brings the built-in grader), or drop --deployed",
        )
    return str(arn)


def _lambda_invoker(clients: Any, arn: str) -> graders.Invoker:
    def invoke(samples: list[dict[str, Any]]) -> Any:
        response = clients("lambda").invoke(
            FunctionName=arn, InvocationType="RequestResponse", Payload=json.dumps(samples).encode("utf-8")
        )
        return graders.decode_lambda_response(response)

    return invoke


__all__ = ["add_grader_parser", "cmd_grader_test"]

"""The ``bedrock-customize`` command line.

Exit codes: 0 = valid / done, 2 = invalid input (the report says what to fix), 1 = operational
failure (S3 unreachable, no credentials, ...; the message says what to do next).

Each command is a ``cmd_<name>(args) -> int`` function registered in ``build_parser()``, so new
commands are added by writing one function and one ``_add_<name>`` parser section.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pipeline import __version__
from pipeline.catalog import CUSTOMIZATION_TYPES, FINE_TUNING, UnknownModelError, get_model
from pipeline.datasets import DEFAULT_MAX_ERRORS, PreflightReport, preflight, validate_files
from pipeline.datasets.sources import SourceAccessError
from pipeline.operate.cli_options import HelpFormatter, positive_int
from pipeline.operate.commands import register as register_operations
from pipeline.operate.grader import add_grader_parser
from pipeline.problems import Problem
from pipeline.runspec import RunSpec, RunSpecError, load_run_spec_data, parse_run_spec
from pipeline.simulation.cli import add_simulate_parser
from pipeline.simulation.sandbox_cli import add_sandbox_parser
from pipeline.spec_lines import located

if TYPE_CHECKING:
    from pipeline.pricelist import PriceBook

EXIT_OK: Final = 0
EXIT_OPERATIONAL: Final = 1
EXIT_INVALID: Final = 2

_EPILOG: Final = """\
exit codes:
  0  valid
  1  operational failure (S3 unreachable, missing credentials, ...): fix access and retry
  2  invalid input: the report lists every problem as file:line: field: problem

examples:
  bedrock-customize validate --model amazon.nova-micro-v1:0:128k train.jsonl --validation val.jsonl
  bedrock-customize validate --model meta.llama3-1-8b-instruct-v1:0:128k s3://my-bucket/data/train.jsonl
  bedrock-customize check examples/runs/fine-tuning.yaml --json
"""

_CHECK_EPILOG: Final = """\
exit codes:
  0  valid: nothing stands in the way of starting the run
  1  operational failure (S3 unreachable, missing credentials, a live check AWS
     refused): fix access and retry
  2  invalid input: the report lists every problem as file:line: field: problem

examples:
  bedrock-customize check examples/runs/fine-tuning.yaml
  bedrock-customize check run.yaml --offline --json | jq .specProblems
"""

# The top level's own help: the commands in the order a run uses them.
_TOP_EPILOG: Final = """\
a run, in the usual order:
  models                   which base models can be customized, how and where
  check RUN_SPEC           validate the run spec and every dataset (nothing paid)
  estimate RUN_SPEC        what the run will cost, part by part
  start RUN_SPEC --env E   upload the data and start the run (prints its run id)
  watch RUN --env E        follow it live (--until approval: stop at a purchase)
  approve RUN --env E      approve the purchase it waits for (or: reject)
  report RUN --env E       an HTML report of the run

Commands that act on a deployed pipeline take --env (default: dev) and --region
(default: your AWS configuration); the commands they print for you to run next
carry the ones they ran with.

Without AWS: `bedrock-customize sandbox` (in its own terminal) serves a local
stand-in of the deployed stack as environment `sandbox`, and
`bedrock-customize simulate RUN_SPEC` runs a whole run offline.

exit codes (each command's --help lists its own):
  0  done, valid
  1  operational failure (AWS refused or unreachable): the message says what next
  2  invalid input: the message says what to fix
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bedrock-customize",
        description="Customize Amazon Bedrock models as code. Every rule Bedrock enforces on data and "
        "settings is checked here first, before any money is spent.",
        epilog=_TOP_EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_validate(commands)
    _add_check(commands)
    register_operations(commands)
    add_simulate_parser(commands)
    add_sandbox_parser(commands)
    add_grader_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = _parse(parser, argv)
    try:
        code = int(args.handler(args))
        # Flushed here, where a reader that went away (`status | head`) can still be caught.
        sys.stdout.flush()
        return code
    except SourceAccessError as exc:
        return _operational_failure(args, str(exc))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _closed_pipe()


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line; an option the subcommand does not know is reported with the
    subcommand's usage (argparse would show the top level's, which lists no option at all)."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        _leaf(parser, args).error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _leaf(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub)subcommand parser that parsed ``args`` (``throughput delete``, ``grader test``)."""
    current = parser
    while True:
        actions = [a for a in current._actions if isinstance(a, argparse._SubParsersAction)]
        if not actions:
            return current
        chosen = getattr(args, actions[0].dest, None)
        sub = actions[0].choices.get(chosen) if chosen else None
        if not isinstance(sub, argparse.ArgumentParser):
            return current
        current = sub


def _closed_pipe() -> int:
    """The reader went away (``status | head``): stop quietly, as Unix tools do.

    Python would report the failed flush of stdout at exit; pointing stdout at /dev/null first
    keeps that quiet too. 141 = 128 + SIGPIPE, what a shell reports for a tool killed by it.
    """
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141


# --------------------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------------------


def _add_validate(commands: Any) -> None:
    parser = commands.add_parser(
        "validate",
        help="validate dataset files for a model and customization type",
        description="Validate a training dataset (and optional validation datasets) against every rule "
        "Bedrock applies to the chosen model and customization type. Files are streamed, so any size works.",
        epilog=_EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "dataset", metavar="FILE_OR_S3", help="training dataset: a local .jsonl file or an s3:// URI"
    )
    parser.add_argument(
        "--model",
        required=True,
        metavar="MODEL",
        help="base model customization id with its context suffix, e.g. amazon.nova-micro-v1:0:128k "
        "(list them with `bedrock-customize models`)",
    )
    parser.add_argument(
        "--type",
        dest="customization_type",
        default=FINE_TUNING,
        choices=CUSTOMIZATION_TYPES,
        metavar="TYPE",
        help=f"customization type: {', '.join(CUSTOMIZATION_TYPES)} (default: {FINE_TUNING}); "
        "DISTILLATION validates a prompt file",
    )
    parser.add_argument(
        "--validation",
        action="append",
        default=[],
        metavar="FILE_OR_S3",
        help="validation dataset (local file or s3:// URI); repeat for up to 10 files",
    )
    parser.add_argument(
        "--region",
        metavar="REGION",
        help="AWS region the run would use; checked against the regions that offer the model",
    )
    parser.add_argument(
        "--hyperparameter",
        "-H",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=(
            "hyperparameter to check and to use for limits and cost (epochCount, batchSize, ...); repeatable"
        ),
    )
    _add_output_options(parser)
    parser.set_defaults(handler=cmd_validate)


def cmd_validate(args: argparse.Namespace) -> int:
    source = "arguments"
    try:
        model = get_model(args.model)
    except UnknownModelError as exc:
        return _emit_report(
            args,
            PreflightReport(None, source, [Problem("--model", args.model, "a catalog model id", str(exc))]),
        )
    ctype = args.customization_type
    problems: list[Problem] = []
    if not model.supports(ctype):
        problems.append(
            Problem("--type", ctype, ", ".join(model.customization_types), model.unsupported_message(ctype))
        )
    if args.region and args.region not in model.regions:
        problems.append(
            Problem(
                "--region",
                args.region,
                ", ".join(model.regions),
                f"{model.model_id} cannot be customized in {args.region}; "
                f"it is offered in {', '.join(model.regions)}",
            )
        )
    raw: dict[str, str] = {}
    for item in args.hyperparameter:
        name, sep, value = item.partition("=")
        if not sep or not name:
            problems.append(Problem("--hyperparameter", item, "NAME=VALUE", f"{item!r} is not NAME=VALUE"))
            continue
        raw[name.strip()] = value
    hyperparameters: dict[str, str] = {}
    if model.supports(ctype):
        hyperparameters, hp_problems = model.check_hyperparameters(
            raw, ctype, field_prefix="--hyperparameter"
        )
        problems += hp_problems
    if not model.supports(ctype):
        return _emit_report(
            args, PreflightReport(None, source, problems, model_id=model.model_id, customization_type=ctype)
        )
    report = validate_files(
        args.dataset,
        model,
        ctype,
        validation=args.validation,
        hyperparameters=hyperparameters,
        max_errors=args.max_errors,
        source=source,
    )
    report.spec_problems[:0] = problems
    return _emit_report(args, report)


# --------------------------------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------------------------------


def _add_check(commands: Any) -> None:
    parser = commands.add_parser(
        "check",
        help="validate a run spec and every dataset it names",
        description="Validate a run spec (YAML or JSON) and all of its datasets: model, region, "
        "customization type, hyperparameters, teacher, evaluation bar, serving (on-demand, provisioned "
        "or none) and approval policy, tags, then every training, validation and evaluation-prompt file. "
        "`bedrock-customize estimate` prices the evaluation and the serving apart. When AWS can be "
        "reached with your credentials, Bedrock is asked live (GetFoundationModel) whether the base model "
        "and teacher are ACTIVE and offer the customization type in the region, Service Quotas whether the "
        "throughput the run would buy fits the account's quota (and how many training slots are in use), "
        "and prices come from the AWS Price List API; otherwise the catalog's facts are used and the quotas "
        "are not checked. The output says which.",
        epilog=_CHECK_EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("run_spec", metavar="RUN_SPEC", help="run spec file (.yaml, .yml or .json)")
    parser.add_argument(
        "--offline",
        action="store_true",
        help="ask AWS nothing: no live model check, the catalog's prices (also BEDROCK_CUSTOMIZE_OFFLINE=1)",
    )
    _add_output_options(parser)
    parser.set_defaults(handler=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    path = Path(args.run_spec)
    try:
        data = load_run_spec_data(path)
    except RunSpecError as exc:
        return _emit_report(args, PreflightReport(None, str(path), list(exc.problems)))
    report = preflight(
        data, base_dir=path.resolve().parent, max_errors=args.max_errors, spec_source=str(path)
    )
    report.spec_problems[:] = located(report.spec_problems, path)
    spec = parse_run_spec(data, base_dir=path.resolve().parent).spec if report.spec is not None else None
    extra: dict[str, Any] = {}
    live_line = None
    book = None
    if spec is not None:
        # What Bedrock says live (or why it was not asked), then prices from the Price List API.
        from pipeline.operate import livecheck, prices
        from pipeline.operate.errors import OperateError, report_error

        try:
            checked = livecheck.run(spec, offline=args.offline) if report.ok else livecheck.not_made(spec)
        except OperateError as error:
            return report_error(error, as_json=args.json)
        report.spec_problems.extend(located(checked.problems, path))
        extra["liveCheck"] = checked.to_dict()
        live_line = checked.line()
        if report.ok:
            # The account's quotas against what the run buys (pipeline.quotas), or why not asked.
            from pipeline.operate import quota_check

            quota = quota_check.run(spec, offline=args.offline)
            quota_check.apply(quota, report)
            extra["quotas"] = quota.to_dict()
            live_line += "\n" + quota.line()
        if report.ok:
            book = prices.load(spec.region, offline=args.offline)
            prices.reprice_report(report, spec, book)
            extra["prices"] = book.to_dict(spec.model)
    code = _emit_report(args, report, extra)
    if not args.json:
        if live_line:
            print(live_line)
        if report.ok and spec is not None:
            sys.stdout.write(_run_plan_text(spec, path, report, book))
    return code


def _run_plan_text(spec: RunSpec, path: Path, report: PreflightReport, book: PriceBook | None) -> str:
    """What the run evaluates on and how it serves, each with its cost: the money before the start."""
    from pipeline import costs, plan
    from pipeline.money import usd
    from pipeline.operate import hints
    from pipeline.operate.estimate import evaluation_text, serving_text, slot_text
    from pipeline.runspec import THROUGHPUT_VEHICLE

    prices_text = (
        book.describe(spec.model)
        if book is not None
        else "the catalog's dated prices (each with its own source and date)"
    )
    if book is not None:
        spec = book.priced_spec(spec)
    epochs = costs.epochs_for(spec.model, spec.customization_type, spec.hyper_parameters)
    numbers = plan.estimate(spec, report.totals().get("trainingTokens"), epochs)
    evaluation = evaluation_text(spec)
    if spec.evaluation_vehicle == THROUGHPUT_VEHICLE and spec.serving_reuses_evaluation_throughput:
        evaluation += " (its hours count as serving)"
    elif spec.evaluation_vehicle != "none":
        evaluation += f"; estimate {usd(numbers.get('evaluationUsd'))}"
    serving = serving_text(spec)
    if spec.serving.buys_throughput:
        hourly = numbers.get("throughputHourlyUsd")
        serving += f"; {usd(hourly)}/hour" if hourly is not None else "; hourly price unknown"
    slot = slot_text(spec)
    if slot is not None:
        serving += f"; {slot}"
    return (
        f"evaluation: {evaluation}\n"
        f"serving:    {serving}\n"
        f"prices:     {prices_text}\n"
        f"costs:      `{hints.command('estimate', str(path))}` prices every part (unknown is never $0)\n"
    )


# --------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print the report as one JSON document (for machines)"
    )
    parser.add_argument(
        "--max-errors",
        type=positive_int,
        default=DEFAULT_MAX_ERRORS,
        metavar="N",
        help=(
            "show the first N errors per file in full; the rest are "
            f"counted per kind (default: {DEFAULT_MAX_ERRORS})"
        ),
    )


def _emit_report(
    args: argparse.Namespace, report: PreflightReport, extra: dict[str, Any] | None = None
) -> int:
    if args.json:
        print(json.dumps(report.to_dict() | (extra or {}), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(report.render_text())
    return EXIT_OK if report.ok else EXIT_INVALID


def _operational_failure(args: argparse.Namespace, message: str) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"ok": False, "error": message, "exitCode": EXIT_OPERATIONAL}))
    print(f"error: {message}", file=sys.stderr)
    return EXIT_OPERATIONAL

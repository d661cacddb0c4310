"""The operations subcommands of ``bedrock-customize``: register them on the CLI's subparsers.

Each command is ``cmd_<name>(args) -> int`` wrapped by :func:`pipeline.operate.errors.guarded`
and set as the parser's ``handler`` (the convention of pipeline/cli.py). Heavy modules (boto3,
matplotlib, the report) are imported inside the commands, so ``bedrock-customize validate`` starts
as fast as before.

Exit codes: 0 done, 1 operational failure (the message says what to do next), 2 invalid input
(bad run spec, unknown run, refused delete, confirmation needed without --yes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Final

from pipeline.catalog import CUSTOMIZATION_TYPES
from pipeline.operate import output
from pipeline.operate.errors import EXIT_INVALID, EXIT_OK, EXIT_OPERATIONAL, InvalidInputError, guarded

CLI: Final = "bedrock-customize"
DEFAULT_ENV: Final = "dev"
DEFAULT_INTERVAL: Final = 30.0

_EXIT_CODES: Final = """\
exit codes:
  0  done
  1  operational failure (AWS refused or unreachable): the message says what to do next
  2  invalid input (bad run spec, unknown run, refused delete, --yes needed without a terminal)
"""


def _parser(
    subparsers: Any, name: str, help_text: str, description: str, examples: str
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=help_text,
        # Raw formatting keeps the epilog's layout, so the description is wrapped here.
        description=textwrap.fill(description, width=88),
        epilog=f"{_EXIT_CODES}\nexamples:\n{examples}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def _aws_options(parser: argparse.ArgumentParser, *, env: bool = True) -> None:
    if env:
        parser.add_argument(
            "--env",
            default=DEFAULT_ENV,
            metavar="ENV",
            help=f"deployment environment of the pipeline, as in cdk.json (default: {DEFAULT_ENV}); "
            "found via the "
            "SSM parameter /bedrock-customization/ENV/deployment or the stack BedrockCustomization-ENV",
        )
    parser.add_argument(
        "--region",
        metavar="REGION",
        help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION or your profile's region); "
        "credentials come "
        "from the usual chain (AWS_PROFILE, SSO, environment)",
    )
    _json_option(parser)


def _json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout (for scripts and CI)"
    )


def _offline_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--offline",
        action="store_true",
        help=f"ask AWS for no live facts ({what}); also BEDROCK_CUSTOMIZE_OFFLINE=1. Without "
        "usable AWS credentials the command is offline anyway and says so",
    )


def _yes_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help=f"{what} without asking (required without a terminal, e.g. in CI)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def register(subparsers: Any) -> None:
    """Add every operations subcommand to the CLI's ``add_subparsers()`` object."""
    _add_models(subparsers)
    _add_compare(subparsers)
    _add_deploy_info(subparsers)
    _add_estimate(subparsers)
    _add_start(subparsers)
    _add_status(subparsers)
    _add_watch(subparsers)
    _add_list(subparsers)
    _add_approve(subparsers)
    _add_reject(subparsers)
    _add_cancel(subparsers)
    _add_report(subparsers)
    _add_throughput(subparsers)
    _add_sweep(subparsers)


def build_parser() -> argparse.ArgumentParser:
    """A parser with only the operations commands (tests; the real CLI is pipeline.cli)."""
    parser = argparse.ArgumentParser(prog=CLI)
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


# --------------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------------


def _add_models(subparsers: Any) -> None:
    parser = _parser(
        subparsers,
        "models",
        "which base models can be customized, how, where, with which data and prices",
        "The catalog as tables: every base model this pipeline can customize, its customization types with "
        "the "
        "data format each needs, input/output modalities, regions, training record limits, and the prices "
        "known (with the date they were seen). A model that is not listed cannot be customized here.",
        f"  {CLI} models\n  {CLI} models --type DISTILLATION --region us-east-1\n"
        f"  {CLI} models amazon.nova-micro-v1:0:128k       # every fact about one model\n"
        f"  {CLI} models anthropic.claude-3-5-sonnet       # not customizable: exit 2\n"
        f"  {CLI} models --live --region us-west-2         # what the region offers, beside the catalog",
    )
    parser.add_argument(
        "model",
        nargs="?",
        metavar="MODEL",
        help="a model id or part of one: show only matching models (details for an exact id)",
    )
    parser.add_argument("--region", metavar="REGION", help="only models customizable in this region")
    parser.add_argument(
        "--type",
        dest="customization_type",
        choices=CUSTOMIZATION_TYPES,
        metavar="TYPE",
        help=f"only models supporting this customization type: {', '.join(CUSTOMIZATION_TYPES)}",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="ask Bedrock what the region (--region, default: your AWS configuration) offers for "
        "customization (ListFoundationModels per type) and flag every difference with the catalog",
    )
    _json_option(parser)
    parser.set_defaults(handler=cmd_models)


@guarded
def cmd_models(args: argparse.Namespace) -> int:
    from pipeline.operate import models_table

    if args.live:
        return _models_live(args)
    models, total = models_table.models_view(args.region, args.customization_type, args.model)
    if args.json:
        output.emit_json([m.to_dict() for m in models])
        return EXIT_OK
    exact = [m for m in models if m.model_id == args.model]
    if exact:
        sys.stdout.write(models_table.render_detail(exact[0]))
        return EXIT_OK
    filters = "".join(
        f" {label} {value}"
        for label, value in (("matching", args.model), ("in", args.region), ("for", args.customization_type))
        if value
    )
    sys.stdout.write(models_table.render(models, total=total, filters=filters))
    return EXIT_OK


def _models_live(args: argparse.Namespace) -> int:
    from pipeline.operate import aws, offering

    clients = aws.clients_for(args.region)
    result = offering.compare(offering.list_offering(clients("bedrock")), region=clients.region)
    query = (args.model or "").lower()
    rows = tuple(
        r
        for r in result.rows
        if query in r.model_id.lower()
        and (args.customization_type is None or args.customization_type in (*r.catalog_types, *r.live_types))
    )
    result = offering.Offering(result.region, result.day, rows)
    if args.json:
        output.emit_json(result.to_dict())
    else:
        sys.stdout.write(result.render())
    return EXIT_OK


# --------------------------------------------------------------------------------------------------
# compare
# --------------------------------------------------------------------------------------------------


def _add_compare(subparsers: Any) -> None:
    parser = _parser(
        subparsers,
        "compare",
        "send the same prompts to several models and compare quality, latency, tokens and cost",
        "Model selection before customizing: every prompt of --prompts goes through the Converse API to each "
        "model (temperature 0, 512 output tokens), and each answer is scored against the prompt's reference "
        "with "
        "the workflow's own scoring (ROUGE-L quality, token F1). Shows quality, p50/p95 latency, "
        "input/output "
        "tokens and cost per 1,000 requests side by side, with each model's capabilities from the catalog. "
        "Every prompt is a billed request to every model.",
        f"  {CLI} compare amazon.nova-micro-v1:0 amazon.nova-lite-v1:0 --prompts "
        "examples/prompts/eval-prompts.jsonl\n"
        f"  {CLI} compare amazon.nova-micro-v1:0 support-nova-micro-3f9a2c1b7d --prompts eval.jsonl --html "
        "out/\n"
        "  (a run id compares that run's custom model on its provisioned throughput or on-demand deployment)",
    )
    parser.add_argument(
        "models",
        nargs="+",
        metavar="MODEL",
        help="foundation model id (amazon.nova-micro-v1:0), inference profile (us.amazon.nova-pro-v1:0), "
        "run id "
        "or provisioned-throughput ARN (a custom model), or custom-model-deployment ARN",
    )
    parser.add_argument(
        "--prompts",
        required=True,
        metavar="FILE",
        help='JSONL of {"prompt", "reference"} (local path or s3:// URI); training-format records work too',
    )
    parser.add_argument(
        "--max-prompts",
        type=_positive_int,
        default=50,
        metavar="N",
        help="use the first N prompts (default: 50)",
    )
    parser.add_argument(
        "--html", metavar="DIR", help="also write compare.html, compare.md and compare.png to DIR"
    )
    _aws_options(parser, env=False)
    parser.set_defaults(handler=cmd_compare)


@guarded
def cmd_compare(args: argparse.Namespace) -> int:
    from pipeline.operate import aws, compare, report

    clients = aws.clients_for(args.region)
    labels = compare.unique(args.models)
    prompt_set = compare.read_prompt_file(args.prompts, clients, args.max_prompts)
    targets = [compare.resolve(label, clients) for label in labels]
    count = len(prompt_set.prompts)
    output.note(f"asking {len(targets)} model(s) {count} prompt(s): {len(targets) * count} billed request(s)")
    result = compare.run(targets, prompt_set, clients("bedrock-runtime").converse, progress=output.note)
    written = None
    if args.html:
        written = report.render_comparison(
            "Model comparison: " + " vs ".join(labels),
            result.models,
            result.rows,
            result.notes(),
            args.html,
            source=args.prompts,
        )
    if args.json:
        output.emit_json({**result.to_dict(), "files": written.to_dict() if written else None})
    else:
        sys.stdout.write(result.render())
        if written:
            print(f"\nreport: {written.html}")
    return EXIT_OK


# --------------------------------------------------------------------------------------------------
# deploy-info
# --------------------------------------------------------------------------------------------------


def _add_deploy_info(subparsers: Any) -> None:
    parser = _parser(
        subparsers,
        "deploy-info",
        "where the deployed pipeline is, and whether you can use it",
        "Find the deployed pipeline of --env in --region (SSM parameter "
        "/bedrock-customization/ENV/deployment, "
        "else the outputs of stack BedrockCustomization-ENV) and check with read-only calls what your "
        "credentials can do with it. Exit 1 when a check fails.",
        f"  {CLI} deploy-info\n  {CLI} deploy-info --env prod --region us-east-1 --json",
    )
    _aws_options(parser)
    parser.set_defaults(handler=cmd_deploy_info)


@guarded
def cmd_deploy_info(args: argparse.Namespace) -> int:
    from pipeline.operate import aws, discovery

    clients = aws.clients_for(args.region)
    deployment = discovery.discover(clients, args.env)
    identity, probes = discovery.probe_access(clients, deployment)
    ok = all(p.ok for p in probes)
    if args.json:
        output.emit_json(
            {
                "deployment": deployment.to_dict(),
                "identity": identity,
                "checks": [p.to_dict() for p in probes],
                "usable": ok,
                "writePermissions": dict(discovery.WRITE_PERMISSIONS),
            }
        )
    else:
        print(
            output.key_values(
                [
                    (
                        "Environment",
                        f"{deployment.environment} ({deployment.region}, account {deployment.account})",
                    ),
                    ("Found via", deployment.source),
                    ("Stack", deployment.stack_name),
                    ("Workflow", deployment.state_machine_arn),
                    ("Bucket", f"s3://{deployment.training_bucket}"),
                    ("Key", deployment.key_arn),
                    ("Bedrock role", deployment.bedrock_service_role_arn),
                    ("Topic", deployment.topic_arn),
                    (
                        "Approvals",
                        f"{deployment.approval_url or 'no approval URL (an older deployment)'}"
                        + (
                            f"\nanswered as {deployment.approver_role_arn}"
                            if deployment.approver_role_arn
                            else ""
                        ),
                    ),
                    ("You are", (identity or {}).get("arn") or "unknown"),
                ]
            )
        )
        print()
        print(
            output.table(
                ["CHECK", "ACTION", "OK", "DETAIL"],
                [[p.name, p.action, "yes" if p.ok else "NO", p.detail] for p in probes],
            )
        )
        print("\nNot probed (they change things); what the other commands need:")
        for command, needs in discovery.WRITE_PERMISSIONS:
            print(f"  {command}: {needs}")
        print(
            "\n"
            + ("You can use this pipeline." if ok else "Some checks failed: see DETAIL, then ask for access.")
        )
    return EXIT_OK if ok else EXIT_OPERATIONAL


# --------------------------------------------------------------------------------------------------
# estimate and start
# --------------------------------------------------------------------------------------------------


def _load_spec(path_text: str) -> Any:
    from pipeline.runspec import RunSpecError, load_run_spec

    try:
        return load_run_spec(Path(path_text))
    except RunSpecError as exc:
        raise InvalidInputError(
            str(exc), hint=f"`{CLI} check {path_text}` lists every problem with its fix"
        ) from exc


def _s3_for(spec: Any, region: str | None) -> Any:
    """An S3 client when the spec names s3:// datasets (validation reads them), else None."""
    if not any(loc.startswith("s3://") for _, loc in spec.dataset_locations()):
        return None
    from pipeline.operate import aws

    return aws.clients_for(region or spec.region)("s3")


def _add_estimate(subparsers: Any) -> None:
    parser = _parser(
        subparsers,
        "estimate",
        "what a run spec will cost: training, storage, evaluation, serving",
        "Measure the run spec's training data (the preflight's token estimate) and price the run from the "
        "AWS Price List API when your credentials allow (cached for a week), else from the catalog: "
        "training (tokens x epochs x price), custom model storage per month, the evaluation (on an "
        "on-demand deployment: tokens x price, an upper bound; or one model unit of no-commitment "
        "throughput bought for it: its planned hours), and serving (on demand: the per-token rates; "
        "provisioned: throughput per hour, day, month and for the commitment term), with where a human "
        "approves each purchase. Every price shows its date and source; an unknown price is shown as "
        "unknown, never as zero. Exit 2 when the spec or its data is invalid.",
        f"  {CLI} estimate examples/runs/fine-tuning.yaml\n  {CLI} estimate run.yaml --json | jq .firstMonth",
    )
    parser.add_argument("run_spec", metavar="RUN_SPEC", help="run spec file (.yaml, .yml or .json)")
    parser.add_argument(
        "--region", metavar="REGION", help="region for reading s3:// datasets (default: the spec's)"
    )
    _offline_option(parser, "prices: the catalog's dated prices, not the AWS Price List API")
    _json_option(parser)
    parser.set_defaults(handler=cmd_estimate)


@guarded
def cmd_estimate(args: argparse.Namespace) -> int:
    from pipeline.datasets import validate_run
    from pipeline.operate import estimate, prices

    spec = _load_spec(args.run_spec)
    report = validate_run(spec, s3_client=_s3_for(spec, args.region), spec_source=args.run_spec)
    book = prices.load(spec.region, offline=args.offline)
    prices.reprice_report(report, spec, book)
    result = estimate.build(spec, report, book)
    if args.json:
        output.emit_json(result.to_dict())
    else:
        sys.stdout.write(result.render())
        if not report.ok:
            print(f"\nThe run cannot start as it is: `{CLI} check {args.run_spec}` lists the problems.")
    return EXIT_OK if report.ok else EXIT_INVALID


def _add_start(subparsers: Any) -> None:
    parser = _parser(
        subparsers,
        "start",
        "validate, upload the datasets and start a run (idempotent)",
        "Run the full preflight locally (nothing is uploaded if anything is invalid), upload each local "
        "dataset "
        "to s3://BUCKET/datasets/<sha256>/<file> (skipped when already there), then start the workflow with "
        "the "
        "run id <name>-<spec hash> as execution name. Running the same command again starts nothing and says "
        "so. When the run may buy provisioned throughput (to evaluate on, or to serve with), the estimate is "
        "shown and you are asked to confirm.",
        f"  {CLI} start examples/runs/fine-tuning.yaml\n  {CLI} start run.yaml --env prod --yes --wait   # "
        "CI",
    )
    parser.add_argument("run_spec", metavar="RUN_SPEC", help="run spec file (.yaml, .yml or .json)")
    _yes_option(parser, "confirm the throughput purchases the spec may make")
    parser.add_argument(
        "--wait", action="store_true", help="then follow the run until it ends, and exit with its outcome"
    )
    parser.add_argument(
        "--interval",
        type=_positive_float,
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help=f"with --wait: seconds between status checks (default: {DEFAULT_INTERVAL:g})",
    )
    _offline_option(
        parser,
        "no GetFoundationModel check of the base model and teacher, the catalog's prices; the "
        "workflow's preflight still checks live",
    )
    _aws_options(parser)
    parser.set_defaults(handler=cmd_start)


@guarded
def cmd_start(args: argparse.Namespace) -> int:
    from pipeline.datasets import validate_run
    from pipeline.operate import aws, discovery, estimate, livecheck, prices, runs, start

    spec = _load_spec(args.run_spec)
    if args.region and args.region != spec.region:
        raise InvalidInputError(
            f"--region {args.region} differs from the run spec's region {spec.region}",
            hint="a run trains in its spec's region: drop --region or fix the spec",
        )
    clients = aws.clients_for(spec.region)
    report = validate_run(spec, s3_client=_s3_for(spec, spec.region), spec_source=args.run_spec)
    checked = livecheck.run(spec, offline=args.offline, clients=clients) if report.ok else None
    if checked is not None:
        report.spec_problems.extend(checked.problems)
        output.note(checked.line())
    if not report.ok:
        if args.json:
            output.emit_json(
                {
                    "ok": False,
                    "started": False,
                    "preflight": report.to_dict(),
                    "liveCheck": checked.to_dict() if checked is not None else None,
                    "exitCode": EXIT_INVALID,
                }
            )
        else:
            sys.stdout.write(report.render_text())
        output.note("preflight failed: nothing was uploaded and no run was started")
        return EXIT_INVALID
    deployment = discovery.discover(clients, args.env)
    s3 = clients("s3")
    uploads = start.plan_uploads(spec, deployment, s3)
    final_spec = start.rewrite(spec, uploads)
    from pipeline.plan import location_problems

    problems = location_problems(final_spec, deployment.training_bucket)
    if problems:
        raise InvalidInputError("; ".join(p.message for p in problems))
    run_id = start.run_id_of(final_spec)
    sfn = clients("stepfunctions")
    existing = runs.describe_execution(sfn, deployment, run_id)
    book = prices.load(spec.region, offline=args.offline)
    prices.reprice_report(report, spec, book)
    costs = estimate.build(spec, report, book)
    doc: dict[str, Any] = {
        "runId": run_id,
        "executionArn": deployment.execution_arn(run_id),
        "environment": deployment.environment,
        "liveCheck": checked.to_dict() if checked is not None else None,
        "estimate": costs.to_dict(),
        "datasets": [u.to_dict() for u in uploads],
    }
    if existing is not None:
        return _already_started(args, deployment, clients, run_id, str(existing.get("status")), doc)
    bought = estimate.purchases(spec, costs.approval)
    if bought:
        (sys.stderr if args.json else sys.stdout).write(costs.render())
        question = f"Start run {run_id}? It may buy " + "; and ".join(bought) + "."
        if not output.confirm(
            question, assume_yes=args.yes, what="starting a run that buys provisioned throughput"
        ):
            output.note("not started: declined at the prompt; nothing was uploaded")
            return EXIT_OPERATIONAL
    if spec.serving.on_demand:
        output.note(
            f"run {run_id} serves on demand: the deployment it is evaluated on is kept if it passes, "
            "billed per token as it is used; no throughput is bought"
        )
    transfers = start.transfer(s3, uploads)
    execution_arn, started = start.start_execution(sfn, deployment, run_id, final_spec)
    doc["datasets"] = [t.to_dict() for t in transfers]
    if not started:
        return _already_started(args, deployment, clients, run_id, "RUNNING", doc)
    doc |= {
        "started": True,
        "alreadyStarted": False,
        "status": "RUNNING",
        "console": start.console_url(deployment, execution_arn),
    }
    if args.json and not args.wait:
        output.emit_json(doc)
    elif not args.json:
        uploaded = sum(1 for t in transfers if not t.skipped)
        print(
            f"started run {run_id} ({uploaded} dataset(s) uploaded, {len(transfers) - uploaded} already "
            "there)"
        )
        print(f"  execution: {execution_arn}\n  console:   {doc['console']}")
        print(
            f"  follow it: {CLI} watch {run_id}" + (f" --env {args.env}" if args.env != DEFAULT_ENV else "")
        )
    if args.wait:
        return _follow(args, clients, deployment, run_id)
    return EXIT_OK


def _already_started(
    args: argparse.Namespace, deployment: Any, clients: Any, run_id: str, status: str, doc: dict[str, Any]
) -> int:
    doc |= {"started": False, "alreadyStarted": True, "status": status}
    if args.json and not args.wait:
        output.emit_json(doc)
    elif not args.json:
        print(f"run {run_id} was already started (status {status}); nothing was uploaded or started again")
        print(
            f"  see it with: {CLI} status {run_id}"
            + (f" --env {args.env}" if args.env != DEFAULT_ENV else "")
        )
    if args.wait:
        return _follow(args, clients, deployment, run_id)
    return EXIT_OK


def _follow(
    args: argparse.Namespace, clients: Any, deployment: Any, run_id: str, timeout: float | None = None
) -> int:
    from pipeline.operate import runs

    stream = sys.stderr if args.json else sys.stdout
    view = runs.watch(
        lambda: runs.load_run(clients, deployment, run_id),
        interval=args.interval,
        sleep=time.sleep,
        stream=stream,
        live=stream.isatty(),
        timeout=timeout,
    )
    if args.json:
        output.emit_json(view.to_dict())
    else:
        print()
        print(view.render())
    if not view.finished:
        output.note(f"still {view.status} after the --timeout; `{CLI} watch {run_id}` follows it again")
        return EXIT_OPERATIONAL
    return view.outcome_exit_code()


# --------------------------------------------------------------------------------------------------
# status, watch, list
# --------------------------------------------------------------------------------------------------


def _run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run",
        metavar="RUN",
        help="run id (the execution name, e.g. support-bot-v1-3f9a2c1b7d) or execution ARN",
    )


def _context(args: argparse.Namespace) -> tuple[Any, Any]:
    from pipeline.operate import aws, discovery

    clients = aws.clients_for(args.region)
    return clients, discovery.discover(clients, args.env)


def _add_status(subparsers: Any) -> None:
    parser = _parser(
        subparsers,
        "status",
        "a run's state, elapsed time, job progress, metrics, evaluation vehicle, serving and cost so far",
        "Show where a run is (the workflow state it is in), how long it has run, the customization job's "
        "progress, losses and evaluation results so far, what it is evaluated on (an on-demand deployment or "
        "an evaluation throughput) with its status, how it is served (the deployment ARN on demand, or its "
        "provisioned throughput), and the cost so far (training estimate + the evaluation's on-demand calls "
        "+ each throughput's hours x hourly price, each purchase once; unknown prices stay unknown).",
        f"  {CLI} status support-nova-micro-3f9a2c1b7d\n  {CLI} status support-nova-micro-3f9a2c1b7d --json "
        "| jq .costSoFar",
    )
    _run_args(parser)
    _aws_options(parser)
    parser.set_defaults(handler=cmd_status)


@guarded
def cmd_status(args: argparse.Namespace) -> int:
    from pipeline.operate import runs

    run_id = runs.check_run_id(args.run)
    clients, deployment = _context(args)
    view = runs.load_run(clients, deployment, run_id)
    if args.json:
        output.emit_json(view.to_dict())
    else:
        print(view.render())
    return EXIT_OK


def _add_watch(subparsers: Any) -> None:
    parser = _parser(
        subparsers,
        "watch",
        "follow a run live until it ends; exit with its outcome",
        "Follow a run: on a terminal one status line updates in place, elsewhere (CI logs) a line is printed "
        "whenever something changes. Exits when the run ends: 0 succeeded, 2 its preflight rejected the "
        "input, "
        "1 it failed, timed out or was cancelled (or --timeout passed first).",
        f"  {CLI} watch support-nova-micro-3f9a2c1b7d\n  {CLI} watch RUN --interval 60 --timeout 7200",
    )
    _run_args(parser)
    parser.add_argument(
        "--interval",
        type=_positive_float,
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help=f"seconds between status checks (default: {DEFAULT_INTERVAL:g})",
    )
    parser.add_argument(
        "--timeout", type=_positive_float, metavar="SECONDS", help="stop watching after this long (exit 1)"
    )
    _aws_options(parser)
    parser.set_defaults(handler=cmd_watch)


@guarded
def cmd_watch(args: argparse.Namespace) -> int:
    from pipeline.operate import runs

    run_id = runs.check_run_id(args.run)
    clients, deployment = _context(args)
    return _follow(args, clients, deployment, run_id, timeout=args.timeout)


def _add_list(subparsers: Any) -> None:
    from pipeline.operate.runs import STATUSES

    parser = _parser(
        subparsers,
        "list",
        "recent runs with status, models, evaluation vehicle, serving and cost so far",
        "List the most recent runs of the environment, newest first: status and stage, base model, custom "
        "model, what it is evaluated on (deployment or evaluation throughput, with status), how it is served "
        "(on demand, or its provisioned throughput and status), start and end, cost so far.",
        f"  {CLI} list\n  {CLI} list --status RUNNING --status FAILED --limit 50 --json",
    )
    parser.add_argument(
        "--status",
        action="append",
        choices=STATUSES,
        default=[],
        metavar="STATUS",
        help=f"only runs with this status; repeatable ({', '.join(STATUSES)})",
    )
    parser.add_argument(
        "--limit", type=_positive_int, default=20, metavar="N", help="at most N runs (default: 20)"
    )
    _aws_options(parser)
    parser.set_defaults(handler=cmd_list)


@guarded
def cmd_list(args: argparse.Namespace) -> int:
    from pipeline.operate import runs

    clients, deployment = _context(args)
    views = runs.list_runs(clients, deployment, statuses=args.status, limit=args.limit)
    if args.json:
        output.emit_json([v.to_dict() for v in views])
    else:
        print(runs.render_list(views))
    return EXIT_OK


# --------------------------------------------------------------------------------------------------
# approve, reject, cancel
# --------------------------------------------------------------------------------------------------


def _add_approve(subparsers: Any) -> None:
    parser = _parser(
        subparsers,
        "approve",
        "approve the run's provisioned-throughput purchase (shows what is bought first)",
        "Answer the run's open approval gate with yes: before buying one model unit of no-commitment "
        "throughput to evaluate on (a base that cannot be deployed on demand), or before buying the "
        "throughput to serve with (after the quality bar passed). What will be bought, what for and its "
        "estimated cost are shown before you confirm. The answer goes through the pipeline's "
        "IAM-authenticated approval URL (the task token never leaves the pipeline), signed with your "
        "credentials, or as the stack's approver role when yours may not call it; the caller IAM verified "
        "is recorded as the approver.",
        f"  {CLI} approve support-nova-micro-3f9a2c1b7d\n  {CLI} approve RUN --reason 'quality ok' --yes",
    )
    _run_args(parser)
    parser.add_argument(
        "--reason", default="approved with bedrock-customize", help="why (recorded in the run record)"
    )
    _yes_option(parser, "approve the purchase")
    _aws_options(parser)
    parser.set_defaults(handler=cmd_approve)


def _add_reject(subparsers: Any) -> None:
    parser = _parser(
        subparsers,
        "reject",
        "reject the run's provisioned-throughput purchase (nothing is bought)",
        "Answer the run's open approval gate (evaluation or serving purchase) with no: the run ends failed "
        "with your reason, nothing is bought, and what it created (an evaluation deployment) is released.",
        f"  {CLI} reject support-nova-micro-3f9a2c1b7d --reason 'too expensive for this quality'",
    )
    _run_args(parser)
    parser.add_argument(
        "--reason", required=True, help="why (recorded in the run record and the notification)"
    )
    _aws_options(parser)
    parser.set_defaults(handler=cmd_reject)


def _decide(args: argparse.Namespace, approved: bool) -> int:
    from pipeline.operate import runs

    run_id = runs.check_run_id(args.run)
    reason = args.reason.strip()
    if not reason:
        raise InvalidInputError("--reason must not be empty")
    clients, deployment = _context(args)
    _view, request = runs.pending_approval(clients, deployment, run_id)
    stream = sys.stderr if args.json else sys.stdout
    print(request.render(), file=stream)
    print(file=stream)
    question = (
        "Approve buying throughput to evaluate on?"
        if request.stage == runs.EVALUATION_STAGE
        else "Approve buying throughput to serve with?"
    )
    if approved and not output.confirm(
        question, assume_yes=args.yes, what="approving a provisioned throughput purchase"
    ):
        output.note("not approved: nothing was sent (the run keeps waiting)")
        return EXIT_OPERATIONAL
    caller = runs.caller_identity(clients)
    answer = runs.send_decision(
        clients, deployment, request, approved=approved, approver=caller, reason=reason
    )
    approver = answer.get("approver") or caller
    if args.json:
        output.emit_json({"runId": run_id, **answer, "request": request.to_dict()})
    else:
        bought = "the evaluation throughput" if request.stage == runs.EVALUATION_STAGE else "the throughput"
        verdict = f"approved: the workflow buys {bought} now" if approved else "rejected: nothing is bought"
        print(f"run {run_id} {verdict} (by {approver})")
        print(
            f"  follow it: {CLI} watch {run_id}" + (f" --env {args.env}" if args.env != DEFAULT_ENV else "")
        )
    return EXIT_OK


@guarded
def cmd_approve(args: argparse.Namespace) -> int:
    return _decide(args, approved=True)


@guarded
def cmd_reject(args: argparse.Namespace) -> int:
    return _decide(args, approved=False)


def _add_cancel(subparsers: Any) -> None:
    parser = _parser(
        subparsers,
        "cancel",
        "stop a run (its customization job stops with it)",
        "Stop the run's execution; Step Functions stops the customization job with it (the CLI makes sure). "
        "A stopped execution runs no cleanup, so the run's no-commitment provisioned throughput (evaluation "
        "and serving) and its on-demand deployment are deleted here too (unless --keep-throughput); a "
        "commitment cannot be deleted and is reported.",
        f"  {CLI} cancel support-nova-micro-3f9a2c1b7d --reason 'wrong dataset'",
    )
    _run_args(parser)
    parser.add_argument(
        "--reason", default="cancelled with bedrock-customize", help="why (recorded as the execution's cause)"
    )
    parser.add_argument(
        "--keep-throughput",
        action="store_true",
        help="do not delete the run's provisioned throughput or on-demand deployment",
    )
    _yes_option(parser, "cancel")
    _aws_options(parser)
    parser.set_defaults(handler=cmd_cancel)


@guarded
def cmd_cancel(args: argparse.Namespace) -> int:
    from pipeline.operate import runs

    run_id = runs.check_run_id(args.run)
    clients, deployment = _context(args)
    view = runs.load_run(clients, deployment, run_id, with_request=False)
    if view.finished:
        raise InvalidInputError(
            f"run {run_id} already ended ({view.status}); there is nothing to cancel",
            hint=f"its leftovers, if any: `{CLI} throughput list`, `{CLI} sweep --dry-run`",
        )
    now = dt.datetime.now(dt.UTC)
    pts = runs.run_throughputs(clients, view)
    deployed = runs.run_deployments(clients, view)
    stream = sys.stderr if args.json else sys.stdout
    print(f"Cancel run {run_id} ({view.stage}):", file=stream)
    print("  - stop the execution; the customization job stops with it", file=stream)
    for pt in pts:
        what = f"{pt.purpose or 'provisioned'} throughput {pt.arn}"
        refusal = pt.deletion_refusal(now)
        if refusal:
            print(f"  - KEEP {what}: {refusal}", file=stream)
        elif args.keep_throughput:
            print(
                f"  - keep {what} (--keep-throughput): still billed "
                f"{output.usd_rate(pt.hourly_usd(), 'hour')}",
                file=stream,
            )
        else:
            print(f"  - delete {what} ({output.usd_rate(pt.hourly_usd(), 'hour')})", file=stream)
    for arn in deployed:
        verb = "keep (--keep-throughput)" if args.keep_throughput else "delete"
        print(f"  - {verb} on-demand deployment {arn} (billed per token, no hourly charge)", file=stream)
    if not output.confirm(f"Cancel run {run_id}?", assume_yes=args.yes, what="cancelling a run"):
        output.note("not cancelled")
        return EXIT_OPERATIONAL
    who = runs.caller_identity(clients)
    result = runs.cancel(
        clients,
        view,
        who=who,
        reason=args.reason,
        release=not args.keep_throughput,
        now=now,
        throughputs=pts,
        deployment_arns=deployed,
    )
    if args.json:
        output.emit_json(result.to_dict())
    else:
        print(f"run {run_id} cancelled" + (" (job stopped)" if result.job_stopped else ""))
        for arn in result.released:
            print(f"  deleted provisioned throughput {arn}")
        for arn in result.deployments_deleted:
            print(f"  deleted on-demand deployment {arn}")
        for kept in result.kept:
            print(f"  kept {kept['arn']}: {kept['reason']}")
    return EXIT_OK


# --------------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------------


def _add_report(subparsers: Any) -> None:
    parser = _parser(
        subparsers,
        "report",
        "an HTML (and Markdown) report of a run: loss curves, base vs custom, the run record",
        "Render a self-contained HTML page (charts inline), a Markdown version and PNG charts from the run's "
        "artifacts (record.json, loss-curves.json, evaluation.json) in S3, or from a local directory holding "
        "the same files (--from-dir, works offline).",
        f"  {CLI} report support-nova-micro-3f9a2c1b7d --out reports/\n"
        f"  {CLI} report --from-dir examples/report-run --out /tmp/example-report",
    )
    parser.add_argument("run", nargs="?", metavar="RUN", help="run id (not needed with --from-dir)")
    parser.add_argument("--out", metavar="DIR", help="output directory (default: ./report-<run id>)")
    parser.add_argument(
        "--from-dir", metavar="DIR", help="read the artifacts from this directory instead of S3"
    )
    _aws_options(parser)
    parser.set_defaults(handler=cmd_report)


@guarded
def cmd_report(args: argparse.Namespace) -> int:
    from pipeline.operate import report, runs

    if args.from_dir:
        artifacts = report.load_dir(args.from_dir)
    else:
        if not args.run:
            raise InvalidInputError("give a RUN id, or --from-dir DIR", hint=f"list runs with `{CLI} list`")
        run_id = runs.check_run_id(args.run)
        clients, deployment = _context(args)
        if runs.describe_execution(clients("stepfunctions"), deployment, run_id) is None:
            raise runs.unknown_run(run_id, deployment)
        artifacts = report.load_s3(clients("s3"), deployment.training_bucket, run_id)
    written = report.render_run(artifacts, args.out or f"report-{artifacts.run_id}")
    if args.json:
        output.emit_json({"runId": artifacts.run_id, "source": artifacts.source, **written.to_dict()})
    else:
        print(f"report of run {artifacts.run_id}:")
        print(f"  {written.html}\n  {written.markdown}")
        for png in written.pngs:
            print(f"  {png}")
    return EXIT_OK


# --------------------------------------------------------------------------------------------------
# throughput
# --------------------------------------------------------------------------------------------------


def _add_throughput(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "throughput",
        help="list or delete the provisioned throughput the pipeline bought",
        description=textwrap.fill(
            "Provisioned throughput bought by the pipeline (found by its bedrock-customization:run-id "
            "tag), for one of two purposes: evaluation (<run id>-eval, one model unit without commitment "
            "for a base that cannot be deployed on demand, released after the evaluation) or serving "
            "(<run id>-pt, bought after the quality bar). Billed every hour until deleted, or for a whole "
            "commitment term. On-demand deployments are not throughput (no hourly charge): `sweep` lists "
            "them.",
            width=88,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EXIT_CODES,
    )
    actions = parser.add_subparsers(
        dest="throughput_command",
        required=True,
        metavar="ACTION",
        help="list: what the pipeline bought and what it costs; delete: release a no-commitment purchase",
    )
    listing = _parser(
        actions,
        "list",
        "every provisioned throughput the pipeline bought, with commitment, age and cost",
        "List every provisioned throughput in the region tagged by the pipeline: its run, purpose "
        "(evaluation or serving), status, model units, commitment and when it ends, hourly and daily cost, "
        "age and cost so far.",
        f"  {CLI} throughput list\n  {CLI} throughput list --region us-west-2 --json",
    )
    _aws_options(listing, env=False)
    listing.set_defaults(handler=cmd_throughput_list)
    delete = _parser(
        actions,
        "delete",
        "delete a no-commitment provisioned throughput (by ARN or run id)",
        "Delete the provisioned throughput of a run (evaluation and serving; or one ARN). A commitment is "
        "refused with the date its term ends (Bedrock refuses it anyway and bills the term). Throughput the "
        "pipeline did not buy is refused. Asks for confirmation, showing each purchase's purpose and hourly "
        "cost; refuses while its run is still running unless --force.",
        f"  {CLI} throughput delete support-nova-micro-3f9a2c1b7d\n"
        f"  {CLI} throughput delete arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123 --yes",
    )
    delete.add_argument(
        "target", metavar="ARN_OR_RUN", help="provisioned-throughput ARN, or the run id that bought it"
    )
    delete.add_argument(
        "--force", action="store_true", help="delete even while the run that bought it is running"
    )
    _yes_option(delete, "delete")
    _aws_options(delete)
    delete.set_defaults(handler=cmd_throughput_delete)


@guarded
def cmd_throughput_list(args: argparse.Namespace) -> int:
    from pipeline.operate import aws, throughput

    clients = aws.clients_for(args.region)
    now = dt.datetime.now(dt.UTC)
    items = throughput.inventory(clients("bedrock"))
    if args.json:
        output.emit_json([t.to_dict(now) for t in items])
        return EXIT_OK
    if not items:
        print(f"no provisioned throughput bought by the pipeline in {clients.region}")
        return EXIT_OK
    rows = [
        [
            output.short_arn(t.arn),
            t.run_id or "-",
            t.purpose or "-",
            t.status,
            str(t.model_units),
            "none" if not t.has_commitment else f"{t.commitment} until {output.utc(t.commitment_expires)}",
            output.usd_rate(t.hourly_usd(), "h"),
            output.usd_rate(t.per_day_usd(), "day"),
            output.duration(t.age_seconds(now)),
            output.usd(t.cost_so_far(now)),
        ]
        for t in items
    ]
    headers = ["ID", "RUN", "PURPOSE", "STATUS", "MU", "COMMITMENT", "HOURLY", "DAILY", "AGE", "SO FAR"]
    print(output.table(headers, rows))
    daily = output.Money.of({t.arn: t.per_day_usd() for t in items})
    print(f"\n{len(items)} provisioned throughput(s), billed about {daily} per day in total.")
    return EXIT_OK


@guarded
def cmd_throughput_delete(args: argparse.Namespace) -> int:
    from pipeline.operate import aws, discovery, runs, throughput
    from pipeline.operate.errors import NotDeployedError

    clients = aws.clients_for(args.region)
    bedrock = clients("bedrock")
    now = dt.datetime.now(dt.UTC)
    if throughput.is_throughput_arn(args.target):
        found = throughput.describe(bedrock, args.target)
        if found is None:
            raise InvalidInputError(f"provisioned throughput {args.target} does not exist (already deleted?)")
        if not found.created_by_pipeline:
            raise InvalidInputError(
                f"{args.target} was not bought by this pipeline (no bedrock-customization:run-id tag): "
                "refusing",
                hint="delete it yourself if you mean to: aws bedrock delete-provisioned-model-throughput "
                f"--provisioned-model-id {args.target}",
            )
        targets = [found]
    else:
        run_id = runs.check_run_id(args.target)
        targets = [t for t in throughput.inventory(bedrock) if t.run_id == run_id]
        if not targets:
            raise InvalidInputError(
                f"no provisioned throughput tagged with run {run_id} in {clients.region}",
                hint=f"see what exists with `{CLI} throughput list`",
            )
    refused = [(t, r) for t in targets if (r := t.deletion_refusal(now))]
    deletable = [t for t in targets if not t.deletion_refusal(now)]
    for _, reason in refused:
        output.note(f"refused: {reason}")
    if not deletable:
        if args.json:
            output.emit_json({"deleted": [], "refused": [{"arn": t.arn, "reason": r} for t, r in refused]})
        return EXIT_INVALID
    if not args.force:
        try:
            deployment = discovery.discover(clients, args.env)
            live = runs.running_run_ids(clients, deployment)
        except NotDeployedError:
            live = set()
            output.note(
                f"(the {args.env!r} pipeline is not deployed here: not checking whether the run still runs)"
            )
        busy = [t for t in deletable if t.run_id in live]
        if busy:
            raise InvalidInputError(
                f"run {busy[0].run_id} is still running and may be using {busy[0].arn}",
                hint=f"cancel it first (`{CLI} cancel {busy[0].run_id}`), or pass --force",
            )
    stream = sys.stderr if args.json else sys.stdout
    for t in deletable:
        print(
            f"delete {t.arn} (run {t.run_id}, {t.purpose or 'unknown purpose'}, {t.status}, "
            f"{t.model_units} MU, no commitment): "
            f"{output.usd_rate(t.hourly_usd(), 'hour')}, {output.duration(t.age_seconds(now))} old, "
            f"{output.usd(t.cost_so_far(now))} so far",
            file=stream,
        )
    if not output.confirm(
        f"Delete {len(deletable)} provisioned throughput(s)?", assume_yes=args.yes, what="deleting throughput"
    ):
        output.note("nothing deleted")
        return EXIT_OPERATIONAL
    deleted = [t.arn for t in deletable if throughput.delete(bedrock, t)]
    if args.json:
        output.emit_json({"deleted": deleted, "refused": [{"arn": t.arn, "reason": r} for t, r in refused]})
    else:
        for arn in deleted:
            print(f"deleted {arn}")
    return EXIT_INVALID if refused else EXIT_OK


# --------------------------------------------------------------------------------------------------
# sweep
# --------------------------------------------------------------------------------------------------


def _add_sweep(subparsers: Any) -> None:
    parser = _parser(
        subparsers,
        "sweep",
        "delete leftover throughput, custom models and deployments no live run uses",
        "Find what the pipeline created (by tag) that no running run of this environment uses and that is "
        "older "
        "than --older-than: provisioned throughput without commitment, custom model deployments, custom "
        "models. "
        "--dry-run lists them with their cost per day; otherwise they are deleted after confirmation. "
        "Commitments, resources of running runs, of --keep-run runs and of other environments are kept.",
        f"  {CLI} sweep --dry-run\n  {CLI} sweep --older-than 7d --keep-run support-nova-micro-3f9a2c1b7d "
        "--yes",
    )
    parser.add_argument(
        "--older-than",
        default="24h",
        metavar="AGE",
        help="only resources older than AGE, e.g. 90m, 24h, 7d (default: 24h)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list what would be deleted, with its cost per day; delete nothing",
    )
    parser.add_argument(
        "--keep-run",
        action="append",
        default=[],
        metavar="RUN",
        help="never delete what this run created; repeatable",
    )
    parser.add_argument(
        "--include-foreign",
        action="store_true",
        help="also delete resources whose run is not an execution of this environment "
        "(e.g. its history expired)",
    )
    _yes_option(parser, "delete")
    _aws_options(parser)
    parser.set_defaults(handler=cmd_sweep)


@guarded
def cmd_sweep(args: argparse.Namespace) -> int:
    from pipeline.operate import sweep

    older_than = sweep.check_age(args.older_than)
    clients, deployment = _context(args)
    now = dt.datetime.now(dt.UTC)
    plan = sweep.find(
        clients,
        deployment,
        older_than=older_than,
        now=now,
        keep_runs=args.keep_run,
        include_foreign=args.include_foreign,
    )
    stream = sys.stderr if args.json else sys.stdout
    if args.dry_run or not plan.to_delete:
        if args.json:
            output.emit_json(plan.to_dict(dry_run=True))
        else:
            sys.stdout.write(plan.render(dry_run=True))
        return EXIT_OK
    stream.write(plan.render(dry_run=True))
    if not output.confirm(f"Delete {len(plan.to_delete)} resource(s)?", assume_yes=args.yes, what="sweeping"):
        output.note("nothing deleted")
        return EXIT_OPERATIONAL
    sweep.execute(clients, plan)
    failed = sweep.failures(plan)
    if args.json:
        output.emit_json(plan.to_dict(dry_run=False))
    else:
        sys.stdout.write("\n" + plan.render(dry_run=False))
        if failed:
            print(f"\n{len(failed)} deletion(s) failed; run the sweep again later or check the errors above.")
    return EXIT_OPERATIONAL if failed else EXIT_OK

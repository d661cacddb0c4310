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
from typing import Any

from pipeline import money
from pipeline.catalog import CUSTOMIZATION_TYPES
from pipeline.operate import commands_runs, hints, output
from pipeline.operate.cli_options import (
    CLI,
    EXIT_CODES,
    HelpFormatter,
    aws_options,
    deployment_context,
    json_option,
    parser_for,
    positive_int,
    yes_option,
)
from pipeline.operate.errors import EXIT_INVALID, EXIT_OK, EXIT_OPERATIONAL, InvalidInputError, guarded


def register(subparsers: Any) -> None:
    """Add every operations subcommand to the CLI's ``add_subparsers()`` object."""
    _add_models(subparsers)
    _add_compare(subparsers)
    _add_deploy_info(subparsers)
    commands_runs.register(subparsers)
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
    parser = parser_for(
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
    json_option(parser)
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
    parser = parser_for(
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
        type=positive_int,
        default=50,
        metavar="N",
        help="use the first N prompts (default: 50)",
    )
    parser.add_argument(
        "--html", metavar="DIR", help="also write compare.html, compare.md and compare.png to DIR"
    )
    parser.add_argument(
        "--judge",
        nargs="?",
        const="amazon.nova-pro-v1:0",
        default=None,
        metavar="JUDGE_MODEL",
        help="also have an LLM judge score every model's answers: one Bedrock evaluation job per model "
        "(billed judge tokens; default judge amazon.nova-pro-v1:0)",
    )
    parser.add_argument(
        "--judge-metrics",
        metavar="NAMES",
        help="comma-separated built-in judge metrics (default: Builtin.Correctness,Builtin.Completeness)",
    )
    parser.add_argument(
        "--judge-role", metavar="ARN", help="with --judge: the stack's evaluation-job role (deploy-info)"
    )
    parser.add_argument(
        "--judge-bucket", metavar="BUCKET", help="with --judge: the stack's training bucket (deploy-info)"
    )
    aws_options(parser, env=False)
    parser.set_defaults(handler=cmd_compare)


@guarded
def cmd_compare(args: argparse.Namespace) -> int:
    from pipeline.operate import aws, compare, report

    clients = aws.clients_for(args.region)
    labels = compare.unique(args.models)
    judge_options = None
    if args.judge is not None:
        from pipeline.operate import compare_judge

        judge_options = compare_judge.options(
            args.judge, args.judge_metrics, args.judge_role, args.judge_bucket, clients.region
        )
    prompt_set = compare.read_prompt_file(args.prompts, clients, args.max_prompts)
    targets = [compare.resolve(label, clients) for label in labels]
    count = len(prompt_set.prompts)
    output.note(f"asking {len(targets)} model(s) {count} prompt(s): {len(targets) * count} billed request(s)")
    result = compare.run(targets, prompt_set, clients("bedrock-runtime").converse, progress=output.note)
    judged = None
    if judge_options is not None:
        from pipeline.operate import compare_judge

        judged = compare_judge.run(result, judge_options, clients, progress=output.note)
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
        output.emit_json(
            {**result.to_dict(), "judge": judged, "files": written.to_dict() if written else None}
        )
    else:
        sys.stdout.write(result.render())
        if judged is not None:
            from pipeline.operate import compare_judge

            sys.stdout.write(compare_judge.render(judged))
        if written:
            print(f"\nreport: {written.html}")
    return EXIT_OK


# --------------------------------------------------------------------------------------------------
# deploy-info
# --------------------------------------------------------------------------------------------------


def _add_deploy_info(subparsers: Any) -> None:
    parser = parser_for(
        subparsers,
        "deploy-info",
        "where the deployed pipeline is, and whether you can use it",
        "Find the deployed pipeline of --env in --region (SSM parameter "
        "/bedrock-customization/ENV/deployment, "
        "else the outputs of stack BedrockCustomization-ENV) and check with read-only calls what your "
        "credentials can do with it. Exit 1 when a check fails.",
        f"  {CLI} deploy-info\n  {CLI} deploy-info --env prod --region us-east-1 --json",
    )
    aws_options(parser)
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
                            + (" (MFA required)" if deployment.approver_mfa else "")
                            if deployment.approver_role_arn
                            else ""
                        ),
                    ),
                    (
                        "Starts",
                        deployment.start_url or "StartExecution (an older deployment: no starter record)",
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
# throughput
# --------------------------------------------------------------------------------------------------


def _add_throughput(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "throughput",
        help="list or delete the provisioned throughput the pipeline bought",
        description=(
            "Provisioned throughput bought by the pipeline (found by its bedrock-customization:run-id "
            "tag), for one of two purposes: evaluation (<run id>-eval, one model unit without commitment "
            "for a base that cannot be deployed on demand, released after the evaluation) or serving "
            "(<run id>-pt, bought after the quality bar). Billed every hour until deleted, or for a whole "
            "commitment term. On-demand deployments are not throughput (no hourly charge): `sweep` lists "
            "them."
        ),
        formatter_class=HelpFormatter,
        epilog=EXIT_CODES,
    )
    actions = parser.add_subparsers(
        dest="throughput_command",
        required=True,
        metavar="ACTION",
        help="list: what the pipeline bought and what it costs; delete: release a no-commitment purchase",
    )
    listing = parser_for(
        actions,
        "list",
        "every provisioned throughput the pipeline bought, with commitment, age and cost",
        "List every provisioned throughput in the region tagged by the pipeline: its run, purpose "
        "(evaluation or serving), status, model units, commitment and when it ends, hourly and daily cost, "
        "age and cost so far. With --env, only what that environment's runs bought.",
        f"  {CLI} throughput list\n  {CLI} throughput list --env prod --region us-west-2 --json",
    )
    aws_options(listing, env_default=None)
    listing.set_defaults(handler=cmd_throughput_list)
    delete = parser_for(
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
    yes_option(delete, "delete")
    aws_options(delete)
    delete.set_defaults(handler=cmd_throughput_delete)


@guarded
def cmd_throughput_list(args: argparse.Namespace) -> int:
    from pipeline.operate import aws, discovery, run_lookup, throughput

    clients = aws.clients_for(args.region)
    now = dt.datetime.now(dt.UTC)
    items = throughput.inventory(clients("bedrock"))
    where = clients.region
    if args.env:
        # A throughput names its run (tag), not its environment: it is this environment's when its
        # run is an execution of this environment's workflow.
        deployment = discovery.discover(clients, args.env)
        sfn = clients("stepfunctions")
        ours = {
            run_id
            for run_id in {t.run_id for t in items if t.run_id}
            if run_lookup.describe_execution(sfn, deployment, run_id) is not None
        }
        items = [t for t in items if t.run_id in ours]
        where = f"{clients.region} for environment {args.env}"
    if args.json:
        output.emit_json([t.to_dict(now) for t in items])
        return EXIT_OK
    if not items:
        print(f"no provisioned throughput bought by the pipeline in {where}")
        return EXIT_OK
    rows = [
        [
            output.short_arn(t.arn),
            t.run_id or "-",
            t.purpose or "-",
            t.status,
            str(t.model_units),
            "none" if not t.has_commitment else f"{t.commitment} until {output.utc(t.commitment_expires)}",
            money.usd_rate(t.hourly_usd(), "h"),
            money.usd_rate(t.per_day_usd(), "day"),
            output.duration(t.age_seconds(now)),
            money.usd(t.cost_so_far(now)),
        ]
        for t in items
    ]
    headers = ["ID", "RUN", "PURPOSE", "STATUS", "MU", "COMMITMENT", "HOURLY", "DAILY", "AGE", "SO FAR"]
    print(output.table(headers, rows, right=(4, 6, 7, 9)))
    daily = money.Money.of({output.short_arn(t.arn): t.per_day_usd() for t in items})
    count = f"{len(items)} provisioned throughput{'' if len(items) == 1 else 's'}"
    print(f"\n{count} in {where}, billed {daily.per('day')} in total.")
    deletable = [t for t in items if not t.has_commitment]
    if deletable:
        target = deletable[0].run_id or deletable[0].arn
        print(f"Delete what you no longer use: {hints.command('throughput', 'delete', target)}")
    return EXIT_OK


@guarded
def cmd_throughput_delete(args: argparse.Namespace) -> int:
    from pipeline.operate import aws, discovery, run_lookup, runs, throughput
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
                hint=f"see what exists with `{hints.command('throughput', 'list')}`",
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
            live = run_lookup.running_run_ids(clients, deployment)
        except NotDeployedError:
            live = set()
            output.note(
                f"(the {args.env!r} pipeline is not deployed here: not checking whether the run still runs)"
            )
        busy = [t for t in deletable if t.run_id in live]
        if busy:
            raise InvalidInputError(
                f"run {busy[0].run_id} is still running and may be using {busy[0].arn}",
                hint=f"cancel it first (`{hints.command('cancel', str(busy[0].run_id))}`), or pass --force",
            )
    stream = sys.stderr if args.json else sys.stdout
    for t in deletable:
        print(
            f"delete {t.arn} (run {t.run_id}, {t.purpose or 'unknown purpose'}, {t.status}, "
            f"{t.model_units} MU, no commitment): "
            f"{money.usd_rate(t.hourly_usd(), 'hour')}, {output.duration(t.age_seconds(now))} old, "
            f"{money.usd(t.cost_so_far(now))} so far",
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
    parser = parser_for(
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
    yes_option(parser, "delete")
    aws_options(parser)
    parser.set_defaults(handler=cmd_sweep)


@guarded
def cmd_sweep(args: argparse.Namespace) -> int:
    from pipeline.operate import sweep

    older_than = sweep.check_age(args.older_than)
    clients, deployment = deployment_context(args)
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

"""The commands over what bills by the hour: ``throughput list`` and ``throughput delete`` (the
pipeline's Provisioned Throughput, its cost so far) and ``sweep`` (what a run left behind).
Registered by :func:`pipeline.operate.commands.register`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from pipeline import money
from pipeline.operate import hints, output
from pipeline.operate.cli_options import (
    CLI,
    EXIT_CODES,
    HelpFormatter,
    aws_options,
    deployment_context,
    parser_for,
    yes_option,
)
from pipeline.operate.errors import EXIT_INVALID, EXIT_OK, EXIT_OPERATIONAL, InvalidInputError, guarded


def register(subparsers: Any) -> None:
    """Add ``throughput`` and ``sweep`` to the CLI's ``add_subparsers()`` object."""
    _add_throughput(subparsers)
    _add_sweep(subparsers)


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
    # A serving slot's endpoint is refused even with --force: what it takes down is not this run's.
    refusals = {t.arn: t.slot_refusal() or t.deletion_refusal(now) for t in targets}
    refused = [(t, r) for t in targets if (r := refusals[t.arn])]
    deletable = [t for t in targets if not refusals[t.arn]]
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
        "delete evaluation leftovers (and, with --include-serving, what serves) no live run uses",
        "Find what the pipeline created (by tag) that no running run of this environment uses and that is "
        "older than --older-than. By default only evaluation leftovers: throughput and on-demand "
        "deployments bought or created to evaluate a model. With --include-serving also what serves a "
        "finished run (serving throughput without commitment, serving deployments) and custom models. "
        "Never a commitment, a serving slot's endpoint, or a custom model a slot serves or keeps for "
        "rollback. --dry-run lists them with their cost per day; otherwise they are deleted after "
        "confirmation. Resources of running runs, of --keep-run runs and of other environments are kept.",
        f"  {CLI} sweep --dry-run\n  {CLI} sweep --older-than 7d --keep-run support-nova-micro-3f9a2c1b7d "
        "--include-serving --yes",
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
        "--include-serving",
        action="store_true",
        help="also delete what serves a finished run (serving throughput, serving deployments) and "
        "custom models; never a serving slot's endpoint or models",
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
        include_serving=args.include_serving,
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

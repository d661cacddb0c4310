"""The commands on a run of ``bedrock-customize`` that exists: status, watch, list, approve, reject,
cancel and report (estimate and start: :mod:`pipeline.operate.commands_start`). Registered by
:func:`pipeline.operate.commands.register`.
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
    aws_options,
    deployment_context,
    parser_for,
    positive_int,
    yes_option,
)
from pipeline.operate.commands_watch import add_watch, run_args
from pipeline.operate.errors import EXIT_OK, EXIT_OPERATIONAL, InvalidInputError, guarded

# --------------------------------------------------------------------------------------------------
# status, watch, list
# --------------------------------------------------------------------------------------------------


def _add_status(subparsers: Any) -> None:
    parser = parser_for(
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
    run_args(parser)
    aws_options(parser)
    parser.set_defaults(handler=cmd_status)


@guarded
def cmd_status(args: argparse.Namespace) -> int:
    from pipeline.operate import run_lookup, runs

    run_id = runs.check_run_id(args.run)
    clients, deployment = deployment_context(args)
    view = run_lookup.load_run(clients, deployment, run_id)
    if args.json:
        output.emit_json(view.to_dict())
    else:
        print(view.render())
    return EXIT_OK


def _add_list(subparsers: Any) -> None:
    from pipeline.operate.runs import STATUSES

    parser = parser_for(
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
        "--limit", type=positive_int, default=20, metavar="N", help="at most N runs (default: 20)"
    )
    aws_options(parser)
    parser.set_defaults(handler=cmd_list)


@guarded
def cmd_list(args: argparse.Namespace) -> int:
    from pipeline.operate import run_lookup, run_text

    clients, deployment = deployment_context(args)
    views = run_lookup.list_runs(clients, deployment, statuses=args.status, limit=args.limit)
    if args.json:
        output.emit_json([v.to_dict() for v in views])
    else:
        print(run_text.render_list(views))
    return EXIT_OK


# --------------------------------------------------------------------------------------------------
# approve, reject, cancel
# --------------------------------------------------------------------------------------------------


def _add_approve(subparsers: Any) -> None:
    parser = parser_for(
        subparsers,
        "approve",
        "approve the run's provisioned-throughput purchase (shows what is bought first)",
        "Answer the run's open approval gate with yes: before buying one model unit of no-commitment "
        "throughput to evaluate on (a base that cannot be deployed on demand), or before buying the "
        "throughput to serve with (after the quality bar passed). What will be bought, what for and its "
        "estimated cost are shown before you confirm. The answer goes through the pipeline's "
        "IAM-authenticated approval URL (the task token never leaves the pipeline) as the stack's approver "
        "role, assumed with your IAM user name as source identity (and an MFA code where required); that "
        "name, as STS confirms it, is the approver of record. Whoever started the run may not approve it.",
        f"  {CLI} approve support-nova-micro-3f9a2c1b7d\n  {CLI} approve RUN --reason 'quality ok' --yes",
    )
    run_args(parser)
    parser.add_argument(
        "--reason", default="approved with bedrock-customize", help="why (recorded in the run record)"
    )
    yes_option(parser, "approve the purchase")
    aws_options(parser)
    parser.set_defaults(handler=cmd_approve)


def _add_reject(subparsers: Any) -> None:
    parser = parser_for(
        subparsers,
        "reject",
        "reject the run's provisioned-throughput purchase (nothing is bought)",
        "Answer the run's open approval gate (evaluation or serving purchase) with no: the run ends failed "
        "with your reason, nothing is bought, and what it created (an evaluation deployment) is released.",
        f"  {CLI} reject support-nova-micro-3f9a2c1b7d --reason 'too expensive for this quality'",
    )
    run_args(parser)
    parser.add_argument(
        "--reason", required=True, help="why (recorded in the run record and the notification)"
    )
    yes_option(
        parser,
        "reject the purchase (asked only on a terminal: rejecting buys nothing, so CI needs no --yes)",
    )
    aws_options(parser)
    parser.set_defaults(handler=cmd_reject)


def _decide(args: argparse.Namespace, approved: bool) -> int:
    from pipeline.operate import run_actions, runs

    run_id = runs.check_run_id(args.run)
    reason = args.reason.strip()
    if not reason:
        raise InvalidInputError("--reason must not be empty")
    clients, deployment = deployment_context(args)
    view, request = run_actions.pending_approval(clients, deployment, run_id)
    stream = sys.stderr if args.json else sys.stdout
    print(request.render(view), file=stream)
    print(file=stream)
    what = "to evaluate on" if request.stage == runs.EVALUATION_STAGE else "to serve with"
    if approved:
        if not output.confirm(
            f"Approve buying throughput {what}?",
            assume_yes=args.yes,
            what="approving a provisioned throughput purchase",
        ):
            output.note("not approved: nothing was sent (the run keeps waiting)")
            return EXIT_OPERATIONAL
    # Rejecting buys nothing, so without a terminal it needs no --yes; on one it ends the run
    # failed, which cannot be undone: ask.
    elif (
        not args.yes
        and sys.stdin.isatty()
        and not output.confirm(f"Reject buying throughput {what}? The run ends failed.", assume_yes=False)
    ):
        output.note("not rejected: nothing was sent (the run keeps waiting)")
        return EXIT_OPERATIONAL
    caller = run_actions.caller_identity(clients)
    answer = run_actions.send_decision(
        clients, deployment, request, approved=approved, approver=caller, reason=reason
    )
    approver = answer.get("approver") or caller
    if args.json:
        output.emit_json({"runId": run_id, **answer, "request": request.to_dict()})
    else:
        bought = "the evaluation throughput" if request.stage == runs.EVALUATION_STAGE else "the throughput"
        verdict = f"approved: the workflow buys {bought} now" if approved else "rejected: nothing is bought"
        print(f"run {run_id} {verdict} (by {approver})")
        print(f"  follow it: {hints.command('watch', run_id)}")
    return EXIT_OK


@guarded
def cmd_approve(args: argparse.Namespace) -> int:
    return _decide(args, approved=True)


@guarded
def cmd_reject(args: argparse.Namespace) -> int:
    return _decide(args, approved=False)


def _add_cancel(subparsers: Any) -> None:
    parser = parser_for(
        subparsers,
        "cancel",
        "stop a run (its customization job stops with it)",
        "Stop the run's execution; Step Functions stops the customization job with it (the CLI makes sure). "
        "A stopped execution runs no cleanup, so the run's no-commitment provisioned throughput (evaluation "
        "and serving) and its on-demand deployment are deleted here too (unless --keep-throughput); a "
        "commitment cannot be deleted and is reported.",
        f"  {CLI} cancel support-nova-micro-3f9a2c1b7d --reason 'wrong dataset'",
    )
    run_args(parser)
    parser.add_argument(
        "--reason", default="cancelled with bedrock-customize", help="why (recorded as the execution's cause)"
    )
    parser.add_argument(
        "--keep-throughput",
        action="store_true",
        help="do not delete the run's provisioned throughput or on-demand deployment",
    )
    yes_option(parser, "cancel")
    aws_options(parser)
    parser.set_defaults(handler=cmd_cancel)


@guarded
def cmd_cancel(args: argparse.Namespace) -> int:
    from pipeline.operate import run_actions, run_lookup, runs

    run_id = runs.check_run_id(args.run)
    clients, deployment = deployment_context(args)
    view = run_lookup.load_run(clients, deployment, run_id, with_request=False)
    if view.finished:
        raise InvalidInputError(
            f"run {run_id} already ended ({view.status}); there is nothing to cancel",
            hint=f"its leftovers, if any: `{hints.command('throughput', 'list')}`, "
            f"`{hints.command('sweep', '--dry-run')}`",
        )
    now = dt.datetime.now(dt.UTC)
    pts = run_actions.run_throughputs(clients, view)
    deployed = run_actions.run_deployments(clients, view)
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
                f"{money.usd_rate(pt.hourly_usd(), 'hour')}",
                file=stream,
            )
        else:
            print(f"  - delete {what} ({money.usd_rate(pt.hourly_usd(), 'hour')})", file=stream)
    for arn in deployed:
        verb = "keep (--keep-throughput)" if args.keep_throughput else "delete"
        print(f"  - {verb} on-demand deployment {arn} (billed per token, no hourly charge)", file=stream)
    if not output.confirm(f"Cancel run {run_id}?", assume_yes=args.yes, what="cancelling a run"):
        output.note("not cancelled")
        return EXIT_OPERATIONAL
    who = run_actions.caller_identity(clients)
    result = run_actions.cancel(
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
    parser = parser_for(
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
    aws_options(parser)
    parser.set_defaults(handler=cmd_report)


@guarded
def cmd_report(args: argparse.Namespace) -> int:
    from pipeline.operate import report, run_lookup, runs

    if args.from_dir:
        artifacts = report.load_dir(args.from_dir)
    else:
        if not args.run:
            raise InvalidInputError(
                "give a RUN id, or --from-dir DIR", hint=f"list runs with `{hints.command('list')}`"
            )
        run_id = runs.check_run_id(args.run)
        clients, deployment = deployment_context(args)
        described = run_lookup.describe_execution(clients("stepfunctions"), deployment, run_id)
        if described is None:
            raise run_lookup.unknown_run(run_id, deployment)
        artifacts = report.load_s3(
            clients("s3"), deployment.training_bucket, run_id, execution_status=str(described.get("status"))
        )
    written = report.render_run(artifacts, args.out or f"report-{artifacts.run_id}")
    if args.json:
        output.emit_json({"runId": artifacts.run_id, "source": artifacts.source, **written.to_dict()})
    else:
        print(f"report of run {artifacts.run_id}:")
        print(f"  {written.html}\n  {written.markdown}")
        for png in written.pngs:
            print(f"  {png}")
    return EXIT_OK


def register(subparsers: Any) -> None:
    """Add the run commands, in the order `--help` lists them."""
    _add_status(subparsers)
    add_watch(subparsers)
    _add_list(subparsers)
    _add_approve(subparsers)
    _add_reject(subparsers)
    _add_cancel(subparsers)
    _add_report(subparsers)

"""The run commands of ``bedrock-customize``: estimate, start, status, watch, list, approve,
reject, cancel and report. Registered by :func:`pipeline.operate.commands.register`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from pipeline import money, naming
from pipeline.operate import hints, output
from pipeline.operate.cli_options import (
    CLI,
    aws_options,
    deployment_context,
    json_option,
    offline_option,
    parser_for,
    positive_int,
    yes_option,
)
from pipeline.operate.commands_watch import add_watch, follow, follow_options, run_args
from pipeline.operate.errors import EXIT_INVALID, EXIT_OK, EXIT_OPERATIONAL, InvalidInputError, guarded

# --------------------------------------------------------------------------------------------------
# estimate and start
# --------------------------------------------------------------------------------------------------


def _load_spec(path_text: str) -> Any:
    from pipeline.runspec import RunSpecError, load_run_spec
    from pipeline.spec_lines import located

    try:
        return load_run_spec(Path(path_text))
    except RunSpecError as exc:
        where = RunSpecError(located(exc.problems, path_text), exc.source)
        raise InvalidInputError(
            str(where), hint=f"`{hints.command('check', path_text)}` lists every problem with its fix"
        ) from exc


def _s3_for(spec: Any, region: str | None) -> Any:
    """An S3 client when the spec names s3:// datasets (validation reads them), else None."""
    if not any(loc.startswith("s3://") for _, loc in spec.dataset_locations()):
        return None
    from pipeline.operate import aws

    return aws.clients_for(region or spec.region)("s3")


def _add_estimate(subparsers: Any) -> None:
    parser = parser_for(
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
    offline_option(
        parser, "prices: the catalog's dated prices, not the AWS Price List API; quotas: not checked"
    )
    json_option(parser)
    parser.set_defaults(handler=cmd_estimate)


@guarded
def cmd_estimate(args: argparse.Namespace) -> int:
    from pipeline.datasets import validate_run
    from pipeline.operate import estimate, prices, quota_check

    spec = _load_spec(args.run_spec)
    report = validate_run(spec, s3_client=_s3_for(spec, args.region), spec_source=args.run_spec)
    quota = quota_check.run(spec, offline=args.offline) if report.ok else None
    if quota is not None:
        quota_check.apply(quota, report)
    book = prices.load(spec.region, offline=args.offline)
    prices.reprice_report(report, spec, book)
    result = estimate.build(spec, report, book)
    if args.json:
        output.emit_json(result.to_dict() | ({"quotas": quota.to_dict()} if quota is not None else {}))
    else:
        sys.stdout.write(result.render())
        if quota is not None:
            print(quota.line())
            for finding in quota.findings:
                print(f"  {finding.severity}: {finding.message}")
        if not report.ok:
            check = hints.command("check", args.run_spec)
            print(f"\nThe run cannot start as it is: `{check}` lists the problems.")
    return EXIT_OK if report.ok else EXIT_INVALID


_START_EXIT_CODES = """\
exit codes:
  0  started (with --wait: the run succeeded; with --until approval: it waits for a person)
  1  operational failure (AWS refused or unreachable, declined at the prompt); with --wait: the run
     failed, timed out or was cancelled
  2  invalid input: the preflight refused the run spec or data (nothing uploaded, nothing started)
  3  with --wait: still running when --timeout passed (watch it again: nothing is wrong)
  4  with --wait: AWS could not be reached or refused for --give-up-after seconds: outcome unknown
"""


def _add_start(subparsers: Any) -> None:
    parser = parser_for(
        subparsers,
        "start",
        "validate, upload the datasets and start a run (idempotent)",
        "Run the full preflight locally (nothing is uploaded if anything is invalid), upload each local "
        "dataset "
        "to s3://BUCKET/datasets/<sha256>/<file> (skipped when already there), then start the workflow with "
        "the "
        "run id <name>-<spec hash> as execution name. Running the same command again starts nothing and says "
        "so. A run that was rejected, cancelled or failed is started again with --rerun, under the "
        "next attempt's run id <name>-<spec hash>-r<n> (new job, model, deployment and throughput "
        "names). When the run may buy provisioned throughput (to evaluate on, or to serve with), the "
        "estimate is shown and you are asked to confirm.",
        f"  {CLI} start examples/runs/fine-tuning.yaml\n  {CLI} start run.yaml --env prod --yes --wait   # "
        "CI\n"
        f"  {CLI} start run.yaml --env prod --rerun   # again, after a rejection or a failure",
        exit_codes=_START_EXIT_CODES,
    )
    parser.add_argument("run_spec", metavar="RUN_SPEC", help="run spec file (.yaml, .yml or .json)")
    yes_option(parser, "confirm the throughput purchases the spec may make")
    parser.add_argument(
        "--rerun",
        action="store_true",
        help="start the spec again after its run (or last rerun) was rejected, cancelled, timed out or "
        "failed: a new run <run id>-r<n> that records which run it reruns; nothing is started while the "
        "last attempt is still going, or after it succeeded",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="then follow the run as `watch` does until it ends (or --until approval), and exit with its "
        "outcome (the exit codes below)",
    )
    follow_options(parser, "with --wait: ")
    offline_option(
        parser,
        "no GetFoundationModel check of the base model and teacher, the catalog's prices; the "
        "workflow's preflight still checks live",
    )
    aws_options(parser)
    for action in parser._actions:
        if action.dest == "json":
            action.help = "print one JSON document (with --wait: one JSON object per line per change)"
    parser.set_defaults(handler=cmd_start)


@guarded
def cmd_start(args: argparse.Namespace) -> int:
    from pipeline.datasets import validate_run
    from pipeline.operate import aws, discovery, estimate, livecheck, prices, quota_check, run_lookup, start
    from pipeline.spec_lines import located

    spec = _load_spec(args.run_spec)
    if args.region and args.region != spec.region:
        raise InvalidInputError(
            f"--region {args.region} differs from the run spec's region {spec.region}",
            hint="a run trains in its spec's region: drop --region or fix the spec",
        )
    clients = aws.clients_for(spec.region)
    if spec.region != aws.default_region():
        # The run lives in its spec's region: a pasted hint must look there, not in the shell's.
        hints.resolved(region=spec.region)
    report = validate_run(spec, s3_client=_s3_for(spec, spec.region), spec_source=args.run_spec)
    checked = livecheck.run(spec, offline=args.offline, clients=clients) if report.ok else None
    if checked is not None:
        report.spec_problems.extend(checked.problems)
        output.note(checked.line())
    quota = quota_check.run(spec, offline=args.offline, clients=clients) if report.ok else None
    if quota is not None:
        quota_check.apply(quota, report)
        output.note(quota.line())
        for finding in quota.findings:
            if finding.severity == "warning":
                output.note(f"warning: {finding.message}")
    report.spec_problems[:] = located(report.spec_problems, args.run_spec)
    if not report.ok:
        if args.json:
            output.emit_json(
                {
                    "ok": False,
                    "started": False,
                    "preflight": report.to_dict(),
                    "liveCheck": checked.to_dict() if checked is not None else None,
                    "quotas": quota.to_dict() if quota is not None else None,
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
    rerun = None
    if args.rerun:
        rerun = start.rerun_plan(lambda rid: run_lookup.describe_execution(sfn, deployment, rid), run_id)
        if rerun.latest_status == "SUCCEEDED":
            raise InvalidInputError(
                f"run {rerun.latest} succeeded: there is nothing to rerun, and nothing was started",
                hint="a rerun trains (and may buy) again; to train a new model from the same data, give the "
                "spec a new name (a new run id)",
            )
        run_id = rerun.run_id or str(rerun.latest)
    existing = run_lookup.describe_execution(sfn, deployment, run_id)
    book = prices.load(spec.region, offline=args.offline)
    prices.reprice_report(report, spec, book)
    costs = estimate.build(spec, report, book)
    doc: dict[str, Any] = {
        "runId": run_id,
        "rerunOf": rerun.rerun_of if rerun is not None else None,
        "executionArn": deployment.execution_arn(run_id),
        "environment": deployment.environment,
        "liveCheck": checked.to_dict() if checked is not None else None,
        "quotas": quota.to_dict() if quota is not None else None,
        "estimate": costs.to_dict(),
        "datasets": [u.to_dict() for u in uploads],
    }
    if existing is not None:
        return _already_started(args, deployment, clients, run_id, str(existing.get("status")), doc)
    if rerun is not None and rerun.rerun_of is not None:
        output.note(
            f"run {rerun.rerun_of} ended {rerun.latest_status}: starting it again as run {run_id} "
            f"(attempt {naming.attempt_of(run_id)}: new job, model, deployment and throughput names)"
        )
    bought = estimate.purchases(spec, costs.approval)
    if not bought and book.reason:
        # The estimate (which says where its prices come from) is shown only for a run that buys.
        output.note(f"prices: {book.describe(spec.model)}")
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
    execution_arn, started = start.start_execution(
        sfn,
        deployment,
        run_id,
        final_spec,
        caller=clients("approval-url"),
        rerun_of=rerun.rerun_of if rerun is not None else None,
    )
    doc["datasets"] = [t.to_dict() for t in transfers]
    if not started:
        return _already_started(args, deployment, clients, run_id, "RUNNING", doc)
    doc |= {
        "started": True,
        "alreadyStarted": False,
        "status": "RUNNING",
        "console": start.console_url(deployment, execution_arn),
    }
    _emit_start(args, doc)
    if not args.json:
        uploaded = sum(1 for t in transfers if not t.skipped)
        print(
            f"started run {run_id} ({uploaded} dataset(s) uploaded, {len(transfers) - uploaded} already "
            "there)"
        )
        print(f"  execution: {execution_arn}\n  console:   {doc['console']}")
        print(f"  follow it: {hints.command('watch', run_id)}")
    if args.wait:
        return follow(args, clients, deployment, run_id)
    return EXIT_OK


def _emit_start(args: argparse.Namespace, doc: dict[str, Any]) -> None:
    """With --json: the start document; with --wait too, as the first of the watch's JSON lines."""
    if args.json and args.wait:
        print(json.dumps({"event": "started", **doc}, ensure_ascii=False, default=str), flush=True)
    elif args.json:
        output.emit_json(doc)


def _already_started(
    args: argparse.Namespace, deployment: Any, clients: Any, run_id: str, status: str, doc: dict[str, Any]
) -> int:
    from pipeline.operate.start import RERUNNABLE

    doc |= {"started": False, "alreadyStarted": True, "status": status}
    rerunnable = status in RERUNNABLE
    if rerunnable:
        doc["rerun"] = hints.command("start", args.run_spec, "--rerun")
    _emit_start(args, doc)
    if not args.json:
        if args.rerun:
            print(
                f"run {run_id} is still going (status {status}): a rerun starts only once it has ended; "
                "nothing was uploaded or started"
            )
        else:
            print(
                f"run {run_id} was already started (status {status}); nothing was uploaded or started again"
            )
        print(f"  see it with: {hints.command('status', run_id)}")
        if rerunnable:
            print(f"  it ended {status}: start it again, as a new run, with: {doc['rerun']}")
    if args.wait:
        return follow(args, clients, deployment, run_id)
    return EXIT_OK


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
    _add_estimate(subparsers)
    _add_start(subparsers)
    _add_status(subparsers)
    add_watch(subparsers)
    _add_list(subparsers)
    _add_approve(subparsers)
    _add_reject(subparsers)
    _add_cancel(subparsers)
    _add_report(subparsers)

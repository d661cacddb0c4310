"""The commands that begin a run of ``bedrock-customize``: estimate and start.

Both read a run spec and run the same preflight (the dataset validation, the account's quotas, the
prices): ``estimate`` stops at the price of the run; ``start`` checks the base model live, uploads
the datasets, asks before a run that buys throughput, starts the workflow under the run's idempotent
id (or the next attempt's, with ``--rerun``) and, with ``--wait``, follows it as ``watch`` does.
Apart from :mod:`pipeline.operate.commands_runs` (the commands on a run that exists) because
everything here happens before there is a run. Registered by
:func:`pipeline.operate.commands.register`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pipeline import naming
from pipeline.operate import hints, output
from pipeline.operate.cli_options import (
    CLI,
    aws_options,
    json_option,
    offline_option,
    parser_for,
    yes_option,
)
from pipeline.operate.commands_watch import follow, follow_options
from pipeline.operate.errors import EXIT_INVALID, EXIT_OK, EXIT_OPERATIONAL, InvalidInputError, guarded


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


def register(subparsers: Any) -> None:
    """Add the commands that begin a run, in the order `--help` lists them."""
    _add_estimate(subparsers)
    _add_start(subparsers)

"""The serving-slot commands. Registered by :func:`pipeline.operate.commands.register`.

- ``bedrock-customize slots``: every serving slot of an environment (its endpoint, champion, since
  when, from which run, and a promotion in progress); ``slots show NAME``: one slot with the
  champions its history keeps for rollback. Read only: the SSM documents and the lock table.
- ``bedrock-customize rollback NAME [--to RUN]``: the slot back to an earlier champion, in place,
  with the promotion's rules (:mod:`pipeline.operate.slot_rollback`).
- ``bedrock-customize promote RUN --slot NAME``: an earlier run's model into a slot, by a run of the
  workflow that evaluates it against the slot's champion first (:mod:`pipeline.operate.promote`).

A promotion is made by a run (the workflow's slots function holds the slot's lock meanwhile).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from pipeline import slots
from pipeline.operate import hints, output
from pipeline.operate.cli_options import CLI, aws_options, deployment_context, parser_for, yes_option
from pipeline.operate.commands_watch import follow_options
from pipeline.operate.errors import EXIT_OK, EXIT_OPERATIONAL, InvalidInputError, guarded


def register(subparsers: Any) -> None:
    _add_rollback(subparsers)
    _add_promote(subparsers)
    parser = parser_for(
        subparsers,
        "slots",
        "serving slots: the endpoint each use case calls, its champion and the champions before it",
        "A serving slot (run spec serving.slot) is one endpoint whose ARN never changes: the first run "
        "promoted into it made its endpoint, every later one changed the model behind it in place after "
        "beating the champion. Without arguments: every slot of the environment (slot, endpoint ARN, "
        "champion, since, run, pending promotion). `slots show NAME`: one slot and the earlier champions "
        "kept for rollback (their custom models are never swept).",
        f"  {CLI} slots\n  {CLI} slots show support-answers --env prod --region us-east-1",
    )
    parser.add_argument("action", nargs="?", choices=("show",), metavar="show", help="show one slot")
    parser.add_argument("name", nargs="?", metavar="NAME", help="the slot to show")
    aws_options(parser)
    parser.set_defaults(handler=cmd_slots)


def _add_rollback(subparsers: Any) -> None:
    parser = parser_for(
        subparsers,
        "rollback",
        "change a serving slot back to an earlier champion (same endpoint), smoke-checked",
        "Change the model behind a serving slot back to an earlier champion of its history (the last "
        "one, or --to RUN's), in place: the slot's ARN does not change. Takes the slot's lock (refused "
        "while a promotion holds it), waits for the change, smoke-checks through the slot's ARN and "
        "records it (the champion it replaces goes first in the history, so a rollback can be rolled "
        "back). If the change fails, does not end within --timeout, or the slot does not answer, the "
        "slot is changed back to its champion and nothing is recorded. Asks for confirmation.",
        f"  {CLI} rollback support-answers --env prod\n  {CLI} rollback support-answers --to "
        "support-answers-3f9a2c1b7d --yes",
    )
    parser.add_argument("name", metavar="NAME", help="the serving slot")
    parser.add_argument("--to", metavar="RUN", help="the earlier champion's run (default: the last one)")
    parser.add_argument(
        "--timeout",
        default="60m",
        metavar="AGE",
        help="how long the change may take before the slot is changed back, e.g. 30m, 2h (default: 60m)",
    )
    yes_option(parser, "roll back")
    aws_options(parser)
    parser.set_defaults(handler=cmd_rollback)


def _add_promote(subparsers: Any) -> None:
    parser = parser_for(
        subparsers,
        "promote",
        "promote an earlier run's model into a serving slot, after it beats the slot's champion",
        "Start a run that promotes the custom model of an earlier run (ended, its model past its bars) "
        "into a serving slot. Nothing is trained: the model is evaluated again, on the earlier spec's "
        "prompts and bars, "
        "against its base model and the champion serving in the slot now (the earlier run's verdict was "
        "against another champion, or none). Only if it passes (and after the approval the spec's policy "
        "or the stack asks for) is the slot changed in place, smoke-checked through its ARN and recorded; "
        "a failed change or smoke check changes the slot back. A slot that does not exist yet is created "
        "as the earlier spec serves. The run id is RUN-p<n>. Asks for confirmation.",
        f"  {CLI} promote support-answers-3f9a2c1b7d --slot support-answers --env prod\n"
        f"  {CLI} promote support-answers-3f9a2c1b7d --slot support-answers --yes --wait",
    )
    parser.add_argument("run", metavar="RUN", help="the earlier run whose model to promote")
    parser.add_argument("--slot", required=True, metavar="NAME", help="the serving slot to promote into")
    yes_option(parser, "start the promotion")
    parser.add_argument(
        "--wait", action="store_true", help="then follow the promotion as `watch` does until it ends"
    )
    follow_options(parser, "with --wait: ")
    aws_options(parser)
    parser.set_defaults(handler=cmd_promote)


@guarded
def cmd_promote(args: argparse.Namespace) -> int:
    from pipeline.operate import promote, run_lookup, slot_docs, start

    problem = slots.slot_name_problem(args.slot)
    if problem is not None:
        raise InvalidInputError(problem.replace("serving.slot", "--slot"))
    clients, deployment = deployment_context(args)
    sfn = clients("stepfunctions")

    def describe(rid: str) -> dict[str, Any] | None:
        return run_lookup.describe_execution(sfn, deployment, rid)

    source_id, described, chain = promote.resolve_source(describe, args.run)
    if described is None:
        raise run_lookup.unknown_run(source_id, deployment)
    if chain:
        output.note(f"run {args.run} promoted run {source_id}'s model: promoting that model")
    slot = slot_docs.read_one(clients("ssm"), deployment.environment, args.slot)
    spec = promote.spec_into_slot(promote.source_spec(described, source_id), args.slot, slot)
    source = promote.check_source(
        clients("bedrock"),
        lambda name: run_lookup.read_run_json(clients, deployment, source_id, name),
        source_id,
        spec,
        slot,
    )
    run_id = promote.next_run_id(describe, source_id)
    stream = sys.stderr if args.json else sys.stdout
    against = (
        f"against its base model and the champion of slot {slot.name} (run {slot.champion.run_id}, "
        f"{output.short_arn(slot.champion.model_arn)}); if it passes, the slot's endpoint "
        f"{slot.endpoint_arn} changes to it in place"
        if slot is not None
        else f"against its base model; if it passes, slot {args.slot} is created on what the spec serves "
        f"({spec.serving.mode})"
    )
    print(
        f"promote run {source_id}'s model ({output.short_arn(source.model_arn)}) as run {run_id}: evaluated "
        f"again {against}",
        file=stream,
    )
    if not output.confirm(f"Start promotion {run_id}?", assume_yes=args.yes, what="starting a promotion"):
        output.note("nothing started")
        return EXIT_OPERATIONAL
    execution_arn, started = start.start_execution(
        sfn, deployment, run_id, spec, caller=clients("approval-url"), promote_from=source_id
    )
    doc = {
        "runId": run_id,
        "promoteFrom": source_id,
        "slot": args.slot,
        "modelArn": source.model_arn,
        "executionArn": execution_arn,
        "started": started,
    }
    if args.json and not args.wait:
        output.emit_json(doc)
    elif not args.json:
        print(f"started promotion {run_id}" if started else f"promotion {run_id} was already started")
        print(f"  follow it: {hints.command('watch', run_id)}")
    if args.wait:
        from pipeline.operate.commands_watch import follow

        return follow(args, clients, deployment, run_id)
    return EXIT_OK


@guarded
def cmd_rollback(args: argparse.Namespace) -> int:
    from pipeline.operate import slot_docs, slot_rollback, sweep

    timeout = sweep.check_age(args.timeout)
    problem = slots.slot_name_problem(args.name)
    if problem is not None:
        raise InvalidInputError(problem.replace("serving.slot", "NAME"))
    clients, deployment = deployment_context(args)
    if not deployment.slot_lock_table:
        raise InvalidInputError(
            f"the {deployment.environment} stack names no slot lock table: a rollback needs the slot's lock",
            hint="redeploy the stack (make deploy), then roll back",
        )
    slot = slot_docs.read_one(clients("ssm"), deployment.environment, args.name)
    if slot is None:
        raise InvalidInputError(
            f"no serving slot {args.name} in environment {deployment.environment}",
            hint=f"see the slots there: `{hints.command('slots')}`",
        )
    try:
        target = slots.rollback_target(slot, args.to)
    except slots.SlotError as exc:
        raise InvalidInputError(
            str(exc), hint=f"see its history: `{hints.command('slots', 'show', slot.name)}`"
        ) from exc
    stream = sys.stderr if args.json else sys.stdout
    print(
        f"roll slot {slot.name} ({slot.endpoint_arn}) back from run {slot.champion.run_id} "
        f"({output.short_arn(slot.champion.model_arn)}) to run {target.run_id} "
        f"({output.short_arn(target.model_arn)}, promoted {_since(target)})",
        file=stream,
    )
    if not output.confirm(f"Roll slot {slot.name} back?", assume_yes=args.yes, what="rolling back"):
        output.note("nothing changed")
        return EXIT_OPERATIONAL
    done = slot_rollback.roll_back(
        clients,
        deployment.environment,
        deployment.slot_lock_table,
        slot,
        target,
        timeout_s=timeout.total_seconds(),
    )
    if args.json:
        output.emit_json(
            {"slot": done.slot.to_dict(), "replaced": done.replaced.to_dict(), "smoke": done.smoke}
        )
        return EXIT_OK
    print(f"slot {slot.name} serves run {target.run_id}'s model again ({done.smoke})")
    print(f"See it: {hints.command('slots', 'show', slot.name)}")
    return EXIT_OK


@guarded
def cmd_slots(args: argparse.Namespace) -> int:
    from pipeline.operate import slot_docs

    if args.action is None and args.name is not None:
        raise InvalidInputError(
            f"unexpected {args.name!r}",
            hint=f"to see one slot: `{hints.command('slots', 'show', args.name)}`",
        )
    if args.action == "show":
        if args.name is None:
            raise InvalidInputError(
                "slots show needs the slot's NAME", hint=f"list them: `{hints.command('slots')}`"
            )
        problem = slots.slot_name_problem(args.name)
        if problem is not None:
            raise InvalidInputError(problem.replace("serving.slot", "NAME"))
    clients, deployment = deployment_context(args)
    now = dt.datetime.now(dt.UTC)
    table = getattr(deployment, "slot_lock_table", None)
    if args.action == "show":
        slot = slot_docs.read_one(clients("ssm"), deployment.environment, args.name)
        if slot is None:
            raise InvalidInputError(
                f"no serving slot {args.name} in environment {deployment.environment}",
                hint=f"see the slots there: `{hints.command('slots')}`",
            )
        busy = slot_docs.pending(clients("dynamodb"), table, slot.name, now)
        return _show(args, slot, busy, table is not None)
    found = slot_docs.read_all(clients("ssm"), deployment.environment)
    for parameter, why in found.unreadable:
        output.note(f"unreadable slot document {parameter}: {why}")
    busy_by = {s.name: slot_docs.pending(clients("dynamodb"), table, s.name, now) for s in found.slots}
    if args.json:
        output.emit_json([{**s.to_dict(), "pending": busy_by[s.name]} for s in found.slots])
        return EXIT_OK
    if not found.slots:
        print(f"no serving slots in environment {deployment.environment} ({clients.region})")
        return EXIT_OK
    rows = [
        [
            s.name,
            s.endpoint_arn,
            output.short_arn(s.champion.model_arn),
            _since(s.champion),
            s.champion.run_id,
            busy_by[s.name] or ("-" if table else "unknown"),
        ]
        for s in found.slots
    ]
    print(output.table(["SLOT", "ENDPOINT ARN", "CHAMPION", "SINCE", "RUN", "PENDING"], rows))
    count = f"{len(found.slots)} serving slot{'' if len(found.slots) == 1 else 's'}"
    print(f"\n{count} in environment {deployment.environment}.")
    if table is None:
        print("PENDING unknown: the stack's manifest names no slot lock table (redeploy the stack).")
    print(f"History of one: {hints.command('slots', 'show', found.slots[0].name)}")
    return EXIT_OK


def _since(champion: slots.Champion) -> str:
    return output.utc(output.parse_time(champion.promoted_at))


def _show(args: argparse.Namespace, slot: slots.Slot, busy: str | None, knows_lock: bool) -> int:
    if args.json:
        output.emit_json({**slot.to_dict(), "pending": busy})
        return EXIT_OK
    print(
        output.key_values(
            [
                ("slot", slot.name),
                ("endpoint", f"{slot.endpoint_arn} ({slot.kind}; the ARN applications call)"),
                ("base model", slot.base_model),
                ("champion", slot.champion.model_arn),
                (
                    "since",
                    f"{_since(slot.champion)} (run {slot.champion.run_id})",
                ),
                ("verdict", slot.champion.verdict or None),
                ("pending", busy or ("none" if knows_lock else "unknown (no lock table in the manifest)")),
            ]
        )
    )
    if not slot.history:
        print("\nNo earlier champion: nothing to roll back to yet.")
        return EXIT_OK
    rows = [
        [
            str(i),
            c.run_id,
            output.short_arn(c.model_arn),
            _since(c),
            c.verdict,
        ]
        for i, c in enumerate(slot.history, start=1)
    ]
    print(f"\nEarlier champions, kept for rollback (at most {slots.HISTORY_LIMIT}; never swept):")
    print(output.table(["#", "RUN", "CUSTOM MODEL", "PROMOTED", "VERDICT"], rows))
    return EXIT_OK

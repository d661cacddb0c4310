"""``bedrock-customize slots`` (every serving slot of an environment: its endpoint, champion, since
when, from which run, and a promotion in progress) and ``slots show NAME`` (one slot with the
champions its history keeps for rollback). Registered by :func:`pipeline.operate.commands.register`.

Read only: a slot changes only through a run's promotion (the workflow's slots function holds its
lock), so these commands read the SSM documents and the lock table.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from pipeline import slots
from pipeline.operate import hints, output
from pipeline.operate.cli_options import CLI, aws_options, deployment_context, parser_for
from pipeline.operate.errors import EXIT_OK, InvalidInputError, guarded


def register(subparsers: Any) -> None:
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

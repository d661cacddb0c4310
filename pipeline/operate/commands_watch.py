"""Following a run from the command line: ``watch``, and ``start --wait`` (its options and loop).

The loop and what it shows are :mod:`pipeline.operate.watch`; this module is its command: the
options, where the deployment is found (on the first look, so that an endpoint unreachable from
the start is retried like one lost later), and what is printed when the watch ends.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pipeline.operate import hints, output
from pipeline.operate.cli_options import (
    CLI,
    DEFAULT_INTERVAL,
    aws_options,
    parser_for,
    positive_float,
)
from pipeline.operate.errors import guarded


def run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run",
        metavar="RUN",
        help="run id (the execution name, e.g. support-bot-v1-3f9a2c1b7d) or execution ARN",
    )


def json_lines(parser: argparse.ArgumentParser) -> None:
    """``--json`` of a command that follows a run: JSON lines, not one document."""
    for action in parser._actions:
        if action.dest == "json":
            action.help = "one JSON object per line per change (JSON lines), the last with the run's status"


def follow_options(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """The options of following a run, shared by ``watch`` and ``start --wait``."""
    from pipeline.operate.watch import DEFAULT_GIVE_UP_AFTER, UNTIL, UNTIL_END

    parser.add_argument(
        "--interval",
        type=positive_float,
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help=f"{prefix}seconds between status checks (default: {DEFAULT_INTERVAL:g})",
    )
    parser.add_argument(
        "--until",
        choices=UNTIL,
        default=UNTIL_END,
        help=f"{prefix}stop when the run ends (end, the default), or as soon as it waits for a person "
        "to approve a purchase (approval: exit 0, then approve or reject it)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        metavar="SECONDS",
        help=f"{prefix}stop watching after this long even if the run goes on (exit 3)",
    )
    parser.add_argument(
        "--give-up-after",
        type=positive_float,
        default=DEFAULT_GIVE_UP_AFTER,
        metavar="SECONDS",
        help=f"{prefix}keep retrying AWS for this long when it cannot be reached or throttles, "
        f"backing off, before giving up (exit 4; default: {DEFAULT_GIVE_UP_AFTER:g})",
    )


def follow(args: argparse.Namespace, clients: Any, deployment: Any, run_id: str) -> int:
    """Follow the run (pipeline.operate.watch) and exit with what the watch found.

    ``deployment`` None: found on the first look, so that an endpoint that cannot be reached from
    the start is retried like one lost later (and never reported as a failed run).
    """
    from pipeline.operate import discovery, run_lookup, watch

    found: list[Any] = [deployment] if deployment is not None else []

    def look() -> Any:
        if not found:
            found.append(discovery.discover(clients, args.env))
        return run_lookup.load_run(clients, found[0], run_id)

    display = watch.display_for(sys.stdout, as_json=args.json)
    try:
        outcome = watch.follow(
            look,
            display=display,
            interval=args.interval,
            timeout=args.timeout,
            until=args.until,
            give_up_after=args.give_up_after,
        )
    except KeyboardInterrupt:
        output.note(f"stopped watching; the run goes on: `{hints.command('watch', run_id)}` follows it again")
        return watch.EXIT_INTERRUPTED
    view = outcome.view
    if args.json:
        print(
            json.dumps(
                {
                    "event": "result",
                    "exitCode": outcome.exit_code,
                    "reason": outcome.reason,
                    "error": outcome.error.render() if outcome.error else None,
                    "run": view.to_dict() if view is not None else None,
                },
                ensure_ascii=False,
                default=str,
            ),
            flush=True,
        )
    if outcome.exit_code == watch.EXIT_LOST:
        output.note(
            f"error: {outcome.reason}\n  next: the run itself goes on; when AWS answers again, "
            f"`{hints.command('watch', run_id)}` follows it again"
        )
    elif outcome.exit_code == watch.EXIT_STILL_RUNNING:
        output.note(f"{outcome.reason}; `{hints.command('watch', run_id)}` follows it again")
    elif not args.json and view is not None:
        print()
        print(view.render())
    return outcome.exit_code


def add_watch(subparsers: Any) -> None:
    from pipeline.operate.watch import EXIT_CODES

    parser = parser_for(
        subparsers,
        "watch",
        "follow a run live until it ends (or waits for approval); exit with its outcome",
        "Follow a run. On a terminal a compact panel is redrawn in place, as wide as the terminal: the "
        "stage in plain words, elapsed time and the stage's time limit, the gates passed so far, what the "
        "run waits for, the cost so far and the next command. In a pipe or CI log one timestamped line is "
        "printed per change (not per check); --json prints one JSON object per line per change, the last "
        "one with the run's full status. AWS trouble that passes (no connection, throttling, 5xx) is "
        "retried with backoff, each retry on its own line, for --give-up-after seconds.",
        f"  {CLI} watch support-nova-micro-3f9a2c1b7d\n"
        f"  {CLI} watch RUN --until approval && {CLI} approve RUN\n"
        f"  {CLI} watch RUN --interval 60 --timeout 7200 --json | jq -c .stage",
        exit_codes=EXIT_CODES,
    )
    run_args(parser)
    follow_options(parser)
    aws_options(parser)
    json_lines(parser)
    parser.set_defaults(handler=cmd_watch)


@guarded
def cmd_watch(args: argparse.Namespace) -> int:
    from pipeline.operate import aws, discovery, runs

    run_id = runs.check_run_id(args.run)
    discovery.check_env(args.env)
    return follow(args, aws.clients_for(args.region), None, run_id)

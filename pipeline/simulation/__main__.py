"""``python -m pipeline.simulation RUN_SPEC [--scenario NAME]``: the simulate command on its own."""

from __future__ import annotations

import argparse
import sys

from pipeline.simulation.cli import add_simulate_parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.simulation")
    commands = parser.add_subparsers(dest="command", required=True)
    add_simulate_parser(commands)
    args = parser.parse_args(["simulate", *(sys.argv[1:] if argv is None else argv)])
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())

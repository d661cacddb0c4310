"""``bedrock-customize sandbox [--port N] [--speed X] [--template FILE] [--scenario NAME]``.

Registered by pipeline/cli.py with ``add_sandbox_parser(subparsers)``; the handler is
``cmd_sandbox(args) -> int``. See :mod:`pipeline.simulation.sandbox`.

Exit codes: 0 stopped (Ctrl-C / SIGTERM), 1 it could not start (port in use, no synthesized
template), 2 invalid arguments (unknown scenario, a speed that is not positive).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Final

from pipeline.operate.cli_options import HelpFormatter
from pipeline.simulation import DEFAULT_TEMPLATE

EXIT_OPERATIONAL: Final = 1
EXIT_INVALID: Final = 2
_PORT: Final = 4599
_SPEED: Final = 600.0

_EPILOG: Final = """\
exit codes:
  0  stopped (Ctrl-C or SIGTERM): its runs lived in memory and are gone
  1  it could not start (the port is in use, no synthesized template: run `make synth`)
  2  invalid arguments (unknown scenario, a speed that is not positive)

then, in another terminal (`make path` prints how to put bedrock-customize on PATH):
  export AWS_ENDPOINT_URL=http://127.0.0.1:4599 \\
         AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox \\
         AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  bedrock-customize deploy-info --env sandbox
  bedrock-customize start examples/runs/fine-tuning.yaml --env sandbox --yes
  bedrock-customize watch RUN_ID --env sandbox --until approval  # until it asks
  bedrock-customize approve RUN_ID --env sandbox --yes
  bedrock-customize watch RUN_ID --env sandbox                   # until it ends

Time runs --speed times faster here: a 24-hour approval wait lasts 2.4 minutes
at 600x. The CLI shows deadlines on your clock and in sandbox time; the sandbox
prints the notifications the topic sends as they are sent. Everything lives in
memory: stopping the sandbox forgets its runs.

examples:
  bedrock-customize sandbox
  bedrock-customize sandbox --port 4600 --speed 1200
  bedrock-customize sandbox --scenario pt-failed   # see: simulate --list-scenarios
"""


def add_sandbox_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sandbox",
        help="serve a local AWS stand-in (127.0.0.1) holding the synthesized stack, for every CLI command",
        description=(
            "Start, in the foreground, a local AWS endpoint on 127.0.0.1 (moto) holding the synthesized "
            "stack as if deployed as environment 'sandbox': bucket, SSM manifest, topic, the state "
            "machine run by moto's interpreter with the project's real Lambda handlers, and a simulated "
            "Bedrock whose wall-clock timings are compressed by --speed. Point the CLI at it with "
            "AWS_ENDPOINT_URL and --env sandbox. It prints the notifications the topic sends. No AWS "
            "account, no cost; everything lives in memory until it stops."
        ),
        epilog=_EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--port",
        type=int,
        default=_PORT,
        help=f"port on 127.0.0.1 (default: {_PORT}; 0: any free port, printed on the ready line)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=_SPEED,
        help=f"how many times faster than real time the simulated world runs (default: {_SPEED:g}: "
        "a 3-hour training job takes 18 s)",
    )
    parser.add_argument(
        "--template",
        default=DEFAULT_TEMPLATE,
        metavar="FILE",
        help=f"synthesized stack template (default: {DEFAULT_TEMPLATE})",
    )
    parser.add_argument(
        "--scenario",
        default="happy",
        metavar="NAME",
        help="how the simulated Bedrock behaves (jobs, throughput, models, faults) for every run "
        "(default: happy); see `bedrock-customize simulate --list-scenarios`",
    )
    parser.add_argument("--region", default="us-east-1", help="the sandbox's region (default: us-east-1)")
    parser.add_argument(
        "--out",
        default="build/sandbox",
        metavar="DIR",
        help="where the functions' logs go (default: build/sandbox)",
    )
    parser.set_defaults(handler=cmd_sandbox)
    return parser


def cmd_sandbox(args: argparse.Namespace) -> int:
    if not 0 <= args.port < 65536:
        print(f"error: --port {args.port} is not a TCP port", file=sys.stderr)
        return EXIT_INVALID
    if not args.speed > 0:
        print(f"error: --speed {args.speed:g} must be positive", file=sys.stderr)
        return EXIT_INVALID
    from pipeline.simulation.sandbox import SandboxError, serve
    from pipeline.simulation.scenarios import ScenarioError, get_scenario
    from pipeline.simulation.template import TemplateError

    try:
        get_scenario(args.scenario)
    except ScenarioError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    try:
        return serve(
            port=args.port,
            speed=args.speed,
            template_path=args.template,
            scenario_name=args.scenario,
            region=args.region,
            out_dir=args.out,
        )
    except (SandboxError, TemplateError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_OPERATIONAL

"""``bedrock-customize simulate RUN_SPEC [--scenario NAME]``: the workflow, run offline.

Registered by pipeline/cli.py with ``add_simulate_parser(subparsers)``; the handler is
``cmd_simulate(args) -> int``.

Exit codes: 0 the execution ended as the scenario expects (SUCCEEDED for ``happy``; FAILED with
the scenario's error for a failure scenario), 3 it ended otherwise, 2 invalid run spec or scenario,
1 the simulation could not run (no synthesized template, a hang).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Final

from pipeline.operate.cli_options import HelpFormatter
from pipeline.simulation import DEFAULT_OUT, DEFAULT_SCENARIO, DEFAULT_TEMPLATE

EXIT_OK: Final = 0
EXIT_OPERATIONAL: Final = 1
EXIT_INVALID: Final = 2
EXIT_UNEXPECTED: Final = 3

_EPILOG: Final = """\
exit codes:
  0  the execution ended as the scenario expects
  1  the simulation could not run (no synthesized template: run `make synth`)
  2  invalid run spec or unknown scenario
  3  the execution ended differently from what the scenario expects

examples:
  bedrock-customize simulate examples/runs/fine-tuning.yaml
  bedrock-customize simulate examples/runs/fine-tuning.yaml --scenario approval-timeout
  bedrock-customize simulate --list-scenarios
"""


def add_simulate_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "simulate",
        help="run the synthesized workflow offline against a simulated AWS and Bedrock",
        description="Execute the synthesized Step Functions state machine in moto's interpreter with the "
        "project's real Lambda handlers, a simulated Bedrock and compressed waits: no AWS account, no cost. "
        "Prints the timeline, notifications, what was bought and the state transition count.",
        epilog=_EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "run_spec", nargs="?", metavar="RUN_SPEC", help="run spec file (.yaml, .yml or .json)"
    )
    parser.add_argument(
        "--scenario",
        default=DEFAULT_SCENARIO,
        metavar="NAME",
        help=f"what the simulated world does (default: {DEFAULT_SCENARIO}); see --list-scenarios",
    )
    parser.add_argument(
        "--template",
        default=DEFAULT_TEMPLATE,
        metavar="FILE",
        help=f"synthesized stack template holding the state machine (default: {DEFAULT_TEMPLATE})",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help=f"where the run's files, logs and report go (default: {DEFAULT_OUT}/<scenario>)",
    )
    parser.add_argument("--no-report", action="store_true", help="do not render the HTML/Markdown run report")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON document")
    parser.add_argument("--list-scenarios", action="store_true", help="list the scenarios and exit")
    parser.set_defaults(handler=cmd_simulate)
    return parser


def cmd_simulate(args: argparse.Namespace) -> int:
    # Imported here: moto, boto3 and the interpreter load only when a simulation runs.
    from pipeline.runspec import RunSpecError
    from pipeline.simulation.scenarios import ScenarioError, get_scenario, load_scenarios

    try:
        if args.list_scenarios:
            scenarios = load_scenarios()
            width = max(map(len, scenarios))
            for scenario in scenarios.values():
                print(f"{scenario.name:<{width}}  {scenario.description}")
            return EXIT_OK
        scenario = get_scenario(args.scenario)
    except ScenarioError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    if not args.run_spec:
        print("error: RUN_SPEC is required (or --list-scenarios)", file=sys.stderr)
        return EXIT_INVALID

    from pipeline.simulation.runner import SimulationError, render_text, simulate
    from pipeline.simulation.template import TemplateError

    try:
        result = simulate(args.run_spec, scenario, args.template, out_dir=args.out, report=not args.no_report)
    except RunSpecError as error:
        print(str(error), file=sys.stderr)
        return EXIT_INVALID
    except (TemplateError, SimulationError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_OPERATIONAL
    problems = result.expectation_problems(outcome_only=True)
    if args.json:
        print(json.dumps(result.to_dict() | {"expectationProblems": problems}, indent=2, default=str))
    else:
        text = render_text(result)
        body, _, status = text.rpartition("\n")
        print(body)
        for problem in problems:
            print(f"unexpected for scenario {scenario.name}: {problem}")
        print(status)
    return EXIT_UNEXPECTED if problems else EXIT_OK

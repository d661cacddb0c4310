"""Re-measure scenarios against their expectations: ``python -m pipeline.simulation.remeasure [NAME...]``.

Runs each scenario (all of them without names) on the synthesized template (``make synth`` first)
and prints, per scenario, its end, its transitions against ``expect.transitions`` and whether its
path is ``expect.path``: what the README's transition table and scenarios.json must say after a
change to the workflow. Exit 1 when any differs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from pipeline.simulation import DEFAULT_TEMPLATE
from pipeline.simulation.runner import simulate
from pipeline.simulation.scenarios import load_scenarios

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> int:
    scenarios = load_scenarios()
    names = argv or list(scenarios)
    unknown = [n for n in names if n not in scenarios]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    differs = 0
    with tempfile.TemporaryDirectory() as out:
        for name in names:
            scenario = scenarios[name]
            result = simulate(
                ROOT / scenario.spec, scenario, DEFAULT_TEMPLATE, out_dir=Path(out) / name, report=False
            )
            expect = scenario.expect
            same_path = result.path == expect.get("path")
            same = (
                same_path
                and result.transitions == expect.get("transitions")
                and result.status == expect["status"]
            )
            differs += not same
            print(
                f"{'ok  ' if same else 'DIFF'} {name}: {result.status} {result.error or ''}".rstrip()
                + f", {result.transitions} transitions (expected {expect.get('transitions')})"
                + ("" if same_path else ", path differs")
            )
            if not same_path:
                print(f"     path: {result.path}")
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

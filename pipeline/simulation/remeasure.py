"""Re-measure scenarios against their expectations: ``python -m pipeline.simulation.remeasure``.

``[--write] [NAME...]``.
Runs each scenario (all of them without names) on the synthesized template (``make synth`` first)
and prints, per scenario, its end, its transitions against ``expect.transitions`` and whether its
path is ``expect.path``: what the README's transition table and scenarios.json must say after a
change to the workflow. Exit 1 when any differs.

``--write`` puts the measured ``transitions`` and ``path`` (loops folded into ``{"repeat", "times"}``)
into scenarios.json for each scenario that ended as expected (same status and error) but took
another path or count; a scenario that ended otherwise is left for a person to look at (exit 1).
The README's table is then updated by hand from the printed counts.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from pipeline.simulation import DEFAULT_TEMPLATE
from pipeline.simulation.runner import simulate
from pipeline.simulation.scenarios import SCENARIOS_FILE, expand_path, load_scenarios

ROOT = Path(__file__).resolve().parents[2]
# Loop bodies are folded from the longest that repeats: a status check is three states.
_LOOP_SIZES = (4, 3, 2, 1)


def fold(path: list[str]) -> list[Any]:
    """``path`` with each run of a repeated block written ``{"repeat": block, "times": n}``."""
    folded: list[Any] = []
    i = 0
    while i < len(path):
        best: tuple[list[str], int] | None = None
        for size in _LOOP_SIZES:
            block = path[i : i + size]
            if len(block) < size:
                continue
            times = 1
            while path[i + times * size : i + (times + 1) * size] == block:
                times += 1
            if times > 1 and (best is None or times * size > best[1] * len(best[0])):
                best = (block, times)
        if best is None:
            folded.append(path[i])
            i += 1
            continue
        block, times = best
        # A loop that ends part-way through its body (a status check that found it ready) is
        # written as scenarios.json writes it: that part first, then the loop from its wait.
        after = path[i + times * len(block) :]
        lead = 0
        while lead < len(block) - 1 and lead < len(after) and after[lead] == block[lead]:
            lead += 1
        folded += block[:lead]
        folded.append({"repeat": block[lead:] + block[:lead], "times": times})
        i += lead + times * len(block)
    if expand_path(folded) != path:  # pragma: no cover - folding is lossless by construction
        raise AssertionError("folding changed the path")
    return folded


def main(argv: list[str]) -> int:
    write = "--write" in argv
    names = [a for a in argv if a != "--write"]
    scenarios = load_scenarios()
    names = names or list(scenarios)
    unknown = [n for n in names if n not in scenarios]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    differs = 0
    measured: dict[str, tuple[int, list[str]]] = {}
    with tempfile.TemporaryDirectory() as out:
        for name in names:
            scenario = scenarios[name]
            result = simulate(
                ROOT / scenario.spec, scenario, DEFAULT_TEMPLATE, out_dir=Path(out) / name, report=False
            )
            expect = scenario.expect
            same_path = result.path == expect.get("path")
            same_end = result.status == expect["status"] and result.error == expect.get("error", result.error)
            same = same_path and result.transitions == expect.get("transitions") and same_end
            if write and same_end and not same:
                measured[name] = (result.transitions, result.path)
            else:
                differs += not same
            print(
                f"{'ok  ' if same else 'NEW ' if name in measured else 'DIFF'} {name}: {result.status} "
                f"{result.error or ''}".rstrip()
                + f", {result.transitions} transitions (expected {expect.get('transitions')})"
                + ("" if same_path else ", path differs")
            )
            if not same_path and name not in measured:
                print(f"     path: {result.path}")
    if measured:
        _write(measured)
    return 1 if differs else 0


def _write(measured: dict[str, tuple[int, list[str]]]) -> None:
    path = ROOT / "pipeline" / "simulation" / SCENARIOS_FILE
    document = json.loads(path.read_text(encoding="utf-8"))
    for item in document["scenarios"]:
        if item["name"] in measured:
            transitions, states = measured[item["name"]]
            item["expect"]["transitions"] = transitions
            item["expect"]["path"] = fold(states)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(measured)} scenario(s) to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

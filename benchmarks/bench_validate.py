"""Benchmark the streaming validator against bare ``json.loads`` on the same JSONL file.

    python benchmarks/bench_validate.py                 # generates 1,024 MiB, runs both, deletes it
    python benchmarks/bench_validate.py --size-mb 64    # quicker
    python benchmarks/bench_validate.py --path big.jsonl  # use this file (generated there if missing)

Both contenders run in their own child process so that their peak RSS (``ru_maxrss`` from
``os.wait4`` on that child) is not mixed up; the timing covers only reading and checking the file,
not interpreter start-up. Targets: validator throughput at least half the baseline's, and peak RSS
below 200 MiB whatever the file size. The generated data is in the Bedrock conversation format and
is valid record by record; a 1 GiB file exceeds every model's record-count maximum, which is fine:
the validator still streams the whole file and reports the count problem at the end.

``--check`` makes the exit code 1 when a target is missed (for CI).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
MODEL = "amazon.nova-micro-v1:0:128k"
MIN_RATIO = 0.5
MAX_RSS_MIB = 200

_WORDS = [
    "order",
    "shipping",
    "tent",
    "backpack",
    "warranty",
    "return",
    "refund",
    "size",
    "color",
    "delivery",
    "weather",
    "trail",
    "camp",
    "stove",
    "water",
    "filter",
    "jacket",
    "insulation",
    "waterproof",
    "seam",
    "zipper",
    "strap",
    "buckle",
    "frame",
    "pole",
    "stake",
    "rain",
    "fly",
    "footprint",
    "ventilation",
    "condensation",
    "sleeping",
    "bag",
    "rating",
    "comfort",
    "limit",
    "down",
    "synthetic",
    "café",
    "naïve",
    "altitude",
    "route",
    "map",
    "compass",
    "battery",
    "headlamp",
    "lumen",
    "charge",
    "cable",
    "store",
    "member",
    "discount",
    "invoice",
]


def _paragraphs(rng: random.Random, count: int, low: int, high: int) -> list[str]:
    pool = []
    for _ in range(count):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(low, high))]
        pool.append(" ".join(words).capitalize() + ".")
    return pool


def generate(path: Path, size_bytes: int) -> int:
    """Write conversation records until the file reaches ``size_bytes``; returns the record count."""
    rng = random.Random(20240307)
    systems = _paragraphs(rng, 50, 8, 30)
    questions = _paragraphs(rng, 2000, 8, 60)
    answers = _paragraphs(rng, 2000, 20, 160)
    records = 0
    written = 0
    with path.open("w", encoding="utf-8", buffering=8 * MIB) as out:
        while written < size_bytes:
            turns = []
            for turn in range(1 + records % 3):
                # The ticket number makes every record unique, so duplicate detection stays quiet.
                question = questions[(records * 7 + turn) % len(questions)]
                if turn == 0:
                    question = f"Ticket {records}: {question}"
                turns.append({"role": "user", "content": [{"text": question}]})
                turns.append(
                    {
                        "role": "assistant",
                        "content": [{"text": answers[(records * 13 + turn) % len(answers)]}],
                    }
                )
            record: dict[str, Any] = {"schemaVersion": "bedrock-conversation-2024"}
            if records % 10 < 7:
                record["system"] = [{"text": systems[records % len(systems)]}]
            record["messages"] = turns
            line = json.dumps(record, ensure_ascii=False) + "\n"
            out.write(line)
            written += len(line.encode("utf-8"))
            records += 1
    return records


# --------------------------------------------------------------------------------------------------
# Workers (run in child processes)
# --------------------------------------------------------------------------------------------------


def work_baseline(path: str) -> dict[str, Any]:
    started = time.perf_counter()
    records = 0
    with open(path, "rb", buffering=MIB) as stream:  # noqa: PTH123 - the plainest possible loop
        for line in stream:
            json.loads(line)
            records += 1
    return {"seconds": time.perf_counter() - started, "records": records}


def work_validator(path: str) -> dict[str, Any]:
    from pipeline.datasets import validate_dataset  # imported in the child only

    started = time.perf_counter()
    report = validate_dataset(path, MODEL, "FINE_TUNING", max_errors=20)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "records": report.records,
        "validRecords": report.valid_records,
        "errorCounts": report.error_counts,
        "warningCounts": report.warning_counts,
    }


WORKERS = {"baseline": work_baseline, "validator": work_validator}


def run_child(mode: str, path: Path) -> dict[str, Any]:
    """Run one worker in a fresh interpreter; add its own peak RSS from the kernel's accounting."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", mode, str(path)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} worker failed with exit code {proc.returncode}")
    result: dict[str, Any] = json.loads(output)
    result["peak_rss_mib"] = usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size-mb", type=int, default=1024, help="size of the generated file in MiB (default 1024)"
    )
    parser.add_argument(
        "--path", type=Path, help="use this file; if missing it is generated there (and deleted afterwards)"
    )
    parser.add_argument("--keep", action="store_true", help="keep a file this run generated")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("worker_path", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(WORKERS[args.worker](args.worker_path)))
        return 0

    temp_dir = tempfile.TemporaryDirectory(prefix="bench-validate-") if args.path is None else None
    path = args.path if temp_dir is None else Path(temp_dir.name) / "conversation.jsonl"
    generated = not path.exists()
    try:
        if generated:
            started = time.perf_counter()
            count = generate(path, args.size_mb * MIB)
            print(f"generated {path} with {count:,} records in {time.perf_counter() - started:.1f} s")
        size = path.stat().st_size
        results = {mode: run_child(mode, path) for mode in ("baseline", "validator")}
    finally:
        if generated and not args.keep:
            path.unlink(missing_ok=True)
        if temp_dir is not None:
            temp_dir.cleanup()

    print(
        f"\nfile: {size / MIB:,.1f} MiB, {results['baseline']['records']:,} "
        f"lines (conversation format, {MODEL})"
    )
    print(f"{'':<10} {'seconds':>9} {'MiB/s':>9} {'peak RSS MiB':>13}")
    throughput = {}
    for mode, result in results.items():
        throughput[mode] = size / MIB / result["seconds"]
        print(
            f"{mode:<10} {result['seconds']:>9.2f} {throughput[mode]:>9.1f} {result['peak_rss_mib']:>13.1f}"
        )
    ratio = throughput["validator"] / throughput["baseline"]
    rss = results["validator"]["peak_rss_mib"]
    ratio_ok = ratio >= MIN_RATIO
    rss_ok = rss < MAX_RSS_MIB
    print(
        f"\nthroughput ratio validator/baseline: {ratio:.2f} (target "
        f">= {MIN_RATIO}) {'OK' if ratio_ok else 'MISSED'}"
    )
    print(f"validator peak RSS: {rss:.1f} MiB (target < {MAX_RSS_MIB}) {'OK' if rss_ok else 'MISSED'}")
    print(
        f"validator findings: errors {results['validator']['errorCounts']}, "
        f"warnings {results['validator']['warningCounts']}"
    )
    return 1 if args.check and not (ratio_ok and rss_ok) else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The README's layout section matches the tree: every package, module and handler it names exists,
and every one that exists is named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def layout() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Layout\n", 1)[1]
    return section.split("```", 2)[1]


def block(first: str) -> str:
    """The lines of one top-level entry (``pipeline/``, ``lambdas/``, ...) of the layout."""
    lines = layout().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    end = next((i for i in range(start + 1, len(lines)) if lines[i][:1].strip()), len(lines))
    return "\n".join(lines[start:end])


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z_][a-z0-9_]*", text))


def modules(directory: Path) -> set[str]:
    return {p.stem for p in directory.glob("*.py") if p.stem not in ("__init__", "__main__")}


def packages(directory: Path) -> set[str]:
    return {p.parent.name for p in directory.glob("*/__init__.py")}


def test_every_top_level_entry_of_the_layout_exists_and_every_directory_is_in_it() -> None:
    named = {line.split()[0] for line in layout().splitlines() if line[:1].strip()}
    assert all((ROOT / name).exists() for name in named), named
    for directory in ("infra", "pipeline", "lambdas", "tests", "examples", "benchmarks", "docs"):
        assert f"{directory}/" in named


@pytest.mark.parametrize("top", ["pipeline", "infra"])
def test_every_module_and_package_of_pipeline_and_infra_is_named_and_exists(top: str) -> None:
    text = block(f"{top}/")
    missing = {m for m in modules(ROOT / top) if m not in words(text) and f"{m}.py" not in text}
    missing |= {p for p in packages(ROOT / top) if f"{p}/" not in text}
    assert not missing, f"add to the README's layout under {top}/: {sorted(missing)}"
    directories = {p.name for p in (ROOT / top).rglob("*") if p.is_dir()} | {top}
    gone = set(re.findall(r"([a-z_][a-z0-9_]*)/", text)) - directories
    assert not gone, f"the README's layout names {sorted(gone)} under {top}/, which do not exist"


def test_the_handlers_named_are_the_handlers_there_are() -> None:
    text = " ".join(block("lambdas/").split())
    names = text.split("pipeline/:", 1)[1].split("common/", 1)[0]
    listed = {t.strip() for t in re.split(r"[,;]|behind function URLs:", names) if t.strip()}
    handlers = {p.parent.name for p in (ROOT / "lambdas").glob("*/handler.py")}
    assert listed == handlers, f"README lists {sorted(listed - handlers)} but not {sorted(handlers - listed)}"

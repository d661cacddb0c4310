"""pipeline.money: how an amount reads, the same in the CLI, the report and the handlers' messages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipeline.money import UNKNOWN, format_usd, unit_price, usd, usd_rate

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (14965.0, "$14,965.00"),
        (20.5, "$20.50"),
        (0, "$0.00"),
        (0.0095, "$0.0095"),  # below a cent: four decimals, never $0.00 for a cost that exists
        (0.00002, "< $0.0001"),
        (None, "unknown"),
        (True, "unknown"),
        ("12", "unknown"),
    ],
)
def test_an_amount_reads_in_dollars_and_unknown_is_never_zero(value: object, text: str) -> None:
    assert usd(value) == text


def test_a_rate_keeps_its_unit_and_a_unit_price_keeps_every_digit() -> None:
    assert usd_rate(1.2, "hour") == "$1.20/hour"
    assert usd_rate(None, "hour") == f"{UNKNOWN}/hour"
    assert unit_price(0.035) == "$0.035"
    assert unit_price(20.5) == "$20.5"
    assert format_usd(0.0029) == "$0.0029"


def test_no_module_formats_dollars_with_its_own_f_string() -> None:
    """Dollars are written by pipeline.money only: an f-string with "$" next to a formatted value
    elsewhere is a second formatter (the drift that once showed sub-cent costs as $0.00)."""
    found = []
    for top in ("pipeline", "lambdas", "infra"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if path.name == "money.py" and path.parent.name == "pipeline":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.JoinedStr):
                    continue
                for before, after in zip(node.values, node.values[1:], strict=False):
                    if (
                        isinstance(before, ast.Constant)
                        and isinstance(before.value, str)
                        and before.value.endswith("$")
                        and isinstance(after, ast.FormattedValue)
                        and after.format_spec is not None
                    ):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, f"dollars formatted outside pipeline.money: {found}"

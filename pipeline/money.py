"""How an amount of money reads: dollars with cents, a price as the catalog states it, a rate, a sum
whose parts may have no price. Unknown is never $0: an amount that is not known reads "unknown",
an amount too small to show reads "< $0.0001", and a sum with unpriced parts names them.

One module for the CLI, the report and the Lambda handlers' messages (pure Python: the handlers'
assets hold it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

UNKNOWN: Final = "unknown"
# format_usd shows amounts below a cent to four decimals; below half of the last one it would
# print $0.0000, which reads as free.
_SMALLEST: Final = 0.00005


def format_usd(amount: float) -> str:
    """Dollars with cents, or with four decimals for amounts below a cent (small example runs)."""
    return f"${amount:,.4f}" if 0 < amount < 0.01 else f"${amount:,.2f}"


def usd(value: object) -> str:
    """An amount for people: ``$1,234.50``, ``$0.0029``, ``< $0.0001``, or ``unknown`` for anything
    that is not a number (None, a missing field), never $0.00."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return UNKNOWN
    return "< $0.0001" if 0 < value < _SMALLEST else format_usd(float(value))


def usd_rate(value: object, unit: str) -> str:
    """``$1.23/hour``, or ``unknown/hour``: the unit stays, so a sentence around it still reads."""
    return f"{usd(value)}/{unit}"


def unit_price(value: float) -> str:
    """A unit price as the catalog states it, every digit kept: ``$0.035`` (per 1M tokens), ``$20.5``."""
    return f"${value:g}"


@dataclass(frozen=True)
class Money:
    """A sum of cost parts, some of which may have no price: never shown as less than it is.

    A part without a price is named, not folded into the total: ``at least $0.0029 + training
    (no price)``. A sum where no part has a price is ``unknown``, never ``>= $0.00``.
    """

    known: float
    unknown_parts: tuple[str, ...] = ()
    priced_parts: tuple[str, ...] = ()

    @classmethod
    def of(cls, parts: Mapping[str, float | None]) -> Money:
        return cls(
            sum(v for v in parts.values() if v is not None),
            tuple(name for name, v in parts.items() if v is None),
            tuple(name for name, v in parts.items() if v is not None),
        )

    @property
    def complete(self) -> bool:
        return not self.unknown_parts

    @property
    def priced(self) -> bool:
        """Some part has a price (or there is no part at all: nothing billed)."""
        return bool(self.priced_parts) or self.complete

    def _missing(self) -> str:
        return ", ".join(self.unknown_parts)

    def __str__(self) -> str:
        if self.complete:
            return usd(self.known)
        if not self.priced_parts:
            return f"{UNKNOWN} (no price for {self._missing()})"
        return f"{self.lower_bound()} + {self._missing()} (no price)"

    def lower_bound(self) -> str:
        """``at least $1.20`` (or ``< $0.0001`` when what is known is less than that)."""
        amount = usd(self.known)
        return amount if amount.startswith("<") else f"at least {amount}"

    def per(self, unit: str) -> str:
        """The sum as a rate: ``$492.00 per day``, ``at least $9.00 per day + x (no price)``, ``unknown``."""
        if self.complete:
            return f"{usd(self.known)} per {unit}"
        if not self.priced_parts:
            return f"{UNKNOWN} per {unit} (no price for {self._missing()})"
        return f"{self.lower_bound()} per {unit} + {self._missing()} (no price)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "knownUsd": round(self.known, 4) if self.priced_parts or self.complete else None,
            "complete": self.complete,
            "usd": round(self.known, 4) if self.complete else None,
            "unknownParts": list(self.unknown_parts),
            "pricedParts": list(self.priced_parts),
        }

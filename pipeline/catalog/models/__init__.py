"""The catalog's data: one entry per customizable base model, one module per family.

The order of ``ENTRIES`` is the catalog order (``bedrock-customize models``, alternatives).
"""

from __future__ import annotations

from typing import Final

from pipeline.catalog.entry import ModelEntry
from pipeline.catalog.models import anthropic, meta, nova, titan

ENTRIES: Final[tuple[ModelEntry, ...]] = nova.ENTRIES + titan.ENTRIES + anthropic.ENTRIES + meta.ENTRIES

"""The model catalog (being split into a package; this commit only moves the module).

Transitional: ``pipeline.catalog`` is the ``types`` module itself, so every import name and the
``catalog.today_utc`` clock tests replace behave exactly as before the move.
"""

import sys

from pipeline.catalog import types as _types

sys.modules[__name__] = _types

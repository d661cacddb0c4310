"""``python -m pipeline`` runs the same CLI as the ``bedrock-customize`` console script."""

from __future__ import annotations

from pipeline.cli import main

raise SystemExit(main())

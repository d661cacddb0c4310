#!/usr/bin/env python3
"""Composition root: read typed config once, build the stacks, synthesize. No AWS calls."""

from __future__ import annotations

import sys

from aws_cdk import App

from infra.app_builder import build_app
from infra.config import ConfigError


def main() -> int:
    app = App()
    try:
        build_app(app)
    except ConfigError as err:
        # A configuration mistake is the user's to fix: print it plainly, not as a traceback.
        print(f"error: {err}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Customize Amazon Bedrock models as code: catalog, run specs, preflight validation and the CLI.

Everything a Lambda handler imports from this package uses only the standard library and boto3 at
module level (the Lambda runtime ships boto3 but not PyYAML); YAML is imported lazily where a run
spec file is read.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"

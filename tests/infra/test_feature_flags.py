"""Every CDK feature flag is configured in cdk.json: the CDK CLI prints no "N feature flags are not
configured" notice on every synth.

The flags were set with ``cdk flags --unstable=flags --safe`` (each flag's recommended value where
the templates stay the same; the synthesized templates were compared with asset hashes masked),
``@aws-cdk/core:enableAdditionalMetadataCollection`` kept off (it would send more construct
metadata to AWS; the templates' CDKMetadata changes) and ``@aws-cdk/core:defaultCrossStackReferences``
at its recommended ``weak`` (one stack per environment: no cross-stack reference). After a CDK
upgrade, run ``node_modules/.bin/cdk flags --unstable=flags --safe`` again.
"""

from __future__ import annotations

import json
from typing import Any

from tests.infra.conftest import Synthesized

# What the CLI leaves out of its notice (aws-cdk lib/commands/flags/obsolete-flags.js).
OBSOLETE = frozenset(
    {
        "@aws-cdk/core:enableStackNameDuplicates",
        "@aws-cdk/aws-s3:grantWriteWithoutAcl",
        "@aws-cdk/aws-kms:defaultKeyPolicies",
    }
)


def _needs_attention(name: str, flag: dict[str, Any]) -> bool:
    """The CLI's rule (FlagOperations.filterNeedsAttention): not set by the user, and its default
    differs from the recommended value."""
    default = (flag.get("unconfiguredBehavesLike") or {}).get("v2", False)
    return name not in OBSOLETE and "userValue" not in flag and default != flag.get("recommendedValue")


def test_no_feature_flag_is_left_unconfigured(synthesized: Synthesized) -> None:
    manifest = json.loads((synthesized.outdir / "manifest.json").read_text(encoding="utf-8"))
    reports = [a for a in manifest["artifacts"].values() if a.get("type") == "cdk:feature-flag-report"]
    assert reports, "the cloud assembly has no feature-flag report"
    flags = {name: flag for report in reports for name, flag in report["properties"]["flags"].items()}

    unconfigured = sorted(name for name, flag in flags.items() if _needs_attention(name, flag))

    assert not unconfigured, (
        f"{len(unconfigured)} feature flag(s) are not configured in cdk.json (the CDK CLI would say so on "
        f"every synth): {unconfigured}. Run `node_modules/.bin/cdk flags --unstable=flags --safe`."
    )

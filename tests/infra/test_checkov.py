"""checkov finds nothing unacknowledged in the synthesized templates, and every skip says why.

checkov pins its own boto3/botocore, so it lives in its own virtual environment, ``.venv-checkov``,
which ``make test`` creates (target ``checkov``). Without it this test is skipped, with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.infra.conftest import ROOT, Synthesized

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def run_checkov(directory: Path) -> dict[str, Any]:
    """checkov's JSON report on every CloudFormation template in ``directory``, offline."""
    result = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(directory),
            "--framework",
            "cloudformation",
            "--compact",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
    )
    # Exit code 1 means failed checks; anything else non-zero is checkov itself failing.
    assert result.returncode in (0, 1), result.stderr[-4000:]
    report = json.loads(result.stdout)
    assert isinstance(report, dict), "one framework gives one report"
    return report


@pytest.fixture(scope="module")
def checkov_report(
    synthesized: Synthesized, dev_in_a_vpc: Template, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.skip(
            f"{CHECKOV.relative_to(ROOT)} is missing: `make checkov` (part of `make test`) creates it"
        )
    directory = tmp_path_factory.mktemp("checkov")
    for template in synthesized.outdir.glob("*.template.json"):
        shutil.copy(template, directory / template.name)
    (directory / "BedrockCustomization-dev-in-a-vpc.template.json").write_text(
        json.dumps(dev_in_a_vpc.to_json(), indent=1)
    )
    return run_checkov(directory)


def test_checkov_reports_no_failed_check(checkov_report: dict[str, Any]) -> None:
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0, checkov_report["results"]["parsing_errors"]
    assert summary["resource_count"] > 0, "checkov scanned nothing: the template directory is wrong"
    failed = [
        f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']})"
        for c in checkov_report.get("results", {}).get("failed_checks", [])
    ]
    assert failed == [], "checkov findings (fix, or acknowledge with infra.nag.acknowledge_checkov):\n" + (
        "\n".join(failed)
    )
    assert summary["failed"] == 0


def test_every_checkov_skip_carries_a_specific_reason(checkov_report: dict[str, Any]) -> None:
    skipped = checkov_report["results"]["skipped_checks"]
    assert skipped, "the stacks acknowledge some checks; finding none means the skips are not read"
    for check in skipped:
        reason = check["check_result"].get("suppress_comment") or ""
        assert len(reason) >= 20, f"{check['check_id']} on {check['resource']}: {reason!r}"

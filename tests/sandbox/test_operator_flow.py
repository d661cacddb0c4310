"""The operator flow through the real CLI, as subprocesses, against ``bedrock-customize sandbox``.

One sandbox serves the module (started and always stopped by the ``sandbox`` fixture); each flow
starts its own run (its own run name, hence run id): approve to SUCCEEDED, reject, cancel.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.conftest import BIN, Sandbox, run_spec

ENV = ("--env", "sandbox")
APPROVAL_WAIT_SECONDS = 60.0


def _start(sandbox: Sandbox, name: str) -> str:
    spec = run_spec(sandbox.cwd, name)
    started = sandbox.json("start", str(spec), *ENV, "--yes")
    assert started["environment"] == "sandbox"
    return str(started["runId"])


def _status(sandbox: Sandbox, run_id: str) -> dict[str, Any]:
    status: dict[str, Any] = sandbox.json("status", run_id, *ENV)
    return status


def _until_approval_wait(sandbox: Sandbox, run_id: str) -> dict[str, Any]:
    """Follow the run with ``watch --until approval``, as the README says, until it asks to buy."""
    watched = sandbox.cli(
        "watch",
        run_id,
        *ENV,
        "--until",
        "approval",
        "--interval",
        "1",
        "--timeout",
        f"{APPROVAL_WAIT_SECONDS:g}",
        check=False,
    )
    assert watched.returncode == 0, watched.stdout + watched.stderr
    # In a pipe: one line per change, the last one the wait, with the command that answers it
    # (then the run's status).
    last = [line for line in watched.stdout.splitlines() if " | " in line][-1]
    assert "RUNNING: waiting for approval to serve" in last
    assert f"next: bedrock-customize approve {run_id} --env sandbox" in last
    status = _status(sandbox, run_id)
    assert status["waitingForApproval"], status
    return status


def _billing(sandbox: Sandbox) -> list[dict[str, Any]]:
    """What is left that bills by the hour: provisioned throughput that is not gone."""
    throughputs: list[dict[str, Any]] = sandbox.json("throughput", "list")
    return throughputs


def test_the_ready_line_names_the_endpoint_and_environment(sandbox: Sandbox) -> None:
    assert sandbox.endpoint in sandbox.ready_line
    assert f"AWS_ENDPOINT_URL={sandbox.endpoint}" in sandbox.ready_line
    assert "--env sandbox" in sandbox.ready_line
    text = sandbox.cli("deploy-info", *ENV).stdout
    assert "ssm:/bedrock-customization/sandbox/deployment" in text
    assert f"{sandbox.endpoint}/_sandbox/approval-url/" in text
    assert f"{sandbox.endpoint}/_sandbox/start-url/" in text  # runs start there: the starter is on record


def test_the_quota_check_reads_the_simulated_account_quietly(sandbox: Sandbox) -> None:
    # moto lacks ListServiceQuotas and knows no Bedrock quota: the sandbox answers both with the
    # simulated account's quotas (pipeline.simulation.service_quotas), so the CLI's check reads them
    # and the sandbox's terminal shows no traceback.
    doc = sandbox.json("estimate", str(run_spec(sandbox.cwd, "sandbox-quotas")))
    quotas = doc["quotas"]
    assert quotas["mode"] == "live"
    values = {r["quota"]: r["value"] for r in quotas["readings"]}
    assert values == {
        "noCommitmentCustomModelUnits": 4.0,
        "concurrentCustomizationJobs": 4.0,
        "modelUnitsPerProvisionedModel": 4.0,
    }
    assert quotas["jobsInProgress"] is not None and quotas["jobsNotCounted"] is None
    assert sandbox.log is not None
    printed = sandbox.log.read_text(encoding="utf-8")
    assert "Traceback" not in printed and "NotImplemented" not in printed, printed[-2000:]


def test_a_taken_port_is_refused(sandbox: Sandbox) -> None:
    done = sandbox.cli("sandbox", "--port", str(sandbox.port), check=False, timeout=60)
    assert done.returncode == 1
    assert f"port {sandbox.port}" in done.stderr and "already in use" in done.stderr


def test_approve_flow_to_succeeded_then_release_everything(sandbox: Sandbox, tmp_path: Path) -> None:
    run_id = _start(sandbox, "sandbox-approve")
    waiting = _until_approval_wait(sandbox, run_id)
    assert waiting["approvalStage"] == "serving"
    # The deadline in both clocks: the request says a day (sandbox time), it ends in ~72 s here.
    text = sandbox.cli("status", run_id, *ENV).stdout
    assert re.search(
        r"Approval to serve: +waiting since .* expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in ", text
    )
    assert "1d 0h of sandbox time at 1200x" in text
    # The sandbox printed the notification the topic sent, with its deadline on the wall clock.
    notices = _printed_after(
        sandbox, f"notification (SNS): Approve Bedrock throughput purchase? Run {run_id}"
    )
    assert any("sandbox time:" in line and "at 1200x" in line for line in notices), notices

    # Whoever started the run may not approve it: the answer function refuses, the run keeps waiting.
    own = sandbox.cli("approve", run_id, *ENV, "--yes", check=False)
    assert own.returncode != 0, own.stdout
    assert "started this run" in own.stderr and "self-approval" in own.stderr
    assert _status(sandbox, run_id)["waitingForApproval"]

    approver = sandbox.person("sandbox-reviewer")
    approved = approver.cli("approve", run_id, *ENV, "--yes")
    assert f"run {run_id} approved" in approved.stdout
    # The approver of record is the approver role's session name: the IAM user moto's STS says we are.
    assert "(by sandbox-reviewer)" in approved.stdout

    watched = sandbox.cli("watch", run_id, *ENV, "--interval", "1", "--timeout", "90", check=False)
    assert watched.returncode == 0, watched.stdout + watched.stderr

    status = _status(sandbox, run_id)
    assert status["status"] == "SUCCEEDED"
    assert status["throughputArn"]
    runs = sandbox.json("list", *ENV)
    assert any(r["runId"] == run_id and r["status"] == "SUCCEEDED" for r in runs)

    out = tmp_path / "report"
    sandbox.cli("report", run_id, *ENV, "--out", str(out))
    assert (out / "report.html").is_file()
    assert run_id in (out / "report.html").read_text(encoding="utf-8")

    listed = sandbox.cli("throughput", "list", *ENV).stdout  # --env narrows to the sandbox's runs
    assert run_id in listed and "billed" in listed
    serving = [t for t in _billing(sandbox) if t.get("runId") == run_id]
    assert [t["purpose"] for t in serving] == ["serving"]
    assert serving[0]["status"] == "InService"
    sandbox.cli("throughput", "delete", serving[0]["arn"], "--yes")
    assert [t for t in _billing(sandbox) if t.get("runId") == run_id] == []

    # Only the custom model is left (storage, no hourly charge): a plain sweep keeps it (only
    # evaluation leftovers go by default); --include-serving deletes it, then nothing is left.
    assert [c["kind"] for c in _leftovers(sandbox, run_id)] == ["custom-model"]
    sandbox.cli("sweep", *ENV, "--older-than", "0m", "--yes")
    assert [c["kind"] for c in _leftovers(sandbox, run_id)] == ["custom-model"]
    sandbox.cli("sweep", *ENV, "--older-than", "0m", "--include-serving", "--yes")
    assert _leftovers(sandbox, run_id) == []


def _printed_after(sandbox: Sandbox, first: str, timeout: float = 10.0) -> list[str]:
    """The lines the sandbox printed from the one containing ``first`` on (waiting for it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = list(sandbox.printed)
        found = [i for i, line in enumerate(lines) if first in line]
        if found:
            return lines[found[0] :]
        time.sleep(0.2)
    raise AssertionError(f"the sandbox printed no {first!r}:\n" + "\n".join(sandbox.printed))


def _leftovers(sandbox: Sandbox, run_id: str) -> list[dict[str, Any]]:
    """What ``sweep --dry-run`` would delete of the run's resources, whatever their age."""
    swept = sandbox.json("sweep", *ENV, "--dry-run", "--older-than", "0m")
    return [c for c in swept["candidates"] if c.get("runId") == run_id]


def _hourly(leftovers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in leftovers if c["kind"] != "custom-model"]


def test_reject_flow_buys_nothing(sandbox: Sandbox) -> None:
    run_id = _start(sandbox, "sandbox-reject")
    _until_approval_wait(sandbox, run_id)
    rejected = sandbox.cli("reject", run_id, *ENV, "--reason", "too expensive for a rehearsal", "--yes")
    assert f"run {run_id} rejected" in rejected.stdout
    watched = sandbox.cli("watch", run_id, *ENV, "--interval", "1", "--timeout", "60", check=False)
    assert watched.returncode == 1, watched.stdout + watched.stderr
    status = _status(sandbox, run_id)
    assert status["status"] == "FAILED"
    assert not status["throughputArn"]
    assert [t for t in _billing(sandbox) if t.get("runId") == run_id] == []
    assert _hourly(_leftovers(sandbox, run_id)) == []


@pytest.mark.parametrize("stage", ["training"])
def test_cancel_flow_leaves_nothing_billing(sandbox: Sandbox, stage: str) -> None:
    run_id = _start(sandbox, "sandbox-cancel")
    deadline = time.monotonic() + 30
    while _status(sandbox, run_id)["stage"] != stage:
        assert time.monotonic() < deadline, f"run {run_id} never reached {stage}"
        time.sleep(0.5)
    cancelled = sandbox.cli("cancel", run_id, *ENV, "--yes")
    assert f"run {run_id} cancelled" in cancelled.stdout
    deadline = time.monotonic() + 15
    while (status := _status(sandbox, run_id))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"run {run_id} still RUNNING after cancel"
        time.sleep(0.5)
    assert status["status"] == "ABORTED"
    assert status["job"]["status"] in ("Stopping", "Stopped"), status["job"]
    assert status["stage"] == "cancelled at: training"
    # An ended run's status suggests only what works: its report (preflight and cleanup), which works.
    assert status["next"] == [f"bedrock-customize report {run_id} --env sandbox"]
    report = sandbox.cli("report", run_id, *ENV, "--out", str(sandbox.cwd / f"report-{run_id}"))
    assert "report.html" in report.stdout
    page = (sandbox.cwd / f"report-{run_id}" / "report.html").read_text(encoding="utf-8")
    assert "ABORTED" in page
    assert [t for t in _billing(sandbox) if t.get("runId") == run_id] == []
    assert _hourly(_leftovers(sandbox, run_id)) == []


def test_the_approval_url_wants_a_signed_caller(sandbox: Sandbox) -> None:
    """Like a function URL with AWS_IAM auth: no SigV4 signature, no answer."""
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{sandbox.endpoint}/_sandbox/approval-url/",
        data=json.dumps({"runId": "nothing-0000000000", "decision": "approve"}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403


def test_losing_the_endpoint_is_not_a_failed_run_and_the_sandbox_says_its_runs_are_gone(
    sandbox: Sandbox,
) -> None:
    """Last in the module: it stops the sandbox. A watch that loses its endpoint retries, then
    exits 4 (outcome unknown), never 1 (the run failed)."""
    run_id = _start(sandbox, "sandbox-lost")
    watcher = subprocess.Popen(
        [str(BIN / "bedrock-customize"), "watch", run_id, *ENV, "--interval", "1", "--give-up-after", "5"],
        cwd=sandbox.cwd,
        env=sandbox.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(3)
        assert watcher.poll() is None, watcher.communicate()
        stopped = sandbox.stop()
        out, err = watcher.communicate(timeout=120)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == 4, out + err
    assert "retrying in" in out  # each retry on a line of its own
    assert "gave up after" in err and "the run itself goes on" in err
    assert "lived in memory and are gone" in stopped

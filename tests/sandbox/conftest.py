"""A sandbox (``bedrock-customize sandbox``) started per test module as a subprocess, always stopped.

The CLI runs as a subprocess too, against the sandbox's endpoint with ``--env sandbox``, exactly
as a user would in a second terminal.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0
COMMAND_TIMEOUT = 120.0
# Faster than the default: a 3-hour job lasts 9 s, a 24-hour approval timeout 72 s.
SPEED = "1200"


@pytest.fixture(scope="session")
def sandbox_template(dev_template: Path) -> Path:
    """The dev stack's template (tests/conftest.py: synthesized once per session)."""
    return dev_template


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Sandbox:
    endpoint: str
    port: int
    ready_line: str
    env: dict[str, str]
    cwd: Path
    # What the sandbox printed after its ready line (the notifications it announces), as it prints.
    printed: list[str] = field(default_factory=list)
    process: subprocess.Popen[str] | None = None
    log: Path | None = None

    def stop(self) -> str:
        """Stop it now (SIGINT, as Ctrl-C); what it wrote on stderr."""
        assert self.process is not None and self.log is not None
        _stop(self.process)
        return self.log.read_text(encoding="utf-8")

    def cli(
        self, *args: str, timeout: float = COMMAND_TIMEOUT, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """``bedrock-customize ARGS`` against the sandbox (``--env sandbox`` is the caller's to pass)."""
        done = subprocess.run(
            [str(BIN / "bedrock-customize"), *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"bedrock-customize {' '.join(args)} exited {done.returncode}\n"
                f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            )
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)

    def person(self, name: str) -> Sandbox:
        """The same sandbox for another person: a new IAM user with an access key of their own (the
        default ``sandbox`` key is ``user/moto``, who starts the runs)."""
        import boto3

        iam = boto3.client(
            "iam",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",
        )
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        env = {
            **self.env,
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        }
        return Sandbox(self.endpoint, self.port, self.ready_line, env, self.cwd)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def _listening_port(ready: str) -> int:
    """The port the ready line says the sandbox listens on (``sandbox ready on http://127.0.0.1:N ...``)."""
    match = re.search(r"http://127\.0\.0\.1:(\d+)", ready)
    assert match, f"no endpoint in the ready line {ready!r}"
    return int(match.group(1))


@contextlib.contextmanager
def started_sandbox(template: Path, work: Path, scenario: str = "happy") -> Iterator[Sandbox]:
    """``bedrock-customize sandbox`` on a port the system picks (``--port 0``: parallel test workers
    never race for one), stopped (SIGINT, then SIGKILL) however the block ends."""
    log = (work / "sandbox.log").open("w+", encoding="utf-8")
    process = subprocess.Popen(
        [
            str(BIN / "bedrock-customize"),
            "sandbox",
            "--port",
            "0",
            "--speed",
            SPEED,
            "--template",
            str(template),
            "--scenario",
            scenario,
            "--out",
            str(work / "out"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")},
    )
    try:
        ready = _ready_line(process, log)
        port = _listening_port(ready)
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "sandbox",
            "AWS_SECRET_ACCESS_KEY": "sandbox",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "COLUMNS": "200",
        }
        for name in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "BEDROCK_CUSTOMIZE_OFFLINE"):
            env.pop(name, None)
        started = Sandbox(
            f"http://127.0.0.1:{port}", port, ready, env, work, process=process, log=work / "sandbox.log"
        )
        # Keep reading what it prints: a pipe nobody reads would block it once full.
        drain = threading.Thread(target=_drain, args=(process, started.printed), daemon=True)
        drain.start()
        yield started
    finally:
        _stop(process)
        log.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (--dist loadgroup) a module's tests share one worker, so its one sandbox."""
    for item in items:
        if "tests/sandbox/" in item.nodeid:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.partition("::")[0]))


@pytest.fixture(scope="module")
def sandbox(sandbox_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with started_sandbox(sandbox_template, tmp_path_factory.mktemp("sandbox")) as started:
        yield started


def _drain(process: subprocess.Popen[str], printed: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        printed.append(line.rstrip("\n"))


def _ready_line(process: subprocess.Popen[str], log: Any) -> str:
    """The one line the sandbox prints when it serves (read with a deadline: never hang the suite)."""
    import selectors

    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise AssertionError(f"the sandbox exited {process.returncode}:\n{log.read()}")
        if selector.select(timeout=0.5):
            line = process.stdout.readline()
            if line.startswith("sandbox ready"):
                return line.strip()
    log.seek(0)
    raise AssertionError(f"the sandbox did not get ready in {START_TIMEOUT:.0f} s:\n{log.read()}")


def run_spec(directory: Path, name: str) -> Path:
    """examples/runs/fine-tuning.yaml under another run name (so each flow has its own run id)."""
    text = (ROOT / "examples" / "runs" / "fine-tuning.yaml").read_text(encoding="utf-8")
    text = text.replace("name: support-nova-micro", f"name: {name}", 1)
    text = text.replace("../datasets/", f"{ROOT / 'examples' / 'datasets'}/")
    text = text.replace("../prompts/", f"{ROOT / 'examples' / 'prompts'}/")
    path = directory / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def sandbox_exit(
    template: Path, work: Path, timeout: float = START_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """``bedrock-customize sandbox`` on ``template``, for a sandbox expected to refuse to start."""
    return subprocess.run(
        [
            str(BIN / "bedrock-customize"),
            "sandbox",
            "--port",
            "0",
            "--template",
            str(template),
            "--out",
            str(work / "out"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )

"""Test-wide guards: no test can reach real AWS.

Every test runs with fake credentials, a fixed region and every credential source that could point
at a real account (profiles, SSO, container/instance metadata) switched off. Anything that still
tries to open a socket to an AWS endpoint goes through botocore with these fake keys and fails
authentication at best; moto intercepts the calls the tests mean to make.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

_FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # Never read the developer's real config or credential files.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    # No instance-metadata or container credential lookups (they would hang or leak).
    "AWS_EC2_METADATA_DISABLED": "true",
    # The CLI's live checks and live prices (check, start, estimate) stay offline unless a test
    # removes this and stubs the clients (pipeline.operate.aws.OFFLINE_ENV).
    "BEDROCK_CUSTOMIZE_OFFLINE": "1",
}
ROOT = Path(__file__).resolve().parents[1]
# jsii prints a node-20 end-of-life banner on every start unless told not to.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

_REMOVED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ENDPOINT_URL",
)


# pytest-xdist workers run with COLUMNS=80 and LINES=24 set while a serial run has neither: the
# CLI's tables would wrap in one and not the other. Tests that care about width set COLUMNS.
_TERMINAL = ("COLUMNS", "LINES")


def _apply_fake_aws_env() -> None:
    for name in (*_REMOVED, *_TERMINAL):
        os.environ.pop(name, None)
    os.environ.update(_FAKE_ENV)


# Applied at import time too, so module-level code in tests and fixtures never sees real settings.
_apply_fake_aws_env()


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (*_REMOVED, *_TERMINAL):
        monkeypatch.delenv(name, raising=False)
    for name, value in _FAKE_ENV.items():
        monkeypatch.setenv(name, value)
    yield


class RealNetworkBlockedError(RuntimeError):
    """Raised when a test tries to open a connection that does not stay on this machine."""


_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and not _is_loopback(str(host)):
        raise RealNetworkBlockedError(f"tests may not reach the network: connect to {address!r} refused")
    _real_connect(self, address)  # type: ignore[arg-type]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        # A host name that is not "localhost": resolving it is already a network call.
        return False


# Only loopback connections (moto's threaded server, local tools) are allowed in the test process.
socket.socket.connect = _guarded_connect  # type: ignore[method-assign]


@dataclass(frozen=True)
class Synthesized:
    """The app's cloud assembly, synthesized once for the whole test session."""

    outdir: Path
    templates: dict[str, dict[str, Any]]  # stack name -> template JSON
    acknowledgements: dict[str, dict[str, str]]  # construct path -> {rule id: reason}

    def template(self, env: str) -> Any:
        from aws_cdk.assertions import Template

        return Template.from_json(self.templates[f"BedrockCustomization-{env}"])

    @classmethod
    def read(cls, outdir: Path) -> Synthesized:
        """Everything from the cloud assembly's files (so parallel workers can share one synth)."""
        templates = {
            path.name.removesuffix(".template.json"): json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(outdir.glob("*.template.json"))
        }
        acknowledgements: dict[str, dict[str, str]] = {}
        for path in sorted(outdir.glob("*.metadata.json")):
            for construct, entries in json.loads(path.read_text(encoding="utf-8")).items():
                for entry in entries:
                    if entry.get("type") == "aws:cdk:acknowledged-rules":
                        acknowledgements.setdefault(construct.lstrip("/"), {}).update(entry["data"])
        return cls(outdir=outdir, templates=templates, acknowledgements=acknowledgements)


def _synthesize(outdir: Path) -> None:
    """``cdk synth`` of every configured environment, in-process, as the CDK CLI does from cdk.json.
    Raises if cdk-nag reports an unacknowledged finding."""
    from aws_cdk import App

    from infra.app_builder import build_app, context_from_cdk_json

    context = context_from_cdk_json(json.loads((ROOT / "cdk.json").read_text(encoding="utf-8")))
    app = App(context=context, outdir=str(outdir))
    build_app(app)
    app.synth()


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app synthesized once per test run: with pytest-xdist, the first worker that needs it
    synthesizes under a file lock in the run's shared temp folder and the others read its output."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    outdir = shared / "cdk.out"
    with (shared / "cdk.out.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (outdir / "manifest.json").is_file():
                partial = Path(tempfile.mkdtemp(prefix="cdk.out.", dir=shared))
                _synthesize(partial)
                partial.rename(outdir)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return Synthesized.read(outdir)


@pytest.fixture(scope="session")
def dev_template(synthesized: Synthesized) -> Path:
    """``BedrockCustomization-dev.template.json`` in the session's cloud assembly (its functions'
    assets beside it), for the simulation and the sandbox. ``SIMULATION_TEMPLATE=path`` uses an
    already synthesized one (in its cloud assembly)."""
    given = os.environ.get("SIMULATION_TEMPLATE")
    if given:
        return Path(given)
    path = synthesized.outdir / "BedrockCustomization-dev.template.json"
    assert path.is_file(), f"synth wrote no {path.name}"
    return path

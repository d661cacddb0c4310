"""Commands printed for a person to run next, carrying the environment the command ran with.

A hint is copied and pasted: ``bedrock-customize approve RUN`` printed by a command that ran with
``--env prod`` would, pasted as printed, act on ``dev``. So every printed command is made here,
by :func:`command`, and carries:

- ``--env ENV`` when the suggested command takes ``--env`` (it acts on a deployed environment), with
  the environment the running command was given (or the run's own, for a run's view);
- ``--region REGION`` when the suggested command takes ``--region`` and the running command was
  given one, or resolved one from somewhere other than the shell's AWS configuration (``start``
  takes the run spec's region): pasted in the same shell, the command then looks in the same place.

The running command's target is set once, by :func:`pipeline.operate.errors.guarded`, from its
parsed ``--env``/``--region`` (:func:`targeting`); a command that resolves more (``start``) adds it
with :func:`resolved`. tests/operate/test_hints.py runs the commands and checks every suggestion.
"""

from __future__ import annotations

import contextlib
import contextvars
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Final

CLI: Final = "bedrock-customize"
# The commands that act on a deployed environment (they take --env), and those that take --region
# as the AWS region to call (``models --region`` filters the catalog instead: not listed).
ENV_COMMANDS: Final = frozenset(
    {
        "deploy-info",
        "start",
        "status",
        "watch",
        "list",
        "approve",
        "reject",
        "cancel",
        "report",
        "throughput list",
        "throughput delete",
        "sweep",
        "grader test",
        "slots",
        "rollback",
        "promote",
    }
)
REGION_COMMANDS: Final = ENV_COMMANDS | {"compare", "models --live"}
# Commands whose first word alone does not name them.
_GROUPS: Final = frozenset({"throughput", "grader"})


@dataclass(frozen=True)
class Target:
    """Where the running command acts: its --env and --region (None: not given, not resolved)."""

    env: str | None = None
    region: str | None = None


_NOWHERE: Final = Target()
_TARGET: contextvars.ContextVar[Target] = contextvars.ContextVar("hint_target", default=_NOWHERE)


def current() -> Target:
    return _TARGET.get()


@contextlib.contextmanager
def targeting(env: str | None = None, region: str | None = None) -> Iterator[Target]:
    """Hints made inside the block carry this environment and region."""
    token = _TARGET.set(Target(env or None, region or None))
    try:
        yield _TARGET.get()
    finally:
        _TARGET.reset(token)


def target_of(args: Any) -> Target:
    """The target of a parsed command line: its --env and --region, when it has them."""
    return Target(getattr(args, "env", None) or None, getattr(args, "region", None) or None)


def resolved(*, env: str | None = None, region: str | None = None) -> None:
    """The running command found its environment or region elsewhere (a run spec, a run's view)."""
    target = _TARGET.get()
    _TARGET.set(replace(target, env=env or target.env, region=region or target.region))


def _name(words: tuple[str, ...]) -> str:
    if len(words) >= 2 and words[0] in _GROUPS:
        return f"{words[0]} {words[1]}"
    if words[:1] == ("models",) and "--live" in words:
        return "models --live"
    return words[0] if words else ""


def command(*words: str, env: str | None = None, region: str | None = None, note: str = "") -> str:
    """``bedrock-customize WORDS... [--env ENV] [--region REGION]``, ready to paste.

    ``env``/``region`` override the running command's target (a run's view knows its own
    environment). Words with spaces or shell characters are quoted, except an option's placeholder
    value written as ``"..."``. ``note`` is appended as a shell comment.
    """
    target = _TARGET.get()
    name = _name(words)
    parts = [CLI, *(w if w == '"..."' else shlex.quote(w) for w in words)]
    chosen_env = env or target.env
    chosen_region = region or target.region
    if name in ENV_COMMANDS and chosen_env and "--env" not in words:
        parts += ["--env", shlex.quote(chosen_env)]
    if name in REGION_COMMANDS and chosen_region and "--region" not in words:
        parts += ["--region", shlex.quote(chosen_region)]
    text = " ".join(parts)
    return f"{text}   # {note}" if note else text


def quoted(text: str) -> str:
    """A command between backticks, as hints in sentences show it."""
    return f"`{text}`"

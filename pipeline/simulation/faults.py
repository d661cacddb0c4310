"""Fault injection: which call fails, how often, with which error, configured as data.

A rule (from a scenario's ``faults`` list)::

    {"call": "bedrock:CreateProvisionedModelThroughput",  # glob over "<service>:<operation>"
     "error": "ThrottlingException",                       # the AWS error code returned
     "times": 2,                                           # failures per burst (default 1)
     "skip": 0,                                            # matching calls let through first
     "per": "operation",                                   # what a burst is counted per
     "effect": "before",                                   # "before" | "after" the call acts
     "message": "Rate exceeded"}                           # optional

Calls are named ``<service>:<operation>`` with the service as the SDK names it: ``bedrock:*``
(control plane: jobs, custom models, throughput), ``bedrock-runtime:Converse``,
``lambda:<handler>`` (the Invoke API of a workflow function, by handler folder name, e.g.
``lambda:record``) and ``sns:Publish``.

``per`` decides what a burst belongs to:

- ``"operation"``: one counter per operation name: the first ``times`` calls of each matching
  operation fail.
- ``"call"``: one counter per distinct request (operation + parameters): every different call is
  refused ``times`` times and then succeeds; an identical retry counts against the same burst.
  "Bursts on every Bedrock call" is ``{"call": "bedrock*", "per": "call", ...}``.
- ``"rule"``: one counter for the rule: the first ``times`` matching calls fail, whatever they are.

``effect: "after"`` lets the call take effect and then loses its answer (the caller sees the
error): what a timeout after a successful create looks like, and what idempotency tokens are for.

``effect: "eventually"`` accepts the call and makes the asynchronous change it starts fail later:
only for the calls of :data:`EVENTUAL_CALLS` (an in-place model change of a deployment or a
throughput), with ``error`` the change's end (``UpdateFailed``) and ``message`` its failure message.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

PER_VALUES: Final = ("operation", "call", "rule")
EFFECT_VALUES: Final = ("before", "after", "eventually")
# The calls that start an asynchronous change an "eventually" rule can make fail, and how it ends.
EVENTUAL_CALLS: Final = ("bedrock:UpdateCustomModelDeployment", "bedrock:UpdateProvisionedModelThroughput")
EVENTUAL_ERRORS: Final = ("UpdateFailed",)
SERVICES: Final = ("bedrock", "bedrock-runtime", "lambda", "sns")
_RULE_KEYS: Final = ("call", "error", "times", "skip", "per", "effect", "message")
_DEFAULT_MESSAGES: Final = {
    "ThrottlingException": "Rate exceeded (simulated burst)",
    "TooManyRequestsException": "Rate exceeded (simulated burst)",
    "ServiceUnavailableException": "Service unavailable (simulated)",
    "InternalServerException": "Internal server error (simulated)",
    "ServiceException": "Lambda service error (simulated)",
    "UpdateFailed": "The model update could not be completed: an internal error occurred (simulated)",
}


class FaultConfigError(ValueError):
    """A fault rule that cannot be applied."""


@dataclass(frozen=True)
class FaultRule:
    call: str
    error: str
    times: int = 1
    skip: int = 0
    per: str = "operation"
    effect: str = "before"
    message: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "fault") -> FaultRule:
        if not isinstance(data, Mapping):
            raise FaultConfigError(f"{where}: a fault is an object, got {type(data).__name__}")
        unknown = set(data) - set(_RULE_KEYS)
        if unknown:
            raise FaultConfigError(
                f"{where}: unknown key(s) {sorted(unknown)}; allowed: {', '.join(_RULE_KEYS)}"
            )
        call, error = data.get("call"), data.get("error")
        if not isinstance(call, str) or ":" not in call:
            raise FaultConfigError(f"{where}.call: '<service>:<operation>' (globs allowed), got {call!r}")
        service_glob = call.split(":", 1)[0]
        if not any(fnmatch.fnmatchcase(s, service_glob) for s in SERVICES):
            raise FaultConfigError(
                f"{where}.call: {call!r} matches none of the services {', '.join(SERVICES)}"
            )
        if not isinstance(error, str) or not error:
            raise FaultConfigError(
                f"{where}.error: an AWS error code such as ThrottlingException, got {error!r}"
            )
        times, skip = data.get("times", 1), data.get("skip", 0)
        for name, value, low in (("times", times, 1), ("skip", skip, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise FaultConfigError(f"{where}.{name}: an integer >= {low}, got {value!r}")
        per, effect = data.get("per", "operation"), data.get("effect", "before")
        if per not in PER_VALUES:
            raise FaultConfigError(f"{where}.per: one of {', '.join(PER_VALUES)}, got {per!r}")
        if effect not in EFFECT_VALUES:
            raise FaultConfigError(f"{where}.effect: one of {', '.join(EFFECT_VALUES)}, got {effect!r}")
        if effect == "eventually":
            if not any(fnmatch.fnmatchcase(c, call) for c in EVENTUAL_CALLS):
                raise FaultConfigError(
                    f"{where}.effect: 'eventually' applies only to {', '.join(EVENTUAL_CALLS)}, not {call!r}"
                )
            if error not in EVENTUAL_ERRORS:
                raise FaultConfigError(
                    f"{where}.error: with effect 'eventually', one of {', '.join(EVENTUAL_ERRORS)}, "
                    f"got {error!r}"
                )
        message = data.get("message")
        if message is not None and not isinstance(message, str):
            raise FaultConfigError(f"{where}.message: a string, got {message!r}")
        return cls(call, error, times, skip, per, effect, message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "call": self.call,
            "error": self.error,
            "times": self.times,
            "skip": self.skip,
            "per": self.per,
            "effect": self.effect,
            "message": self.message,
        }

    def matches(self, call: str) -> bool:
        return fnmatch.fnmatchcase(call, self.call)


@dataclass(frozen=True)
class Fault:
    """A failure to deliver: the error code and message, and whether the call still took effect."""

    rule: FaultRule
    call: str

    @property
    def code(self) -> str:
        return self.rule.error

    @property
    def message(self) -> str:
        return self.rule.message or _DEFAULT_MESSAGES.get(self.rule.error, f"{self.rule.error} (simulated)")

    @property
    def after(self) -> bool:
        return self.rule.effect == "after"

    @property
    def eventually(self) -> bool:
        return self.rule.effect == "eventually"


@dataclass
class FaultInjector:
    """Decides, call by call, whether a rule fires; counts what it injected."""

    rules: Sequence[FaultRule] = ()
    injected: Counter[str] = field(default_factory=Counter)
    _seen: Counter[tuple[int, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, service: str, operation: str, params: Any = None) -> Fault | None:
        """The fault for this call, if a rule fires (the first matching rule decides)."""
        call = f"{service}:{operation}"
        with self._lock:
            for index, rule in enumerate(self.rules):
                if not rule.matches(call) or (rule.effect == "eventually" and call not in EVENTUAL_CALLS):
                    continue
                key = (index, self._burst_key(rule, call, params))
                seen = self._seen[key]
                self._seen[key] += 1
                if rule.skip <= seen < rule.skip + rule.times:
                    self.injected[f"{call} {rule.error}"] += 1
                    return Fault(rule, call)
        return None

    @staticmethod
    def _burst_key(rule: FaultRule, call: str, params: Any) -> str:
        if rule.per == "rule":
            return ""
        if rule.per == "operation":
            return call
        canonical = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
        return f"{call} {hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"

    def total(self) -> int:
        return sum(self.injected.values())

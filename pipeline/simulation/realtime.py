"""A clock whose waits are real but compressed: the sandbox's time (``bedrock-customize sandbox``).

:class:`~pipeline.simulation.clock.SimClock` jumps: a simulation has one driver that decides when
time moves, so a three-hour job ends as soon as nothing else is pending. The sandbox has no such
driver: people answer approvals and look at runs whenever they like, from another terminal. So
its time flows on its own, ``speed`` times faster than the wall clock:

- ``elapsed()`` is the real time since the start multiplied by ``speed``: the simulated world's
  durations (a job trains for 3 hours of ``elapsed``);
- ``now()`` and ``at(elapsed)`` are wall-clock times (a job created now ends 18 s later at 600x),
  so every timestamp the sandbox reports — the fake Bedrock's, the execution history's (the
  interpreter stamps events with ``now()``), moto's own and the handlers' — is on one clock, and
  ages, "for 3s", expiries computed by the CLI against its own clock are right;
- ``sleep(s)`` sleeps ``s / speed`` real seconds (a Wait state of an hour lasts 6 s at 600x);
- a timed wait (a task's TimeoutSeconds, the approval's task-token wait) lasts ``timeout / speed``
  real seconds, or less when its event is set;
- ``schedule`` / ``sleep_until_next`` keep their meaning: a poller sleeps until the next announced
  change of the simulated world, or ``max_seconds`` at most.

It is a drop-in for SimClock wherever the simulation takes one (the interpreter patches, the
fake Bedrock, the in-process handlers); the simulation itself keeps the jumping clock.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from typing import Any, Final

from pipeline.simulation.clock import SimClock

# The real time.sleep, whatever is patched later (handler_sleep_patches points project modules'
# references at the clock; this module is excluded from that, but keep our own reference anyway).
_REAL_SLEEP: Final = time.sleep
_REAL_POLL_SECONDS: Final = 0.05


class ScaledClock(SimClock):
    """Simulated time that runs ``speed`` times faster than real time."""

    def __init__(self, speed: float, start: dt.datetime | None = None) -> None:
        if not speed > 0 or math.isinf(speed):
            raise ValueError(f"speed must be a positive number, got {speed}")
        super().__init__(start or dt.datetime.now(tz=dt.UTC))
        self.speed = float(speed)
        self._t0 = time.monotonic()

    def elapsed(self) -> float:
        return (time.monotonic() - self._t0) * self.speed

    def now(self) -> dt.datetime:
        """The wall-clock time: what a simulated moment is reported as."""
        return self.at(self.elapsed())

    def at(self, elapsed: float) -> dt.datetime:
        """When, on the wall clock, the simulated moment ``elapsed`` happens (or happened)."""
        return self.start + dt.timedelta(seconds=elapsed / self.speed)

    def sleep(self, seconds: float) -> float:
        if seconds < 0 or math.isnan(seconds):
            raise ValueError(f"cannot sleep {seconds} seconds")
        if math.isinf(seconds):
            raise RuntimeError("sleeping forever")
        _REAL_SLEEP(seconds / self.speed)
        return seconds

    def sleep_until_next(self, max_seconds: float) -> float:
        now = self.elapsed()
        with self._condition:
            later = [t for t in self._wakeups if t > now]
            # Forget the announcements that are past: the set would only grow in a long session.
            self._wakeups.difference_update(t for t in list(self._wakeups) if t <= now)
        target = min([max_seconds, *(t - now for t in later)])
        return self.sleep(max(0.0, target))

    def has_deadline(self) -> bool:
        return False

    def hold(self) -> int:
        """Time flows on its own here: nothing to hold."""
        return 0

    def release(self, key: int) -> None:
        return None

    def wait_for(self, event: Any, timeout: float | None, hold: int | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + max(0.0, float(timeout)) / self.speed
        while True:
            if event.is_set():
                return True
            wait = _REAL_POLL_SECONDS
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                wait = min(wait, left)
            with self._condition:
                self._condition.wait(wait)

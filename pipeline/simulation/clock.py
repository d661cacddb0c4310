"""Simulated time: waits advance a clock instead of sleeping.

A run spends hours training, minutes waiting for throughput and up to days waiting for a human.
The simulation replaces every wait with a jump of this clock:

- ``sleep(seconds)`` advances the clock (a Wait state, a retry backoff, a poll interval, a human
  thinking). It never jumps past a pending *deadline*: time stops at the deadline so the waiter
  that owns it fires first, exactly as it would in real time (and does not move at all while a
  due deadline's waiter has not woken yet).
- A *deadline* is registered by ``VirtualEvent.wait(timeout)``, the stand-in for every
  ``threading.Event.wait(timeout)`` the interpreter uses for a state's TimeoutSeconds and for a
  task-token wait. The wait returns True as soon as the event is set (in real time, like the
  original), or False once the simulated clock reaches the deadline.

- ``schedule(t)`` announces a future change of the simulated world (a job ending, a purchase going
  live); a poller that has nothing to do until then uses ``sleep_until_next`` to jump there.

So a task with ``TimeoutSecondsPath`` = 24 h that nobody answers times out when the clock is
driven past it (by the approval driver "waiting forever"), not after 24 real hours; a training
job that would end after the state's timeout makes the state time out, because the poller's
sleep stops at the deadline. Nothing here sleeps in real time except short condition waits
while another thread is working.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import threading
import time
import types
from collections.abc import Callable
from typing import Any, Final, Protocol

# How long a waiter blocks in real time before re-checking the clock (it is also woken on every
# clock change and on set()).
_REAL_POLL_SECONDS: Final = 0.05


class _Settable(Protocol):
    def is_set(self) -> bool: ...


class SimClock:
    """A monotonic simulated UTC clock shared by the interpreter, the fake Bedrock and the driver."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        start = start or dt.datetime.now(tz=dt.UTC).replace(microsecond=0)
        if start.tzinfo is None:
            raise ValueError("the simulated clock needs a timezone-aware start time")
        self.start: Final = start
        self._elapsed = 0.0
        self._condition = threading.Condition()
        self._deadlines: dict[int, float] = {}
        self._holds: set[int] = set()
        self._wakeups: set[float] = set()
        self._ids = itertools.count(1)

    # -- reading ---------------------------------------------------------------------------------

    def elapsed(self) -> float:
        """Simulated seconds since the start."""
        with self._condition:
            return self._elapsed

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.elapsed())

    def at(self, elapsed: float) -> dt.datetime:
        return self.start + dt.timedelta(seconds=elapsed)

    # -- advancing -------------------------------------------------------------------------------

    def sleep(self, seconds: float) -> float:
        """Advance by ``seconds`` but not past the earliest pending deadline; returns the advance.

        While a deadline is announced but not registered yet (:meth:`hold`), time does not move:
        the sleeper waits (in real time) until its waiter has registered it, so how fast the threads
        get there never changes where the clock stops.
        """
        if seconds < 0 or math.isnan(seconds):
            raise ValueError(f"cannot sleep {seconds} seconds")
        with self._condition:
            while self._holds:
                self._condition.wait(_REAL_POLL_SECONDS)
            target = self._elapsed + seconds
            # A deadline that is due but whose waiter has not woken yet blocks time as well: the
            # waiter must see its timeout before anything else happens.
            pending = [d for d in self._deadlines.values() if d >= self._elapsed]
            if pending:
                target = max(self._elapsed, min(target, min(pending)))
            if math.isinf(target):
                raise RuntimeError("sleeping forever with no deadline pending: the simulation would hang")
            advanced = target - self._elapsed
            self._elapsed = target
            self._condition.notify_all()
            return advanced

    def schedule(self, elapsed: float) -> None:
        """Announce that something will change at ``elapsed`` (a job ending, a purchase going live)."""
        with self._condition:
            self._wakeups.add(elapsed)

    def sleep_until_next(self, max_seconds: float) -> float:
        """Advance to the next announced change, but by ``max_seconds`` at most (and not past a deadline)."""
        with self._condition:
            target = self._elapsed + max_seconds
            later = [t for t in self._wakeups if t > self._elapsed]
            if later:
                target = min(target, min(later))
            return self.sleep(target - self._elapsed)

    def wake(self) -> None:
        """Wake every waiter so that it re-checks its event."""
        with self._condition:
            self._condition.notify_all()

    # -- deadlines -------------------------------------------------------------------------------

    def hold(self) -> int:
        """Announce a deadline that a waiter is about to register: no sleep advances the clock until
        :meth:`release` (or the waiter's :meth:`wait_for` with this key) takes it back."""
        with self._condition:
            key = next(self._ids)
            self._holds.add(key)
            return key

    def release(self, key: int) -> None:
        with self._condition:
            self._holds.discard(key)
            self._condition.notify_all()

    def has_deadline(self) -> bool:
        with self._condition:
            return any(d > self._elapsed for d in self._deadlines.values())

    def wait_for(self, event: _Settable, timeout: float | None, hold: int | None = None) -> bool:
        """Block until ``event`` is set (True) or ``timeout`` simulated seconds pass (False).

        ``hold``: the key of this waiter's :meth:`hold`, released as its deadline is registered.
        """
        if timeout is None:
            if hold is not None:
                self.release(hold)
            while not event.is_set():
                with self._condition:
                    self._condition.wait(_REAL_POLL_SECONDS)
            return True
        with self._condition:
            key = next(self._ids)
            deadline = self._elapsed + max(0.0, float(timeout))
            self._deadlines[key] = deadline
            if hold is not None:
                self._holds.discard(hold)
                self._condition.notify_all()
            try:
                while True:
                    if event.is_set():
                        return True
                    if self._elapsed >= deadline:
                        return False
                    self._condition.wait(_REAL_POLL_SECONDS)
            finally:
                del self._deadlines[key]

    def event_class(
        self, *, held: bool = False, after_wait: Callable[[], None] | None = None
    ) -> type[threading.Event]:
        """A ``threading.Event`` subclass whose timed waits run on this clock.

        ``held``: each event holds the clock (:meth:`hold`) from its creation until its first wait
        registers the deadline (or it is set first). For an event created right before a thread is
        started and then waited on with a timeout (a task's TimeoutSeconds): whatever the new thread
        does first, time cannot pass before the timeout is in place. ``after_wait``: called by the
        waiter once its wait is over, before it goes on.
        """
        clock = self

        class VirtualEvent(threading.Event):
            _hold: int | None = None

            def __init__(self) -> None:
                super().__init__()
                if held:
                    self._hold = clock.hold()

            def _take_hold(self) -> int | None:
                hold, self._hold = self._hold, None
                return hold

            def set(self) -> None:
                super().set()
                hold = self._take_hold()
                if hold is not None:
                    clock.release(hold)
                clock.wake()

            def wait(self, timeout: float | None = None) -> bool:
                woken = clock.wait_for(_Unwrapped(self), timeout, self._take_hold())
                if after_wait is not None:
                    after_wait()
                return woken

        return VirtualEvent

    def time_module(self) -> Any:
        """A stand-in for the ``time`` module whose ``sleep`` advances this clock."""
        shim = types.ModuleType("time")
        for name in dir(time):
            if not name.startswith("__"):
                setattr(shim, name, getattr(time, name))
        shim.sleep = self.sleep  # type: ignore[attr-defined]
        return shim

    def threading_module(self, *, held: bool = False) -> Any:
        """A stand-in for the ``threading`` module whose ``Event`` runs on this clock (``held``: see
        :meth:`event_class`)."""
        shim = types.ModuleType("threading")
        for name in dir(threading):
            if not name.startswith("__"):
                setattr(shim, name, getattr(threading, name))
        shim.Event = self.event_class(held=held)  # type: ignore[attr-defined]
        return shim


class _Unwrapped:
    """An event's is_set() without its virtual wait (wait_for must not recurse into it)."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def is_set(self) -> bool:
        return self._event.is_set()


def format_elapsed(seconds: float) -> str:
    """``+1d 02:03:04`` style offset from the start of the run."""
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"+{days}d {clock}" if days else f"+{clock}"


def format_duration(seconds: float) -> str:
    """A short human duration: ``0s``, ``45s``, ``12m 30s``, ``3h 05m``, ``2d 04h``."""
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        minutes, secs = divmod(total, 60)
        return f"{minutes}m {secs:02d}s"
    if total < 86400:
        hours, rest = divmod(total, 3600)
        return f"{hours}h {rest // 60:02d}m"
    days, rest = divmod(total, 86400)
    return f"{days}d {rest // 3600:02d}h"

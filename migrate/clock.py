"""Time as one thing: a Clock protocol, the system clock, and a virtual clock for rehearsals and tests (stdlib only)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


class VirtualClock:
    """Moves only when told: a 200-node rehearsal takes as long as the computation, not the waits."""

    def __init__(self, start: float = 1_790_000_000.0):  # 2026-09-21, a fixed origin keeps fixtures stable
        self._now = start
        self._lock = threading.Lock()
        self._sleepers: list[Callable[[float], None]] = []

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not run backwards")
        with self._lock:
            self._now += seconds

    def set(self, when: float) -> None:
        with self._lock:
            self._now = max(self._now, when)

    def on_sleep(self, hook: Callable[[float], None]) -> Callable[[], None]:
        """`hook(until)` runs whenever code sleeps on this clock, before the time moves to `until`: what lives on
        the clock (a simulated cluster) acts at every moment it has due on the way, as it would while a real client
        slept. Returns what detaches the hook."""
        self._sleepers.append(hook)
        return lambda: self._sleepers.remove(hook) if hook in self._sleepers else None

    def sleep(self, seconds: float) -> None:
        """Code under test that "waits" on a virtual clock moves it (through its sleepers' due moments)."""
        if seconds < 0:
            raise ValueError("a clock does not run backwards")
        until = self._now + seconds
        for hook in list(self._sleepers):
            hook(until)
        self.set(until)


def rfc3339(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def parse_rfc3339(text: str) -> float:
    import calendar

    return float(calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")))

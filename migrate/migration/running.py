"""A hook under way: asked for its outcome without waiting, so a wave's hooks run side by side while the run
loop keeps its lock and watches the clock. A real hook runs in a thread (its command or playbook is a child
process); a rehearsed one finishes at a time on the virtual clock; one with nothing to run is finished at once."""
# exercised by tests/migration/test_wave_hooks.py

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, wait
from typing import Any, Protocol

from migrate.clock import Clock

Evidence = Mapping[str, Any]


class Running(Protocol):
    def outcome(self) -> Evidence | None:
        """The hook's evidence once it finished, None while it runs; raises what the hook raised."""

    def wait(self, seconds: float) -> None:
        """Until the hook ends or `seconds` pass, whichever is first (on the time the hook runs by)."""


class Finished:
    """Nothing to run (no hook, or a person's job): the outcome is known at once."""

    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence

    def outcome(self) -> Evidence | None:
        return self.evidence

    def wait(self, seconds: float) -> None:
        return None


class InThread:
    """A blocking hook (a command, a playbook) started in a thread of its own."""

    def __init__(self, work: Callable[[], Evidence], name: str = "hook") -> None:
        self._future: Future[Evidence] = Future()
        self._thread = threading.Thread(target=self._work, args=(work,), name=name, daemon=True)
        self._thread.start()

    def _work(self, work: Callable[[], Evidence]) -> None:
        try:
            self._future.set_result(work())
        except BaseException as exc:  # noqa: BLE001 — handed to whoever asks for the outcome, in the run's thread
            self._future.set_exception(exc)

    def outcome(self) -> Evidence | None:
        return self._future.result() if self._future.done() else None

    def wait(self, seconds: float) -> None:
        wait([self._future], timeout=seconds)  # wall time: the hook's child process runs by it


class Until:
    """A rehearsed hook: done once the virtual clock reaches the time it takes."""

    def __init__(self, clock: Clock, seconds: float, evidence: Evidence) -> None:
        self.clock, self.ends_at, self.evidence = clock, clock.now() + seconds, evidence

    def outcome(self) -> Evidence | None:
        return self.evidence if self.clock.now() >= self.ends_at else None

    def wait(self, seconds: float) -> None:
        self.clock.sleep(max(0.0, min(seconds, self.ends_at - self.clock.now())))

"""When the twin's controllers act, the same whichever transport drives it (in process or over HTTP).

A real API server answers concurrent requests while the controllers watch and react a moment later, and time that
passes lets everything due on the way happen at its own moment. In virtual time that is: writes sent at one instant
(a wave's evictions, which kubectl's drain sends from one goroutine per pod) land without the controllers between
them; a read, or the first write at a later instant, comes after the controllers reacted to everything before it;
and a client sleeping on the clock (a drain's 5 s before it retries a 429, a backoff, a hook's time) moves the twin
through every due moment up to its wake-up — the evicted pods' replacements created when the pods were evicted and
Ready when their kubelets say, not when the client next calls.
"""
# exercised by tests/cluster/twin/test_pacing.py

from __future__ import annotations

from collections.abc import Callable

from migrate.clock import VirtualClock
from migrate.cluster.twin.simulation import Twin


class Pacing:
    def __init__(self, twin: Twin) -> None:
        self.twin = twin
        self._reconciled_at: float | None = None  # the instant the controllers last caught up with the writes
        clock = twin.clock
        self._detach: Callable[[], None] = (clock.on_sleep(self._sleeping) if isinstance(clock, VirtualClock)
                                            else lambda: None)

    def before(self, *, write: bool) -> None:
        """Before a request: the controllers react to what came before, unless it is one more write at the instant
        they last did (the writes of one instant are concurrent: none of them waits for a controller)."""
        with self.twin.store.lock:
            now = self.twin.clock.now()
            if not write or now != self._reconciled_at:
                self.twin.reconcile()
                self._reconciled_at = now

    def _sleeping(self, until: float) -> None:
        """A client sleeps: the twin reacts to the writes of this instant, then acts at each due moment until then."""
        with self.twin.store.lock:
            self.twin.advance(max(0.0, until - self.twin.clock.now()))
            self._reconciled_at = self.twin.clock.now()

    def close(self) -> None:
        self._detach()

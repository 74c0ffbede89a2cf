"""A wave's decommission hooks, started together and awaited together, each journalled on its own host.

Every host of the wave gets its intent in the ledger before its hook starts and its outcome the moment its
hook ends, so a run killed half-way knows, host by host, which hooks finished (never run again), which never
started (run now) and which were running (outcome unknown: run again only if migration.yaml does not say
`idempotent: false`; otherwise the host is left failed for a person to check and mark). A control plane's wave
holds one host, so control planes still go strictly one at a time; a worker wave runs at most its own size.
"""
# exercised by tests/migration/test_wave_hooks.py

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from migrate.errors import UserError
from migrate.ledger import HostState
from migrate.migration.plan_file import HostMove
from migrate.migration.running import Running

if TYPE_CHECKING:
    from migrate.migration.engine import Migration

STEP = "decommission"
HOOK_POLL = 2.0  # at most this long between looks at the wave's hooks (the lock is renewed between looks)


class WaveHooks:
    """The decommission hooks of one wave: started together by the constructor, awaited by `finish` — at once for
    a control plane or an in-place host, or while the next wave of workers is under way (its old nodes are gone
    from the cluster, so their hooks take no capacity the budget counts)."""

    def __init__(self, run: Migration, moves: Sequence[HostMove]) -> None:
        self.run, self.wave = run, run._wave_number
        self.running: dict[str, tuple[int, Running]] = {}
        self.errors: list[tuple[str, Exception]] = []
        # a crash between a hook's outcome and the host's move: the move, not the hook again
        todo = [m for m in moves if not run._caught_up(m.host, STEP)]
        if todo:
            run._stop_if_asked(f"host {todo[0].host}")
            run.lock.renew_if_due()
        for move in todo:
            self._start(move, [m.host for m in todo])

    def _start(self, move: HostMove, wave: list[str]) -> None:
        run = self.run
        unknown = _outcome_unknown(run, move.host)
        if unknown and not _repeatable(move):
            self.errors.append((move.host, _refuse(run, move)))
            return
        intent: dict[str, Any] = {"step": STEP, "wave": wave, **({"resumed": True} if unknown else {})}
        sid = run.ledger.begin_step(move.host, STEP, run_id=run.run_id, intent=intent)
        run._emit("step-started", move.host, STEP)
        try:
            self.running[move.host] = (sid, _start(run, move))
        except Exception as exc:
            run._failed(move.host, STEP, sid, exc)
            self.errors.append((move.host, exc))

    def poll(self) -> None:
        """The outcomes of the hooks that ended by now journalled, without waiting for the others."""
        with self._own_wave():
            self._collect()

    def finish(self) -> None:
        """Every hook's outcome journalled as it ends; a failure waits for the others, never abandons them."""
        with self._own_wave():
            while self._collect():
                self.run.lock.renew_if_due()
                self.run._emit("waiting", ",".join(self.running), STEP,
                               f"{len(self.running)} decommission hook(s) still running")
                next(iter(self.running.values()))[1].wait(HOOK_POLL)
        if len(self.errors) == 1:
            raise self.errors[0][1]
        if self.errors:
            raise UserError(f"{len(self.errors)} decommission hooks failed: "
                            + "; ".join(f"{host}: {str(exc).splitlines()[0]}" for host, exc in self.errors),
                            where=f"wave {self.wave}", hint="each host's error is in the ledger "
                            "(`kubespray2talos status`); the hosts that finished are not run again")

    def _collect(self) -> bool:
        """One look at every hook still running; True while some still run."""
        for host, (sid, job) in list(self.running.items()):
            try:
                evidence = job.outcome()
            except Exception as exc:
                del self.running[host]
                self.run._failed(host, STEP, sid, exc)
                self.errors.append((host, exc))
                continue
            if evidence is not None:
                del self.running[host]
                self.run._succeeded(host, STEP, sid, evidence)
        return bool(self.running)

    @contextmanager
    def _own_wave(self) -> Iterator[None]:
        """Its events belong to its own wave, even while the next one runs."""
        current, self.run._wave_number = self.run._wave_number, self.wave
        try:
            yield
        finally:
            self.run._wave_number = current


def _start(run: Migration, move: HostMove) -> Running:
    return run.in_place.start_decommission(move) if run.in_place else run.hands.start_decommission(move)


def _outcome_unknown(run: Migration, host: str) -> bool:
    """The host's last decommission record has no outcome (the run died while its hook ran), or was closed as such."""
    records = [s for s in run.ledger.steps(host) if s.step == STEP]
    if not records:
        return False
    last = max(records, key=lambda s: s.id)
    run._close_interrupted(host, STEP)
    return last.finished_at is None or bool(last.evidence.get("interrupted") or last.evidence.get("outcome_unknown"))


def _repeatable(move: HostMove) -> bool:
    return move.decommission is None or move.decommission.idempotent


def _refuse(run: Migration, move: HostMove) -> UserError:
    error = UserError(f"the decommission hook of {move.host} was running when an earlier run stopped, and "
                      "migration.yaml says it is not idempotent: it is not run again", where=f"host {move.host}",
                      hint=f"check the host; when it is retired: `kubespray2talos mark PLAN_DIR {move.host} "
                      "decommissioned --note …`; to run the hook again instead, set idempotent: true")
    sid = run.ledger.begin_step(move.host, STEP, run_id=run.run_id, intent={"step": STEP, "resumed": True})
    run.ledger.finish_step(sid, "failed", {"error": error.message, "outcome_unknown": True})
    if run.ledger.host(move.host).state != HostState.FAILED:
        run.ledger.transition(move.host, HostState.FAILED, run_id=run.run_id, step=STEP, outcome="failed",
                              evidence={"error": error.message})
    run._emit("step-failed", move.host, STEP, error.message)
    return error

"""A wave's decommission hooks, started together and awaited together, each journalled on its own host.

Every host of the wave gets its intent in the ledger before its hook starts and its outcome the moment its
hook ends, so a run killed half-way knows, host by host, which hooks finished (never run again), which never
started (run now) and which were running (outcome unknown: run again only if migration.yaml does not say
`idempotent: false`; otherwise the host is left failed for a person to check and mark). A control plane's wave
holds one host, so control planes still go strictly one at a time; a worker wave runs at most its own size.
"""
# exercised by tests/migration/test_wave_hooks.py

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from migrate.errors import UserError
from migrate.ledger import HostState
from migrate.migration.plan_file import HostMove
from migrate.migration.running import Running

if TYPE_CHECKING:
    from migrate.migration.engine import Migration

STEP = "decommission"
HOOK_POLL = 2.0  # at most this long between looks at the wave's hooks (the lock is renewed between looks)


def decommission_wave(run: Migration, moves: Sequence[HostMove]) -> None:
    for move in moves:  # a crash between a hook's outcome and the host's move: the move, not the hook again
        done = [s for s in run.ledger.steps(move.host) if s.step == STEP and s.outcome == "ok"]
        if done:
            run._succeeded(move.host, STEP, None, done[-1].evidence)
    todo = [m for m in moves if not run._done(m.host, STEP)]
    if not todo:
        return
    run._stop_if_asked(f"host {todo[0].host}")
    run.lock.renew_if_due()
    running: dict[str, tuple[int, Running]] = {}
    errors: list[tuple[str, Exception]] = []
    for move in todo:
        unknown = _outcome_unknown(run, move.host)
        if unknown and not _repeatable(move):
            errors.append((move.host, _refuse(run, move)))
            continue
        intent: dict[str, Any] = {"step": STEP, "wave": [m.host for m in todo], **({"resumed": True} if unknown else {})}
        sid = run.ledger.begin_step(move.host, STEP, run_id=run.run_id, intent=intent)
        run._emit("step-started", move.host, STEP)
        try:
            running[move.host] = (sid, _start(run, move))
        except Exception as exc:
            run._failed(move.host, STEP, sid, exc)
            errors.append((move.host, exc))
    _await(run, running, errors)
    if len(errors) == 1:
        raise errors[0][1]
    if errors:
        raise UserError(f"{len(errors)} decommission hooks failed: "
                        + "; ".join(f"{host}: {str(exc).splitlines()[0]}" for host, exc in errors),
                        where=f"wave {run._wave_number}", hint="each host's error is in the ledger "
                        "(`kubespray2talos status`); the hosts that finished are not run again")


def _await(run: Migration, running: dict[str, tuple[int, Running]], errors: list[tuple[str, Exception]]) -> None:
    """Each outcome recorded as its hook ends; a failure waits for the wave's other hooks, never abandons them."""
    while running:
        for host, (sid, job) in list(running.items()):
            try:
                evidence = job.outcome()
            except Exception as exc:
                del running[host]
                run._failed(host, STEP, sid, exc)
                errors.append((host, exc))
                continue
            if evidence is not None:
                del running[host]
                run._succeeded(host, STEP, sid, evidence)
        if running:
            run.lock.renew_if_due()
            run._emit("waiting", ",".join(running), STEP, f"{len(running)} decommission hook(s) still running")
            next(iter(running.values()))[1].wait(HOOK_POLL)


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

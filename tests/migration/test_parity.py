"""A rehearsal predicts the night whichever way it reaches the twin: the same migration of a cut of the 200-node
fixture, once over HTTP with the official client against the facade and once in process as `rehearse` runs it,
takes the same virtual time, wave by wave and step by step, with the same evictions and the same 429s.

Both transports pace the controllers alike (migrate/cluster/twin/pacing.py); before they did, the in-process run
let the controllers react to a drain's evictions only when the drain next called, 5 s later, so every retry round
cost another 5 s there (222 s against 157 s on 20 workers, budget 4)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from migrate.migration.rehearse import plan_from_snapshot, rehearse
from tests.migration.over_http import DRAIN, LARGE, cut, migrate_over_http, relaxed

WORKERS, TEAMS, BUDGET = 10, 2, 3
STEP_EVENTS = ("wave", "step-started", "step-done", "step-failed")


def _steps(events):
    """Every wave and step the engine went through, with its moment (seconds from the first event)."""
    start = events[0].at
    return [(round(e.at - start, 3), e.kind, e.host, e.step) for e in events if e.kind in STEP_EVENTS]


def _drain_calls(events):
    return Counter(e.kind for e in events if e.kind in ("evicted", "blocked"))


def test_the_same_migration_takes_the_same_time_over_http_and_in_process(tmp_path: Path):
    snapshot = cut(relaxed(json.loads(LARGE.read_text())), workers=WORKERS, teams=TEAMS)
    (tmp_path / "http").mkdir()
    night = migrate_over_http(snapshot, tmp_path / "http", budget=BUDGET)
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(snapshot))
    rehearsal = rehearse(path, plan_from_snapshot(path, BUDGET, cluster="night"), baseline=False, drain=DRAIN,
                         decommission_seconds=0.0)
    assert night.finished and not rehearsal.blockers, rehearsal.blockers
    calls = _drain_calls(night.events)
    assert calls["blocked"] > 0  # budgets held some evictions back, so the pacing of retries was exercised
    assert rehearsal.makespan == night.makespan
    assert _drain_calls(rehearsal.events) == calls
    assert _steps(rehearsal.events) == _steps(night.events)

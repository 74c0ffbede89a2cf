"""A wave's decommission hooks run side by side, each journalled on its own host, and a wave is verified once.
Killed anywhere inside a wave's decommission, the same command finishes with no hook run again on a host whose
decommission finished, and a hook whose outcome is unknown run again only when migration.yaml allows it."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from migrate.errors import UserError
from migrate.ledger import HostState, Ledger
from migrate.migration.engine import Event, Migration
from migrate.migration.hands import HookHands
from migrate.migration.plan_file import Hook, HostMove
from migrate.migration.rehearse import plan_from_snapshot, rehearse
from migrate.migration.running import Running
from tests.migration.harness import NODES, Crash, Rig, rig
from tests.migration.test_faults import DEMO, OPTS

WORKERS = ["w1", "w2", "w3"]  # one wave with a budget of 3
HOOK = 10.0  # virtual seconds each rehearsed hook takes


def _crash_when(engine: Migration, hit: Callable[[Event], bool]) -> None:
    """kill -9 right after the engine reported this event (its ledger write done, nothing after it)."""
    record = engine.on_event

    def on_event(event: Event) -> None:
        record(event)
        if hit(event):
            raise Crash(f"{event.kind} {event.step} {event.host}")
    engine.on_event = on_event


def _steps(r: Rig, host: str, step: str) -> list[Any]:
    return [s for s in Ledger.open(r.ledger_path).steps(host) if s.step == step]


def _in_wave_decommission(event: Event) -> bool:
    return event.step == "decommission" and bool(set(event.host.split(",")) & set(WORKERS))


def test_the_hooks_of_a_wave_run_side_by_side_and_control_planes_one_at_a_time(tmp_path):
    with rig(tmp_path, max_unavailable=3, decommission_seconds=HOOK) as r:
        r.engine().run()
        hooks = [_steps(r, h, "decommission")[0] for h in WORKERS]
        assert all(s.outcome == "ok" and s.finished_at - s.started_at >= HOOK for s in hooks)  # each its full time
        assert max(s.finished_at for s in hooks) - min(s.started_at for s in hooks) < 2 * HOOK  # together, not 3×
        planes = [_steps(r, h, "decommission")[0] for h in ("cp1", "cp2", "cp3")]
        assert all(a.finished_at <= b.started_at for a, b in zip(planes, planes[1:], strict=False))
        assert sorted(r.hands.decommissioned) == sorted(n for n, _ in NODES)  # every host's hook, once


def test_a_wave_is_verified_once_on_its_first_host_and_the_others_with_it(tmp_path):
    with rig(tmp_path, max_unavailable=3) as r:
        r.engine().run()
        checks = {h: [s for s in _steps(r, h, "verify") if s.outcome == "ok"] for h in WORKERS}
        assert all(len(c) == 1 for c in checks.values())
        assert checks["w1"][0].evidence["controllers_ready"] >= 1  # web's pods were evicted from the wave
        assert [c[0].evidence for h, c in checks.items() if h != "w1"] == [{"verified_with": "w1"}] * 2
        started = [e.host for e in r.events if e.kind == "step-started" and e.step == "verify"]
        assert started.count("w1") == 1


@pytest.mark.parametrize("when", ["after the check", "during the check"])
def test_a_crash_inside_the_waves_verify_neither_repeats_nor_skips_the_check(tmp_path, when):
    with rig(tmp_path, max_unavailable=3) as r:
        first = r.engine(run_id="first", holder="op@ci:1")
        kind = "step-done" if when == "after the check" else "step-started"
        _crash_when(first, lambda e: e.kind == kind and e.step == "verify" and e.host == "w1")
        with pytest.raises(Crash):
            first.run()
        assert not _steps(r, "w2", "verify")
        r.events.clear()
        r.engine(run_id="second", holder="op@ci:1").run()
        checked = [s for s in _steps(r, "w1", "verify") if s.outcome == "ok"]
        assert len(checked) == 1 and "controllers_ready" in checked[0].evidence
        again = [e for e in r.events if e.kind == "step-started" and e.step == "verify" and e.host == "w1"]
        assert len(again) == (0 if when == "after the check" else 1)  # a check with no outcome is made again
        assert all(_steps(r, h, "verify")[-1].evidence == {"verified_with": "w1"} for h in ("w2", "w3"))
        assert all(len(_steps(r, h, "delete-node")) == 1 for h in WORKERS)


def test_a_waves_hooks_run_on_while_the_next_wave_of_workers_goes_but_never_two_waves_of_hooks(tmp_path):
    with rig(tmp_path, max_unavailable=1, decommission_seconds=HOOK) as r:  # workers w1, w2, w3: a wave each
        r.engine().run()
        hook = {h: _steps(r, h, "decommission")[0] for h in WORKERS}
        drain = {h: _steps(r, h, "drain")[0] for h in WORKERS}
        assert hook["w1"].finished_at > drain["w2"].started_at  # w2 was drained while w1's hook still ran
        assert hook["w2"].started_at >= hook["w1"].finished_at and hook["w3"].started_at >= hook["w2"].finished_at
        cp3 = _steps(r, "cp3", "decommission")[0]
        assert cp3.finished_at <= _steps(r, "w1", "provision")[0].started_at  # a control plane's hook ends first
        assert {h.state for h in Ledger.open(r.ledger_path).hosts()} == {HostState.DECOMMISSIONED}


def _kill_points(tmp_path: Path) -> list[Event]:
    """Every kind of event of the workers' hooks (the first of each), and every step w3 starts while the first
    wave's hooks still run; a crash lands right after the chosen one."""
    (tmp_path / "count").mkdir()
    with rig(tmp_path / "count", max_unavailable=2, decommission_seconds=HOOK) as r:  # waves [w1, w2], [w3]
        r.engine().run()
        points = [e for e in r.events if _kill_point(e)]
        return [e for i, e in enumerate(points) if all((p.kind, p.host) != (e.kind, e.host) for p in points[:i])
                or e.kind == "step-started"]


def _kill_point(event: Event) -> bool:
    return _in_wave_decommission(event) or (event.host == "w3" and event.kind == "step-started")


def test_killed_at_every_point_of_the_workers_hooks_the_rerun_runs_no_finished_hook_again(tmp_path):
    points = _kill_points(tmp_path)
    assert [e.kind for e in points][:2] == ["step-started"] * 2 and sum(e.kind == "waiting" for e in points) >= 2
    for i, point in enumerate(points):
        (tmp_path / str(i)).mkdir()
        with rig(tmp_path / str(i), max_unavailable=2, decommission_seconds=HOOK) as r:
            first = r.engine(run_id="first", holder="op@ci:1")
            at = (point.kind, point.host, point.step, point.at)
            _crash_when(first, lambda e, at=at: _kill_point(e) and (e.kind, e.host, e.step, e.at) == at)
            with pytest.raises(Crash):
                first.run()
            finished = {h for h in WORKERS if any(s.outcome == "ok" for s in _steps(r, h, "decommission"))}
            r.hands.decommissioned.clear()
            r.engine(run_id="second", holder="op@ci:1").run()

            assert {h.state for h in Ledger.open(r.ledger_path).hosts()} == {HostState.DECOMMISSIONED}, point
            rerun = r.hands.decommissioned
            assert not set(rerun) & finished, f"killed at {point}: a finished hook ran again"
            assert sorted(rerun) == sorted(set(WORKERS) - finished), point  # unknown or never started: once each
            for host in WORKERS:
                assert len([s for s in _steps(r, host, "decommission") if s.outcome == "ok"]) == 1, (point, host)
                assert len([s for s in _steps(r, host, "drain") if s.outcome == "ok"]) == 1, (point, host)


def test_a_hook_that_is_not_idempotent_is_not_run_again_when_its_outcome_is_unknown(tmp_path):
    with rig(tmp_path, max_unavailable=3, decommission_seconds=HOOK) as r:
        once = Hook(command=("retire-w2",), idempotent=False)
        r.plan = dataclasses.replace(r.plan, hosts=tuple(dataclasses.replace(m, decommission=once) if m.host == "w2"
                                                         else m for m in r.plan.hosts))
        first = r.engine(run_id="first", holder="op@ci:1")
        _crash_when(first, lambda e: e.kind == "waiting" and e.step == "decommission" and "w2" in e.host)
        with pytest.raises(Crash):
            first.run()
        r.hands.decommissioned.clear()
        with pytest.raises(UserError, match="not idempotent") as refused:
            r.engine(run_id="second", holder="op@ci:1").run()
        assert "w2" in refused.value.where and "mark" in refused.value.hint
        assert sorted(r.hands.decommissioned) == ["w1", "w3"]  # the others went on, w2's hook did not run again
        ledger = Ledger.open(r.ledger_path)
        assert ledger.host("w2").state == HostState.FAILED
        assert {ledger.host(h).state for h in ("w1", "w3")} == {HostState.DECOMMISSIONED}
        with pytest.raises(UserError, match="not idempotent"):  # the refusal holds on every later run
            r.engine(run_id="third", holder="op@ci:1").run()
        ledger.transition("w2", HostState.DECOMMISSIONED, run_id="mark", step="mark")  # a person checked w2
        r.engine(run_id="fourth", holder="op@ci:1").run()
        assert r.hands.decommissioned == ["w1", "w3"]


class HostsRetiredByCommands:
    """The twin joins the replacements; real command hooks retire the old hosts (HookHands, child processes)."""

    def __init__(self, rig_: Rig) -> None:
        self.twin_hands, self.hooks = rig_.hands, HookHands()

    def provision(self, move: HostMove) -> Any:
        return self.twin_hands.provision(move)

    def decommission(self, move: HostMove) -> Any:
        return self.hooks.decommission(move)

    def start_decommission(self, move: HostMove) -> Running:
        return self.hooks.start_decommission(move)


HOOK_SCRIPT = """import json, os, sys, time
log, broken = sys.argv[1], sys.argv[2]
start = time.time()
time.sleep(1.5)
if os.environ["KS2T_HOST"] == "w2" and os.path.exists(broken):
    print("disk busy", file=sys.stderr)
    sys.exit(3)
with open(log, "a") as fh:
    fh.write(json.dumps([os.environ["KS2T_HOST"], start, time.time()]) + "\\n")
"""


def test_real_hooks_run_together_a_failure_waits_for_the_others_and_only_it_runs_again(tmp_path):
    script, log, broken = tmp_path / "hook.py", tmp_path / "hooks.jsonl", tmp_path / "broken"
    script.write_text(HOOK_SCRIPT)
    broken.write_text("")
    hook = Hook(command=(sys.executable, str(script), str(log), str(broken)))
    with rig(tmp_path, max_unavailable=3) as r:
        r.plan = dataclasses.replace(r.plan, hosts=tuple(dataclasses.replace(m, decommission=hook)
                                                         for m in r.plan.hosts))
        engine = r.engine(run_id="first", holder="op@ci:1")
        engine.hands = HostsRetiredByCommands(r)
        with pytest.raises(UserError, match="exit code 3: disk busy"):
            engine.run()
        runs = [json.loads(line) for line in log.read_text().splitlines()]
        workers = [run for run in runs if run[0] in WORKERS]
        assert sorted(run[0] for run in workers) == ["w1", "w3"]  # w2's failure did not cut the others short
        assert max(run[1] for run in workers) < min(run[2] for run in workers)  # they overlapped
        ledger = Ledger.open(r.ledger_path)
        assert ledger.host("w2").state == HostState.FAILED
        assert _steps(r, "w2", "decommission")[-1].evidence["error"].endswith("disk busy")

        broken.unlink()  # the operator fixed the host
        again = r.engine(run_id="second", holder="op@ci:1")
        again.hands = HostsRetiredByCommands(r)
        again.run()
        later = [json.loads(line)[0] for line in log.read_text().splitlines()][len(runs):]
        assert later == ["w2"]
        assert {h.state for h in Ledger.open(r.ledger_path).hosts()} == {HostState.DECOMMISSIONED}


@pytest.mark.parametrize("hook_seconds", [0.0, 60.0, 600.0])
def test_a_rehearsal_shows_a_waves_hooks_beside_the_next_wave_and_never_beats_its_lower_bound(hook_seconds):
    result = rehearse(DEMO, plan_from_snapshot(DEMO, 2), drain=OPTS, decommission_seconds=hook_seconds)
    assert result.outcome.startswith("finished") and result.lower_bound <= result.makespan
    by_wave = {w["wave"]: w for w in result.timeline}
    first_workers, second_workers = by_wave[4], by_wave[5]  # [w1, w2] then [w3]
    assert result.timeline[:3] == sorted(result.timeline[:3], key=lambda w: w["start"])
    assert all(a["end"] <= b["start"] for a, b in zip(result.timeline[:3], result.timeline[1:4], strict=True))  # planes in turn
    if hook_seconds:
        assert second_workers["start"] < first_workers["end"]  # w3 went while w1's and w2's hooks ran
        assert result.makespan < result.baseline  # one node at a time pays every hook in turn
    if hook_seconds >= 600:  # hooks dominate: the plan is within a fifth of what no schedule can beat
        assert result.makespan <= 1.2 * result.lower_bound

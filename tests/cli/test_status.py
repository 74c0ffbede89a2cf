"""`status`: every host grouped by state, with age and actor; failed or stuck hosts make the exit code 1."""

from __future__ import annotations

import json
import time

import pytest

from migrate.clock import VirtualClock
from migrate.ledger import HostState, Ledger, default_path, plan_id
from tests.ledger.plans import DEMO_HOSTS, copy_plan, demo_plan_fixtures, k2t

template, plan = demo_plan_fixtures()

DAY = 86400.0


def moved(plan, host, *states, days_ago=0.0):
    """Walk `host` through `states` as a migration `days_ago` would have (the ledger's clock, not a sleep)."""
    clock = VirtualClock(start=time.time() - days_ago * DAY)
    with Ledger.open(default_path(plan), plan_id(plan), clock=clock) as ledger:
        for state in states:
            ledger.transition(host, state, run_id="run-7", step=f"to-{state}")
        return ledger


def status_json(*args):
    result = k2t("status", *args, "--output", "json")
    return result.returncode, json.loads(result.stdout) if result.stdout else None, result.stderr


def test_a_fresh_plan_has_every_host_active_and_nothing_to_do(plan):
    rc, data, _ = status_json(plan)
    assert rc == 0
    assert [h["name"] for h in data["hosts"]] == DEMO_HOSTS
    assert data["by_state"] == {"active": 6} and data["ended"] == 0
    assert all(h["actor"].count("@") == 1 and h["age_seconds"] < 3600 for h in data["hosts"])


def test_hosts_are_grouped_by_state_with_age_and_actor(plan):
    moved(plan, "w1", HostState.REPLACEMENT_READY, HostState.CORDONED, days_ago=0.1)
    moved(plan, "w2", HostState.RETIRED, days_ago=3)
    rc, data, _ = status_json(plan)
    assert rc == 0 and data["by_state"] == {"active": 4, "cordoned": 1, "retired": 1}
    w1 = next(h for h in data["hosts"] if h["name"] == "w1")
    assert w1["state"] == "cordoned" and 0.09 * DAY < w1["age_seconds"] < 0.11 * DAY and not w1["stuck"]
    table = k2t("status", plan)
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert "1 of 6 old hosts decommissioned or retired" in lines[0]
    order = [next(i for i, line in enumerate(lines) if i and line.startswith(f" {s} ")) for s in ("active", "cordoned", "retired")]
    assert order == sorted(order)  # lifecycle order
    assert any("w2" in line and "3d" in line for line in lines)


def test_a_host_in_progress_without_change_past_stale_is_stuck_and_exits_1(plan):
    moved(plan, "w1", HostState.REPLACEMENT_READY, HostState.CORDONED, days_ago=2)
    moved(plan, "w2", HostState.RETIRED, days_ago=9)  # ended long ago: not stuck
    rc, data, _ = status_json(plan, "--stale", "24h")
    assert rc == 1 and [h["name"] for h in data["hosts"] if h["stuck"]] == ["w1"]
    table = k2t("status", plan)
    assert table.returncode == 1 and "w1 (cordoned): no change for 2d" in table.stderr
    assert status_json(plan, "--stale", "3d")[0] == 0


def test_an_unfinished_step_counts_as_stuck_and_a_failed_host_needs_a_person(plan):
    clock = VirtualClock(start=time.time() - 2 * DAY)
    with Ledger.open(default_path(plan), clock=clock) as ledger:
        ledger.begin_step("cp1", "drain", run_id="run-8")
        ledger.transition("w3", HostState.FAILED, run_id="run-8", step="join", note="talos node never became Ready")
    rc, data, _ = status_json(plan, "--stale", "1d")
    hosts = {h["name"]: h for h in data["hosts"]}
    assert rc == 1 and hosts["cp1"]["stuck"] and hosts["cp1"]["last_step"]["outcome"] is None
    assert hosts["w3"]["failed"] and hosts["w3"]["note"] == "talos node never became Ready"


@pytest.mark.parametrize("damage, message", [
    (lambda p: default_path(p).write_bytes(b"garbage" * 2000), "not an SQLite database"),
    (lambda p: default_path(p).unlink(), "no ledger here"),
    (lambda p: (p / "nodes" / "w1.yaml").write_text("machine: {}\n"), "belongs to another plan"),
])
def test_bad_ledgers_are_refused_with_exit_2(plan, damage, message):
    damage(plan)
    result = k2t("status", plan)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_another_plans_ledger_given_with_ledger_is_refused(plan, tmp_path):
    other = copy_plan(plan, tmp_path / "other", cluster="prod-eu")
    result = k2t("status", plan, "--ledger", default_path(other))
    assert result.returncode == 2 and "another plan" in result.stderr


def test_a_bad_stale_duration_says_how_to_write_it(plan):
    result = k2t("status", plan, "--stale", "soon")
    assert result.returncode == 2 and "24h" in result.stderr

"""`rehearse --faults`: the spec, and rehearsals of the demo cluster under faults — the run finishes or stops
cleanly, the ledger stays consistent, and the debrief says what the run did about each fault."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from migrate.errors import UserError
from migrate.migration.drain import RETRY_AFTER
from migrate.migration.faults import FaultPlan, parse
from migrate.migration.filters import DrainOptions
from migrate.migration.rehearse import Rehearsal, plan_from_snapshot, rehearse

DEMO = Path(__file__).resolve().parents[2] / "playbook_fixtures" / "clusters" / "demo.json"
OPTS = DrainOptions(delete_emptydir_data=True, force=True, timeout=600)


def run(spec: str, seed: int = 0, budget: int = 2) -> Rehearsal:
    return rehearse(DEMO, plan_from_snapshot(DEMO, budget), seed=seed, drain=OPTS, baseline=False,
                    faults=FaultPlan(parse(spec), seed))


def assert_ledger_consistent(result: Rehearsal) -> None:
    """No step left open; a node deleted only after its drain and verify finished; states follow the steps."""
    assert all(s.finished_at is not None for s in result.steps)
    by_host: dict[str, list[Any]] = {}
    for s in result.steps:
        by_host.setdefault(s.host, []).append(s)
    for host, steps in by_host.items():
        ok = {s.step: s for s in steps if s.outcome == "ok"}
        if "delete-node" in ok:
            assert ok["delete-node"].started_at >= ok["drain"].finished_at
            assert ok["delete-node"].started_at >= ok["verify"].finished_at
        if result.hosts[host] == "decommissioned":
            assert {"provision", "cordon", "drain", "verify", "delete-node", "decommission"} <= set(ok)
        if any(s.outcome == "failed" for s in steps) and "delete-node" not in ok:
            assert result.hosts[host] in ("failed", "cordoned", "replacement-ready", "drained")


@pytest.mark.parametrize("item, says", [
    ("api-5xx", "expected KIND=VALUE"), ("api-5xx=0%", "not a rate"), ("api-5xx=150%", "not a rate"),
    ("disk-full=w1", "unknown fault kind 'disk-full'"), ("pdb-block=web", "NAMESPACE/NAME"),
    ("node-notready=w1@soon", "not a duration"), ("", "no fault given")])
def test_a_bad_spec_names_the_item_and_what_to_write(item, says):
    with pytest.raises(UserError, match=says) as caught:
        parse(item)
    assert "--faults" in str(caught.value)


def test_a_spec_reads_rates_windows_targets_and_times():
    storm, node, budget = parse("api-429=50%@10m-15m, node-notready=w3@1h,pdb-block=shop/web")
    assert (storm.rate, storm.start, storm.end) == (0.5, 600.0, 900.0)
    assert (node.target, node.start) == ("w3", 3600.0)
    assert (budget.target, budget.start) == ("shop/web", 0.0)


def test_a_target_the_snapshot_lacks_is_refused_before_the_run():
    with pytest.raises(UserError, match="no node w9"):
        run("node-notready=w9")


@pytest.mark.parametrize("seed", [1, 2])
def test_ten_percent_of_api_calls_failing_still_ends_cleanly_with_a_consistent_ledger(seed):
    clean = rehearse(DEMO, plan_from_snapshot(DEMO, 2), seed=seed, drain=OPTS, baseline=False)
    result = run("api-5xx=4%,api-timeout=3%,api-429=3%", seed=seed)
    assert_ledger_consistent(result)
    assert result.pdb_violations == 0
    fired = {d["fault"]: d for d in result.debrief}
    assert set(fired) == {"api-5xx=4%", "api-timeout=3%", "api-429=3%"}
    injected = sum(int(d["happened"].split(" of ")[0]) for d in fired.values())
    total = int(fired["api-5xx=4%"]["happened"].split(" of ")[1].split()[0])
    assert 0.05 < injected / total < 0.16  # about 10% of the requests, as asked
    if not result.blockers:  # retried with backoff: the same end as without faults, about as late
        # not strictly later: a backoff shifts the drain's 5 s eviction retries (kubectl's), and a retry that lands
        # just after a budget frees up instead of just before it saves up to one retry period
        assert result.hosts == clean.hosts and result.makespan >= clean.makespan - RETRY_AFTER
        assert "none reached the run" in fired["api-5xx=4%"]["run_did"]


def test_a_budget_that_blocks_stops_the_drain_naming_it_and_leaves_the_nodes_cordoned():
    result = run("pdb-block=shop/checkout")
    assert_ledger_consistent(result)
    assert result.blockers and "checkout" in result.blockers[0]
    entry = result.debrief[0]
    assert "maxUnavailable 0" in entry["happened"] and "naming the budget" in entry["run_did"]
    assert not any(state == "removed" or state == "decommissioned" for host, state in result.hosts.items()
                   if host.startswith("w") and host in result.blockers[0])


def test_a_dead_etcd_member_makes_the_projected_quorum_refuse_the_next_removal():
    result = run("etcd-kill=cp3")
    assert_ledger_consistent(result)
    assert result.blockers and "quorum" in result.blockers[0]
    assert "refused" in result.debrief[0]["run_did"] and "etcd3 died" in result.debrief[0]["happened"]
    assert result.hosts["cp1"] != "decommissioned"  # its member was never removed, so its host was not retired


def test_a_worker_that_fails_mid_run_is_reported_with_what_became_of_it():
    result = run("node-notready=w3@60s", budget=1)
    assert_ledger_consistent(result)
    entry = result.debrief[0]
    assert entry["happened"].startswith("at +1m") and "Ready turned Unknown" in entry["happened"]
    assert entry["run_did"]  # said in words: what the run did with w3 (carried on, or its failed step)
    assert result.pdb_violations >= 0


def test_the_cli_debriefs_each_fault_and_refuses_a_bad_spec_by_name(tmp_path):
    from migrate.migration import plan_file

    plan_file.write(tmp_path, plan_from_snapshot(DEMO, 2))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "migrate", "rehearse", str(DEMO), str(tmp_path), *args],
                              capture_output=True, text=True, timeout=180, check=False)

    run = cli("--delete-emptydir-data", "--force", "--faults", "api-5xx=10%,etcd-kill=cp3@2h", "--seed", "3")
    assert run.returncode == 0, run.stderr
    assert "fault api-5xx=10%" in run.stdout and "happened:" in run.stdout and "the run:" in run.stdout
    assert "never fired" in run.stdout  # the etcd member was due after the run had ended
    assert "API calls per evicted pod" in run.stdout
    bad = cli("--faults", "api-5xx=lots")
    assert bad.returncode == 2 and "api-5xx=lots" in bad.stderr and "not a rate" in bad.stderr
    assert "Traceback" not in bad.stderr

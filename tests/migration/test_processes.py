"""`kubespray2talos migrate` as real processes against a twin served over HTTP in real time: killed with SIGKILL in the
middle of a drain and run again to the end (no pod lost, no second drain), and two started at once (exactly one
proceeds; the other is refused, naming the holder)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrate.cluster.twin import KubeletTiming, SystemClock, Twin, serve_in_thread
from migrate.cluster.twin.resources import DEPLOYMENTS, LEASES, NODES, PDBS, PODS
from migrate.ledger import Ledger, plan_id
from migrate.migration import plan_file
from migrate.migration.plan_file import default_plan
from tests.cluster.conftest import deployment, pdb

REPO = Path(__file__).resolve().parents[2]
QUICK = KubeletTiming(start_delay=0.3, stop_delay=0.2, job_duration=1.0)
HOSTS = ("w1", "w2")  # migrated; w3 stays, and the replacements join beside them


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Twin, Path, Path]]:
    """A real-time twin (its actors in a thread), served over HTTP, and a plan directory for w1 and w2."""
    twin = Twin(SystemClock(), timing=QUICK, node_ready_delay=0.2)
    for i, name in enumerate(("w1", "w2", "w3"), start=1):
        twin.add_node(name, f"10.0.10.2{i}", cpu="4", memory="8Gi")
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 4))
    twin.api.create(PDBS, "default", pdb("web", {"app": "web"}, maxUnavailable=2))
    twin.api.create(DEPLOYMENTS, "default", deployment("api", 2, labels={"app": "api"}))
    served = serve_in_thread(twin)
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir()
    (plan_dir / "report.json").write_text(json.dumps({"cluster": "demo"}))
    plan = default_plan({"cluster": "demo", "nodes": [{"name": h, "role": "worker", "ip": f"10.0.10.2{i}"}
                                                     for i, h in enumerate(HOSTS, start=1)]}, max_unavailable=1)
    plan_file.write(plan_dir, plan)
    Ledger.create(plan_dir / "ledger.db", plan_id(plan_dir), [(m.host, m.role) for m in plan.hosts]).close()
    try:
        assert _wait(lambda: _ready(twin, "web") == 4 and _ready(twin, "api") == 2)
        yield twin, served.write_kubeconfig(tmp_path / "kubeconfig"), plan_dir
    finally:
        served.stop()


def _migrate(plan_dir: Path, kubeconfig: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "migrate", "migrate", str(plan_dir), "--kubeconfig", str(kubeconfig),
                             "--yes", "-o", "json"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _ready(twin: Twin, app: str) -> int:
    return sum(1 for p in twin.store.objects(PODS, "default") if (p["metadata"].get("labels") or {}).get("app") == app
               and not p["metadata"].get("deletionTimestamp")
               and any(c.get("type") == "Ready" and c.get("status") == "True" for c in p["status"].get("conditions") or []))


def _wait(predicate, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_migrate_killed_mid_drain_and_run_again_finishes_with_no_pod_lost_and_one_drain_per_host(cluster):
    twin, kubeconfig, plan_dir = cluster
    for i, host in enumerate(HOSTS, start=1):  # the replacements boot (no provision hook: started by hand)
        twin.join_node(f"{host}-talos", f"10.0.20.2{i}", cpu="4", memory="8Gi")
    first = _migrate(plan_dir, kubeconfig)
    assert first.stdout is not None
    for line in first.stdout:  # kill -9 at the first eviction: the drain of w1 is under way
        if json.loads(line)["kind"] == "evicted":
            first.send_signal(signal.SIGKILL)
            break
    assert first.wait(timeout=60) == -signal.SIGKILL
    ledger = Ledger.open(plan_dir / "ledger.db")
    assert [s.step for s in ledger.steps("w1") if s.finished_at is None] == ["drain"]  # killed inside it
    ledger.close()

    again = subprocess.run([sys.executable, "-m", "migrate", "migrate", str(plan_dir), "--kubeconfig", str(kubeconfig),
                            "--yes", "-o", "json"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    ledger = Ledger.open(plan_dir / "ledger.db")
    for host in HOSTS:
        steps = ledger.steps(host)
        drains = [s for s in steps if s.step == "drain" and s.outcome == "ok"]
        assert len(drains) == 1, f"{host} drained twice"
        deleted = [s for s in steps if s.step == "delete-node" and s.outcome == "ok"]
        assert len(deleted) == 1 and deleted[0].started_at >= drains[0].finished_at
        assert ledger.host(host).state.value == "removed"  # no decommission hook: a person retires the machine
    interrupted = [s for s in ledger.steps("w1") if s.step == "drain" and s.outcome == "failed"]
    assert len(interrupted) == 1 and interrupted[0].evidence == {"interrupted": True}
    assert {n["metadata"]["name"] for n in twin.store.objects(NODES)} == {"w3", "w1-talos", "w2-talos"}
    assert _wait(lambda: _ready(twin, "web") == 4 and _ready(twin, "api") == 2)  # every replica Ready elsewhere


def test_two_migrations_started_at_once_one_proceeds_and_the_other_is_refused_naming_it(cluster):
    twin, kubeconfig, plan_dir = cluster  # no replacement joins: the winner waits in provision, holding the Lease
    runs = [_migrate(plan_dir, kubeconfig), _migrate(plan_dir, kubeconfig)]
    try:
        deadline = time.monotonic() + 90
        while all(r.poll() is None for r in runs) and time.monotonic() < deadline:
            time.sleep(0.1)
        done = [r for r in runs if r.poll() is not None]
        assert len(done) == 1, "neither run was refused"
        loser, = done
        winner, = [r for r in runs if r is not loser]
        _, err = loser.communicate(timeout=10)
        assert loser.returncode == 2
        assert "another migration of this cluster is running" in err
        assert f":{winner.pid} holds the lock" in err  # named: user@host:pid of the run that proceeds
        time.sleep(1.0)
        assert winner.poll() is None  # still going (waiting for w1-talos), the lock still its own
        lease = twin.store.find(LEASES, "kube-system", "kubespray2talos-migration")
        assert lease is not None and lease["spec"]["holderIdentity"].endswith(f":{winner.pid}")
    finally:
        for r in runs:
            if r.poll() is None:
                os.kill(r.pid, signal.SIGKILL)
                r.wait(timeout=10)


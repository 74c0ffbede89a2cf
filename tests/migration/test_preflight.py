"""preflight over HTTP against the twin: what would stop the night is named the day before, and nothing changes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from migrate.clock import SystemClock
from migrate.cluster.twin import Twin, serve_in_thread
from migrate.migration.preflight import preflight, worst
from tests.conftest import CLUSTERS, FIXTURES, INVENTORIES, REPO
from tests.migration.harness import rig


def test_a_budget_that_never_allows_and_the_lock_fail_the_checks(tmp_path):
    with rig(tmp_path, budget={"minAvailable": 3}) as r:
        checks = {c.name: c for c in preflight(r.plan, r.cluster, r.twin.clock, "1.31.4")}
        assert checks["budgets that allow a disruption"].result == "fail"
        assert "default/web" in checks["budgets that allow a disruption"].reason
        assert checks["migration lock"].result == "pass"
        r.engine(holder="alice@laptop:1").lock.acquire()
        again = {c.name: c for c in preflight(r.plan, r.cluster, r.twin.clock)}
        assert again["migration lock"].result == "fail" and "alice@laptop:1" in again["migration lock"].reason
        assert worst(list(again.values())) == 2


def test_a_healthy_rig_passes(tmp_path):
    with rig(tmp_path) as r:
        checks = preflight(r.plan, r.cluster, r.twin.clock, "1.31.4")
        assert {c.result for c in checks} == {"pass"}, [c for c in checks if c.result != "pass"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("p") / "plan"
    subprocess.run([sys.executable, "-m", "migrate", "plan", str(INVENTORIES / "demo"), "--pki",
                    str(FIXTURES / "pki" / "demo"), "--out", str(out)], capture_output=True, cwd=REPO, check=False)
    handle = serve_in_thread(Twin.from_snapshot(CLUSTERS / "demo.json", SystemClock()))
    yield out, handle.write_kubeconfig(tmp_path_factory.mktemp("k") / "kubeconfig")
    handle.stop()


def test_the_demo_cluster_warns_about_what_a_drain_would_refuse(demo):
    plan, kubeconfig = demo
    run = subprocess.run([sys.executable, "-m", "migrate", "preflight", str(plan), "--kubeconfig", str(kubeconfig),
                          "-o", "json"], capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    checks = {c["check"]: c for c in json.loads(run.stdout)}
    assert run.returncode == 1, run.stderr  # warnings only
    assert checks["pods a drain refuses"]["result"] == "warn" and "default/debug-shell" in checks["pods a drain refuses"]["reason"]

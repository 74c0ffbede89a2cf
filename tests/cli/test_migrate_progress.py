"""`kubespray2talos migrate` run for real as a subprocess against a twin served over HTTP in real time: one line per
event in a pipe, a JSON object per event with -o json, a live board on a terminal (a pty), the cluster name typed
back, and SIGINT/SIGTERM that stop after the current step, release the Lease and leave a ledger to resume from."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from migrate.clock import SystemClock
from migrate.cluster.kube import KubeCluster
from migrate.cluster.twin import KubeletTiming, Twin, serve_in_thread
from migrate.cluster.twin.resources import DEPLOYMENTS, PDBS
from migrate.ledger import HostState, Ledger, plan_id
from migrate.migration import plan_file
from migrate.migration.lock import NAME, NAMESPACE
from tests.cluster.conftest import deployment, pdb
from tests.conftest import REPO

WORKERS = ["w1", "w2"]
LINE = re.compile(r"^\d\d:\d\d:\d\d wave \d+\s+[a-z-]+\s+\S+")


@pytest.fixture
def cluster(tmp_path):
    """Two old workers whose Talos replacements have already joined (surge), a 3-replica web with a budget."""
    twin = Twin(SystemClock(), timing=KubeletTiming(start_delay=0.3, stop_delay=0.2), node_ready_delay=0.3)
    for i, name in enumerate(WORKERS, start=1):
        twin.add_node(name, f"10.0.10.2{i}", cpu="4", memory="8Gi", os_image="Ubuntu 22.04.4 LTS")
        twin.add_node(f"{name}-talos", f"10.0.20.2{i}", cpu="4", memory="8Gi")
    twin.api.create(DEPLOYMENTS, "default", deployment("web", 3))
    twin.api.create(PDBS, "default", pdb("web", {"app": "web"}, maxUnavailable=1))
    served = serve_in_thread(twin)
    plan = tmp_path / "plan"
    plan.mkdir()
    nodes = [{"name": n, "role": "worker", "ip": f"10.0.10.2{i}"} for i, n in enumerate(WORKERS, start=1)]
    (plan / "report.json").write_text(json.dumps({"cluster": "demo", "nodes": nodes}))
    plan_file.write(plan, plan_file.default_plan({"cluster": "demo", "nodes": nodes}, max_unavailable=1))
    Ledger.create(plan / "ledger.db", plan_id(plan), [(n, "worker") for n in WORKERS]).close()
    kubeconfig = served.write_kubeconfig(tmp_path / "kubeconfig")
    _wait_ready(kubeconfig)
    yield plan, kubeconfig
    served.stop()


def _wait_ready(kubeconfig: Path) -> None:
    client = KubeCluster(kubeconfig)
    try:
        for _ in range(100):
            web = [p for p in client.list_pods(namespace="default") if p.ready]
            if len(web) == 3 and all(n.ready for n in client.list_nodes()):
                return
            time.sleep(0.1)
        raise AssertionError("the twin did not settle")
    finally:
        client.close()


def migrate(plan: Path, kubeconfig: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrate", "migrate", str(plan), "--kubeconfig", str(kubeconfig),
                           *args], capture_output=True, text=True, input=stdin, cwd=REPO, timeout=120, check=False)


def test_in_a_pipe_each_event_is_one_plain_line_after_the_name_is_typed_back(cluster):
    plan, kubeconfig = cluster
    run = migrate(plan, kubeconfig, stdin="demo\n")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines and all(LINE.match(line) for line in lines), [x for x in lines if not LINE.match(x)][:3]
    assert "\x1b" not in run.stdout  # no terminal control in a pipe
    for host in WORKERS:
        steps = [line.split()[5] for line in lines
                 if line.split()[3] in ("step-done", "step-skipped") and line.split()[4] == host]
        assert steps == ["provision", "cordon", "drain", "verify", "etcd", "delete-node", "decommission"]
    assert any(" to-evict " in line and "[1 left]" in line for line in lines)
    assert any(" evicted " in line and "default/web-" in line and "[0 left]" in line for line in lines)
    assert [line.split()[3] for line in lines].count("wave") == len(WORKERS)


def test_json_streams_one_object_per_event(cluster):
    plan, kubeconfig = cluster
    run = migrate(plan, kubeconfig, "--yes", "-o", "json")
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    assert {"wave", "step-started", "step-done", "to-evict", "evicted"} <= {e["kind"] for e in events}
    assert [e["wave"] for e in events if e["kind"] == "wave"] == [1, 2]
    assert all(set(e) == {"kind", "host", "step", "detail", "at", "wave", "pods_left", "pdb"} for e in events)
    for wave in (1, 2):
        left = [e["pods_left"] for e in events if e["wave"] == wave and e["kind"] in ("to-evict", "evicted")]
        assert left == sorted(left, reverse=True) and left[-1] == 0
    ats = [e["at"] for e in events]
    assert ats == sorted(ats)


def test_on_a_terminal_the_run_is_a_live_board(cluster):
    plan, kubeconfig = cluster
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "migrate", "migrate", str(plan), "--kubeconfig", str(kubeconfig),
                             "--yes"], stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, cwd=REPO,
                            env={**os.environ, "COLUMNS": "140", "TERM": "xterm"})
    os.close(slave)
    screen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.wait(timeout=30) == 0, proc.stderr.read() if proc.stderr else ""
    text = screen.decode(errors="replace")
    assert "\x1b[" in text  # redrawn in place, not appended line by line
    assert "pods left to evict" in text and "wave 2" in text
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    assert all(h in plain for h in WORKERS) and "decommission" in plain and "done" in plain


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_after_the_current_step_and_releases_the_lock(cluster, signum):
    plan, kubeconfig = cluster
    argv = [sys.executable, "-m", "migrate", "migrate", str(plan), "--kubeconfig", str(kubeconfig), "--yes", "-o", "json"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None
    seen = []
    for raw in proc.stdout:  # the signal lands while w1's drain is under way
        seen.append(json.loads(raw))
        if seen[-1]["kind"] == "to-evict":
            proc.send_signal(signum)
            break
    rest, err = proc.communicate(timeout=60)
    seen += [json.loads(x) for x in rest.splitlines()]
    assert proc.returncode == 1, err
    assert "stopping after the current step" in err and "Traceback" not in err
    assert seen[-1]["kind"] == "step-done" and seen[-1]["step"] == "drain"  # the drain finished, nothing after it
    client = KubeCluster(kubeconfig)
    try:
        assert client.get_lease(NAMESPACE, NAME).holder == ""  # released
        assert client.get_node("w1").unschedulable and client.get_node("w1") is not None
    finally:
        client.close()
    with Ledger.open(plan / "ledger.db") as ledger:
        assert all(s.finished_at is not None for s in ledger.steps())  # no step left half-done
        assert ledger.host("w1").state is HostState.DRAINED and ledger.host("w2").state is HostState.ACTIVE
    if signum == signal.SIGINT:
        return  # resuming is the same for either signal: once is enough
    again = migrate(plan, kubeconfig, "--yes", "-o", "json")
    assert again.returncode == 0, again.stderr
    kinds = [(e["kind"], e["host"], e["step"]) for e in map(json.loads, again.stdout.splitlines())]
    assert ("step-started", "w1", "drain") not in kinds  # resumed after the drain, not drained twice
    with Ledger.open(plan / "ledger.db") as ledger:
        assert {ledger.host(h).state for h in WORKERS} == {HostState.REMOVED}  # no decommission hook: by hand

"""The real kubectl against a twin of the demo snapshot: taints, watches and rollouts as an operator sees them."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrate.cluster.twin import KubeletTiming, SystemClock, Twin, serve_in_thread
from migrate.cluster.twin.resources import DAEMONSETS, PODS
from tests.cluster.test_kubectl import KUBECTL, _wait, kubectl, require_kubectl  # noqa: F401  (autouse fixture)
from tests.conftest import REPO

DEMO = REPO / "playbook_fixtures" / "clusters" / "demo.json"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Twin, Path]]:
    twin = Twin.from_snapshot(DEMO, SystemClock(), timing=KubeletTiming(start_delay=0.2, stop_delay=0.2), node_ready_delay=0.2)
    handle = serve_in_thread(twin)
    try:
        handle.write_kubeconfig(tmp_path / "config")
        yield twin, tmp_path
    finally:
        handle.stop()


def _ingress_pods(twin: Twin) -> dict[str, str]:
    return {p["spec"]["nodeName"]: p["metadata"]["name"] for p in twin.store.objects(PODS, "ingress-nginx")
            if not p["metadata"].get("deletionTimestamp")}


def test_noschedule_taint_keeps_running_daemon_pods_noexecute_evicts_them(demo) -> None:
    twin, home = demo
    before = _ingress_pods(twin)
    assert "w3" in before
    out = kubectl(home, "taint", "node", "w3", "dedicated=db:NoSchedule")
    assert out.returncode == 0, out.stderr
    twin.reconcile()
    assert _ingress_pods(twin) == before  # NoSchedule keeps what runs
    status = twin.store.get(DAEMONSETS, "ingress-nginx", "ingress-nginx-controller")["status"]
    # upstream: w3 no longer "should run" the pod, so it leaves desired and counts as misscheduled
    assert (status["desiredNumberScheduled"], status["numberMisscheduled"]) == (len(before) - 1, 1)
    shown = kubectl(home, "get", "ds", "-n", "ingress-nginx", "ingress-nginx-controller",
                    "-o", "jsonpath={.status.desiredNumberScheduled}/{.status.numberMisscheduled}")
    assert shown.stdout == f"{len(before) - 1}/1"

    assert kubectl(home, "taint", "node", "w3", "dedicated=db:NoExecute").returncode == 0
    _wait(lambda: "w3" not in _ingress_pods(twin))
    assert {k: v for k, v in before.items() if k != "w3"} == _ingress_pods(twin)


def test_get_pods_watch_prints_ready_and_status_columns(demo) -> None:
    twin, home = demo
    cmd = [KUBECTL, "--kubeconfig", str(home / "config"), "--cache-dir", str(home / "cache"),
           "get", "pods", "-n", "shop", "-l", "app.kubernetes.io/name=checkout", "-w", "--request-timeout=8s"]
    lines: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as watcher:
        reader = threading.Thread(target=lambda: lines.extend(iter(watcher.stdout.readline, "")), daemon=True)
        reader.start()
        try:
            # kubectl watches from its list's resourceVersion: once the list is printed, no later event is missed
            _wait(lambda: len(lines) > 1)
            assert kubectl(home, "scale", "-n", "shop", "deployment", "checkout", "--replicas=3").returncode == 0
            _wait(lambda: _watched(lines[3:], "1/1", "Running") and _watched(lines[3:], None, "Pending"))  # after header + list
        finally:
            watcher.terminate()
        watcher.communicate(timeout=10)
        reader.join(timeout=10)
    out = "".join(lines)
    header, *rows = out.splitlines()
    assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert len(rows) > 2
    assert any(r.split()[1:3] == ["1/1", "Running"] for r in rows[2:])  # events from the watch, not the list
    assert any(r.split()[2] == "Pending" for r in rows[2:])


def _watched(rows: list[str], ready: str | None, status: str) -> bool:
    """A row of `kubectl get -w` output with that READY (any when None) and STATUS."""
    return any(r.split()[2:3] == [status] and (ready is None or r.split()[1] == ready) for r in rows)


def test_rollout_history_and_undo(demo) -> None:
    twin, home = demo
    assert kubectl(home, "set", "image", "-n", "shop", "deployment/checkout", "checkout=example/checkout:2").returncode == 0
    done = kubectl(home, "rollout", "status", "-n", "shop", "deployment/checkout", "--timeout=20s")
    assert done.returncode == 0, done.stderr
    history = kubectl(home, "rollout", "history", "-n", "shop", "deployment/checkout")
    assert history.returncode == 0, history.stderr
    assert [line.split()[0] for line in history.stdout.splitlines()[2:] if line.strip()] == ["1", "2"]
    undo = kubectl(home, "rollout", "undo", "-n", "shop", "deployment/checkout")
    assert undo.returncode == 0 and "rolled back" in undo.stdout, undo.stdout + undo.stderr
    image = kubectl(home, "get", "-n", "shop", "deployment/checkout", "-o",
                    "jsonpath={.spec.template.spec.containers[0].image} {.metadata.annotations.deployment\\.kubernetes\\.io/revision}")
    assert image.stdout.split()[1] == "3" and not image.stdout.startswith("example/checkout:2")
    again = kubectl(home, "rollout", "history", "-n", "shop", "deployment/checkout")
    assert [line.split()[0] for line in again.stdout.splitlines()[2:] if line.strip()] == ["2", "3"]

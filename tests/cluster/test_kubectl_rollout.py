"""kubectl rollouts paced by maxSurge/maxUnavailable, and kubectl's protobuf requests, against a real-time twin."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from migrate.cluster.twin import KubeletTiming, SystemClock, Twin, serve_in_thread
from migrate.cluster.twin.index import is_active, is_ready
from migrate.cluster.twin.resources import NODES, PODS
from migrate.cluster.twin.store import Event
from tests.cluster.test_kubectl import _wait, kubectl, require_kubectl  # noqa: F401 (autouse: fails when kubectl is missing)

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop, namespace: default}
spec:
  replicas: 4
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers:
      - {name: shop, image: "example/shop:1", resources: {requests: {cpu: 100m, memory: 64Mi}}}
"""


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Twin, Path]]:
    twin = Twin(SystemClock(), timing=KubeletTiming(start_delay=0.3, stop_delay=0.2), node_ready_delay=0.2)
    for i in (1, 2, 3):
        twin.add_node(f"w{i}", f"10.0.10.2{i}")
    handle = serve_in_thread(twin)
    handle.write_kubeconfig(tmp_path / "config")
    _wait(lambda: all(n["status"]["conditions"][-1]["status"] == "True" for n in twin.store.objects(NODES)))
    yield twin, tmp_path
    handle.stop()


def _shop(twin: Twin) -> list[dict[str, Any]]:
    return [p for p in twin.store.objects(PODS) if p["metadata"]["labels"].get("app") == "shop" and is_active(p)]


def test_set_image_rolls_one_surge_pod_at_a_time_and_rollout_status_waits(cluster: tuple[Twin, Path]) -> None:
    twin, home = cluster
    (home / "shop.yaml").write_text(DEPLOYMENT)
    assert kubectl(home, "apply", "-f", str(home / "shop.yaml")).returncode == 0
    assert kubectl(home, "rollout", "status", "deployment/shop", "--timeout=20s").returncode == 0
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    def observe(event: Event) -> None:
        if event.resource is PODS:
            with lock:
                pods = _shop(twin)
                seen.append((len(pods), sum(1 for p in pods if is_ready(p))))
    twin.store.subscribe(observe)
    assert kubectl(home, "set", "image", "deployment/shop", "shop=example/shop:2").returncode == 0
    status = kubectl(home, "rollout", "status", "deployment/shop", "--timeout=30s")
    assert status.returncode == 0, status.stderr
    # rollout status reports each step of a paced rollout before it finishes
    assert "Waiting for deployment \"shop\" rollout to finish" in status.stdout
    assert 'deployment "shop" successfully rolled out' in status.stdout
    assert max(active for active, _ in seen) == 5 and min(ready for _, ready in seen) >= 4
    images = {p["spec"]["containers"][0]["image"] for p in _shop(twin)}
    assert images == {"example/shop:2"} and len(_shop(twin)) == 4
    history = kubectl(home, "rollout", "history", "deployment/shop")
    assert [line.split()[0] for line in history.stdout.splitlines()[2:] if line.strip()] == ["1", "2"]


def test_drain_without_eviction_deletes_with_protobuf_delete_options(cluster: tuple[Twin, Path]) -> None:
    twin, home = cluster
    (home / "shop.yaml").write_text(DEPLOYMENT)
    assert kubectl(home, "apply", "-f", str(home / "shop.yaml")).returncode == 0
    assert kubectl(home, "rollout", "status", "deployment/shop", "--timeout=20s").returncode == 0
    target = _shop(twin)[0]["spec"]["nodeName"]
    drained = kubectl(home, "drain", target, "--disable-eviction", "--grace-period=7", "--timeout=30s", "-v=8")
    assert drained.returncode == 0, drained.stderr
    assert "Content-Type: application/vnd.kubernetes.protobuf" in drained.stderr  # the DELETE went as protobuf
    assert f"node/{target} drained" in drained.stdout
    _wait(lambda: len(_shop(twin)) == 4 and target not in {p["spec"]["nodeName"] for p in _shop(twin)})


def test_create_deployment_sends_protobuf_and_gets_the_api_servers_415(cluster: tuple[Twin, Path]) -> None:
    _, home = cluster
    refused = kubectl(home, "create", "deployment", "echo", "--image=example/echo:1")
    assert refused.returncode == 1
    assert refused.stderr.strip() == ("error: failed to create deployment: the body of the request was in an unknown format "
                                      "- accepted media types include: application/json, application/yaml")

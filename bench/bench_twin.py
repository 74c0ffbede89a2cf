"""Benchmark: the cluster twin's HTTP facade under the official `kubernetes` client.

Serves the large-ha snapshot (200 nodes, ~4,000 pods) and times, through the unmodified client:
`read_node` (budget: median under 2 ms on an idle core), a fieldSelector pod list over the 4,000 pods (under
200 ms), a full paginated pod list, and a virtual-time drain of one node. The budgets are ratios against a
baseline measured in the same run (bench/budget.py); exits 1 when one is missed.

    .venv/bin/python bench/bench_twin.py
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from budget import Budget, baseline_seconds, cpu_now, judge, within  # noqa: E402
from kubernetes import client, config  # noqa: E402

from migrate.cluster.kube import KubeCluster  # noqa: E402
from migrate.cluster.twin import Twin, serve_in_thread  # noqa: E402
from migrate.cluster.twin.resources import NODES, PODS  # noqa: E402
from migrate.cluster.twin.status import ApiError  # noqa: E402

SNAPSHOT = REPO / "playbook_fixtures" / "clusters" / "large-ha.json"
READ_NODE_BUDGET = within(0.002)  # read_node in 2 ms, a fieldSelector list over 4,000 pods in 200 ms
FIELD_LIST_BUDGET = within(0.200)


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores (load average {load}), Python {platform.python_version()}, {platform.platform()}"


def timed(fn, repeat: int) -> list[float]:  # noqa: ANN001
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def eviction_pass_ms(twin: Twin, count: int = 20) -> list[float]:
    """One eviction plus the reconcile it causes (replacement created, bound, budgets recomputed), per pod."""
    pods = [p for p in twin.store.objects(PODS) if (p["metadata"].get("ownerReferences") or [{}])[0].get("kind") == "ReplicaSet"]
    samples = []
    for pod in pods[::max(1, len(pods) // count)][:count]:
        start = time.perf_counter()
        try:
            twin.api.evict(pod["metadata"]["namespace"], pod["metadata"]["name"], {})
        except ApiError:
            continue
        twin.reconcile()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def drain_rehearsal() -> tuple[int, float, float]:
    """Evict every non-DaemonSet pod of one node in virtual time: (pods, virtual seconds, wall seconds)."""
    start = time.perf_counter()
    twin = Twin.from_snapshot(SNAPSHOT)
    node = "node042"
    twin.api.patch(NODES, "", node, {"spec": {"unschedulable": True}}, "application/strategic-merge-patch+json")
    victims = [p for p in twin.store.objects(PODS) if p["spec"].get("nodeName") == node
               and (p["metadata"].get("ownerReferences") or [{}])[0].get("kind") not in ("DaemonSet", "Node")]
    begin = twin.clock.now()
    pending = list(victims)
    while pending:
        still = []
        for pod in pending:
            try:
                twin.api.evict(pod["metadata"]["namespace"], pod["metadata"]["name"], {})
            except ApiError as exc:
                if exc.code != 429:
                    raise
                still.append(pod)  # a PDB said not yet: retry after kubectl's 5 s
        pending = still
        twin.advance(5.0)
    twin.settle()
    return len(victims), twin.clock.now() - begin, time.perf_counter() - start


def main() -> int:
    print(f"machine: {machine()}")
    before = baseline_seconds()
    start = time.perf_counter()
    twin = Twin.from_snapshot(SNAPSHOT)
    pods = len(list(twin.store.objects(PODS)))
    print(f"load large-ha snapshot: {pods} pods, {time.perf_counter() - start:.2f} s")
    served = serve_in_thread(twin)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            kubeconfig = served.write_kubeconfig(Path(tmp) / "kubeconfig")
            core = client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
            core.read_node("node001")  # warm the connection
            cpu = cpu_now()
            read = timed(lambda: core.read_node("node042"), 300)
            read_cpu = (cpu_now() - cpu) / 300  # client and served twin alike: both run in this process
            cpu = cpu_now()
            field = timed(lambda: core.list_pod_for_all_namespaces(field_selector="spec.nodeName=node042"), 30)
            field_cpu = (cpu_now() - cpu) / 30
            raw = timed(lambda: core.list_pod_for_all_namespaces(field_selector="spec.nodeName=node042", _preload_content=False).data, 30)
            kube = KubeCluster(kubeconfig)
            full = timed(lambda: kube.list_pods(), 3)
    finally:
        served.stop()
    passes = eviction_pass_ms(Twin.from_snapshot(SNAPSHOT))
    victims, virtual, wall = drain_rehearsal()
    read_ms, field_ms = statistics.median(read), statistics.median(field)
    print(f"read_node (official client, models):              median {read_ms:.2f} ms  p95 {sorted(read)[int(len(read) * .95)]:.2f} ms"
          )
    print(f"list pods fieldSelector over {pods} (client, models): median {field_ms:.1f} ms")
    print(f"list pods fieldSelector, raw JSON:                 median {statistics.median(raw):.1f} ms")
    print(f"list all {pods} pods, 500 per page (KubeCluster):  median {statistics.median(full):.0f} ms")
    print(f"one eviction + the reconcile it causes:           median {statistics.median(passes):.1f} ms over {len(passes)}")
    print(f"virtual-time drain of node042: {victims} pods evicted and replaced, {virtual:.0f} virtual s in {wall:.2f} wall s")
    return judge([Budget("read_node, CPU per call", read_cpu, READ_NODE_BUDGET),
                  Budget(f"fieldSelector list over {pods} pods, CPU per call", field_cpu, FIELD_LIST_BUDGET)],
                 (before + baseline_seconds()) / 2)


if __name__ == "__main__":
    sys.exit(main())

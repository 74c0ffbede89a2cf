"""A whole migration of a captured cluster, run over HTTP with the official client against the twin in virtual time:
the engine, KubeCluster and the twin's facade as a real night would use them, with its budgets watched as the
disruption controller writes them and every workload's Ready replicas counted before and after.

Used by tests/migration/test_large.py (a 40-node cut of the 200-node fixture) and bench/bench_migrate_http.py (the
whole fixture)."""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrate.cluster.kube import KubeCluster
from migrate.cluster.twin import KubeletTiming, Twin, VirtualClock, serve_in_thread
from migrate.cluster.twin.etcd import TwinEtcd
from migrate.cluster.twin.resources import DAEMONSETS, DEPLOYMENTS, PODS, REPLICASETS, STATEFULSETS
from migrate.ledger import HostState, Ledger
from migrate.migration.engine import Event, Migration
from migrate.migration.filters import DrainOptions
from migrate.migration.lock import MigrationLock
from migrate.migration.rehearse import BudgetWatch, TwinHands, plan_from_snapshot, with_addresses

LARGE = Path(__file__).resolve().parents[2] / "playbook_fixtures" / "clusters" / "large-ha.json"
DRAIN = DrainOptions(delete_emptydir_data=True, force=True, timeout=1800)


@dataclass
class Night:
    hosts: dict[str, str]  # host -> its state in the ledger at the end
    pdb_violations: int
    lost: dict[str, int]  # workload -> Ready replicas short at the end of what it had at the start
    evicted: int
    forced: list[str]  # bare pods the drain deleted, as `kubectl drain --force` does
    makespan: float  # virtual seconds
    cpu: float
    wall: float
    requests: Counter[str] = field(default_factory=Counter)  # HTTP method (WATCH for a watch) -> requests sent
    events: list[Event] = field(default_factory=list)  # the engine's, in order

    @property
    def requests_per_evicted_pod(self) -> float:
        return sum(self.requests.values()) / max(1, self.evicted)

    @property
    def finished(self) -> bool:
        return set(self.hosts.values()) == {HostState.DECOMMISSIONED.value}


def count_requests(kube: KubeCluster, counts: Counter[str]) -> None:
    """Every HTTP request the official client sends, by method (a watch counted as WATCH), retries included."""
    rest = kube.api_client.rest_client
    send = rest.request

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        counts["WATCH" if method == "GET" and "watch=true" in url.lower() else method] += 1
        return send(method, url, *args, **kwargs)
    rest.request = request


def relaxed(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Every budget that can never allow a disruption made to allow one (maxUnavailable 1) and a second budget over
    the same pods dropped — what preflight tells an operator to fix before the night (bench_rehearse's `relaxed`)."""
    objects = snapshot["objects"]
    replicas = {(d["metadata"]["namespace"], d["metadata"]["name"]): d["spec"].get("replicas", 1)
                for d in objects.get("deployments.apps", []) + objects.get("statefulsets.apps", [])}
    kept, seen = [], set()
    for pdb in objects.get("poddisruptionbudgets.policy", []):
        selector = (pdb["metadata"]["namespace"], json.dumps(pdb["spec"]["selector"], sort_keys=True))
        if selector not in seen:
            kept.append(pdb)
        seen.add(selector)
    for pdb in kept:
        spec = pdb["spec"]
        n = replicas.get((pdb["metadata"]["namespace"], spec["selector"]["matchLabels"].get("app.kubernetes.io/name", "")), 0)
        want = spec.get("minAvailable")
        floor = None if want is None else (math.ceil(n * int(str(want).rstrip("%")) / 100) if str(want).endswith("%")
                                           else int(want))
        if spec.get("maxUnavailable") in (0, "0%") or (floor is not None and n and floor >= n):
            spec.pop("minAvailable", None)
            spec["maxUnavailable"] = 1
    objects["poddisruptionbudgets.policy"] = kept
    return snapshot


def cut(snapshot: dict[str, Any], workers: int, teams: int) -> dict[str, Any]:
    """The first `workers` workers (and the control planes) with the first `teams` team namespaces: pods bound to a
    node left out go too, and their controllers recreate them on the nodes kept when the twin settles."""
    objects = snapshot["objects"]
    nodes = [n for n in objects["nodes"] if "node-role.kubernetes.io/control-plane" in n["metadata"].get("labels", {})]
    nodes += [n for n in objects["nodes"] if n not in nodes][:workers]
    names = {n["metadata"]["name"] for n in nodes}
    spaces = {f"team-{t:02d}" for t in range(1, teams + 1)}

    def kept(obj: dict[str, Any]) -> bool:
        ns = obj["metadata"].get("namespace", "")
        return not ns.startswith(("team-", "legacy")) or ns in spaces

    for plural, items in list(objects.items()):
        if plural == "namespaces":
            objects[plural] = [o for o in items if not o["metadata"]["name"].startswith(("team-", "legacy"))
                               or o["metadata"]["name"] in spaces]
        elif plural != "nodes":
            objects[plural] = [o for o in items if kept(o)]
    objects["nodes"] = nodes
    objects["pods"] = [p for p in objects["pods"] if p["spec"].get("nodeName") in names]
    return snapshot


def ready_replicas(twin: Twin) -> dict[str, int]:
    """Ready pods per workload (Deployment, StatefulSet, DaemonSet), from the pods themselves."""
    owners: dict[str, str] = {}
    for rt in (DEPLOYMENTS, STATEFULSETS, DAEMONSETS):
        for obj in twin.store.objects(rt):
            owners[obj["metadata"]["uid"]] = f"{rt.kind} {obj['metadata']['namespace']}/{obj['metadata']['name']}"
    for rs in twin.store.objects(REPLICASETS):
        refs = [o for o in rs["metadata"].get("ownerReferences") or [] if o.get("controller")]
        if refs and refs[0]["uid"] in owners:
            owners[rs["metadata"]["uid"]] = owners[refs[0]["uid"]]
    ready: Counter[str] = Counter({name: 0 for name in owners.values()})
    for pod in twin.store.objects(PODS):
        refs = [o for o in pod["metadata"].get("ownerReferences") or [] if o.get("controller")]
        conditions = (pod.get("status") or {}).get("conditions") or []
        if refs and refs[0]["uid"] in owners and not pod["metadata"].get("deletionTimestamp") and any(
                c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            ready[owners[refs[0]["uid"]]] += 1
    return dict(ready)


def bare_pods(twin: Twin) -> set[str]:
    return {f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in twin.store.objects(PODS)
            if not p["metadata"].get("ownerReferences")
            and "kubernetes.io/config.mirror" not in (p["metadata"].get("annotations") or {})}


def migrate_over_http(snapshot: dict[str, Any], tmp: Path, budget: int = 10) -> Night:
    path = tmp / "snapshot.json"
    path.write_text(json.dumps(snapshot))
    clock = VirtualClock()
    twin = Twin.from_snapshot(path, clock, timing=KubeletTiming(start_delay=5.0, stop_delay=2.0), seed=0)
    twin.settle()
    plan = with_addresses(plan_from_snapshot(path, budget, cluster="night"))
    etcd = TwinEtcd(clock)
    for i, move in enumerate((m for m in plan.hosts if m.is_control_plane), start=1):
        if move.address:
            etcd.add_member(f"etcd{i}", move.address)
    budgets, before, bare = BudgetWatch(twin), ready_replicas(twin), bare_pods(twin)
    served = serve_in_thread(twin, virtual_watches=True)
    kube = KubeCluster(served.write_kubeconfig(tmp / "kubeconfig"), clock=clock, seed=0)
    counts: Counter[str] = Counter()
    count_requests(kube, counts)
    events: list[Event] = []
    Ledger.create(tmp / "ledger.db", "night", [(m.host, m.role) for m in plan.hosts], clock=clock).close()
    ledger = Ledger.open(tmp / "ledger.db", clock=clock)
    start, cpu, wall = clock.now(), time.process_time(), time.perf_counter()
    try:
        Migration(plan, kube, ledger, TwinHands(twin, etcd), clock, run_id="night",
                  lock=MigrationLock(kube, "operator@night:1", clock), etcd=etcd, drain=DRAIN,
                  on_event=events.append).run()
        cpu, wall, makespan = time.process_time() - cpu, time.perf_counter() - wall, clock.now() - start
        twin.settle()
        after = ready_replicas(twin)
        hosts = {h.name: h.state.value for h in ledger.hosts()}
    finally:
        ledger.close()
        kube.close()
        served.stop()
    lost = {name: n - after.get(name, 0) for name, n in before.items()
            if not name.startswith("DaemonSet") and after.get(name, 0) < n}
    return Night(hosts, budgets.violations, lost, sum(e.kind == "evicted" for e in events),
                 sorted(bare - bare_pods(twin)), makespan, cpu, wall, counts, events)

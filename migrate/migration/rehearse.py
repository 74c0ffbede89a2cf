"""A rehearsal: the real engine, the real client over HTTP, against a twin of the cluster in virtual time.

The twin is loaded from a snapshot; its control planes get etcd members named etcd1..N as Kubespray names them;
replacements join when the engine provisions them (a Talos control plane's member as a learner, promoted
once caught up). What comes out is what an operator plans a night around: the makespan, the timeline per
wave, the evictions, whether any budget was broken, and the same run one node at a time (Kubespray's
remove-node pace) beside it.
"""
# exercised by tests/cli/test_migrate.py (rehearse) and tests/migration/test_engine.py (TwinHands)

from __future__ import annotations

import dataclasses
import gc
import ipaddress
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrate.cluster.snapshot import read_snapshot
from migrate.cluster.twin import KubeletTiming, Twin, VirtualClock
from migrate.cluster.twin.etcd import TwinEtcd
from migrate.cluster.twin.inprocess import InProcessCluster
from migrate.cluster.twin.resources import NODES, PDBS
from migrate.errors import UserError
from migrate.etcd.membership import EtcdError
from migrate.ledger import HostState, Ledger
from migrate.migration.engine import Event, Migration
from migrate.migration.faults import FaultPlan
from migrate.migration.filters import DrainOptions
from migrate.migration.lock import MigrationLock
from migrate.migration.plan_file import HostMove, MigrationPlan, default_plan, failure_domain
from migrate.migration.running import Running, Until

CONTROL_PLANE = "node-role.kubernetes.io/control-plane"
REPLACEMENT_NET = ipaddress.ip_network("10.254.0.0/16")  # addresses for replacements migration.yaml leaves open
# what a decommission hook is rehearsed to take unless told: the shipped playbook stops kubelet, etcd and the
# runtime, unmounts and wipes over SSH — about a minute a host; Kubespray's reset.yml takes longer
DECOMMISSION_SECONDS = 60.0
# a rehearsal allocates millions of short-lived dicts: a young collection every 20,000 allocations, not 700, keeps
# the cyclic collector's bookkeeping off the run (0.98 -> 0.46 s of collection on 200 nodes); restored afterwards
COLLECT_AFTER = (20_000, 20, 10)


class TwinHands:
    """Provision = a Talos node joins the twin (and its etcd member, for a control plane); decommission = the
    hook's time passing on the virtual clock (`decommission_seconds`: what the operator expects a hook to take)."""

    def __init__(self, twin: Twin, etcd: TwinEtcd, decommission_seconds: float = 0.0) -> None:
        self.twin, self.etcd, self.decommission_seconds = twin, etcd, decommission_seconds
        self.decommissioned: list[str] = []  # every hook run, in order: a host twice is a hook run twice

    def provision(self, move: HostMove) -> Mapping[str, Any]:
        if self.twin.store.find(NODES, "", move.replacement) is None:  # a resumed step joins once
            old = self.twin.store.find(NODES, "", move.host) or {}
            # the node patch carries the old node's labels (zone, rack, pools), so workloads pinned to them follow
            labels = {k: v for k, v in (old.get("metadata", {}).get("labels") or {}).items()
                      if k not in ("kubernetes.io/hostname",)}
            if move.is_control_plane:
                labels["node-role.kubernetes.io/control-plane"] = ""
            taints = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}] \
                if move.is_control_plane else []
            self.twin.add_node(move.replacement, move.replacement_address or "", labels=labels, taints=taints,
                               os_image="Talos (v1.14.0)")
            if move.is_control_plane and move.replacement_address:
                self.etcd.add_member("", move.replacement_address, learner=True)
        return {"joined": move.replacement}

    def start_decommission(self, move: HostMove) -> Running:
        self.decommissioned.append(move.host)
        return Until(self.twin.clock, self.decommission_seconds,
                     {"decommissioned": "rehearsal", "seconds": self.decommission_seconds})


@dataclass
class Rehearsal:
    makespan: float
    baseline: float | None
    lower_bound: float
    evictions: int
    pdb_violations: int
    timeline: list[dict[str, Any]] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)  # what stopped the run, as the real run would stop
    events: list[Event] = field(default_factory=list)
    api_calls: dict[str, int] = field(default_factory=dict)  # verb -> requests, retries included
    hosts: dict[str, str] = field(default_factory=dict)  # host -> its state in the ledger at the end
    steps: list[Any] = field(default_factory=list)  # the ledger's step records
    debrief: list[dict[str, Any]] = field(default_factory=list)  # per injected fault: what happened, what the run did
    violated: dict[str, float] = field(default_factory=dict)  # budget -> seconds after the start it fell short
    decommission_seconds: float = 0.0  # what each decommission hook was rehearsed to take

    @property
    def outcome(self) -> str:
        done = sum(state == "decommissioned" for state in self.hosts.values())
        if self.blockers:
            return f"stopped after {done} of {len(self.hosts)} hosts: {self.blockers[0].splitlines()[0][:240]}"
        return f"finished: {done} of {len(self.hosts)} hosts decommissioned, {self.pdb_violations} budget violations"

    @property
    def calls_per_eviction(self) -> float | None:
        return sum(self.api_calls.values()) / self.evictions if self.evictions else None

    @property
    def ratio_to_baseline(self) -> float | None:
        return self.makespan / self.baseline if self.baseline else None

    @property
    def ratio_to_lower_bound(self) -> float | None:
        return self.makespan / self.lower_bound if self.lower_bound else None

    def to_dict(self) -> dict[str, Any]:
        per = self.calls_per_eviction
        return {"ratio_to_baseline": _round(self.ratio_to_baseline), "ratio_to_lower_bound": _round(self.ratio_to_lower_bound),
                "api_calls": sum(self.api_calls.values()), "api_calls_per_evicted_pod": _round(per),
                "outcome": self.outcome, "debrief": self.debrief, **{"makespan_seconds": round(self.makespan, 1), "baseline_seconds": None if self.baseline is None
                else round(self.baseline, 1), "lower_bound_seconds": round(self.lower_bound, 1),
                "evictions": self.evictions, "pdb_violations": self.pdb_violations, "timeline": self.timeline,
                "decommission_hook_seconds": self.decommission_seconds,
                "blockers": self.blockers}}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def plan_from_snapshot(snapshot: Path, max_unavailable: int | str, cluster: str = "rehearsal") -> MigrationPlan:
    """migration.yaml's defaults for the nodes of a snapshot (control planes by role label, workers by zone), for
    a rehearsal of a cluster whose inventory is not at hand (benchmarks, game days on a captured cluster)."""
    nodes, zones = [], {}
    for node in read_snapshot(snapshot).get("objects", {}).get("nodes", []):
        name, labels = node["metadata"]["name"], node["metadata"].get("labels") or {}
        role = "controlplane" if {CONTROL_PLANE, "node-role.kubernetes.io/master"} & set(labels) else "worker"
        ip = next((a["address"] for a in (node.get("status") or {}).get("addresses", []) if a["type"] == "InternalIP"),
                  None)
        nodes.append({"name": name, "role": role, "ip": ip})
        zones[name] = failure_domain(labels)
    return default_plan({"cluster": cluster, "nodes": nodes}, max_unavailable=max_unavailable, zones=zones)


def with_addresses(plan: MigrationPlan) -> MigrationPlan:
    """Replacements without an address get one from a network no cluster uses, so the twin can route them."""
    first = REPLACEMENT_NET.network_address + 1  # the network's i-th host, without listing its 65,534
    moves = tuple(m if m.replacement_address else dataclasses.replace(m, replacement_address=str(first + i))
                  for i, m in enumerate(plan.hosts))
    return dataclasses.replace(plan, hosts=moves)


def rehearse(snapshot: Path, plan: MigrationPlan, *, seed: int = 0, baseline: bool = True,
             drain: DrainOptions | None = None, faults: FaultPlan | None = None,
             decommission_seconds: float = DECOMMISSION_SECONDS) -> Rehearsal:
    result = _run(snapshot, with_addresses(plan), seed, drain, faults, decommission_seconds)
    if baseline:
        result.baseline = one_at_a_time(snapshot, plan, seed=seed, drain=drain,
                                        decommission_seconds=decommission_seconds).makespan
    return result


def one_at_a_time(snapshot: Path, plan: MigrationPlan, *, seed: int = 0, drain: DrainOptions | None = None,
                  decommission_seconds: float = DECOMMISSION_SECONDS) -> Rehearsal:
    """The same hosts one at a time, each retired before the next is touched: Kubespray's remove-node pace."""
    return _run(snapshot, with_addresses(dataclasses.replace(plan, hosts=_one_at_a_time(plan))), seed, drain, None,
                decommission_seconds, overlap_hooks=False)


def _one_at_a_time(plan: MigrationPlan) -> tuple[HostMove, ...]:
    return tuple(dataclasses.replace(m, wave=i) for i, m in enumerate(plan.hosts, start=1))


def _run(snapshot: Path, plan: MigrationPlan, seed: int, drain: DrainOptions | None,
         faults: FaultPlan | None = None, decommission_seconds: float = 0.0, *,
         overlap_hooks: bool = True) -> Rehearsal:
    clock = VirtualClock()
    with _no_collection():  # the snapshot becomes the twin's long-lived objects: nothing in it is garbage yet
        twin = Twin.from_snapshot(snapshot, clock, timing=KubeletTiming(start_delay=5.0, stop_delay=2.0), seed=seed)
    twin.settle()
    etcd = TwinEtcd(clock)
    for i, move in enumerate((m for m in plan.hosts if m.is_control_plane), start=1):
        if move.address:
            etcd.add_member(f"etcd{i}", move.address)
    if faults is not None:
        faults.attach(twin, etcd, plan)
    # in process: the same orchestrator and Cluster protocol as over HTTP, without serialising 4,000 pods per poll
    cluster = InProcessCluster(twin, faults=faults, seed=seed)
    budgets = BudgetWatch(twin)
    events: list[Event] = []

    with tempfile.TemporaryDirectory(prefix="ks2t-rehearse-", dir=_memory_dir()) as scratch:
        ledger = Ledger.create(Path(scratch) / "ledger.db", "rehearsal", [(m.host, m.role) for m in plan.hosts],
                               clock=clock)
        start = clock.now()
        blockers: list[str] = []
        engine = Migration(plan, cluster, ledger, TwinHands(twin, etcd, decommission_seconds), clock, run_id="rehearsal",
                           lock=MigrationLock(cluster, "rehearsal", clock), etcd=etcd, on_event=_at_waves(events),
                           drain=drain, overlap_hooks=overlap_hooks)
        try:
            with _collecting_for_a_run():
                engine.run()
        except UserError as exc:  # a refusal or a budget that never allows: the real run would stop here too
            blockers.append(str(exc))  # the message with its where and hint
        except EtcdError as exc:  # etcd refused (lost quorum): the real run stops at the same step
            blockers.append(f"etcd: {exc}")
        makespan = clock.now() - start
        steps = ledger.steps()
        ready = {e.host: e.at for e in ledger.events(evidence=False) if e.after == HostState.REPLACEMENT_READY}
        hosts = {h.name: h.state.value for h in ledger.hosts()}
        ledger.close()
    evicted = sum(e.kind == "evicted" for e in events)
    result = Rehearsal(makespan, None, _lower_bound(plan, steps, ready), evicted, budgets.violations,
                       _timeline(plan, steps, start), blockers, events)
    result.api_calls = dict(cluster.calls)
    result.decommission_seconds = decommission_seconds
    result.hosts = hosts
    result.steps = steps
    result.violated = {name: at - start for name, at in budgets.violated.items()}
    if faults is not None:
        result.debrief = faults.debrief(result, cluster)
    return result


@contextmanager
def _no_collection() -> Iterator[None]:
    """No cyclic collection while a snapshot loads (4 full ones walked the half-built twin: ~0.3 s of 1.5 s)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@contextmanager
def _collecting_for_a_run() -> Iterator[None]:
    """While the engine runs, young collections every COLLECT_AFTER[0] allocations (and, with _at_waves, what is
    alive at each wave frozen); afterwards the thresholds as they were, and nothing frozen."""
    before = gc.get_threshold()
    gc.set_threshold(*COLLECT_AFTER)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()  # what the run kept alive is ordinary again once it is over


def _at_waves(events: list[Event]) -> Callable[[Event], None]:
    """Collects the run's events; at each wave, what is alive so far (the twin's store, its history, the ledger's
    records) is frozen out of the cyclic collector's reach. Those objects last the whole run, and every full
    collection walked all of them again: 17 walks of a growing heap took ~3 s of a 200-node rehearsal's CPU.
    Nothing the twin or the engine does depends on when memory is reclaimed."""
    def on_event(event: Event) -> None:
        events.append(event)
        if event.kind == "wave":
            gc.freeze()
    return on_event


class BudgetWatch:
    """PodDisruptionBudgets that had their healthy pods and then fell below them during the run (must stay 0):
    every status the disruption controller writes is looked at as it is written, not sampled."""

    def __init__(self, twin: Twin) -> None:
        self.clock = twin.clock
        self.violated: dict[str, float] = {}  # namespace/name -> when it was first seen short
        self._short_at_start = {_name(p) for p in twin.store.objects(PDBS) if _short(p)}
        twin.store.subscribe(self._written, kinds=(PDBS,))

    def _written(self, event: Any) -> None:
        if event.resource is PDBS and event.type != "DELETED" and _short(event.object):
            name = _name(event.object)
            if name not in self._short_at_start and name not in self.violated:
                self.violated[name] = self.clock.now()

    @property
    def violations(self) -> int:
        return len(self.violated)


def _short(pdb: dict[str, Any]) -> bool:
    status = pdb.get("status") or {}
    return bool(status.get("currentHealthy", 0) < status.get("desiredHealthy", 0))


def _name(pdb: dict[str, Any]) -> str:
    return f"{pdb['metadata']['namespace']}/{pdb['metadata']['name']}"


def _memory_dir() -> str | None:
    """tmpfs when there is one: the rehearsal's scratch ledger commits (fsyncs) thousands of steps for nothing."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def _host_seconds(steps: list[Any], ready: Mapping[str, float], hooks: bool = False) -> dict[str, float]:
    """Each host's own time: its steps, plus its replacement's boot (from the hook's end to Ready, which the
    wave waits for once rather than inside any one step); `hooks`: its decommission hook alone."""
    spent: dict[str, float] = {}
    for s in steps:
        if s.finished_at is not None and s.outcome == "ok" and (s.step == "decommission") == hooks:
            spent[s.host] = spent.get(s.host, 0.0) + (s.finished_at - s.started_at)
            if s.step == "provision" and s.host in ready:
                spent[s.host] += max(0.0, ready[s.host] - s.finished_at)
    return spent


def _lower_bound(plan: MigrationPlan, steps: list[Any], ready: Mapping[str, float]) -> float:
    """No schedule of these rules beats it: every control plane in turn; then the workers' steps spread over the
    budget, or their decommission hooks spread over it (a wave's hooks run beside the next wave's steps, one
    wave's hooks at a time), whichever is longer, and never less than the slowest worker alone."""
    spent, hooks = _host_seconds(steps, ready), _host_seconds(steps, ready, hooks=True)
    cps = sum(spent.get(m.host, 0.0) + hooks.get(m.host, 0.0) for m in plan.hosts if m.is_control_plane)
    workers = [m.host for m in plan.hosts if not m.is_control_plane]
    budgeted = sum(spent.get(h, 0.0) for h in workers) / plan.max_unavailable
    retiring = sum(hooks.get(h, 0.0) for h in workers) / plan.max_unavailable
    slowest = max((spent.get(h, 0.0) + hooks.get(h, 0.0) for h in workers), default=0.0)
    return cps + max(budgeted, retiring, slowest)


def _timeline(plan: MigrationPlan, steps: list[Any], start: float) -> list[dict[str, Any]]:
    out = []
    for number, wave in enumerate(plan.waves(), start=1):
        hosts = {m.host for m in wave}
        mine = [s for s in steps if s.host in hosts and s.finished_at is not None]
        if mine:
            out.append({"wave": number, "hosts": sorted(hosts), "start": round(min(s.started_at for s in mine) - start, 1),
                        "end": round(max(s.finished_at for s in mine) - start, 1)})
    return out

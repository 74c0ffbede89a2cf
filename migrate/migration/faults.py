"""What a rehearsal throws at the run (`rehearse --faults SPEC`): flaky API servers, a node that fails, a budget
that blocks, an etcd member that dies — the game day before the real night.

SPEC is a comma-separated list of KIND=VALUE items (a kind may repeat):
  api-5xx=RATE[@FROM[-TO]]   that share of API requests answered 500/503 (a storm when given a window)
  api-timeout=RATE[@…]       … answered 504 (the request timed out)
  api-429=RATE[@…]           … answered 429 Too Many Requests (API priority and fairness shedding load)
  node-notready=NODE[@AT]    the node's kubelet stops at AT (default: at once): Ready turns Unknown
  pdb-block=NS/NAME[@AT]     the budget is set to maxUnavailable 0 at AT: no eviction under it passes
  etcd-kill=HOST|MEMBER[@AT] the etcd member of that control plane (or named etcdN) dies at AT
RATE is a percentage (10%) or a fraction (0.1); FROM, TO and AT are durations after the start (90s, 20m, 1h).
"""
# exercised by tests/migration/test_faults.py

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migrate.cluster.twin.etcd import TwinEtcd
from migrate.cluster.twin.resources import NODES, PDBS
from migrate.cluster.twin.simulation import Twin
from migrate.errors import UserError
from migrate.etcd.membership import member_for_peer
from migrate.migration.plan_file import MigrationPlan, parse_duration

if TYPE_CHECKING:
    from migrate.cluster.twin.inprocess import InProcessCluster
    from migrate.migration.rehearse import Rehearsal

API_KINDS = {"api-5xx": (500, 503), "api-timeout": (504,), "api-429": (429,)}
EVENT_KINDS = ("node-notready", "pdb-block", "etcd-kill")
EXAMPLES = "api-5xx=10%,node-notready=w3@20m,etcd-kill=cp2@1h"
_RATE = re.compile(r"^(\d+(?:\.\d+)?)(%?)$")


@dataclass(frozen=True)
class Fault:
    kind: str
    text: str  # the item as written, for the debrief
    rate: float = 0.0  # api kinds: the share of requests that fail
    target: str = ""  # event kinds: the node, budget or member
    start: float = 0.0  # seconds after the run starts
    end: float | None = None  # api kinds: the storm's end (None: the whole run)


def parse(spec: str) -> tuple[Fault, ...]:
    """SPEC as in this module's docstring; a bad item is named with what to write instead."""
    faults = []
    for item in (i.strip() for i in spec.split(",")):
        if not item:
            continue
        kind, sep, value = item.partition("=")
        where = f"--faults item {item!r}"
        if not sep or not value:
            raise UserError("expected KIND=VALUE", where=where, hint=f"e.g. --faults {EXAMPLES}")
        value, _, when = value.partition("@")
        if kind in API_KINDS:
            first, _, last = when.partition("-")
            faults.append(Fault(kind, item, rate=_rate(value, where), start=_after(first, where),
                                end=_after(last, where) if last else None))
        elif kind in EVENT_KINDS:
            if kind == "pdb-block" and value.count("/") != 1:
                raise UserError("a budget is NAMESPACE/NAME", where=where, hint="e.g. pdb-block=shop/web-pdb@10m")
            faults.append(Fault(kind, item, target=value, start=_after(when, where)))
        else:
            raise UserError(f"unknown fault kind {kind!r}", where=where,
                            hint=f"one of {', '.join([*API_KINDS, *EVENT_KINDS])}")
    if not faults:
        raise UserError("no fault given", where="--faults", hint=f"e.g. --faults {EXAMPLES}")
    return tuple(faults)


def _rate(text: str, where: str) -> float:
    match = _RATE.match(text.strip())
    rate = (float(match[1]) / (100 if match[2] else 1)) if match else -1.0
    if not 0 < rate <= 1:
        raise UserError(f"not a rate: {text!r}", where=where, hint="a percentage (10%) or a fraction (0.1), above 0")
    return rate


def _after(text: str, where: str) -> float:
    return parse_duration(text, where) if text and text not in ("0", "0s") else 0.0


@dataclass
class Fired:
    """What one fault did to the twin: when, and the requests it answered instead of the server."""

    at: float | None = None  # seconds after the start, for event kinds
    note: str = ""
    answered: Counter[int] = field(default_factory=Counter)  # HTTP code -> requests
    by_verb: Counter[str] = field(default_factory=Counter)


class FaultPlan:
    """Called before every API request of the rehearsal: fires the events that are due, then maybe fails it."""

    def __init__(self, faults: tuple[Fault, ...], seed: int = 0) -> None:
        self.faults, self.random = faults, random.Random(seed)
        self.fired: dict[Fault, Fired] = {f: Fired() for f in faults}
        self.requests = 0
        self._twin: Twin | None = None
        self._etcd: TwinEtcd | None = None
        self._plan: MigrationPlan | None = None
        self._start = 0.0

    def attach(self, twin: Twin, etcd: TwinEtcd, plan: MigrationPlan) -> None:
        self._twin, self._etcd, self._plan, self._start = twin, etcd, plan, twin.clock.now()
        for fault in self.faults:  # a target that does not exist is a typo, said before the run
            if fault.kind == "node-notready" and twin.store.find(NODES, "", fault.target) is None:
                raise UserError(f"no node {fault.target} in the snapshot", where=f"--faults item {fault.text!r}")
            if fault.kind == "pdb-block" and twin.store.find(PDBS, *fault.target.split("/")) is None:
                raise UserError(f"no PodDisruptionBudget {fault.target} in the snapshot",
                                where=f"--faults item {fault.text!r}")
            if fault.kind == "etcd-kill" and self._member(fault.target) is None:
                raise UserError(f"no etcd member for {fault.target}", where=f"--faults item {fault.text!r}",
                                hint="name a control plane of migration.yaml or a member (etcd1..N)")

    @property
    def elapsed(self) -> float:
        return (self._twin.clock.now() if self._twin else 0.0) - self._start

    def __call__(self, verb: str) -> int | None:
        self.requests += 1
        now = self.elapsed
        for fault in self.faults:
            fired = self.fired[fault]
            if fault.kind in EVENT_KINDS and fired.at is None and now >= fault.start:
                fired.at, fired.note = now, self._fire(fault)
        for fault in self.faults:
            if fault.kind in API_KINDS and fault.start <= now and (fault.end is None or now < fault.end) \
                    and self.random.random() < fault.rate:
                code = self.random.choice(API_KINDS[fault.kind])
                self.fired[fault].answered[code] += 1
                self.fired[fault].by_verb[verb] += 1
                return code
        return None

    def _fire(self, fault: Fault) -> str:
        twin, etcd = self._twin, self._etcd
        assert twin is not None and etcd is not None
        if fault.kind == "node-notready":
            if twin.store.find(NODES, "", fault.target) is None:
                return "the node was already gone"
            twin.set_node_ready(fault.target, False)
            return "its kubelet stopped; Ready turned Unknown"
        if fault.kind == "pdb-block":
            namespace, name = fault.target.split("/")
            pdb = twin.api.get(PDBS, namespace, name)
            spec = {k: v for k, v in pdb["spec"].items() if k != "minAvailable"}
            twin.api.replace(PDBS, namespace, name, {**pdb, "spec": {**spec, "maxUnavailable": 0}})
            twin.reconcile()
            return "set to maxUnavailable 0"
        member = self._member(fault.target)
        if member is None:
            return "its member had already been removed"
        etcd.kill(member.id)
        alive = sum(h.healthy for h in etcd.health())
        return f"member {member.name or member.hex_id} died; {alive} of {len(etcd.members())} members healthy"

    def _member(self, target: str) -> Any:
        assert self._etcd is not None
        members = self._etcd.members()
        named = next((m for m in members if m.name == target), None)
        move = next((m for m in (self._plan.hosts if self._plan else ()) if m.host == target), None)
        return named or (member_for_peer(members, move.address) if move is not None and move.address else None)

    def debrief(self, result: Rehearsal, cluster: InProcessCluster) -> list[dict[str, Any]]:
        from migrate.migration.debrief import debrief  # the account of the run, read from its ledger and events

        return debrief(self, result, cluster)


"""The run loop: wave after wave, every host through its steps, each step journalled in the ledger.

A step records its intent before it acts and its outcome after; a resumed run skips steps that finished,
and for one that did not it checks the postcondition first (cordoned already? node already gone?) before
acting again — kubectl's UpdateIfRequired, for every step. The order itself is the safety: a node is
deleted only after its drain finished and its workloads run elsewhere, and an etcd member is removed only
when its replacement is promoted and the projected quorum holds.
"""
# exercised by tests/migration/test_engine.py and tests/migration/test_resume.py

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from migrate.clock import Clock
from migrate.cluster.base import Cluster, Pod
from migrate.errors import UserError
from migrate.etcd.membership import EtcdMembership
from migrate.ledger import HostState, Ledger
from migrate.migration.drain import drain_nodes, plan_drain
from migrate.migration.filters import EVICT, DrainOptions
from migrate.migration.in_place import InPlace
from migrate.migration.lock import MigrationLock
from migrate.migration.member_swap import member_gone, swap_member
from migrate.migration.plan_file import HostMove, MigrationPlan
from migrate.migration.running import Running
from migrate.migration.wave_hooks import WaveHooks

STEPS = ("provision", "cordon", "drain", "verify", "etcd", "delete-node", "decommission")
# in-place: the machine itself becomes the Talos node, so it leaves Kubernetes and etcd before it is reinstalled
IN_PLACE_STEPS = ("cordon", "drain", "verify", "etcd", "delete-node", "decommission", "reinstall", "rejoin")
STATE_AFTER: dict[str, HostState] = {"provision": HostState.REPLACEMENT_READY, "cordon": HostState.CORDONED,
                                     "drain": HostState.DRAINED, "delete-node": HostState.REMOVED,
                                     "decommission": HostState.DECOMMISSIONED}
IN_PLACE_STATE_AFTER = {**STATE_AFTER, "decommission": HostState.DECOMMISSIONING, "rejoin": HostState.DECOMMISSIONED}
WAIT_SLICE = 30.0  # seconds a watched wait runs before the run renews its lock and reports (a Lease lasts 120 s)
_PAST = {"drain": "drained", "verify": "verified"}
LIFECYCLE = (HostState.ACTIVE, HostState.REPLACEMENT_READY, HostState.CORDONED, HostState.DRAINED, HostState.REMOVED,
             HostState.DECOMMISSIONING, HostState.DECOMMISSIONED)  # the forward order a host's states go in


class Hands(Protocol):
    """What starts a replacement and retires an old host: hooks on a real run, the twin in a rehearsal."""

    def provision(self, move: HostMove) -> Mapping[str, Any]: ...
    def start_decommission(self, move: HostMove) -> Running: ...  # the wave's hooks run side by side


class Stopped(UserError):
    """Asked to stop (SIGINT/SIGTERM): the current step finished, the lock was released."""


@dataclass(frozen=True)
class Event:
    kind: str  # wave | step-started | step-done | step-skipped | step-failed | to-evict | evicted | blocked | waiting
    host: str  # a host, or the hosts of a wave (comma-separated) for wave and drain events
    step: str = ""
    detail: str = ""
    at: float = 0.0
    wave: int = 0  # the wave (from 1) this event belongs to
    pods_left: int | None = None  # drain events: pods still to evict
    pdb: str = ""  # blocked: the PodDisruptionBudget (namespace/name) that holds the pod


OnEvent = Callable[[Event], None]


class Migration:
    def __init__(self, plan: MigrationPlan, cluster: Cluster, ledger: Ledger, hands: Hands, clock: Clock, *,
                 run_id: str, lock: MigrationLock, etcd: EtcdMembership | None = None,
                 drain: DrainOptions | None = None, on_event: OnEvent = lambda e: None,
                 overlap_hooks: bool = True) -> None:
        """`overlap_hooks`: a worker wave's decommission hooks run on while the next wave goes (False: each wave
        ends with its hooks, as Kubespray's remove-node resets a node before it takes the next)."""
        self.plan, self.cluster, self.ledger, self.hands, self.clock = plan, cluster, ledger, hands, clock
        self.run_id, self.lock, self.etcd, self.on_event = run_id, lock, etcd, on_event
        self.drain_opts = drain or DrainOptions(timeout=plan.drain_timeout)
        self.stop_requested, self.overlap_hooks = False, overlap_hooks
        self._drained: set[str] = set()  # cordoned nodes, as last seen by verify
        self._wave_number, self._pods_left = 0, 0
        self._hooks: WaveHooks | None = None  # the last worker wave's decommission hooks, awaited by the next wave
        self.in_place = InPlace(self) if plan.strategy == "in-place" else None
        self.steps = steps_for(plan.strategy)
        self.state_after = IN_PLACE_STATE_AFTER if self.in_place else STATE_AFTER

    # --- the loop --------------------------------------------------------------------------------------------
    def run(self, only: Sequence[str] = ()) -> None:
        planes = [m.host for m in self.plan.hosts if m.is_control_plane and (not only or m.host in only)
                  and not self._finished(m.host)]
        if planes and self.etcd is None:  # a control plane's member must leave etcd with it, or quorum suffers
            raise UserError(f"control planes {', '.join(planes)} need etcd membership, which this run does not have",
                            hint="migrate the workers first (--only HOST …); control planes need the etcdctl hands")
        self.lock.acquire()
        try:
            for number, wave in enumerate(self.plan.waves(), start=1):
                moves = [m for m in wave if (not only or m.host in only) and not self._finished(m.host)]
                if moves:
                    self._wave_number = number
                    self._emit("wave", ",".join(m.host for m in moves), detail=f"wave {number}")
                    self._wave(moves)
            self._finish_hooks()
        except Exception:
            self._settle_hooks()
            raise
        finally:
            self.lock.release()

    def _finish_hooks(self) -> None:
        hooks, self._hooks = self._hooks, None
        if hooks is not None:
            hooks.finish()

    def _settle_hooks(self) -> None:
        """The run stops: hooks still running are awaited and journalled first (their errors are in the ledger)."""
        try:
            self._finish_hooks()
        except Exception:  # noqa: BLE001 — each failure is journalled on its host; the run's own error goes up
            pass

    def _wave(self, moves: list[HostMove]) -> None:
        for step in self.steps:
            if self._hooks is not None:
                self._hooks.poll()  # the last wave's hooks that ended are journalled as soon as the run looks up
            if step == "drain":
                self._drain(moves)
            elif step == "verify":
                self._verify_wave(moves)
            elif step == "decommission":  # the wave's hooks run together, one wave's hooks at a time
                self._finish_hooks()
                self._hooks = WaveHooks(self, moves)
                self._hooks.poll()
                if not self.overlap_hooks or self.in_place or any(m.is_control_plane for m in moves):
                    self._finish_hooks()  # the reinstall needs it done; control planes go strictly one at a time
            else:
                for move in moves:
                    self._step(move, step)
            if step == "provision":  # the wave's replacements boot together: started above, awaited once here
                self._await_replacements(moves)

    def _step(self, move: HostMove, step: str) -> None:
        if self._caught_up(move.host, step):
            return
        self._stop_if_asked(f"host {move.host}")
        self.lock.renew_if_due()
        action, holds = self.in_place.actions(move, step) if self.in_place else self._actions(move, step)
        self._journal(move.host, step, action, holds, self.in_place.intent(move, step) if self.in_place else None)

    def _stop_if_asked(self, where: str) -> None:
        if self.stop_requested:
            raise Stopped("stopped on request before the next step", where=where,
                          hint="run the same command again to go on from here")

    def _journal(self, host: str, step: str, action: Callable[[], Mapping[str, Any]],
                 holds: Callable[[], bool] | None, intent: Mapping[str, Any] | None = None) -> None:
        """Intent, action, outcome; then the host's state, except after provision (the wave's Ready wait moves it)."""
        self._close_interrupted(host, step)
        if holds is not None and holds():
            sid = self.ledger.begin_step(host, step, run_id=self.run_id, intent={**(intent or {}), "resumed": True})
            self.ledger.finish_step(sid, "ok", {"postcondition": "already held"})
            self._emit("step-skipped", host, step, "postcondition already held")
            self._succeeded(host, step, None, {})
            return
        sid = self.ledger.begin_step(host, step, run_id=self.run_id, intent=intent or {"step": step})
        self._emit("step-started", host, step)
        try:
            evidence = action()
        except Exception as exc:
            self._failed(host, step, sid, exc)
            raise
        self._succeeded(host, step, sid, evidence)

    def _failed(self, host: str, step: str, sid: int, exc: Exception) -> None:
        self.ledger.finish_step(sid, "failed", {"error": str(exc)})
        self.ledger.transition(host, HostState.FAILED, run_id=self.run_id, step=step, outcome="failed",
                               evidence={"error": str(exc)})
        self._emit("step-failed", host, step, str(exc))

    def _succeeded(self, host: str, step: str, sid: int | None, evidence: Mapping[str, Any]) -> None:
        """The outcome (unless already recorded: a postcondition that held), then the host's new state."""
        if sid is not None:
            self.ledger.finish_step(sid, "ok", evidence)
            self._emit("step-done", host, step)
        after = None if evidence.get("by_hand") else self.state_after.get(step)  # no hook: a person retires the host
        if step == "provision" and not self.in_place:
            after = None  # started, not yet Ready: _await_replacements moves the host when its successor is
        if after is not None and self.ledger.host(host).state != after:
            if after == HostState.DECOMMISSIONED and self.ledger.host(host).state != HostState.DECOMMISSIONING:
                self.ledger.transition(host, HostState.DECOMMISSIONING, run_id=self.run_id, step=step)
            self.ledger.transition(host, after, run_id=self.run_id, step=step)

    def _close_interrupted(self, host: str, step: str) -> bool:
        """Records a crash left open are closed as failed; True when there was one (its outcome is unknown)."""
        unfinished = [s for s in self.ledger.steps(host) if s.step == step and s.finished_at is None]
        for record in unfinished:
            self.ledger.finish_step(record.id, "failed", {"interrupted": True})
        return bool(unfinished)

    def _done(self, host: str, step: str) -> bool:
        return any(s.step == step and s.outcome == "ok" for s in self.ledger.steps(host))

    def _caught_up(self, host: str, step: str) -> bool:
        """Whether the step is done; if a crash fell between its outcome and the host's move, the move is made now
        (never backwards: a host already further along stays where it is)."""
        done = [s for s in self.ledger.steps(host) if s.step == step and s.outcome == "ok"]
        if not done:
            return False
        after, state = self.state_after.get(step), self.ledger.host(host).state
        if after is not None and state in LIFECYCLE and LIFECYCLE.index(state) < LIFECYCLE.index(after):
            self._succeeded(host, step, None, done[-1].evidence)
        return True

    def _finished(self, host: str) -> bool:
        return self.ledger.host(host).state in (HostState.DECOMMISSIONED, HostState.RETIRED)

    # --- the steps -------------------------------------------------------------------------------------------
    def _actions(self, move: HostMove, step: str) -> tuple[Callable[[], Mapping[str, Any]], Callable[[], bool] | None]:
        node = self.cluster.get_node
        table: dict[str, tuple[Callable[[], Mapping[str, Any]], Callable[[], bool] | None]] = {
            "provision": (lambda: self._provision(move), lambda: node(move.replacement) is not None),
            "cordon": (lambda: _evidence(self.cluster.cordon(move.host).unschedulable, "unschedulable"),
                       lambda: (n := node(move.host)) is None or n.unschedulable),
            "verify": (lambda: self._verify(move), None),
            "etcd": (lambda: swap_member(self.etcd, move, self.plan.drain_timeout), member_gone(self.etcd, move)),
            "delete-node": (lambda: self._delete_node(move), lambda: node(move.host) is None),
        }  # decommission is the wave's (wave_hooks.py): its hooks run side by side
        return table[step]

    def _provision(self, move: HostMove) -> Mapping[str, Any]:
        """Start the replacement (the hook); whether it comes up Ready is the wave's wait, below."""
        return {**dict(self.hands.provision(move)), "replacement": move.replacement}

    def _await_replacements(self, moves: list[HostMove]) -> None:
        """Every replacement of the wave Ready before any old node is cordoned; each host moves to
        replacement-ready as its successor is. A host still active (or failed before its cordon) waits here on
        resume too, so a crash between a hook and this wait never lets a cordon through early."""
        waiting = [m for m in moves if self.ledger.host(m.host).state == HostState.ACTIVE
                   or (self.ledger.host(m.host).state == HostState.FAILED and not self._done(m.host, "cordon"))]
        deadline = self.clock.now() + self.plan.drain_timeout
        while waiting:
            # watched one by one: they boot together, so while the first comes up the others do too
            for move in list(waiting):
                if not _ready(self.cluster.wait_node(move.replacement, _ready, self._slice(deadline))):
                    break
                self.ledger.transition(move.host, HostState.REPLACEMENT_READY, run_id=self.run_id, step="provision",
                                       evidence={"replacement": move.replacement})
                waiting.remove(move)
            if not waiting:
                return
            if self.clock.now() >= deadline:
                names = ", ".join(m.replacement for m in waiting)
                for move in waiting:
                    self.ledger.transition(move.host, HostState.FAILED, run_id=self.run_id, step="provision",
                                           outcome="failed", evidence={"error": f"{move.replacement} not Ready"})
                    self._emit("step-failed", move.host, "provision", f"{move.replacement} did not become Ready")
                raise UserError(f"replacement node(s) {names} did not become Ready", where=f"wave {self._wave_number}",
                                hint="check the provision hooks and the new machines' `talosctl dmesg`; run again")
            self.lock.renew_if_due()
            self._emit("waiting", ",".join(m.host for m in waiting), "provision",
                       f"{', '.join(m.replacement for m in waiting)} not Ready yet")

    def _drain(self, moves: list[HostMove]) -> None:
        todo = [m for m in moves if not self._caught_up(m.host, "drain")]
        if not todo:
            return
        if self.stop_requested:
            raise Stopped("stopped on request before the drain", hint="run the same command again to go on")
        self.lock.renew_if_due()
        names = [m.host for m in todo]
        # what "Ready again" means is taken before the first eviction and kept in the intent, so a drain resumed
        # half-way still waits for every replica the workloads had, not for what was left when it crashed
        earlier = [s.intent["ready_before"] for s in self.ledger.steps(todo[0].host)
                   if s.step == "drain" and "ready_before" in s.intent]
        ready_before = earlier[0] if earlier else self._owners_ready(names)

        def drain() -> Mapping[str, Any]:
            result = drain_nodes(self.cluster, names, self.drain_opts, self.clock,
                                 lambda what, detail: self._drain_event(",".join(names), what, detail))
            return {"nodes": names, "evicted": result.evicted, "skipped": result.skipped,
                    "eviction_attempts": result.attempts, "ready_before": ready_before}

        # one drain for the wave, journalled on its first host; every host of the wave moves to drained with it
        head, rest = todo[0], todo[1:]
        try:
            self._journal(head.host, "drain", drain, None, intent={"nodes": names, "ready_before": ready_before})
        except Exception as exc:
            self._failed_with(rest, "drain", head.host, exc)  # drained together, failed together: all stay cordoned
            raise
        for move in rest:
            self._journal(move.host, "drain", lambda: {"drained_with": head.host}, None)

    def _failed_with(self, rest: Sequence[HostMove], step: str, head: str, exc: Exception) -> None:
        for move in rest:
            self.ledger.transition(move.host, HostState.FAILED, run_id=self.run_id, step=step,
                                   outcome="failed", evidence={"error": str(exc), f"{_PAST[step]}_with": head})
            self._emit("step-failed", move.host, step, f"{_PAST[step]} with {head}: {exc}")

    def _verify_wave(self, moves: list[HostMove]) -> None:
        """One check for the hosts drained together, journalled on the first of them; the others are recorded as
        verified with it. A host whose drain-mate passed before a crash is recorded as verified with that one, not
        checked again; a check that never recorded its outcome is made again, on the same head."""
        together: dict[str, list[HostMove]] = {}
        for move in moves:
            together.setdefault(self._drain_head(move.host), []).append(move)
        for group in together.values():
            todo = [m for m in group if not self._done(m.host, "verify")]
            if not todo:
                continue
            passed = next((m.host for m in group if m not in todo), None)
            if passed is None:
                head, todo = todo[0], todo[1:]
                try:
                    self._step(head, "verify")
                except Exception as exc:
                    self._failed_with(todo, "verify", head.host, exc)  # every node stays cordoned, none deleted
                    raise
                passed = head.host
            for move in todo:
                self._journal(move.host, "verify", partial(dict, verified_with=passed), None)

    def _drain_head(self, host: str) -> str:
        """The host whose drain record holds this host's drain (itself, unless it was drained with another)."""
        drained = [s for s in self.ledger.steps(host) if s.step == "drain" and s.outcome == "ok"]
        return str(drained[-1].evidence.get("drained_with") or host) if drained else host

    def _drain_event(self, hosts: str, what: str, detail: str) -> None:
        self.lock.renew_if_due()  # a long drain keeps the lock
        if what == "to-evict":
            self._pods_left = int(detail)
            detail = f"{detail} pod(s) to evict"
        elif what == "evicted":
            self._pods_left = max(0, self._pods_left - 1)
        pdb = ""
        if what == "blocked" and " by " in detail:  # "ns/pod by budget": a budget lives in its pod's namespace
            pod, pdb = detail.rsplit(" by ", 1)
            pdb = pdb if "/" in pdb or " " in pdb else f"{pod.split('/', 1)[0]}/{pdb}"
        self.on_event(Event(what, hosts, "drain", detail, self.clock.now(), self._wave_number, self._pods_left, pdb))

    def _owners_ready(self, nodes: Sequence[str]) -> dict[str, int]:
        """Ready pods per controller ("namespace/uid"), for the controllers whose pods the drain will evict."""
        owners = {(v.pod.namespace, v.pod.owner.uid) for v in plan_drain(self.cluster, nodes, self.drain_opts)
                  if v.action == EVICT and v.pod.owner is not None}
        self._drained = set()  # before the drain every Ready pod counts, wherever it runs
        return self._ready_counts(owners)

    def _ready_counts(self, owners: set[tuple[str, str]]) -> dict[str, int]:
        """One LIST per namespace involved, not of the whole cluster: a 4,000-pod cluster stays cheap to read."""
        counts = {f"{ns}/{uid}": 0 for ns, uid in owners}
        for namespace in sorted({ns for ns, _ in owners}):
            self._count_ready(counts, self.cluster.list_pods(namespace=namespace))
        return counts

    def _count_ready(self, counts: dict[str, int], pods: Sequence[Pod]) -> dict[str, int]:
        """Adds to `counts` ("namespace/owner uid" -> n) the Ready pods of those owners not on a drained node."""
        keys = {tuple(key.split("/", 1)): key for key in counts}  # (namespace, owner uid) -> its key: no string per pod
        for pod in pods:
            if pod.owner is not None and pod.ready:
                key = keys.get((pod.namespace, pod.owner.uid))
                if key is not None and not self._on_drained_node(pod.node_name):
                    counts[key] += 1
        return counts

    def _verify(self, move: HostMove) -> Mapping[str, Any]:
        """Every controller whose pods were evicted has as many Ready pods again, none on a drained node: each
        namespace involved watched (one LIST, then its changes) until its controllers are whole again."""
        wanted = self._wanted_ready(move.host)
        if not wanted:
            return {"controllers_ready": 0}
        deadline = self.clock.now() + self.plan.drain_timeout
        self._drained = {n.name for n in self.cluster.list_nodes() if n.unschedulable}
        for namespace in sorted({key.split("/", 1)[0] for key in wanted}):
            mine = {k: n for k, n in wanted.items() if k.split("/", 1)[0] == namespace}

            def short(pods: Sequence[Pod], mine: Mapping[str, int] = mine) -> list[str]:
                ready = self._count_ready(dict.fromkeys(mine, 0), pods)
                return [key for key, n in mine.items() if ready[key] < n]

            while missing := short(self.cluster.wait_pods(lambda pods: not short(pods), self._slice(deadline),
                                                          namespace=namespace)):
                if self.clock.now() >= deadline:
                    raise UserError(f"{len(missing)} workload(s) did not get their Ready replicas back after the "
                                    "drain", where=f"host {move.host}", hint="the node stays cordoned and is not "
                                    "deleted; check capacity, taints and affinity of the remaining nodes")
                self.lock.renew_if_due()
                self._emit("waiting", move.host, "verify", f"{len(missing)} workload(s) in {namespace} not Ready "
                           "elsewhere yet")
        return {"controllers_ready": len(wanted)}

    def _slice(self, deadline: float) -> float:
        """How long one wait may watch: to the deadline, but never so long that the Lease would lapse meanwhile."""
        return max(0.0, min(deadline - self.clock.now(), WAIT_SLICE))

    def _wanted_ready(self, host: str) -> dict[str, int]:
        for record in self.ledger.steps(host):
            if record.step == "drain" and record.outcome == "ok":
                head = record.evidence.get("drained_with")
                if head:
                    return self._wanted_ready(str(head))
                return {str(k): int(v) for k, v in (record.evidence.get("ready_before") or {}).items()}
        return {}

    def _on_drained_node(self, node: str | None) -> bool:
        return node in self._drained

    def _delete_node(self, move: HostMove) -> Mapping[str, Any]:
        if not self._done(move.host, "drain") or not self._done(move.host, "verify"):
            raise UserError("refusing to delete a node whose drain did not finish", where=f"host {move.host}")
        return {"deleted": self.cluster.delete_node(move.host)}

    def _emit(self, kind: str, host: str, step: str = "", detail: str = "") -> None:
        self.on_event(Event(kind, host, step, detail, self.clock.now(), self._wave_number))


def steps_for(strategy: str) -> tuple[str, ...]:
    """The steps of every host, in order: surge joins the replacement first, in-place reinstalls the host last."""
    return IN_PLACE_STEPS if strategy == "in-place" else STEPS


def _ready(node: Any) -> bool:
    return node is not None and bool(node.ready)


def _evidence(value: Any, name: str) -> Mapping[str, Any]:
    return {name: value}

"""The scheduler: binds pending pods to nodes that are schedulable, tolerated, selected and have room.

As kube-scheduler, it searches the node list from where the previous pod stopped and, on clusters of 100
nodes or more, stops once it has found enough feasible nodes (numFeasibleNodesToFind); among those, the
default profile's scores pick the node (scoring.py: least-allocated, balanced allocation, PreferNoSchedule
taints; spread.py: topology spread), over every node at once (nodetable.py: the node list as columns). What
does not change between passes is kept: node state in nodeinfo.py, the static filters' verdicts per
placement signature here, while the node list holds."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from migrate.clock import rfc3339
from migrate.cluster.placement import UNSCHEDULABLE_TAINT, node_selector_matches, tolerates, untolerated
from migrate.cluster.twin.api import Api
from migrate.cluster.twin.index import ClusterIndex, is_active
from migrate.cluster.twin.nodeinfo import NodeInfo, NodeInfos, PodCosts
from migrate.cluster.twin.nodetable import Flags, Ints, NodeTable, window
from migrate.cluster.twin.resources import PODS
from migrate.cluster.twin.scoring import best
from migrate.cluster.twin.spread import HardCheck, Spread, spread_fits, spread_unfit
from migrate.cluster.twin.store import clone

MIN_FEASIBLE_NODES, MIN_FEASIBLE_PERCENTAGE = 100, 5
SELECTOR_MISMATCH = "node(s) didn't match Pod's node affinity/selector"


def nodes_to_find(total: int) -> int:
    """numFeasibleNodesToFind with the default adaptive percentageOfNodesToScore (schedule_one.go): every node
    under 100; above, 50% less 1% per 125 nodes (at least 5%) of them, but never fewer than 100."""
    if total < MIN_FEASIBLE_NODES:
        return total
    percentage = max(50 - total // 125, MIN_FEASIBLE_PERCENTAGE)
    return max(total * percentage // 100, MIN_FEASIBLE_NODES)


@dataclass(frozen=True)
class Verdict:
    """What the static filters say of one node for one placement signature, while its labels and spec hold."""

    placement: int
    why: str | None  # NodeUnschedulable, NodeAffinity, TaintToleration; None when they let the pod in
    admits: bool  # the pod's nodeSelector matches: the node counts for topology spreading
    prefer: int  # untolerated PreferNoSchedule taints, for TaintToleration's score


@dataclass(frozen=True)
class Static:
    """One signature's verdicts while the node list holds, also as the filters and topology spreading read them."""

    admits: dict[str, bool]  # node name -> counts for topology spreading
    whys: list[str | None]  # in node-list order
    passes: Flags  # in node-list order: why is None
    prefer: Ints  # in node-list order: untolerated PreferNoSchedule taints


class Scheduler:
    def __init__(self, api: Api):
        self.api = api
        self._costs = PodCosts()
        self._nodes = NodeInfos(self._costs)
        self._verdicts: dict[str, dict[str, Verdict]] = {}  # signature -> node name -> verdict
        self._table: NodeTable | None = None
        self._table_rev = -1  # the index's nodes_rev the table and the statics were made at
        self._statics: dict[str, Static] = {}  # signature -> verdicts, while the table holds
        self._next_start = 0  # nextStartNodeIndex: where the next pod's search begins in the node list
        self.spread = Spread(api.store, NodeTable([], {}))

    def reconcile(self, index: ClusterIndex) -> None:
        pending = sorted(
            (
                p
                for p in index.unbound.values()
                if not p["spec"].get("nodeName")
                and is_active(p)
                and p["spec"].get("schedulerName", "default-scheduler") == "default-scheduler"
            ),
            key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["namespace"], p["metadata"]["name"]),
        )
        if not pending:
            return
        infos, table = self.catch_up(index)
        order, total, spread = table.names, len(table.names), self.spread
        wanted = nodes_to_find(total)
        for pod in pending:
            cost = self._costs.of(pod)
            static = self._statics.get(cost.signature)
            if static is None:
                static = self._statics[cost.signature] = self._static(pod, cost.signature, infos, order)
            constraints = spread.constraints(pod)
            checks = spread.hard(pod, constraints, static.admits, cost.signature) if any(c.hard for c in constraints) else []
            fit = static.passes & table.fits(cost.need)
            if checks:
                fit &= spread_fits(checks, table)
            start = self._next_start % total if total else 0  # the list may have shrunk
            chosen, checked = window(fit, start, wanted)
            if not len(chosen):
                self._mark_unschedulable(pod, total, self._reasons(cost.need, table, static.whys, checks))
                continue
            if total:
                self._next_start = (start + checked) % total
            where = best(table, chosen, cost.nonzero, static.prefer[chosen],
                         spread.scores(pod, constraints, chosen, static.admits, cost.signature))
            node = order[where]
            self.api.bind(
                pod["metadata"]["namespace"], pod["metadata"]["name"], {"target": {"kind": "Node", "name": node}}
            )
            infos[node].add(cost.need, cost.nonzero)
            table.write(where)
            spread.bound(pod, node)

    def catch_up(self, index: ClusterIndex) -> tuple[dict[str, NodeInfo], NodeTable]:
        """Bring the nodes' sums, the node table and the pod counts of topology spreading up to the index."""
        infos = self._nodes.refresh(index)
        table = self._table_for(index, infos)
        moves, self._nodes.moves = self._nodes.moves, []
        self.spread.begin(infos, table, moves)
        return infos, table

    def _table_for(self, index: ClusterIndex, infos: dict[str, NodeInfo]) -> NodeTable:
        """The node table, made again (with the statics) when the node list changed, else its changed rows copied."""
        table = self._table
        if table is None or table.names is not self._nodes.order or index.nodes_rev != self._table_rev \
                or not table.sync():
            table = self._table = NodeTable(self._nodes.order, infos)
            table.sync()
            self._table_rev, self._statics = index.nodes_rev, {}
        return table

    @staticmethod
    def _reasons(need: dict[str, float], table: NodeTable, whys: list[str | None],
                 checks: list[HardCheck]) -> Counter[str]:
        """Why each node turned the pod down, for its PodScheduled condition: the first filter that failed."""
        reasons: Counter[str] = Counter()
        for why, info in zip(whys, table.rows, strict=True):
            if why is None:
                room = info.room  # NodeResourcesFit; a resource the node does not report is not checked
                for resource, amount in need.items():
                    if resource in room and amount > room[resource]:
                        why = "Too many pods" if resource == "pods" else f"Insufficient {resource}"
                        break
                if why is None and checks:
                    why = spread_unfit(checks, info.labels)
            if why:
                reasons[why] += 1
        return reasons

    def _static(self, pod: dict[str, Any], signature: str, infos: dict[str, NodeInfo], order: list[str]) -> Static:
        """The filters that read only the node's labels and spec, remembered per signature until those change."""
        known = self._verdicts.setdefault(signature, {})
        verdicts: dict[str, Verdict] = {}
        for name, info in infos.items():
            verdict = known.get(name)
            if verdict is None or verdict.placement != info.placement:
                verdict = known[name] = self._judge(pod["spec"], info)
            verdicts[name] = verdict
        for name in [n for n in known if n not in infos]:
            del known[name]
        in_order = [verdicts[n] for n in order]
        return Static({name: v.admits for name, v in verdicts.items()}, [v.why for v in in_order],
                      np.array([v.why is None for v in in_order], dtype=bool),
                      np.array([v.prefer for v in in_order], dtype=np.int64))

    @staticmethod
    def _judge(spec: dict[str, Any], info: NodeInfo) -> Verdict:
        node = info.node
        tolerations = spec.get("tolerations") or []
        admits = node_selector_matches(spec, node)
        prefer = len(untolerated(tolerations, node, ("PreferNoSchedule",)))
        if (node.get("spec") or {}).get("unschedulable") and not any(
            tolerates(t, {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"}) for t in tolerations
        ):
            return Verdict(info.placement, "node(s) were unschedulable", admits, prefer)
        if not admits:
            return Verdict(info.placement, SELECTOR_MISMATCH, admits, prefer)
        taints = untolerated(tolerations, node, ("NoSchedule", "NoExecute"))
        if taints:
            t = taints[0]
            return Verdict(info.placement, f"node(s) had untolerated taint {{{t['key']}: {t.get('value', '')}}}",
                           admits, prefer)
        return Verdict(info.placement, None, admits, prefer)

    def _mark_unschedulable(self, pod: dict[str, Any], total: int, reasons: Counter[str]) -> None:
        detail = ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
        message = f"0/{total} nodes are available: {detail}." if total else "no nodes available to schedule pods"
        status = clone(pod.get("status") or {})
        old = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), None)
        if old and old.get("message") == message:
            return
        status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"] + [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
                "lastTransitionTime": rfc3339(self.api.store.clock.now()),
            }
        ]
        self.api.store.update(PODS, {**pod, "status": status}, status=True, force=True)

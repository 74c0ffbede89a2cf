"""Capacity per wave: do the pods a wave's drain evicts fit on the nodes that remain, as the scheduler would see them?

For each wave, the pods its drain evicts (controller-owned, not DaemonSet or mirror pods) are placed, largest
request first, on the nodes outside the wave: a node must be schedulable, its NoSchedule/NoExecute taints
tolerated, the pod's nodeSelector and required node affinity must match, and its requests must fit beside what
already runs there. Hosts of earlier waves count as their replacements of the same shape (labels, taints,
allocatable). Each wave is judged from today's placement, so this is the scheduler's first answer, not a proof.
"""
# exercised by tests/migration/test_capacity.py and tests/migration/test_preflight.py

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from migrate.cluster.base import MIRROR_ANNOTATION
from migrate.cluster.placement import pod_requests, tolerates, untolerated
from migrate.cluster.quantity import parse_quantity
from migrate.migration.checks import FAIL, PASS, WARN, Check

RESOURCES = ("cpu", "memory", "pods")
Obj = Mapping[str, Any]


def evicted_by_drain(pod: Obj) -> bool:
    meta = pod.get("metadata") or {}
    owner = next((o for o in meta.get("ownerReferences") or [] if o.get("controller")), None)
    phase = (pod.get("status") or {}).get("phase")
    return (owner is not None and owner.get("kind") != "DaemonSet" and MIRROR_ANNOTATION not in
            (meta.get("annotations") or {}) and phase not in ("Succeeded", "Failed"))


def selects(pod: Obj, node: Obj) -> bool:
    """nodeSelector and requiredDuringSchedulingIgnoredDuringExecution node affinity (terms ORed, expressions ANDed)."""
    spec = pod.get("spec") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    fields = {"metadata.name": (node.get("metadata") or {}).get("name", "")}
    return not terms or any(_term(t, labels, fields) for t in terms)


def _term(term: Obj, labels: Mapping[str, str], fields: Mapping[str, str]) -> bool:
    expressions = [(e, labels) for e in term.get("matchExpressions") or []]
    expressions += [(e, fields) for e in term.get("matchFields") or []]
    return bool(expressions) and all(_requirement(e, values) for e, values in expressions)


def _requirement(expr: Obj, values: Mapping[str, str]) -> bool:
    key, op, wanted = expr.get("key", ""), expr.get("operator", ""), [str(v) for v in expr.get("values") or []]
    have = values.get(key)
    if op == "In":
        return have in wanted
    if op == "NotIn":
        return have not in wanted
    if op == "Exists":
        return have is not None
    if op == "DoesNotExist":
        return have is None
    if op in ("Gt", "Lt") and have is not None and wanted and have.lstrip("-").isdigit():
        return int(have) > int(wanted[0]) if op == "Gt" else int(have) < int(wanted[0])
    return False


def _allocatable(node: Obj) -> dict[str, float]:
    status = node.get("status") or {}
    return {k: parse_quantity(v) for k, v in (status.get("allocatable") or status.get("capacity") or {}).items()}


def unfit(pod: Obj, node: Obj, need: Mapping[str, float], used: Mapping[str, float]) -> str | None:
    """Why the scheduler would not put this pod on this node now, or None when it fits."""
    spec = pod.get("spec") or {}
    tolerations = spec.get("tolerations") or []
    if (node.get("spec") or {}).get("unschedulable") and not any(
            tolerates(t, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}) for t in tolerations):
        return "cordoned"
    taints = untolerated(list(tolerations), dict(node), ("NoSchedule", "NoExecute"))
    if taints:
        return f"taint {taints[0].get('key')}"
    if not selects(pod, node):
        return "nodeSelector/affinity"
    alloc = _allocatable(node)
    for resource in RESOURCES:
        if resource in alloc and used.get(resource, 0.0) + need.get(resource, 0.0) > alloc[resource] + 1e-9:
            return f"no room ({resource})"
    return None


@dataclass
class Placement:
    assigned: dict[str, str] = field(default_factory=dict)  # pod (namespace/name) -> node
    homeless: dict[str, Counter[str]] = field(default_factory=dict)  # pod -> why not, as reason -> nodes
    used: dict[str, Counter[str]] = field(default_factory=dict)  # node -> requests placed on it, running included


def place(moving: Sequence[Obj], nodes: Sequence[Obj], running: Sequence[Obj]) -> Placement:
    """Place `moving` pods on `nodes` beside `running`, largest request first, each on the least loaded that fits."""
    out = Placement(used={n["metadata"]["name"]: Counter() for n in nodes})
    for pod in running:
        node = (pod.get("spec") or {}).get("nodeName")
        if node in out.used:
            out.used[node].update(pod_requests(dict(pod.get("spec") or {})))
    needs = [(pod, pod_requests(dict(pod.get("spec") or {}))) for pod in moving]
    needs.sort(key=lambda pn: (-pn[1].get("cpu", 0.0), -pn[1].get("memory", 0.0), _key(pn[0])))
    for pod, need in needs:
        why: Counter[str] = Counter()
        fits = []
        for node in nodes:
            reason = unfit(pod, node, need, out.used[node["metadata"]["name"]])
            if reason is None:
                fits.append(node)
            else:
                why[reason] += 1
        if not fits:
            out.homeless[_key(pod)] = why
            continue
        best = min(fits, key=lambda n: (_load(out.used[n["metadata"]["name"]], n), n["metadata"]["name"]))
        out.used[best["metadata"]["name"]].update(need)
        out.assigned[_key(pod)] = best["metadata"]["name"]
    return out


def _load(used: Counter[str], node: Obj) -> float:
    alloc = _allocatable(node)
    return sum(used[r] / alloc[r] for r in ("cpu", "memory") if alloc.get(r))


def _key(pod: Obj) -> str:
    return f"{pod['metadata'].get('namespace', '')}/{pod['metadata']['name']}"


def capacity_per_wave(waves: Sequence[Sequence[str]], raw_nodes: Sequence[Obj], raw_pods: Sequence[Obj], *,
                      in_place: bool) -> Check:
    name = "capacity per wave"
    earlier: set[str] = set()
    short: list[str] = []
    for number, hosts in enumerate(waves, start=1):
        leaving = set(hosts)
        remaining = [_as_replaced(n) if n["metadata"]["name"] in earlier else n for n in raw_nodes
                     if n["metadata"]["name"] not in leaving]
        moving = [p for p in raw_pods if (p.get("spec") or {}).get("nodeName") in leaving and evicted_by_drain(p)]
        running = [p for p in raw_pods if (p.get("spec") or {}).get("nodeName") not in leaving
                   and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        homeless = place(moving, remaining, running).homeless
        if homeless:
            pod, why = next(iter(homeless.items()))
            detail = ", ".join(f"{n} {r}" for r, n in sorted(why.items())) or "no node left"
            short.append(f"wave {number} ({', '.join(hosts)}): {len(homeless)} pod(s) fit on no remaining node, "
                         f"e.g. {pod} ({len(remaining)} nodes: {detail})")
        earlier |= leaving
    if not short:
        return Check(name, PASS, f"the pods of each of {len(waves)} waves fit on the nodes that remain")
    if in_place:
        return Check(name, FAIL, "; ".join(short[:3]), "add a node or shrink the waves (max_unavailable) first: with "
                     "strategy in-place the wave's machines are gone while they reinstall")
    return Check(name, WARN, "; ".join(short[:3]) + " — they rely on the wave's replacements having room",
                 "make the replacements at least as large, with the same labels and taints, or shrink the waves")


def _as_replaced(node: Obj) -> Obj:
    """A host of an earlier wave, as its replacement will be: the same shape, schedulable."""
    return {**node, "spec": {**(node.get("spec") or {}), "unschedulable": False}}

"""Where a pod goes among the nodes that fit: kube-scheduler's default scoring, in the parts placement shows.

PodTopologySpread (weight 2, spread.py); NodeResourcesFit LeastAllocated and BalancedAllocation (weight 1
each) on cpu and memory with the scheduler's non-zero request defaults; TaintToleration (weight 3) against
PreferNoSchedule taints. Ties go to the first node by name (kube-scheduler draws one at random).
"""
# exercised by tests/cluster/twin/test_scheduler.py

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from migrate.cluster.quantity import parse_quantity

if TYPE_CHECKING:  # nodeinfo sums what nonzero_requests counts
    from migrate.cluster.twin.nodeinfo import NodeInfo

MAX_SCORE = 100
WEIGHTS = {"spread": 2, "least": 1, "balanced": 1, "taints": 3}
DEFAULT_CPU, DEFAULT_MEMORY = 0.1, 200 * 2**20  # schedutil's non-zero requests for containers that ask none


def nonzero_requests(spec: dict[str, Any]) -> tuple[float, float]:
    """(cpu cores, memory bytes) as scoring counts them: a container without a request counts the default."""
    cpu = memory = 0.0
    for container in spec.get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += parse_quantity(requests["cpu"]) if "cpu" in requests else DEFAULT_CPU
        memory += parse_quantity(requests["memory"]) if "memory" in requests else DEFAULT_MEMORY
    return cpu, memory


def taint_scores(untolerated: list[int]) -> list[int]:
    """TaintToleration: fewer untolerated PreferNoSchedule taints score higher (normalised, reversed)."""
    most = max(untolerated, default=0)
    return [MAX_SCORE - (MAX_SCORE * n // most if most else 0) for n in untolerated]


def best(feasible: list[str], infos: dict[str, NodeInfo], want: tuple[float, float], untolerated: list[int],
         spread: list[int]) -> str:
    """The highest weighted score; ties to the first name (kube-scheduler picks one of them at random).

    LeastAllocated and BalancedAllocation, each 0..100, on cpu and memory with the pod's requests added to the
    node's; written out in the loop, which runs for every feasible node of every pod scheduled."""
    want_cpu, want_mem = want
    top: tuple[int, str] | None = None
    for name, spread_score, taint_score in zip(feasible, spread, taint_scores(untolerated), strict=True):
        info = infos[name]
        cpu_cap, mem_cap = info.cpu_cap, info.mem_cap
        cpu, memory = info.cpu + want_cpu, info.memory + want_mem
        least_cpu = 0 if not cpu_cap or cpu > cpu_cap else int((cpu_cap - cpu) * MAX_SCORE / cpu_cap)
        least_mem = 0 if not mem_cap or memory > mem_cap else int((mem_cap - memory) * MAX_SCORE / mem_cap)
        cpu_fraction = 1.0 if not cpu_cap or cpu > cpu_cap else cpu / cpu_cap
        mem_fraction = 1.0 if not mem_cap or memory > mem_cap else memory / mem_cap
        gap = cpu_fraction - mem_fraction if cpu_fraction > mem_fraction else mem_fraction - cpu_fraction
        balanced = int((1 - gap / 2) * MAX_SCORE)
        total = (WEIGHTS["spread"] * spread_score + WEIGHTS["least"] * ((least_cpu + least_mem) // 2)
                 + WEIGHTS["balanced"] * balanced + WEIGHTS["taints"] * taint_score)
        if top is None or (-total, name) < top:
            top = (-total, name)
    assert top is not None, "best() needs a feasible node"
    return top[1]

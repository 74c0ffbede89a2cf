"""Where a pod goes among the nodes that fit: kube-scheduler's default scoring, in the parts placement shows.

PodTopologySpread (weight 2, spread.py); NodeResourcesFit LeastAllocated and BalancedAllocation (weight 1
each) on cpu and memory with the scheduler's non-zero request defaults; TaintToleration (weight 3) against
PreferNoSchedule taints. Ties go to the first node by name (kube-scheduler draws one at random).
"""
# exercised by tests/cluster/twin/test_scheduler.py

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from migrate.cluster.quantity import parse_quantity

if TYPE_CHECKING:  # nodeinfo sums what nonzero_requests counts, and the node table copies those sums
    from migrate.cluster.twin.nodeinfo import NodeInfo
    from migrate.cluster.twin.nodetable import Floats, Ints, NodeTable

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


def best(table: NodeTable, chosen: Ints, want: tuple[float, float], untolerated: Ints, spread: Ints) -> int:
    """The position of the highest weighted score; ties to the first name (kube-scheduler picks one at random).

    LeastAllocated and BalancedAllocation are kept per node for each request size, over the whole node list,
    and brought up to date on the nodes written since (a bind changes one node)."""
    resources = table.column(("resources", want), lambda: resource_scores(table, want),
                             lambda i: resource_score(table.rows[i], want))
    total = WEIGHTS["spread"] * spread + resources[chosen]
    most = int(untolerated.max()) if len(untolerated) else 0
    if most:  # TaintToleration: fewer untolerated PreferNoSchedule taints score higher (normalised, reversed)
        total += WEIGHTS["taints"] * (MAX_SCORE - MAX_SCORE * untolerated // most)
    tied = chosen[total == total.max()]  # a constant TaintToleration score (no such taint) changes no choice
    return int(tied[np.argmin(table.rank[tied])])


def resource_scores(table: NodeTable, want: tuple[float, float]) -> Ints:
    """LeastAllocated and BalancedAllocation, each 0..100 and weighted, on cpu and memory with the pod's requests
    added to the node's, for every node of the table at once: the same float operations as resource_score."""
    least_cpu, cpu_fraction = _allocated(table.cpu + want[0], table.cpu_cap)
    least_mem, mem_fraction = _allocated(table.memory + want[1], table.mem_cap)
    balanced = ((1 - np.abs(cpu_fraction - mem_fraction) / 2) * MAX_SCORE).astype(np.int64)
    scores: Ints = WEIGHTS["least"] * ((least_cpu + least_mem) // 2) + WEIGHTS["balanced"] * balanced
    return scores


def resource_score(info: NodeInfo, want: tuple[float, float]) -> int:
    """resource_scores for one node, as kube-scheduler's plugins compute it."""
    cpu_cap, mem_cap = info.cpu_cap, info.mem_cap
    cpu, memory = info.cpu + want[0], info.memory + want[1]
    least_cpu = 0 if not cpu_cap or cpu > cpu_cap else int((cpu_cap - cpu) * MAX_SCORE / cpu_cap)
    least_mem = 0 if not mem_cap or memory > mem_cap else int((mem_cap - memory) * MAX_SCORE / mem_cap)
    cpu_fraction = 1.0 if not cpu_cap or cpu > cpu_cap else cpu / cpu_cap
    mem_fraction = 1.0 if not mem_cap or memory > mem_cap else memory / mem_cap
    balanced = int((1 - abs(cpu_fraction - mem_fraction) / 2) * MAX_SCORE)
    return WEIGHTS["least"] * ((least_cpu + least_mem) // 2) + WEIGHTS["balanced"] * balanced


def _allocated(requested: Floats, capacity: Floats) -> tuple[Ints, Floats]:
    """LeastAllocated's score and the fraction BalancedAllocation reads; a node without the resource, or one the
    requests overflow, scores 0 and counts as full."""
    full = (capacity == 0) | (requested > capacity)
    divisor = np.where(full, 1.0, capacity)
    least: Ints = np.where(full, 0, ((capacity - requested) * MAX_SCORE / divisor).astype(np.int64))
    fraction: Floats = np.where(full, 1.0, requested / divisor)
    return least, fraction

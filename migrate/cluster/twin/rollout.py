"""The deployment controller's rolling-update arithmetic (pkg/controller/deployment/rolling.go and util).

Pure functions over replica counts, so the pacing can be checked (and profiled) without a cluster:
how far the new ReplicaSet may scale up under maxSurge, and how far the old ones may scale down without
taking the Deployment below `replicas - maxUnavailable` available pods.
"""
# exercised by tests/cluster/twin/test_rollout.py

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from migrate.cluster.twin.pdb import scaled_value

DEFAULT_BOUND = "25%"


@dataclass(frozen=True)
class Fenceposts:
    """maxSurge rounded up and maxUnavailable rounded down, as resolveFenceposts does (never both zero)."""

    surge: int
    unavailable: int


@dataclass(frozen=True)
class SetCount:
    """One old ReplicaSet as the rollout sees it: the replicas it asks for and how many of its pods are available."""

    replicas: int
    available: int


def fenceposts(spec: dict[str, Any]) -> Fenceposts:
    desired = spec.get("replicas", 1)
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    surge = scaled_value(rolling.get("maxSurge", DEFAULT_BOUND), desired, round_up=True)
    unavailable = scaled_value(rolling.get("maxUnavailable", DEFAULT_BOUND), desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # otherwise the rollout could never start
    return Fenceposts(surge, unavailable)


def is_recreate(spec: dict[str, Any]) -> bool:
    return (spec.get("strategy") or {}).get("type") == "Recreate"


def max_unavailable(spec: dict[str, Any]) -> int:
    """MaxUnavailable: what the Available condition allows (0 for Recreate, never above replicas)."""
    desired = int(spec.get("replicas", 1))
    if is_recreate(spec) or desired == 0:
        return 0
    return min(fenceposts(spec).unavailable, desired)


def new_replicaset_target(desired: int, surge: int, total: int, new: int) -> int:
    """NewRSNewReplicas: scale the new set up while every set together stays within replicas + maxSurge."""
    if new >= desired:
        return desired
    room = desired + surge - total
    if room <= 0:
        return new
    return new + min(room, desired - new)


def old_replicaset_targets(desired: int, unavailable: int, new: int, new_available: int, old: list[SetCount]) -> list[int]:
    """reconcileOldReplicaSets: replicas for each old set (oldest first) after this step of the rollout.

    First the old sets' unavailable pods go (they add nothing to availability), then available ones, as
    long as the Deployment keeps `desired - unavailable` available pods counting the new set's.
    """
    targets = [s.replicas for s in old]
    if not any(targets):
        return targets
    min_available = desired - unavailable
    budget = sum(targets) + new - min_available - (new - new_available)
    if budget <= 0:
        return targets
    for i, s in enumerate(old):  # cleanupUnhealthyReplicas
        down = min(budget, max(0, targets[i] - s.available))
        targets[i] -= down
        budget -= down
    surplus = new_available + sum(s.available for s in old) - min_available
    for i in range(len(targets)):  # scaleDownOldReplicaSetsForRollingUpdate
        down = min(targets[i], max(0, surplus))
        targets[i] -= down
        surplus -= down
    return targets

"""What every Cluster spells the same way, whatever carries its calls (the official client over HTTP, or the
twin in process): node verbs as patches of `spec`/`metadata`, and waiting for pods to go by polling their uid."""
# exercised by tests/cluster/test_kube.py (over HTTP) and tests/cluster/twin/test_inprocess.py (in process)

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from migrate.clock import Clock
from migrate.cluster.base import Node, Pod


class NodeAndPodVerbs:
    """Mixed into a client that provides `_patch_node` (a strategic-merge patch), `get_pod` and `clock`."""

    clock: Clock

    def _patch_node(self, name: str, patch: dict[str, Any]) -> Node:
        raise NotImplementedError

    def get_pod(self, namespace: str, name: str) -> Pod | None:
        raise NotImplementedError

    def cordon(self, name: str) -> Node:
        return self._patch_node(name, {"spec": {"unschedulable": True}})

    def uncordon(self, name: str) -> Node:
        return self._patch_node(name, {"spec": {"unschedulable": None}})

    def set_labels(self, name: str, labels: Mapping[str, str | None]) -> Node:
        return self._patch_node(name, {"metadata": {"labels": dict(labels)}})

    def wait_pods_gone(self, pods: Sequence[Pod], timeout: float, interval: float = 1.0) -> list[Pod]:
        """Poll until each pod is gone or replaced by a same-named one (new uid); returns those still there."""
        deadline = self.clock.now() + timeout
        pending = list(pods)
        while pending:
            pending = [p for p in pending if (now := self.get_pod(p.namespace, p.name)) is not None and now.uid == p.uid]
            if not pending or self.clock.now() + interval > deadline:
                break
            self.clock.sleep(interval)
        return pending

"""Builders for small clusters in the twin, and a twin served over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from migrate.cluster.twin import KubeletTiming, Twin, VirtualClock, serve_in_thread
from migrate.cluster.twin.resources import DEPLOYMENTS, PDBS

FAST = KubeletTiming(start_delay=2.0, stop_delay=1.0, job_duration=5.0)


def deployment(name: str, replicas: int, *, labels: dict[str, str] | None = None, cpu: str = "100m", **pod_spec: Any) -> dict[str, Any]:
    labels = labels or {"app": name}
    return {"metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": name, "image": f"example/{name}:1",
                                                           "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}], **pod_spec}}}}


def pdb(name: str, selector: dict[str, str] | None, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"selector": {"matchLabels": selector} if selector is not None else None, **spec}}


def small_twin(workers: int = 3, **kwargs: Any) -> Twin:
    twin = Twin(VirtualClock(), timing=FAST, node_ready_delay=5.0, **kwargs)
    for i in range(1, workers + 1):
        twin.add_node(f"w{i}", f"10.0.10.2{i}", cpu="4", memory="8Gi")
    twin.settle()
    return twin


def web_with_budget(twin: Twin, replicas: int = 3, **budget: Any) -> None:
    twin.api.create(DEPLOYMENTS, "default", deployment("web", replicas))
    twin.api.create(PDBS, "default", pdb("web", {"app": "web"}, **(budget or {"minAvailable": replicas})))
    twin.settle()


@pytest.fixture
def twin() -> Twin:
    return small_twin()


@pytest.fixture
def served(twin: Twin) -> Iterator[Any]:
    handle = serve_in_thread(twin)
    yield handle
    handle.stop()

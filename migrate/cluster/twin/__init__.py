"""An in-memory Kubernetes cluster with API-server semantics, for tests and migration rehearsals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from migrate.clock import SystemClock, VirtualClock
from migrate.cluster.twin.kubelet import KubeletTiming
from migrate.cluster.twin.simulation import Twin

if TYPE_CHECKING:  # the model needs no HTTP at import time
    from migrate.cluster.twin.http import ServedTwin

__all__ = ["KubeletTiming", "SystemClock", "Twin", "VirtualClock", "serve_in_thread"]


def serve_in_thread(twin: Twin, host: str = "127.0.0.1", port: int = 0, token: str | None = None, *,
                    virtual_watches: bool = False) -> ServedTwin:
    """Serve `twin` over HTTP from a background thread; returns a handle with .url, .write_kubeconfig(), .stop()."""
    from migrate.cluster.twin.http import serve_in_thread as serve  # lazy: the model needs no HTTP

    return serve(twin, host, port, token, virtual_watches=virtual_watches)

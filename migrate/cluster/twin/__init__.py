"""An in-memory Kubernetes cluster with API-server semantics, for tests and migration rehearsals."""

from migrate.clock import SystemClock, VirtualClock
from migrate.cluster.twin.kubelet import KubeletTiming
from migrate.cluster.twin.simulation import Twin

__all__ = ["KubeletTiming", "SystemClock", "Twin", "VirtualClock", "serve_in_thread"]


def serve_in_thread(twin: Twin, host: str = "127.0.0.1", port: int = 0, token: str | None = None):  # noqa: ANN201
    """Serve `twin` over HTTP from a background thread; returns a handle with .url, .write_kubeconfig(), .stop()."""
    from migrate.cluster.twin.http import serve_in_thread as serve  # lazy: the model needs no HTTP

    return serve(twin, host, port, token)

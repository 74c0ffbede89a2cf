"""`kubespray2talos twin`: run a simulated copy of a cluster that kubectl and the migration can drive."""
# exercised by tests/cli/test_twin_serve.py

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from migrate import ui
from migrate.cluster.twin import KubeletTiming, SystemClock, Twin, serve_in_thread
from migrate.errors import UserError


@click.group()
def twin() -> None:
    """A cluster twin: an in-memory Kubernetes API with controllers, scheduler and kubelets.

    \b
    Rehearse a migration against a copy of your cluster before touching it:
      kubespray2talos snapshot --kubeconfig ~/.kube/config -o cluster.json
      kubespray2talos twin serve cluster.json --kubeconfig twin.kubeconfig
      kubectl --kubeconfig twin.kubeconfig drain w1 --ignore-daemonsets --delete-emptydir-data
    """


@twin.command()
@click.argument("snapshot", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kubeconfig", "kubeconfig", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write a kubeconfig for the twin (written once it is ready, mode 0600).")
@click.option("--keep-kubeconfig", is_flag=True, help="Leave the kubeconfig in place when the twin stops (it then points at a dead port).")
@click.option("--port", default=0, show_default=True, help="Port on 127.0.0.1; 0 picks a free one.")
@click.option("--pod-start-delay", default=2.0, show_default=True, help="Seconds from a pod's binding to Running/Ready.")
@click.option("--pod-stop-delay", default=1.0, show_default=True, help="Seconds a deleted pod takes to terminate (capped by its grace period).")
@click.option("--node-ready-delay", default=5.0, show_default=True, help="Seconds a new node takes to become Ready.")
@click.option("-o", "--output", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="How to print where the twin listens.")
def serve(snapshot: Path, kubeconfig: Path, keep_kubeconfig: bool, port: int, pod_start_delay: float, pod_stop_delay: float,
          node_ready_delay: float, fmt: str) -> None:
    """Serve the cluster in SNAPSHOT on 127.0.0.1 until interrupted (Ctrl-C or SIGTERM).

    The kubeconfig is removed when the twin stops, unless --keep-kubeconfig.

    \b
    Example:
      kubespray2talos twin serve playbook_fixtures/clusters/demo.json --kubeconfig /tmp/twin.kubeconfig
      kubectl --kubeconfig /tmp/twin.kubeconfig get nodes -o wide
    """
    if not kubeconfig.parent.is_dir():
        raise UserError("the kubeconfig's directory does not exist", where=str(kubeconfig),
                        hint="create the directory first, or pass a path in an existing one")
    ui.note(f"loading {snapshot}")
    timing = KubeletTiming(start_delay=pod_start_delay, stop_delay=pod_stop_delay)
    cluster = Twin.from_snapshot(snapshot, SystemClock(), timing=timing, node_ready_delay=node_ready_delay)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    served = serve_in_thread(cluster, "127.0.0.1", port)
    try:
        served.write_kubeconfig(kubeconfig)
        if fmt == "json":
            ui.emit({"url": served.url, "kubeconfig": str(kubeconfig), "version": cluster.version}, "json")
        else:
            ui.out.print(f"twin of {snapshot.name} serving at {served.url}")
            ui.out.print(f"  kubectl --kubeconfig {kubeconfig} get nodes -o wide")
        ui.out.file.flush()
        stop.wait()
    finally:
        served.stop()
        if not keep_kubeconfig:
            kubeconfig.unlink(missing_ok=True)  # it names a port nothing listens on any more
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        ui.note("twin stopped")

"""`kubespray2talos twin`: run a simulated copy of a cluster that kubectl and the migration can drive."""
# exercised by tests/cli/test_twin_serve.py

from __future__ import annotations

import os
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
      kubespray2talos snapshot --kubeconfig ~/.kube/config --out cluster.json
      kubespray2talos twin serve cluster.json --kubeconfig twin.kubeconfig
      kubectl --kubeconfig twin.kubeconfig drain w1 --ignore-daemonsets --delete-emptydir-data
    """


@twin.command()
@click.argument("snapshot", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kubeconfig", "kubeconfig", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write a kubeconfig for the twin (written once it is ready, mode 0600).")
@click.option("--keep-kubeconfig", is_flag=True, help="Leave the kubeconfig in place when the twin stops (it then points at a dead port).")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="Port on 127.0.0.1; 0 picks a free one.")
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
    if 0 < port < 1024:
        raise UserError(f"port {port} is privileged (below 1024): a twin never needs one, nor root to get it",
                        where="--port", hint="pick a port above 1023, or --port 0 for any free one")
    if kubeconfig.exists() or kubeconfig.is_symlink():
        # never overwrite (nor later delete) a file the twin did not create: it may be the user's real kubeconfig
        raise UserError("the kubeconfig file already exists; the twin writes a new file and never overwrites one",
                        where=str(kubeconfig), hint="pass a path that does not exist yet, e.g. /tmp/twin.kubeconfig")
    ui.note(f"loading {snapshot}")
    timing = KubeletTiming(start_delay=pod_start_delay, stop_delay=pod_stop_delay)
    cluster = load_twin(snapshot, timing, node_ready_delay)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        served = serve_in_thread(cluster, "127.0.0.1", port)
    except OSError as exc:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        cluster.stop()
        raise UserError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", where="--port",
                        hint="pick a free port above 1023, or --port 0 for any free one") from None
    written: os.stat_result | None = None
    try:
        served.write_kubeconfig(kubeconfig)
        written = kubeconfig.stat()
        if fmt == "json":
            ui.emit({"url": served.url, "kubeconfig": str(kubeconfig), "version": cluster.version}, "json")
        else:
            ui.out.print(f"twin of {snapshot.name} serving at {served.url}")
            ui.out.print(f"  kubectl --kubeconfig {kubeconfig} get nodes -o wide")
        ui.out.file.flush()
        stop.wait()
    finally:
        served.stop()
        if not keep_kubeconfig and written is not None and _same_file(kubeconfig, written):
            kubeconfig.unlink()  # it names a port nothing listens on any more; only the file the twin wrote goes
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        ui.note("twin stopped")


def load_twin(snapshot: Path, timing: KubeletTiming, node_ready_delay: float) -> Twin:
    """The twin of a snapshot file; a snapshot is input, so an object of the wrong shape is a UserError."""
    try:
        return Twin.from_snapshot(snapshot, SystemClock(), timing=timing, node_ready_delay=node_ready_delay)
    except (TypeError, AttributeError, KeyError, ValueError, IndexError) as exc:
        raise UserError(f"the snapshot holds an object the twin cannot load ({type(exc).__name__}: {exc})"[:300],
                        where=str(snapshot), hint="capture the snapshot again with `kubespray2talos snapshot`") from None


def _same_file(path: Path, written: os.stat_result) -> bool:
    """The file at `path` is still the one the twin wrote (not replaced by the user meanwhile)."""
    try:
        now = path.stat()
    except OSError:
        return False
    return (now.st_ino, now.st_dev, now.st_mtime_ns) == (written.st_ino, written.st_dev, written.st_mtime_ns)

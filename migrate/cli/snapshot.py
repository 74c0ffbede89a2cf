"""`kubespray2talos snapshot`: capture a running cluster's shape (never its secrets) for the twin and diff."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from migrate import ui
from migrate.cli.options import OldSpellings
from migrate.clock import rfc3339
from migrate.cluster.kube import KubeCluster
from migrate.cluster.snapshot import (
    CONFIGMAPS,
    RESOURCES,
    clean,
    credential_entries,
    new_snapshot,
    qualified,
    redact_credentials,
    redacted_documents,
    scrub_configmap,
    write_snapshot,
)

FORMATS = ["text", "json"]


# `snapshot -o FILE` was the file until --out took that name; `-o json` is the format, as in every verb
@click.command(cls=OldSpellings, old_spellings={"-o": ("--out", lambda value: value not in FORMATS)})
@click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Kubeconfig of the cluster to capture (default: $KUBECONFIG or ~/.kube/config).")
@click.option("--context", default=None, help="Context in the kubeconfig (default: its current context).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Snapshot file to write (JSON).")
@click.option("--output", "-o", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="How to print the summary.")
def snapshot(kubeconfig: Path | None, context: str | None, out: Path, fmt: str) -> None:
    """Capture nodes, pods (with owners), PDBs, workload controllers, Services and the kube-system
    kubeadm-config, kubelet-config and kube-proxy ConfigMaps into one JSON file.

    Secrets are never read; ConfigMap entries named or shaped like keys or tokens (JWTs, bootstrap
    tokens, PEM private keys, kubeconfigs with an inline token, key or password) are dropped, other
    credential-shaped strings (an env value) redacted; stderr names what went (never its value).
    The file loads into `kubespray2talos twin serve` for a rehearsal.

    \b
    Example:
      kubespray2talos snapshot --kubeconfig admin.conf --context prod --out prod.json
      kubespray2talos twin serve prod.json --kubeconfig twin.kubeconfig
    """
    cluster = KubeCluster(kubeconfig, context)
    try:
        version = cluster.server_version()
        objects: dict[str, list[dict[str, Any]]] = {}
        for group, version_, plural in RESOURCES:
            if plural == "configmaps":
                continue
            ui.err.print(f"reading {qualified(group, plural)} ...", highlight=False)
            objects[qualified(group, plural)] = [_redacted(clean(o), plural) for o in cluster.list_raw(group, version_, plural)]
        found = [cluster.get_configmap("kube-system", name) for name in CONFIGMAPS]
        objects["configmaps"] = [_scrubbed(clean({"apiVersion": "v1", "kind": "ConfigMap",
                                                  "metadata": {"name": cm.name, "namespace": cm.namespace}, "data": dict(cm.data)}))
                                 for cm in found if cm is not None]
        snap = new_snapshot(objects, capturedAt=rfc3339(cluster.clock.now()), server=cluster.server, kubernetesVersion=version)
        write_snapshot(out, snap)
    finally:
        cluster.close()
    counts = {kind: len(items) for kind, items in snap["objects"].items()}
    if fmt == "json":
        ui.emit({"file": str(out), "server": cluster.server, "kubernetesVersion": version, "objects": counts}, "json")
    else:
        ui.out.print(ui.text(f"captured {cluster.server} (Kubernetes {version}) into {out}"))
        for kind, n in counts.items():
            ui.out.print(f"  {kind:32} {n}")


def _where(obj: dict[str, Any], resource: str) -> str:
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    return f"{resource} {namespace + '/' if namespace else ''}{meta.get('name')}"


def _scrubbed(cm: dict[str, Any]) -> dict[str, Any]:
    """The ConfigMap without credential entries; says which keys went (names only, never values)."""
    dropped = credential_entries(cm)
    if redacted := redacted_documents(cm):
        ui.err.print(ui.text(f"redacted in {_where(cm, 'configmap')}: {', '.join(redacted)} (a credential inside)"))
    if dropped:
        ui.err.print(ui.text(f"dropped from {_where(cm, 'configmap')}: {', '.join(dropped)} (named or shaped like a credential)"))
    return scrub_configmap(cm)


def _redacted(obj: dict[str, Any], resource: str) -> dict[str, Any]:
    redacted: dict[str, Any]
    redacted, paths = redact_credentials(obj)
    if paths:
        ui.err.print(ui.text(f"redacted in {_where(obj, resource)}: {', '.join(paths)} (shaped like a credential)"))
    return redacted

"""`kubespray2talos fetch-pki`: copy the cluster's CAs, service-account key and encryption config from a control plane."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from cryptography import x509

from migrate import ui
from migrate.atomic import SECRET_DIR_MODE, SECRET_FILE_MODE, check_output_dir, free_sibling, staged_directory
from migrate.errors import UserError

if TYPE_CHECKING:
    from migrate.talos.pki import ClusterPKI

# what fetch_pki.yml writes: a directory holding anything else is not ours to replace without --force
_PKI_FILES = frozenset({"ca.crt", "ca.key", "front-proxy-ca.crt", "front-proxy-ca.key", "sa.key", "sa.pub",
                        "etcd/ca.crt", "etcd/ca.key", "secrets_encryption.yaml"})


@click.command("fetch-pki")
@click.argument("inventory", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out",
    required=True,
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the PKI copy into (created 0700; files 0600).",
)
@click.option(
    "--vault-password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the Ansible Vault password, as for ansible-playbook.",
)
@click.option(
    "--limit",
    "host",
    metavar="HOST",
    help="Read from this control-plane host instead of the first one (also for the etcd CA).",
)
@click.option(
    "--etcd-host",
    metavar="HOST",
    help="Read the etcd CA from this etcd member (default: the first host of the etcd group).",
)
@click.option("--force", is_flag=True, help="Replace an existing DIR that holds a different PKI or other files; the old DIR is kept as DIR.previous (0700).")
@click.option("--output", "-o", "fmt", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True)
def fetch_pki(
    inventory: Path,
    out: Path,
    vault_password_file: Path | None,
    host: str | None,
    etcd_host: str | None,
    force: bool,
    fmt: str,
) -> None:
    """Copy the cluster's identity from its first control plane into DIR, for `plan --pki DIR`.

    Runs a playbook shipped with kubespray2talos through Ansible, with your INVENTORY and your SSH
    setup, against the first host of kube_control_plane (kube-master in old inventories). It copies
    exactly: ca.crt/key, front-proxy-ca.crt/key, sa.key, sa.pub (if present), secrets_encryption.yaml if the cluster
    encrypts secrets, and the etcd CA as etcd/ca.crt/key (from /etc/ssl/etcd/ssl/ca.pem and ca-key.pem on
    the first etcd member for host/docker etcd, from /etc/kubernetes/ssl/etcd/ for kubeadm etcd).
    The copy is then checked as `plan --pki` checks it: one self-signed root CA per role, keys that
    match. Nothing is written unless every check passes. File contents are never printed.

    The layout is the one `talosctl gen secrets --from-kubernetes-pki DIR` reads as well.

    \b
    Examples:
      kubespray2talos fetch-pki inventory/mycluster --out pki/
      kubespray2talos fetch-pki inventory/prod/hosts.yaml --out pki/ --vault-password-file ~/.vault-pass
      kubespray2talos fetch-pki inventory/mycluster --out pki/ --limit cp2 --output json
    """
    from migrate.ansible import run_playbook
    from migrate.kubespray.inventory import inventory_sources

    sources, notes = inventory_sources(inventory, vault_password_file)  # as ansible-playbook -i reads it
    for note in notes:
        ui.note(note)
    out = check_output_dir(out)
    if "$" in str(out):  # Ansible's fetch expands $VARS in its dest: the copy would land elsewhere
        raise UserError("the output path contains '$', which Ansible's fetch module would expand", where=str(out),
                        hint="choose a directory whose path has no '$'")
    previous = _tree(out) if out.is_dir() else {}
    if previous and not force and not _is_pki(previous):
        raise UserError("holds files that are not a PKI fetched by kubespray2talos: " + ", ".join(sorted(previous)[:5]),
                        where=str(out), hint="choose another --out directory (--force replaces it, keeping it as DIR.previous)")
    backup = free_sibling(out, ".previous") if force and out.exists() else None
    with staged_directory(out, mode=SECRET_DIR_MODE, keep_old_as=backup) as stage:
        extravars: dict[str, Any] = {"ks2t_out": str(stage)}
        if host:
            extravars["ks2t_host"] = host
        if etcd_host or host:
            extravars["ks2t_etcd_host"] = etcd_host or host
        result = run_playbook("fetch_pki.yml", inventory if inventory.is_dir() else sources[0], extravars=extravars, vault_password_file=vault_password_file,
                              progress=_progress)
        _check_fetched(stage, host, etcd_host)
        _make_private(stage)
        pki = _verified(stage, result.stats)
        fetched = _tree(stage)
        changed = fetched != previous
        if previous and changed and not force:
            raise UserError(
                "already holds a different PKI (nothing was changed)",
                where=str(out),
                hint="pass --force to replace it, or choose another --out directory",
            )
    report = {
        "out": str(out),
        "hosts": sorted(result.stats),
        "files": sorted(fetched),
        "changed": changed,
        "cas": {
            name: _describe(pair.crt)
            for name, pair in (("kubernetes", pki.k8s), ("front-proxy", pki.k8s_aggregator), ("etcd", pki.etcd))
        },
        "encryption": [{"provider": k.provider, "key_name": k.name} for k in pki.encryption.keys]
        if pki.encryption
        else None,
    }
    if fmt != "text":
        ui.emit(report, fmt)
        return
    _print(report)


def _is_pki(tree: dict[str, bytes]) -> bool:
    """An earlier fetch-pki copy: only the files the playbook writes, the Kubernetes CA among them."""
    return "ca.crt" in tree and set(tree) <= _PKI_FILES


def _check_fetched(stage: Path, host: str | None, etcd_host: str | None) -> None:
    """Say which play found no host, in inventory terms, before the PKI checks would only say 'missing'."""
    if not (stage / "ca.crt").exists():
        raise UserError(
            f"no host matched {host!r}" if host else "the inventory has no kube_control_plane (or kube-master) host",
            hint="pass --limit HOST with a control-plane host of this inventory",
        )
    if not (stage / "etcd" / "ca.crt").exists():
        raise UserError(
            f"no host matched {etcd_host!r} for the etcd CA"
            if etcd_host
            else "the inventory has no etcd host to read the etcd CA from",
            hint="pass --etcd-host HOST with the etcd member holding /etc/ssl/etcd/ssl/ca-key.pem",
        )


def _verified(stage: Path, hosts: dict[str, Any]) -> ClusterPKI:
    """import_pki's checks on the copy; a refusal names the file as fetched from the node, not the staging dir."""
    from migrate.talos.pki import read_pki

    try:
        return read_pki(stage, etcd_deployment_type="kubeadm")  # fetch_pki.yml always writes kubeadm names
    except UserError as exc:
        rel = os.path.relpath(exc.where or str(stage), stage)
        raise UserError(exc.message, where=f"{rel} as fetched from {', '.join(sorted(hosts))}", hint=exc.hint) from None


def _make_private(root: Path) -> None:
    # the playbook already did this; a copy with looser modes must never survive whatever Ansible did
    for path in [root, *root.rglob("*")]:
        os.chmod(path, SECRET_DIR_MODE if path.is_dir() else SECRET_FILE_MODE)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _describe(crt: str | None) -> dict[str, str]:
    cert = x509.load_pem_x509_certificate((crt or "").encode())
    return {"subject": cert.subject.rfc4514_string(), "not_after": cert.not_valid_after_utc.isoformat()}


def _print(report: dict[str, Any]) -> None:
    verb = "fetched" if report["changed"] else "unchanged (same files already there)"
    ui.out.print(f"{report['out']}: {verb}, from {', '.join(report['hosts'])}", markup=False)
    for name in report["files"]:
        ui.out.print(f"  {name}", markup=False)
    for role, ca in report["cas"].items():
        ui.out.print(f"{role} CA: {ca['subject']}, valid until {ca['not_after']}", markup=False)
    if report["encryption"]:
        keys = ", ".join(f"{k['provider']} key {k['key_name']!r}" for k in report["encryption"])
        ui.out.print(f"secrets encryption: {keys} (carried over with its name)", markup=False)
    else:
        ui.out.print("secrets encryption: off (no secrets_encryption.yaml on the control plane)", markup=False)


def _progress(line: str) -> None:
    """ansible-runner's play and task names, on stderr as text (they come from the playbook, not markup)."""
    ui.err.print(ui.text(line), highlight=False)

"""A plan's secret items (CAs, keys, tokens, encryption secrets) as Fingerprints: comparable, never shown."""
# exercised by tests/cli/test_diff_secrets.py

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from migrate.bounds import read_bounded
from migrate.fingerprint import Fingerprints
from migrate.talos.encryption import TALOS_ENCRYPTION_CONFIG
from migrate.talos.merge import load_documents

# item → where the secrets bundle (secrets.yaml) holds it, and where a machine config does
ITEMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "kubernetes_ca": (("certs", "k8s"), ("cluster", "ca")),
    "service_account_key": (("certs", "k8sserviceaccount"), ("cluster", "serviceAccount")),
    "aggregator_ca": (("certs", "k8saggregator"), ("cluster", "aggregatorCA")),
    "etcd_ca": (("certs", "etcd"), ("cluster", "etcd", "ca")),
    "talos_os_ca": (("certs", "os"), ("machine", "ca")),
    "cluster_id": (("cluster", "id"), ("cluster", "id")),
    "cluster_secret": (("cluster", "secret"), ("cluster", "secret")),
    "bootstrap_token": (("secrets", "bootstraptoken"), ("cluster", "token")),
    "trustd_token": (("trustdinfo", "token"), ("machine", "token")),
    "secretbox_encryption_secret": (("secrets", "secretboxencryptionsecret"), ("cluster", "secretboxEncryptionSecret")),
    "aescbc_encryption_secret": (("secrets", "aescbcencryptionsecret"), ("cluster", "aescbcEncryptionSecret")),
}
CARRIED_ENCRYPTION = "encryption_configuration"  # the cluster's own EncryptionConfiguration mounted over Talos's


def plan_fingerprints(plan_dir: Path, control_plane: list[dict[str, Any]]) -> Fingerprints:
    """The plan's secrets bundle (secrets.yaml) item by item, or the control-plane config's when there is no
    bundle; plus the EncryptionConfiguration the config carries."""
    bundle_file = Path(plan_dir) / "secrets.yaml"
    root = next((d for d in control_plane if "kind" not in d), {})
    if bundle_file.is_file():
        bundle = next(iter(load_documents(read_bounded(bundle_file), where=str(bundle_file))), {})
        values = {name: _at(bundle, at_bundle) for name, (at_bundle, _) in ITEMS.items()}
    else:
        values = {name: _at(root, at_config) for name, (_, at_config) in ITEMS.items()}
    values[CARRIED_ENCRYPTION] = _carried_encryption_text(root)
    return Fingerprints(values, order=(*ITEMS, CARRIED_ENCRYPTION))


def _carried_encryption_text(root: Mapping[str, Any]) -> str | None:
    volumes = _at(root, ("cluster", "apiServer", "extraVolumes")) or []
    sources = {v.get("hostPath") for v in volumes if v.get("mountPath") == TALOS_ENCRYPTION_CONFIG}
    files = _at(root, ("machine", "files")) or []
    return next((f.get("content") for f in files if f.get("path") in sources), None)


def _at(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


"""Secrets encryption at rest across the migration: keep the cluster's key NAME readable on Talos.

Talos ≤1.13 writes its own EncryptionConfiguration (secretbox key `key2`, aescbc `key1`) and denies
--encryption-provider-config. Stored secrets carry their key name (`k8s:enc:secretbox:v1:key:`), so the
cluster's own file is written under /var and bind-mounted over the one Talos generates.

Talos runs kube-apiserver as uid/gid 65534 and machine.files has no owner, so the file is written 0644: only
root on the node and privileged hostPath pods (which could read the API server's own config anyway) can reach
/var/lib on a Talos node. UNVERIFIED on a real node: see docs/plan.md.
"""
# exercised by tests/talos/test_secrets.py

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from migrate.errors import UserError
from migrate.mapping.finding import CHANGED, MANUAL, Finding, finding
from migrate.spec import ClusterSpec, SecretsEncryption

# where the kube-apiserver static pod reads the configuration Talos renders
TALOS_ENCRYPTION_CONFIG = "/system/secrets/kubernetes/kube-apiserver/encryptionconfig.yaml"
# machine.files may only create files under /var
CARRIED_ENCRYPTION_CONFIG = "/var/lib/kubespray2talos/encryptionconfig.yaml"
# readable by kube-apiserver, which Talos runs as 65534:65534 (machine.files writes root-owned files)
CARRIED_CONFIG_MODE = 0o644
BUNDLE_FIELDS = {"secretbox": "secretboxEncryptionSecret", "aescbc": "aescbcEncryptionSecret"}


@dataclass(frozen=True)
class EncryptionOverride:
    """What the control-plane config gets: cluster fields, machine.files entries and apiServer volumes."""

    cluster: dict[str, Any] = field(default_factory=dict)
    files: tuple[dict[str, Any], ...] = ()
    volumes: tuple[dict[str, Any], ...] = ()
    provider: str | None = None  # what the API servers encrypt with: the carried file's provider when carried
    findings: tuple[Finding, ...] = ()

    @property
    def carried(self) -> bool:
        return bool(self.files)


def encryption_override(spec: ClusterSpec, bundle: Any) -> EncryptionOverride:
    """No encryption: no Talos secret at all. Encryption and the cluster's file: mount it (the file's provider wins
    over the inventory's: Kubespray re-reads the file on the node). Otherwise: Talos's own key (the mapping reports
    that as a `manual` blocker with the re-key procedure)."""
    enc = spec.control_plane.encryption
    if enc is None:
        return EncryptionOverride()
    config = getattr(bundle, "encryption_config", None)
    if config:
        _check_config(config, enc.key_name)
    on_node = config_encryption(config) if config else None
    provider = on_node.provider if on_node else enc.provider
    secret_field = BUNDLE_FIELDS.get(provider, "secretboxEncryptionSecret")
    secret = _bundle_secret(bundle, secret_field)
    cluster = {secret_field: secret} if secret else {}
    if not config:
        return EncryptionOverride(cluster=cluster, provider=provider)
    findings = [_rotate_later(provider, enc.key_name)]
    if provider != enc.provider:
        findings.append(_mismatch(provider, enc.provider))
    return EncryptionOverride(
        cluster=cluster,
        files=({"content": config, "permissions": CARRIED_CONFIG_MODE, "path": CARRIED_ENCRYPTION_CONFIG,
                "op": "create"},),
        volumes=({"hostPath": CARRIED_ENCRYPTION_CONFIG, "mountPath": TALOS_ENCRYPTION_CONFIG, "readonly": True},),
        provider=provider,
        findings=tuple(findings),
    )


def _rotate_later(provider: str, key_name: str) -> Finding:
    return finding(
        "encryption key rotation", MANUAL,
        f"The cluster's EncryptionConfiguration ({provider}, key {key_name!r}) is carried as a file: "
        f"{CARRIED_ENCRYPTION_CONFIG}, mode 0644 because Talos runs kube-apiserver as uid 65534 and machine.files "
        "cannot set an owner (only root and privileged hostPath pods reach /var/lib on a Talos node). This route is "
        "unverified on a real Talos node: check that the first Talos API server starts and reads an existing Secret "
        "before joining more. Once every control plane runs Talos, re-key to a Talos-managed key: put Talos's key "
        "(key2, cluster.secretboxEncryptionSecret) first and the old key second in the carried file, apply to every "
        "control plane, rewrite all secrets (kubectl get secrets -A -o json | kubectl replace -f -), then remove the "
        "machine.files entry and the apiServer extraVolume so Talos's own configuration takes over.",
        talos_path="machine.files", area="encryption")


def _mismatch(on_node: str, inventory: str) -> Finding:
    return finding(
        "encryption provider mismatch", CHANGED,
        f"The imported secrets_encryption.yaml encrypts with {on_node}, the inventory says {inventory}. Kubespray "
        f"re-reads the file on the node, so the cluster really uses {on_node}: the plan carries {on_node}. Align "
        "kube_encryption_algorithm in the inventory if Kubespray still manages this cluster.",
        talos_path=f"cluster.{BUNDLE_FIELDS.get(on_node, on_node)}", severity="warning", area="encryption")


def carried_encryption(files: list[Any], volumes: list[Any]) -> SecretsEncryption | None:
    """What the API server really encrypts with when the cluster's file is mounted over Talos's (None: not carried)."""
    sources = {v.get("hostPath") for v in volumes or [] if v.get("mountPath") == TALOS_ENCRYPTION_CONFIG}
    text = next((f.get("content") for f in files or [] if f.get("path") in sources and f.get("content")), None)
    return config_encryption(text) if text else None


def config_encryption(text: str) -> SecretsEncryption | None:
    """What an EncryptionConfiguration encrypts with: the provider that writes is the first one listed, and its
    first key names every value it stores (None: identity first, or not a configuration)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    for resource in (doc or {}).get("resources", []) if isinstance(doc, dict) else []:
        for provider in resource.get("providers", []) or []:
            name, spec = next(iter(provider.items()), (None, None))
            if name == "identity":
                return None  # writes in plain text: nothing is encrypted
            keys = (spec or {}).get("keys") or [{}]
            return SecretsEncryption(provider=str(name), key_name=str(keys[0].get("name", "")),
                                     resources=tuple(resource.get("resources") or ("secrets",)))
    return None


def _bundle_secret(bundle: Any, secret_field: str) -> str | None:
    """The bundle's secret for that Talos field; any one will do because the mounted file wins."""
    wanted = {"secretboxEncryptionSecret": "secretbox_encryption_secret",
              "aescbcEncryptionSecret": "aescbc_encryption_secret"}[secret_field]
    return getattr(bundle, wanted, None) or getattr(bundle, "secretbox_encryption_secret", None)


def _check_config(text: str, key_name: str) -> None:
    """Refuse an imported file that would not decrypt what the cluster stored (wrong kind or key name)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"the imported EncryptionConfiguration is not YAML: {exc}", where="--pki") from None
    names = [
        key.get("name")
        for resource in (doc or {}).get("resources", []) or []
        for provider in resource.get("providers", []) or []
        for spec in provider.values() if isinstance(spec, dict)
        for key in spec.get("keys", []) or []
    ]
    if not isinstance(doc, dict) or doc.get("kind") not in ("EncryptionConfiguration", "EncryptionConfig"):
        raise UserError("the imported encryption file is not an EncryptionConfiguration", where="--pki")
    if key_name not in names:
        raise UserError(
            f"the imported EncryptionConfiguration has no key named {key_name!r} (found: {', '.join(map(str, names)) or 'none'})",
            where="--pki",
            hint="copy secrets_encryption.yaml from a control plane of this cluster into the PKI directory",
        )

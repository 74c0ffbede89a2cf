"""Secrets encryption at rest across the migration: keep the cluster's key NAME readable on Talos.

Talos ≤1.13 writes its own EncryptionConfiguration (secretbox key `key2`, aescbc `key1`) and denies
--encryption-provider-config. Stored secrets carry their key name (`k8s:enc:secretbox:v1:key:`), so the
cluster's own file is written under /var and bind-mounted over the one Talos generates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from migrate.errors import UserError
from migrate.spec import ClusterSpec, SecretsEncryption

# where the kube-apiserver static pod reads the configuration Talos renders
TALOS_ENCRYPTION_CONFIG = "/system/secrets/kubernetes/kube-apiserver/encryptionconfig.yaml"
# machine.files may only create files under /var
CARRIED_ENCRYPTION_CONFIG = "/var/lib/kubespray2talos/encryptionconfig.yaml"
BUNDLE_FIELDS = {"secretbox": "secretboxEncryptionSecret", "aescbc": "aescbcEncryptionSecret"}


@dataclass(frozen=True)
class EncryptionOverride:
    """What the control-plane config gets: cluster fields, machine.files entries and apiServer volumes."""

    cluster: dict[str, Any] = field(default_factory=dict)
    files: tuple[dict[str, Any], ...] = ()
    volumes: tuple[dict[str, Any], ...] = ()

    @property
    def carried(self) -> bool:
        return bool(self.files)


def encryption_override(spec: ClusterSpec, bundle: Any) -> EncryptionOverride:
    """No encryption: no Talos secret at all. Encryption and the cluster's file: mount it. Otherwise: Talos's own key
    (the mapping reports that as a `manual` blocker with the re-key procedure)."""
    enc = spec.control_plane.encryption
    if enc is None:
        return EncryptionOverride()
    secret_field = BUNDLE_FIELDS.get(enc.provider, "secretboxEncryptionSecret")
    secret = _bundle_secret(bundle, secret_field)
    cluster = {secret_field: secret} if secret else {}
    config = getattr(bundle, "encryption_config", None)
    if not config:
        return EncryptionOverride(cluster=cluster)
    _check_config(config, enc.key_name)
    return EncryptionOverride(
        cluster=cluster,
        files=({"content": config, "permissions": 0o600, "path": CARRIED_ENCRYPTION_CONFIG, "op": "create"},),
        volumes=({"hostPath": CARRIED_ENCRYPTION_CONFIG, "mountPath": TALOS_ENCRYPTION_CONFIG, "readonly": True},),
    )


def carried_encryption(files: list, volumes: list) -> SecretsEncryption | None:
    """What the API server really encrypts with when the cluster's file is mounted over Talos's (None: not carried).

    The provider that writes is the first one listed; its first key names every value it stores."""
    sources = {v.get("hostPath") for v in volumes or [] if v.get("mountPath") == TALOS_ENCRYPTION_CONFIG}
    text = next((f.get("content") for f in files or [] if f.get("path") in sources and f.get("content")), None)
    if not text:
        return None
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

"""The Talos secrets bundle: the cluster's identity, fresh or imported from a running cluster's PKI.

`to_yaml()` writes talosctl's `secrets.yaml` shape exactly, so `talosctl gen config --with-secrets` reads it.
What Talos has no field for (joinable, the cluster's EncryptionConfiguration) rides in `# kubespray2talos:`
comment lines that talosctl ignores and `load_bundle` reads back.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets as random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from migrate.atomic import SECRET_DIR_MODE, SECRET_FILE_MODE, write_file
from migrate.bounds import read_bounded
from migrate.errors import UserError
from migrate.talos.pki import CertKey, check_ca_pair, private_key_from_pem, read_pki
from migrate.talos.pki_encryption import secret_yaml
from migrate.talos.pki_issue import (
    ISSUER_KEY_TYPES,
    client_certificate,
    key_pem,
    new_ca,
    new_ecdsa_key,
    new_ed25519_key,
    private_key_der,
    utc_now,
)

__all__ = ["CertKey", "SecretsBundle", "generate_bundle", "import_pki", "load_bundle", "talosconfig", "write_bundle"]

TOKEN = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")  # kubeadm bootstrap-token format, also Talos's trustd token
MARK = "# kubespray2talos: "
ADMIN_ROLE = "os:admin"
# bundle field -> its section under `certs:` in secrets.yaml (the CA pairs)
CA_FIELDS = {"etcd": "etcd", "k8s": "k8s", "k8s_aggregator": "k8saggregator", "os": "os"}


@dataclass(frozen=True)
class SecretsBundle:
    cluster_id: str = field(repr=False)
    cluster_secret: str = field(repr=False)
    bootstrap_token: str = field(repr=False)
    trustd_token: str = field(repr=False)
    secretbox_encryption_secret: str | None = field(repr=False)
    aescbc_encryption_secret: str | None = field(repr=False)
    etcd: CertKey
    k8s: CertKey
    k8s_aggregator: CertKey
    k8s_service_account: CertKey
    os: CertKey
    joinable: bool  # built from the cluster's own PKI: Talos nodes can join the running cluster
    encryption_config: str | None = field(default=None, repr=False)  # the cluster's EncryptionConfiguration YAML

    def to_yaml(self) -> str:
        """talosctl's secrets.yaml; deterministic for a given bundle."""
        secrets = {"bootstraptoken": self.bootstrap_token}
        if self.secretbox_encryption_secret is not None:
            secrets["secretboxencryptionsecret"] = self.secretbox_encryption_secret
        if self.aescbc_encryption_secret is not None:
            secrets["aescbcencryptionsecret"] = self.aescbc_encryption_secret
        doc = {
            "cluster": {"id": self.cluster_id, "secret": self.cluster_secret},
            "secrets": secrets,
            "trustdinfo": {"token": self.trustd_token},
            "certs": {
                **{section: _b64_pair(getattr(self, name)) for name, section in CA_FIELDS.items() if section != "os"},
                "k8sserviceaccount": {"key": _b64(self.k8s_service_account.key)},
                "os": _b64_pair(self.os),
            },
        }
        header = [
            "# Talos secrets bundle written by kubespray2talos: keep it 0600, never commit it unencrypted.",
            f"{MARK}joinable={str(self.joinable).lower()}",
        ]
        if self.encryption_config is not None:
            header.append(f"{MARK}encryption-config={_b64(self.encryption_config)}")
        return "\n".join(header) + "\n" + yaml.safe_dump(doc, sort_keys=False, indent=4, width=1 << 16)


def generate_bundle(*, now: datetime | None = None) -> SecretsBundle:
    """A fresh identity, as `talosctl gen secrets` makes it. Not joinable to any existing cluster."""
    now = now or utc_now()
    return SecretsBundle(
        **_talos_only_parts(now),
        secretbox_encryption_secret=base64.b64encode(random.token_bytes(32)).decode(),
        aescbc_encryption_secret=None,
        etcd=_new_ca("etcd", now),
        k8s=_new_ca("kubernetes", now),
        k8s_aggregator=_new_ca(None, now),
        k8s_service_account=CertKey(None, key_pem(new_ecdsa_key())),
        joinable=False,
    )


def import_pki(
    pki_dir: Path | str, *, etcd_deployment_type: str, bootstrap_token: str | None = None, now: datetime | None = None
) -> SecretsBundle:
    """The cluster's own CAs, service-account key and encryption key; only Talos's own parts are new.

    `bootstrap_token` lets the operator reuse a token created on the cluster (`kubeadm token create <t> --ttl 0`).
    """
    if bootstrap_token is not None and not TOKEN.match(bootstrap_token):
        raise UserError(
            "the bootstrap token is not in the form [a-z0-9]{6}.[a-z0-9]{16}",
            hint="create one with `kubeadm token generate`",
        )
    pki = read_pki(pki_dir, etcd_deployment_type=etcd_deployment_type)
    parts = _talos_only_parts(now or utc_now())
    if bootstrap_token is not None:
        parts["bootstrap_token"] = bootstrap_token
    enc = pki.encryption
    return SecretsBundle(
        **parts,
        secretbox_encryption_secret=enc.secret("secretbox") if enc else None,
        aescbc_encryption_secret=enc.secret("aescbc") if enc else None,
        etcd=pki.etcd,
        k8s=pki.k8s,
        k8s_aggregator=pki.k8s_aggregator,
        k8s_service_account=CertKey(None, pki.service_account_key),
        joinable=True,
        encryption_config=enc.raw if enc else None,
    )


def load_bundle(path: Path | str) -> SecretsBundle:
    """Read a secrets.yaml, ours or talosctl's; every CA pair checked. Errors name the field, never its value."""
    path = Path(path)
    where = str(path)
    try:
        text = read_bounded(path, limit=1024 * 1024)  # a FIFO is refused, never waited on
    except FileNotFoundError:
        raise UserError(
            "does not exist", where=where, hint="pass a secrets.yaml written by `plan` or `talosctl gen secrets`"
        ) from None
    except (OSError, UnicodeDecodeError):
        raise UserError("cannot be read as text", where=where, hint="check the file and its permissions") from None
    doc = secret_yaml(text, where=where, hint="pass a Talos secrets.yaml")
    if not isinstance(doc, dict):
        raise UserError(
            "is not a Talos secrets bundle (expected a mapping with cluster, secrets, trustdinfo, certs)", where=where
        )
    marks = _marks(text)

    def get(dotted: str, required: bool = True) -> str | None:
        node: object = doc
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None and not required:
            return None
        if not isinstance(node, str) or not node:
            raise UserError(
                f"has no `{dotted}`", where=where, hint="pass a complete Talos secrets.yaml (talosctl gen secrets)"
            )
        return node

    def need(dotted: str) -> str:
        return get(dotted) or ""  # get() raised already when a required field is missing

    for token in ("secrets.bootstraptoken", "trustdinfo.token"):
        if not TOKEN.match(need(token)):
            raise UserError(f"`{token}` is not in the form [a-z0-9]{{6}}.[a-z0-9]{{16}}", where=where)
    cas = {name: _pem_pair(need, section, where) for name, section in CA_FIELDS.items()}
    sa_key = _pem(need, "certs.k8sserviceaccount.key", where)
    private_key_from_pem(sa_key, where=f"{where}: certs.k8sserviceaccount.key", what="service-account")
    return SecretsBundle(
        cluster_id=need("cluster.id"),
        cluster_secret=need("cluster.secret"),
        bootstrap_token=need("secrets.bootstraptoken"),
        trustd_token=need("trustdinfo.token"),
        secretbox_encryption_secret=get("secrets.secretboxencryptionsecret", required=False),
        aescbc_encryption_secret=get("secrets.aescbcencryptionsecret", required=False),
        k8s_service_account=CertKey(None, sa_key),
        joinable=marks.get("joinable") == "true",
        encryption_config=_unb64(marks["encryption-config"], where) if "encryption-config" in marks else None,
        **cas,
    )


def write_bundle(bundle: SecretsBundle, path: Path | str) -> None:
    """Atomically, 0600, in a directory only the owner can enter (created or tightened to 0700)."""
    path = Path(path)
    path.parent.mkdir(mode=SECRET_DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path.parent, SECRET_DIR_MODE)
    write_file(path, bundle.to_yaml(), SECRET_FILE_MODE)


def talosconfig(bundle: SecretsBundle, *, context: str, endpoints: list[str]) -> str:
    """A talosctl client config with an os:admin cert signed by the bundle's Talos API CA; same bundle, same bytes."""
    if not endpoints:
        raise UserError("talosconfig needs at least one endpoint", hint="pass the control-plane node addresses")
    if not bundle.os.crt or not bundle.os.key:
        raise UserError("the secrets bundle has no Talos API (os) CA", hint="pass a complete Talos secrets.yaml")
    ca_key = private_key_from_pem(bundle.os.key, where="secrets bundle: certs.os.key", what="Talos API (os) CA")
    if not isinstance(ca_key, ISSUER_KEY_TYPES):
        raise UserError("the Talos API (os) CA key cannot sign certificates", where="secrets bundle: certs.os.key")
    seed = b"kubespray2talos talosconfig " + ADMIN_ROLE.encode() + b"\0" + private_key_der(ca_key)
    crt, key = client_certificate(bundle.os.crt, ca_key, organization=ADMIN_ROLE, seed=seed)
    doc = {
        "context": context,
        "contexts": {
            context: {"endpoints": list(endpoints), "ca": _b64(bundle.os.crt), "crt": _b64(crt), "key": _b64(key)}
        },
    }
    return yaml.safe_dump(doc, sort_keys=False, indent=4, width=1 << 16)


def _talos_only_parts(now: datetime) -> dict[str, Any]:
    """What Talos adds to any cluster: its API CA, trustd and bootstrap tokens, discovery id and secret."""
    return {
        "cluster_id": base64.urlsafe_b64encode(random.token_bytes(32)).decode(),
        "cluster_secret": base64.b64encode(random.token_bytes(32)).decode(),
        "bootstrap_token": _new_token(),
        "trustd_token": _new_token(),
        "os": _new_ca("talos", now, ed25519=True),
    }


def _new_ca(organization: str | None, now: datetime, *, ed25519: bool = False) -> CertKey:
    key = new_ed25519_key() if ed25519 else new_ecdsa_key()
    return CertKey(new_ca(organization, key, now=now), key_pem(key))


def _new_token() -> str:
    alphabet = string.ascii_lowercase + string.digits

    def pick(n: int) -> str:
        return "".join(random.choice(alphabet) for _ in range(n))

    return f"{pick(6)}.{pick(16)}"


def _b64(text: str | None) -> str:
    return base64.b64encode((text or "").encode()).decode()


def _b64_pair(pair: CertKey) -> dict[str, str]:
    return {"crt": _b64(pair.crt), "key": _b64(pair.key)}


def _unb64(value: str, where: str, field_name: str = "encryption-config comment") -> str:
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, ValueError):
        raise UserError(
            f"`{field_name}` is not base64 PEM/YAML text", where=where, hint="pass the file unchanged"
        ) from None


def _pem(get: Callable[[str], str], dotted: str, where: str) -> str:
    text = _unb64(get(dotted), where, dotted)
    if "-----BEGIN " not in text:
        raise UserError(f"`{dotted}` does not hold PEM", where=where, hint="pass a Talos secrets.yaml")
    return text


def _pem_pair(get: Callable[[str], str], section: str, where: str) -> CertKey:
    crt, key = _pem(get, f"certs.{section}.crt", where), _pem(get, f"certs.{section}.key", where)
    check_ca_pair(crt, key, where=f"{where}: certs.{section}", what=f"{section} CA")
    return CertKey(crt, key)


def _marks(text: str) -> dict[str, str]:
    """`# kubespray2talos: name=value` lines at the top of the file."""
    found = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        if line.startswith(MARK) and "=" in line:
            name, _, value = line[len(MARK) :].partition("=")
            found[name.strip()] = value.strip()
    return found

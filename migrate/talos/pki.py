"""A cluster's PKI directory: which files it holds, and the checks that refuse what Talos cannot join with.

The layout `fetch-pki` writes and `import_pki` reads is the kubeadm one, which `talosctl gen secrets
--from-kubernetes-pki` also reads:

    ca.crt  ca.key                    Kubernetes CA            (Kubespray: /etc/kubernetes/ssl)
    front-proxy-ca.crt  .key          aggregator CA            (Kubespray: /etc/kubernetes/ssl)
    sa.key  [sa.pub]                  service-account key      (Kubespray: /etc/kubernetes/ssl)
    etcd/ca.crt  etcd/ca.key          etcd CA                  (host/docker etcd: /etc/ssl/etcd/ssl/ca.pem, ca-key.pem)
    [secrets_encryption.yaml]         EncryptionConfiguration  (Kubespray: /etc/kubernetes/ssl)

A Kubespray copy with the etcd CA kept under its own names (`etcd/ca.pem`, `etcd/ca-key.pem`) is read too.
"""
# exercised by tests/talos/test_secrets.py

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from migrate.bounds import read_bounded
from migrate.errors import UserError
from migrate.talos.pki_encryption import ENCRYPTION_CONFIG_FILE, EncryptionConfig, parse_encryption_config

ETCD_DEPLOYMENT_TYPES = ("host", "docker", "kubeadm")
KUBE_CERT_DIR = "/etc/kubernetes/ssl"
ETCD_CERT_DIR = "/etc/ssl/etcd/ssl"

# (certificate, key, what it is, where Kubespray keeps it on a control-plane node)
K8S_CA = ("ca.crt", "ca.key", "Kubernetes CA", KUBE_CERT_DIR)
AGGREGATOR_CA = ("front-proxy-ca.crt", "front-proxy-ca.key", "front-proxy (aggregator) CA", KUBE_CERT_DIR)
ETCD_CA_KUBEADM = ("etcd/ca.crt", "etcd/ca.key", "etcd CA", f"{KUBE_CERT_DIR}/etcd")
ETCD_CA_KUBESPRAY = ("etcd/ca.pem", "etcd/ca-key.pem", "etcd CA", ETCD_CERT_DIR)
SA_KEY, SA_PUB = "sa.key", "sa.pub"

# Talos writes Ed25519 keys under its own PEM label; the body is plain PKCS#8
TALOS_ED25519_LABEL = "ED25519 PRIVATE KEY"


@dataclass(frozen=True)
class CertKey:
    """A certificate and its private key as PEM text (either may be absent, e.g. the SA key has no cert)."""

    crt: str | None
    key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ClusterPKI:
    """What a PKI directory holds, every pair already checked."""

    k8s: CertKey
    k8s_aggregator: CertKey
    etcd: CertKey
    service_account_key: str = field(repr=False)
    encryption: EncryptionConfig | None = field(repr=False)
    files: tuple[str, ...]  # paths read, relative to the PKI directory


def read_pki(pki_dir: Path | str, *, etcd_deployment_type: str) -> ClusterPKI:
    """Read and check a Kubespray or kubeadm PKI copy; refuse anything Talos could not join with."""
    root = Path(pki_dir)
    if not root.is_dir():
        raise UserError(
            "is not a directory",
            where=str(root),
            hint="pass the directory `kubespray2talos fetch-pki` wrote, or a copy of /etc/kubernetes/ssl",
        )
    etcd_pair = etcd_ca_files(root, etcd_deployment_type)
    files = [K8S_CA[0], K8S_CA[1], AGGREGATOR_CA[0], AGGREGATOR_CA[1], etcd_pair[0], etcd_pair[1], SA_KEY]
    k8s = _read_ca(root, K8S_CA)
    aggregator = _read_ca(root, AGGREGATOR_CA)
    etcd = _read_ca(root, etcd_pair)
    sa_key = _read_service_account_key(root)
    if (root / SA_PUB).exists():
        files.append(SA_PUB)
    encryption = None
    if (root / ENCRYPTION_CONFIG_FILE).exists():
        encryption = parse_encryption_config(
            _read_text(root, ENCRYPTION_CONFIG_FILE, KUBE_CERT_DIR), where=str(root / ENCRYPTION_CONFIG_FILE)
        )
        files.append(ENCRYPTION_CONFIG_FILE)
    return ClusterPKI(k8s, aggregator, etcd, sa_key, encryption, tuple(files))


def etcd_ca_files(root: Path, etcd_deployment_type: str) -> tuple[str, str, str, str]:
    """Where the etcd CA sits in this copy: kubeadm names, or Kubespray's own for host/docker etcd."""
    if etcd_deployment_type not in ETCD_DEPLOYMENT_TYPES:
        raise UserError(
            f"unknown etcd_deployment_type {etcd_deployment_type!r}",
            hint=f"use one of {', '.join(ETCD_DEPLOYMENT_TYPES)} (Kubespray's own values)",
        )
    if etcd_deployment_type == "kubeadm":
        return ETCD_CA_KUBEADM
    if (root / ETCD_CA_KUBESPRAY[0]).exists() or not (root / ETCD_CA_KUBEADM[0]).exists():
        return ETCD_CA_KUBESPRAY
    return ETCD_CA_KUBEADM


def check_ca_pair(crt_text: str, key_text: str, *, where: str, what: str) -> x509.Certificate:
    """The pair must be one self-signed CA certificate and its own key; returns the parsed certificate."""
    try:
        certs = x509.load_pem_x509_certificates(crt_text.encode())
    except ValueError:
        raise UserError(
            f"the {what} certificate is not PEM", where=where, hint="copy the file again, unchanged"
        ) from None
    if len(certs) != 1:
        raise UserError(
            f"holds {len(certs)} certificates; the {what} must be exactly one root CA certificate",
            where=where,
            hint="keep only the self-signed root; Talos runs with one root CA per role",
        )
    cert = certs[0]
    if not _is_ca(cert):
        raise UserError(
            f"is not a CA certificate (no basicConstraints CA:TRUE; subject {cert.subject.rfc4514_string()!r})",
            where=where,
            hint=f"this must be the {what}, not a leaf certificate signed by it",
        )
    if cert.issuer == cert.subject and not _is_self_signed(cert):
        raise UserError(
            "names itself as issuer but its signature does not verify with its own key",
            where=where,
            hint=f"this must be the {what}'s own root certificate; copy it again from the node",
        )
    if not _is_self_signed(cert):
        raise UserError(
            f"is an intermediate CA: issued by {cert.issuer.rfc4514_string()!r}, not self-signed",
            where=where,
            hint="Talos needs the root CA and its key: --cluster-signing-cert-file and --root-ca-file both use "
            "cluster.ca and cannot be overridden; intermediate-CA clusters cannot be joined",
        )
    key = private_key_from_pem(key_text, where=where, what=what)
    if not same_public_key(key.public_key(), cert.public_key()):
        raise UserError(
            f"the {what} key does not match its certificate",
            where=where,
            hint="copy the certificate and key from the same node at the same time",
        )
    return cert


def private_key_from_pem(text: str, *, where: str, what: str) -> PrivateKeyTypes:
    """Parse an unencrypted PEM private key (PKCS#1, SEC1, PKCS#8 or Talos's Ed25519 label)."""
    data = text.replace(TALOS_ED25519_LABEL, "PRIVATE KEY").encode()
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # the parser's own message is not repeated: it may quote the key material
        raise UserError(
            f"the {what} key is not an unencrypted PEM private key",
            where=where,
            hint="copy the key file again, unchanged; passphrase-protected keys are not supported",
        ) from None


def same_public_key(a: PublicKeyTypes, b: PublicKeyTypes) -> bool:
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return a.public_bytes(*spki) == b.public_bytes(*spki)


def _read_ca(root: Path, pair: tuple[str, str, str, str]) -> CertKey:
    crt_name, key_name, what, node_dir = pair
    crt_text = _read_text(root, crt_name, node_dir)
    key_text = _read_text(root, key_name, node_dir)
    check_ca_pair(crt_text, key_text, where=str(root / crt_name), what=what)
    return CertKey(crt_text, key_text)


def _read_service_account_key(root: Path) -> str:
    text = _read_text(root, SA_KEY, KUBE_CERT_DIR)
    key = private_key_from_pem(text, where=str(root / SA_KEY), what="service-account")
    if (root / SA_PUB).exists():
        try:
            public = serialization.load_pem_public_key(_read_text(root, SA_PUB, KUBE_CERT_DIR).encode())
        except (ValueError, UnsupportedAlgorithm):
            raise UserError(
                "is not a PEM public key", where=str(root / SA_PUB), hint="copy sa.pub again, or remove it"
            ) from None
        if not same_public_key(public, key.public_key()):
            raise UserError(
                "sa.pub does not match sa.key",
                where=str(root / SA_PUB),
                hint="copy both from the same control-plane node; tokens signed by sa.key must verify with sa.pub",
            )
    return text


def _read_text(root: Path, name: str, node_dir: str) -> str:
    path = root / name
    source = f"{node_dir}/{Path(name).name}"
    if not path.exists():
        raise UserError(
            "is missing",
            where=str(path),
            hint=f"copy {source} from the first control-plane node, or run `kubespray2talos fetch-pki`",
        )
    try:
        return read_bounded(path, limit=1024 * 1024, encoding="ascii")  # a FIFO or device is refused, not waited on
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not PEM text"
        raise UserError(
            f"cannot be read: {reason}", where=str(path), hint="check the file and its permissions"
        ) from None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _is_self_signed(cert: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True

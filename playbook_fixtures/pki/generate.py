"""Fake Kubespray PKI for tests: the files a Kubespray control plane really holds, with the real CNs.

    python playbook_fixtures/pki/generate.py        # rewrites playbook_fixtures/pki/demo/

Names, dates and serials are fixed; RSA keys are fresh on each run (Kubespray's default RSA-2048).
Layout of a generated directory = a copy of /etc/kubernetes/ssl with /etc/ssl/etcd/ssl under `etcd/`.
`node_filesystem()` lays such a copy out as a control-plane node's /etc, for the fetch-pki playbook tests.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = Path(__file__).resolve().parent
NOT_BEFORE = datetime(2025, 1, 15, 10, 0, 0, tzinfo=UTC)
CA_DAYS, LEAF_DAYS = 3650, 365  # kube_ca_cert_validity_period 87600h, kube_cert_validity_period 8760h
# the demo inventory: 3 control planes, external LB k8s-api.demo.internal 10.0.10.10, services 10.233.0.0/18
DEMO_CONTROL_PLANES = {"cp1": "10.0.10.11", "cp2": "10.0.10.12", "cp3": "10.0.10.13"}
DEMO_SANS = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    "k8s-api.demo.internal",
    "localhost",
    "127.0.0.1",
    "10.233.0.1",
    "10.0.10.10",
)
ENCRYPTION_TOKEN = "Zq3XbV9pL2mN8rT4wY6uK1sD5fH7jC0a"  # kube_encrypt_token: 32 ascii letters and digits


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def issue(
    cn: str,
    key,
    *,
    signer: tuple[x509.Certificate, object] | None = None,
    ca: bool = False,
    org: str | None = None,
    sans: tuple[str, ...] = (),
    server: bool = False,
    client: bool = False,
    not_before: datetime = NOT_BEFORE,
) -> x509.Certificate:
    """A certificate like kubeadm/Kubespray's: self-signed when no signer is given. Fixed dates keep the demo
    fixtures stable; a live server (the etcd tests) passes `not_before` near now so its certificates are valid."""
    attrs = ([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)] if org else []) + [
        x509.NameAttribute(NameOID.COMMON_NAME, cn)
    ]
    subject = x509.Name(attrs)
    issuer_cert, issuer_key = signer if signer else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(hashlib.sha256(cn.encode()).digest()[:8], "big"))
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=CA_DAYS if ca else LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + (
        [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
    )
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([_san(s) for s in sans]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


def encryption_config(algorithm: str = "secretbox", token: str = ENCRYPTION_TOKEN) -> bytes:
    """Kubespray's secrets_encryption.yaml.j2: one provider, one key named `key`, then identity."""
    secret = base64.b64encode(token.encode()).decode()
    return (
        "apiVersion: apiserver.config.k8s.io/v1\n"
        "kind: EncryptionConfiguration\n"
        "resources:\n"
        "  - resources:\n"
        "    - secrets\n"
        "    providers:\n"
        f"    - {algorithm}:\n"
        "        keys:\n"
        "        - name: key\n"
        f"          secret: {secret}\n"
        "    - identity: {}\n"
    ).encode()


def kubespray_pki(
    control_planes: dict[str, str] = DEMO_CONTROL_PLANES,
    sans: tuple[str, ...] = DEMO_SANS,
    encryption: str | None = "secretbox",
) -> dict[str, bytes]:
    """relative path -> content for /etc/kubernetes/ssl, with /etc/ssl/etcd/ssl under etcd/."""
    files: dict[str, bytes] = {}

    def ca(cn: str, crt: str, key_name: str) -> tuple[x509.Certificate, object]:
        key = new_key()
        cert = issue(cn, key, ca=True)
        files[crt], files[key_name] = cert_pem(cert), key_pem(key)
        return cert, key

    def leaf(path: str, key_suffix: str, cn: str, signer, **kw) -> None:
        key = new_key()
        files[f"{path}{key_suffix[0]}"], files[f"{path}{key_suffix[1]}"] = (
            cert_pem(issue(cn, key, signer=signer, **kw)),
            key_pem(key),
        )

    kube, front, etcd = (
        ca("kubernetes", "ca.crt", "ca.key"),
        ca("front-proxy-ca", "front-proxy-ca.crt", "front-proxy-ca.key"),
        ca("etcd-ca", "etcd/ca.pem", "etcd/ca-key.pem"),
    )
    ips = tuple(control_planes.values())
    leaf("apiserver", (".crt", ".key"), "kube-apiserver", kube, sans=sans + tuple(control_planes) + ips, server=True)
    leaf(
        "apiserver-kubelet-client",
        (".crt", ".key"),
        "kube-apiserver-kubelet-client",
        kube,
        org="kubeadm:cluster-admins",
        client=True,
    )
    leaf("front-proxy-client", (".crt", ".key"), "front-proxy-client", front, client=True)
    for host, ip in control_planes.items():
        leaf(
            f"etcd/member-{host}",
            (".pem", "-key.pem"),
            f"etcd-member-{host}",
            etcd,
            sans=(host, ip, "localhost", "127.0.0.1"),
            server=True,
            client=True,
        )
        leaf(f"etcd/admin-{host}", (".pem", "-key.pem"), f"etcd-admin-{host}", etcd, client=True)
        leaf(f"etcd/node-{host}", (".pem", "-key.pem"), f"etcd-node-{host}", etcd, client=True)
    sa = new_key()
    files["sa.key"] = key_pem(sa)
    files["sa.pub"] = sa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if encryption:
        files["secrets_encryption.yaml"] = encryption_config(encryption)
    return files


def write_tree(files: dict[str, bytes], root: Path) -> Path:
    """Write files as Kubespray does: keys and everything else 0600 under 0700 directories."""
    for rel, data in sorted(files.items()):
        path = Path(root, rel)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, 0o600)
    return Path(root)


def node_filesystem(pki_dir: Path, root: Path, *, etcd_deployment_type: str = "host") -> Path:
    """Lay a Kubespray-layout PKI copy out under `root` as a control-plane node holds it."""
    kube = Path(root, "etc/kubernetes/ssl")
    for src in sorted(Path(pki_dir).rglob("*")):
        rel = src.relative_to(pki_dir)
        if src.is_dir():
            continue
        if rel.parts[0] != "etcd":
            dest = kube / rel
        elif etcd_deployment_type == "kubeadm":  # stacked etcd: kubeadm's names inside the kube cert dir
            if rel.name not in ("ca.pem", "ca-key.pem"):
                continue
            dest = kube / "etcd" / ("ca.crt" if rel.name == "ca.pem" else "ca.key")
        else:
            dest = Path(root, "etc/ssl/etcd/ssl", rel.name)
        dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        os.chmod(dest, 0o600)
    Path(root, "etc/kubernetes/pki").symlink_to("ssl")  # Kubespray's kube_cert_compat_dir
    return Path(root)


def local_node(inventory_dir: Path, host: str, root: Path, **host_vars: object) -> Path:
    """Make `host` of an inventory copy run locally against the fake filesystem at `root` (for fetch_pki.yml)."""
    values = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "ks2t_root": str(root),
        "ks2t_become": False,
    }
    path = Path(inventory_dir, "host_vars", f"{host}.yml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({**values, **host_vars}))
    return Path(inventory_dir)


def _san(value: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return x509.DNSName(value)


if __name__ == "__main__":
    target = HERE / "demo"
    shutil.rmtree(target, ignore_errors=True)
    write_tree(kubespray_pki(), target)
    print(f"wrote {target}")

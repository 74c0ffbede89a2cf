"""Issuing certificates the way Talos does: its CAs (ECDSA P-256, the Talos API CA Ed25519) and client certs."""
# exercised by tests/talos/test_secrets.py

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificateIssuerPublicKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from migrate.talos.pki import TALOS_ED25519_LABEL

CA_VALIDITY = timedelta(days=3650)  # Talos: 87600h
CLIENT_VALIDITY = timedelta(days=365)  # Talos: admin certificate TTL of one year
_PEM, _DER = serialization.Encoding.PEM, serialization.Encoding.DER

# the private keys that can sign a certificate (X25519/X448 and DH keys only agree on secrets)
ISSUER_KEY_TYPES = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey,
                    dsa.DSAPrivateKey)


def new_ecdsa_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def new_ed25519_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def key_pem(key: CertificateIssuerPrivateKeyTypes) -> str:
    """PEM as Talos writes it: `EC PRIVATE KEY` (SEC1), `ED25519 PRIVATE KEY` (PKCS#8 body), else PKCS#8."""
    none = serialization.NoEncryption()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        pem = key.private_bytes(_PEM, serialization.PrivateFormat.PKCS8, none).decode()
        return pem.replace("PRIVATE KEY", TALOS_ED25519_LABEL)
    fmt = (
        serialization.PrivateFormat.TraditionalOpenSSL
        if isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey))
        else serialization.PrivateFormat.PKCS8
    )
    return key.private_bytes(_PEM, fmt, none).decode()


def new_ca(organization: str | None, key: CertificateIssuerPrivateKeyTypes, *, now: datetime) -> str:
    """A self-signed CA like Talos's own: subject O=<organization> (empty for the aggregator), ten years."""
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)] if organization else [])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return _sign(builder, key).public_bytes(_PEM).decode()


def client_certificate(
    ca_crt: str, ca_key: CertificateIssuerPrivateKeyTypes, *, organization: str, seed: bytes
) -> tuple[str, str]:
    """A client cert (Ed25519) whose key, serial and validity all follow from `seed` and the CA: same inputs, same bytes."""
    ca = x509.load_pem_x509_certificate(ca_crt.encode())
    key = ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"key\0" + seed).digest())
    serial = int.from_bytes(hashlib.sha256(b"serial\0" + seed).digest()[:16], "big") >> 1 | 1
    not_before = ca.not_valid_before_utc
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(min(not_before + CLIENT_VALIDITY, ca.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(cast(CertificateIssuerPublicKeyTypes, ca.public_key())), critical=False)
    )
    return _sign(builder, ca_key).public_bytes(_PEM).decode(), key_pem(key)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def private_key_der(key: CertificateIssuerPrivateKeyTypes) -> bytes:
    return key.private_bytes(_DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _sign(builder: x509.CertificateBuilder, key: CertificateIssuerPrivateKeyTypes) -> x509.Certificate:
    # Ed25519 and RSA PKCS#1 v1.5 signatures are deterministic already; ECDSA is made so (RFC 6979)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return builder.sign(key, None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return builder.sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    return builder.sign(key, hashes.SHA256())

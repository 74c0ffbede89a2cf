"""The secrets bundle: imported from a Kubespray or kubeadm PKI, fresh, talosctl's format, refusals, modes."""

from __future__ import annotations

import base64
import re
import shutil
import stat
import string
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.errors import UserError
from migrate.talos.secrets import generate_bundle, import_pki, load_bundle, talosconfig, write_bundle
from playbook_fixtures.pki import generate as fake
from tests.conftest import FIXTURES, shared_path

DEMO = FIXTURES / "pki" / "demo"
TOKEN = r"^[a-z0-9]{6}\.[a-z0-9]{16}$"


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    """A writable copy of the demo cluster's Kubespray PKI (/etc/kubernetes/ssl + etcd CA under etcd/)."""
    return Path(shutil.copytree(DEMO, tmp_path / "pki"))


def read(path: Path) -> str:
    return path.read_text()


def secret_lines(root: Path) -> set[str]:
    """Every line of key material and the encryption secret under root: none may reach an error message."""
    found = set()
    for path in root.rglob("*"):
        if path.is_file() and ("key" in path.name or path.name == "secrets_encryption.yaml"):
            found |= {
                line.strip()
                for line in path.read_text(errors="replace").splitlines()
                if len(line.strip()) > 20 and "-----" not in line
            }
    return found


def refusal(pki_dir: Path, **kw) -> str:
    with pytest.raises(UserError) as info:
        import_pki(pki_dir, **{"etcd_deployment_type": "host", **kw})
    message = str(info.value)
    leaked = [line for line in secret_lines(pki_dir) if line in message]
    assert not leaked, "an error message quoted secret material"
    return message


# --- import: the cluster's own identity ---------------------------------------------------------


def test_import_kubespray_layout_keeps_the_cluster_cas_sa_key_and_encryption_key(pki: Path):
    bundle = import_pki(pki, etcd_deployment_type="host")
    assert bundle.joinable
    assert bundle.k8s.crt == read(pki / "ca.crt") and bundle.k8s.key == read(pki / "ca.key")
    assert bundle.k8s_aggregator.crt == read(pki / "front-proxy-ca.crt")
    assert bundle.etcd.crt == read(pki / "etcd/ca.pem") and bundle.etcd.key == read(pki / "etcd/ca-key.pem")
    assert bundle.k8s_service_account.key == read(pki / "sa.key") and bundle.k8s_service_account.crt is None
    # Kubespray's one secretbox key, named `key`; the raw file is kept so the name survives
    config = yaml.safe_load(read(pki / "secrets_encryption.yaml"))
    key = config["resources"][0]["providers"][0]["secretbox"]["keys"][0]
    assert bundle.secretbox_encryption_secret == key["secret"] and bundle.aescbc_encryption_secret is None
    assert bundle.encryption_config == read(pki / "secrets_encryption.yaml")
    assert bundle.bootstrap_token != bundle.trustd_token
    for token in (bundle.bootstrap_token, bundle.trustd_token):
        assert re.match(TOKEN, token)


def test_import_generates_only_talos_own_parts_fresh(pki: Path):
    first, second = import_pki(pki, etcd_deployment_type="host"), import_pki(pki, etcd_deployment_type="host")
    assert first.k8s == second.k8s and first.etcd == second.etcd
    assert first.os != second.os and first.cluster_secret != second.cluster_secret
    os_ca = x509.load_pem_x509_certificate(first.os.crt.encode())
    assert isinstance(os_ca.public_key(), ed25519.Ed25519PublicKey)
    assert (
        os_ca.subject == os_ca.issuer
        and os_ca.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "talos"
    )


def test_import_plain_kubeadm_pki_copy(tmp_path: Path):
    node = fake.node_filesystem(DEMO, tmp_path / "node", etcd_deployment_type="kubeadm")
    (node / "etc/kubernetes/ssl/secrets_encryption.yaml").unlink()  # a cluster that does not encrypt
    bundle = import_pki(node / "etc/kubernetes/pki", etcd_deployment_type="kubeadm")
    assert bundle.etcd.crt == read(DEMO / "etcd/ca.pem") and bundle.etcd.key == read(DEMO / "etcd/ca-key.pem")
    assert bundle.k8s.crt == read(DEMO / "ca.crt")
    assert bundle.secretbox_encryption_secret is None and bundle.aescbc_encryption_secret is None
    assert bundle.encryption_config is None


def test_import_reads_the_layout_fetch_pki_writes_for_host_etcd(pki: Path):
    (pki / "etcd/ca.pem").rename(pki / "etcd/ca.crt")
    (pki / "etcd/ca-key.pem").rename(pki / "etcd/ca.key")
    assert import_pki(pki, etcd_deployment_type="docker").etcd.crt == read(DEMO / "etcd/ca.pem")


def test_import_takes_an_existing_bootstrap_token(pki: Path):
    assert (
        import_pki(pki, etcd_deployment_type="host", bootstrap_token="abcdef.0123456789abcdef").bootstrap_token
        == "abcdef.0123456789abcdef"
    )
    with pytest.raises(UserError, match="bootstrap token"):
        import_pki(pki, etcd_deployment_type="host", bootstrap_token="ABCDEF.0123456789abcdef")


def test_legacy_aescbc_encryption_config_sets_the_aescbc_secret(pki: Path):
    text = (
        fake.encryption_config("aescbc")
        .decode()
        .replace("kind: EncryptionConfiguration", "kind: EncryptionConfig")
        .replace("apiserver.config.k8s.io/v1", "v1")
    )
    (pki / "secrets_encryption.yaml").write_text(text)
    bundle = import_pki(pki, etcd_deployment_type="host")
    assert bundle.aescbc_encryption_secret == base64.b64encode(fake.ENCRYPTION_TOKEN.encode()).decode()
    assert bundle.secretbox_encryption_secret is None and "name: key\n" in bundle.encryption_config


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "source"),
    [
        ("sa.key", "/etc/kubernetes/ssl/sa.key"),
        ("front-proxy-ca.crt", "/etc/kubernetes/ssl/front-proxy-ca.crt"),
        ("etcd/ca-key.pem", "/etc/ssl/etcd/ssl/ca-key.pem"),
    ],
)
def test_refuses_a_missing_file_and_says_where_to_copy_it_from(pki: Path, missing: str, source: str):
    (pki / missing).unlink()
    message = refusal(pki)
    assert f"{pki / missing}: is missing" in message and source in message and "fetch-pki" in message


def test_refuses_a_leaf_certificate_as_ca(pki: Path):
    shutil.copy(pki / "apiserver.crt", pki / "ca.crt")
    shutil.copy(pki / "apiserver.key", pki / "ca.key")
    message = refusal(pki)
    assert str(pki / "ca.crt") in message and "not a CA certificate" in message and "kube-apiserver" in message


def test_refuses_an_intermediate_ca(pki: Path):
    root_cert = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    root_key = fake.serialization.load_pem_private_key((pki / "ca.key").read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    (pki / "front-proxy-ca.crt").write_bytes(
        fake.cert_pem(fake.issue("front-proxy-intermediate", key, signer=(root_cert, root_key), ca=True))
    )
    (pki / "front-proxy-ca.key").write_bytes(fake.key_pem(key))
    message = refusal(pki)
    assert str(pki / "front-proxy-ca.crt") in message and "intermediate CA" in message and "CN=kubernetes" in message


def test_refuses_a_self_issued_ca_whose_signature_is_not_its_own(pki: Path):
    impostor, key = fake.new_key(), ec.generate_private_key(ec.SECP256R1())
    root = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    (pki / "ca.crt").write_bytes(fake.cert_pem(fake.issue("kubernetes", key, signer=(root, impostor), ca=True)))
    (pki / "ca.key").write_bytes(fake.key_pem(key))
    assert "names itself as issuer but its signature does not verify" in refusal(pki)


def test_refuses_a_key_that_does_not_match_its_certificate(pki: Path):
    shutil.copy(pki / "front-proxy-ca.key", pki / "ca.key")
    message = refusal(pki)
    assert str(pki / "ca.crt") in message and "Kubernetes CA key does not match" in message


def test_refuses_an_etcd_key_from_another_cluster(pki: Path):
    shutil.copy(DEMO / "ca.key", pki / "etcd/ca-key.pem")
    assert "etcd CA key does not match" in refusal(pki)


@pytest.mark.parametrize(
    ("name", "content", "expect"),
    [
        ("ca.crt", "hello\n", "certificate is not PEM"),
        (
            "ca.key",
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
            "not an unencrypted PEM private key",
        ),
    ],
)
def test_refuses_garbage_pem(pki: Path, name: str, content: str, expect: str):
    (pki / name).write_text(content)
    assert expect in refusal(pki)


def test_refuses_a_chain_in_place_of_the_root(pki: Path):
    (pki / "ca.crt").write_text(read(pki / "ca.crt") + read(pki / "apiserver.crt"))
    assert "holds 2 certificates" in refusal(pki)


def test_refuses_sa_pub_that_does_not_match_sa_key(pki: Path):
    shutil.copy(pki / "apiserver.crt", pki / "sa.pub")
    assert "is not a PEM public key" in refusal(pki)
    other = (
        fake.new_key()
        .public_key()
        .public_bytes(fake.serialization.Encoding.PEM, fake.serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (pki / "sa.pub").write_bytes(other)
    assert "sa.pub does not match sa.key" in refusal(pki)


@pytest.mark.parametrize(
    ("edit", "expect"),
    [
        (lambda t: t.replace("secret: ", "secret: AAAA"), "not a base64 secretbox key of 32 bytes"),
        (lambda t: t.replace("secretbox", "kms"), "has no secretbox or aescbc key"),
        (lambda t: t.replace("kind: EncryptionConfiguration", "kind: ConfigMap"), "is not an EncryptionConfiguration"),
        (lambda t: t + "  - [unbalanced\n", "is not valid YAML at line"),
    ],
)
def test_refuses_an_encryption_config_talos_cannot_carry(pki: Path, edit, expect: str):
    path = pki / "secrets_encryption.yaml"
    path.write_text(edit(read(path)))
    message = refusal(pki)
    assert str(path) in message and expect in message


def test_refuses_an_unknown_etcd_deployment_type_and_kubeadm_without_kubeadm_names(pki: Path):
    assert "unknown etcd_deployment_type 'stacked'" in refusal(pki, etcd_deployment_type="stacked")
    message = refusal(pki, etcd_deployment_type="kubeadm")
    assert f"{pki / 'etcd/ca.crt'}: is missing" in message and "/etc/kubernetes/ssl/etcd/ca.crt" in message


def test_refuses_a_directory_that_is_not_there(tmp_path: Path):
    assert "is not a directory" in refusal(tmp_path / "nowhere")


# --- the bundle file ------------------------------------------------------------------------------


def test_bundle_round_trips_through_its_own_file_with_modes(pki: Path, tmp_path: Path):
    bundle = import_pki(pki, etcd_deployment_type="host")
    target = tmp_path / "plan" / "secrets.yaml"
    write_bundle(bundle, target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert load_bundle(target) == bundle
    assert target.read_text() == bundle.to_yaml() == load_bundle(target).to_yaml()


FRESH = generate_bundle()


@settings(max_examples=40, deadline=None)
@given(
    joinable=st.booleans(),
    encryption_config=st.none() | st.text(min_size=1),
    secretbox=st.none() | st.text(alphabet=string.ascii_letters + string.digits + "+/=", min_size=1),
    aescbc=st.none() | st.text(alphabet=string.ascii_letters + string.digits + "+/=", min_size=1),
)
def test_any_bundle_round_trips_through_to_yaml(joinable, encryption_config, secretbox, aescbc):
    bundle = replace(
        FRESH,
        joinable=joinable,
        encryption_config=encryption_config,
        secretbox_encryption_secret=secretbox,
        aescbc_encryption_secret=aescbc,
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "secrets.yaml"
        write_bundle(bundle, path)
        assert load_bundle(path) == bundle


def test_write_bundle_tightens_an_open_directory(tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir(mode=0o755)
    write_bundle(generate_bundle(), out / "secrets.yaml")
    assert stat.S_IMODE(out.stat().st_mode) == 0o700


def test_talosctl_bundle_loads_and_writes_back_in_the_same_shape(tmp_path: Path):
    upstream = shared_path("talos", "gen-config-reference", "secrets.yaml")
    raw = yaml.safe_load(upstream.read_text())
    bundle = load_bundle(upstream)
    assert bundle.k8s.crt == base64.b64decode(raw["certs"]["k8s"]["crt"]).decode()
    assert bundle.os.key == base64.b64decode(raw["certs"]["os"]["key"]).decode()
    assert bundle.trustd_token == raw["trustdinfo"]["token"] and not bundle.joinable
    assert yaml.safe_load(bundle.to_yaml()) == raw  # same keys, same values: talosctl reads ours


def test_fresh_bundle_looks_like_talosctl_gen_secrets():
    bundle = generate_bundle()
    assert not bundle.joinable and bundle.encryption_config is None
    assert len(base64.b64decode(bundle.secretbox_encryption_secret)) == 32
    for pair, key_type, org in [
        (bundle.k8s, ec.EllipticCurvePublicKey, "kubernetes"),
        (bundle.etcd, ec.EllipticCurvePublicKey, "etcd"),
        (bundle.k8s_aggregator, ec.EllipticCurvePublicKey, None),
        (bundle.os, ed25519.Ed25519PublicKey, "talos"),
    ]:
        cert = x509.load_pem_x509_certificate(pair.crt.encode())
        assert isinstance(cert.public_key(), key_type) and cert.subject == cert.issuer
        assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == (
            [org] if org else []
        )
    assert "EC PRIVATE KEY" in bundle.k8s_service_account.key and "ED25519 PRIVATE KEY" in bundle.os.key
    assert generate_bundle().cluster_id != bundle.cluster_id


@pytest.mark.parametrize(
    ("edit", "expect"),
    [
        (lambda d: d["certs"].pop("k8saggregator"), "has no `certs.k8saggregator.crt`"),
        (lambda d: d["trustdinfo"].update(token="not-a-token"), "`trustdinfo.token` is not in the form"),
        (lambda d: d["certs"]["etcd"].update(crt="%%%"), "`certs.etcd.crt` is not base64"),
        (lambda d: d["certs"]["k8s"].update(key=d["certs"]["etcd"]["key"]), "certs.k8s: the k8s CA key does not match"),
    ],
)
def test_load_bundle_refuses_a_broken_bundle_naming_the_field(tmp_path: Path, edit, expect: str):
    upstream = shared_path("talos", "gen-config-reference", "secrets.yaml")
    doc = yaml.safe_load(upstream.read_text())
    edit(doc)
    path = tmp_path / "secrets.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(UserError) as info:
        load_bundle(path)
    assert expect in str(info.value) and doc["cluster"]["secret"] not in str(info.value)


def test_load_bundle_refuses_what_is_not_a_bundle(tmp_path: Path):
    for content, expect in [("a: [b\n", "is not valid YAML at line"), ("- a\n", "is not a Talos secrets bundle")]:
        (tmp_path / "s.yaml").write_text(content)
        with pytest.raises(UserError, match=expect.replace("[", r"\[")):
            load_bundle(tmp_path / "s.yaml")
    with pytest.raises(UserError, match="does not exist"):
        load_bundle(tmp_path / "none.yaml")


def test_bundle_repr_shows_no_secret(pki: Path):
    bundle = import_pki(pki, etcd_deployment_type="host")
    shown = repr(bundle)
    assert (
        "PRIVATE KEY" not in shown
        and bundle.cluster_secret not in shown
        and bundle.secretbox_encryption_secret not in shown
    )


# --- talosconfig ----------------------------------------------------------------------------------


def test_talosconfig_is_deterministic_and_signed_by_the_os_ca(tmp_path: Path):
    bundle = generate_bundle()
    write_bundle(bundle, tmp_path / "secrets.yaml")
    text = talosconfig(bundle, context="demo", endpoints=["10.0.10.11", "10.0.10.12"])
    assert text == talosconfig(
        load_bundle(tmp_path / "secrets.yaml"), context="demo", endpoints=["10.0.10.11", "10.0.10.12"]
    )
    ctx = yaml.safe_load(text)["contexts"]["demo"]
    assert yaml.safe_load(text)["context"] == "demo" and ctx["endpoints"] == ["10.0.10.11", "10.0.10.12"]
    ca = x509.load_pem_x509_certificate(base64.b64decode(ctx["ca"]))
    client = x509.load_pem_x509_certificate(base64.b64decode(ctx["crt"]))
    client.verify_directly_issued_by(ca)
    assert client.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "os:admin"
    assert ExtendedKeyUsageOID.CLIENT_AUTH in client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert client.not_valid_before_utc == ca.not_valid_before_utc
    key = fake.serialization.load_pem_private_key(
        base64.b64decode(ctx["key"]).replace(b"ED25519 PRIVATE KEY", b"PRIVATE KEY"), None
    )
    assert key.public_key() == client.public_key()
    # another bundle, another admin key
    assert (
        yaml.safe_load(talosconfig(generate_bundle(), context="demo", endpoints=["10.0.10.11"]))["contexts"]["demo"][
            "key"
        ]
        != ctx["key"]
    )


def test_talosconfig_needs_an_endpoint():
    with pytest.raises(UserError, match="at least one endpoint"):
        talosconfig(generate_bundle(), context="demo", endpoints=[])

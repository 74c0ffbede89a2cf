"""`kubespray2talos fetch-pki` as a user runs it: real Ansible (local connection) against a fake node filesystem."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from migrate.talos.secrets import import_pki
from playbook_fixtures.pki import generate as fake
from tests.conftest import FIXTURES, INVENTORIES

DEMO_PKI = FIXTURES / "pki" / "demo"
EXPECTED = [
    "ca.crt",
    "ca.key",
    "etcd/ca.crt",
    "etcd/ca.key",
    "front-proxy-ca.crt",
    "front-proxy-ca.key",
    "sa.key",
    "sa.pub",
]


def fetch_pki(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "migrate", "fetch-pki", *map(str, args)], capture_output=True, text=True, timeout=120
    )


def cluster(
    tmp_path: Path, inventory: str, host: str, *, etcd_deployment_type: str = "host", pki: Path = DEMO_PKI, **host_vars
) -> Path:
    """A copy of a fixture inventory whose `host` is a local fake control plane holding `pki`."""
    node = fake.node_filesystem(pki, tmp_path / "node", etcd_deployment_type=etcd_deployment_type)
    return fake.local_node(shutil.copytree(INVENTORIES / inventory, tmp_path / "inventory"), host, node, **host_vars)


def secret_material(root: Path) -> list[str]:
    return [line for p in root.rglob("*key*") for line in p.read_text().splitlines() if "-----" not in line]


@pytest.mark.slow
def test_fetches_exactly_the_identity_files_private_and_verified_and_is_safe_to_repeat(tmp_path: Path):
    inventory = cluster(tmp_path, "demo", "cp1")
    out = tmp_path / "pki"
    out.mkdir()
    (out / "ca.crt").write_text("another cluster\n")
    refused = fetch_pki(inventory, "--out", out)
    assert refused.returncode == 2 and "already holds a different PKI" in refused.stderr and "--force" in refused.stderr
    assert [p.name for p in out.iterdir()] == ["ca.crt"] and (out / "ca.crt").read_text() == "another cluster\n"

    first = fetch_pki(inventory, "--out", out, "--force")
    assert first.returncode == 0, first.stderr
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == sorted([*EXPECTED, "secrets_encryption.yaml"])
    assert stat.S_IMODE(out.stat().st_mode) == 0o700 and stat.S_IMODE((out / "etcd").stat().st_mode) == 0o700
    assert all(stat.S_IMODE((out / f).stat().st_mode) == 0o600 for f in files)
    # the etcd CA came from /etc/ssl/etcd/ssl/ca.pem under kubeadm's name; the rest byte for byte
    assert (out / "etcd/ca.crt").read_bytes() == (DEMO_PKI / "etcd/ca.pem").read_bytes()
    assert (out / "sa.key").read_bytes() == (DEMO_PKI / "sa.key").read_bytes()
    assert import_pki(out, etcd_deployment_type="host").k8s.crt == (DEMO_PKI / "ca.crt").read_text()
    assert "from cp1" in first.stdout and "etcd/ca.key" in first.stdout and "secretbox key 'key'" in first.stdout
    assert "play: Fetch the Kubernetes CAs" in first.stderr  # progress goes to stderr
    assert not [line for line in secret_material(DEMO_PKI) if line in first.stdout + first.stderr]

    again = fetch_pki(inventory, "--out", out, "--output", "json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert (
        report["changed"] is False
        and report["hosts"] == ["cp1"]
        and report["encryption"] == [{"provider": "secretbox", "key_name": "key"}]
    )
    assert report["cas"]["etcd"]["subject"] == "CN=etcd-ca"


@pytest.mark.slow
def test_legacy_group_names_and_kubeadm_etcd_without_encryption(tmp_path: Path):
    pki = Path(shutil.copytree(DEMO_PKI, tmp_path / "source"))
    (pki / "secrets_encryption.yaml").unlink()
    # Kubespray 2.16: kube-master group, and the old etcd_kubeadm_enabled boolean for stacked etcd
    inventory = cluster(
        tmp_path, "legacy-ini-2.16", "k8s-master-1", etcd_deployment_type="kubeadm", pki=pki, etcd_kubeadm_enabled=True
    )
    out = tmp_path / "pki"
    result = fetch_pki(inventory, "--out", out, "--output", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["files"] == EXPECTED and report["hosts"] == ["k8s-master-1"] and report["encryption"] is None
    assert (out / "etcd/ca.key").read_bytes() == (DEMO_PKI / "etcd/ca-key.pem").read_bytes()


@pytest.mark.slow
def test_refuses_an_intermediate_ca_and_writes_nothing(tmp_path: Path):
    pki = Path(shutil.copytree(DEMO_PKI, tmp_path / "source"))
    root = (
        x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes()),
        fake.serialization.load_pem_private_key((pki / "ca.key").read_bytes(), None),
    )
    key = ec.generate_private_key(ec.SECP256R1())
    (pki / "front-proxy-ca.crt").write_bytes(fake.cert_pem(fake.issue("front-proxy-ca", key, signer=root, ca=True)))
    (pki / "front-proxy-ca.key").write_bytes(fake.key_pem(key))
    # a vaulted inventory: Ansible only gets this far with the password file passed through
    inventory = cluster(tmp_path, "vault-file", "vf-cp1", pki=pki)
    out = tmp_path / "pki"
    result = fetch_pki(inventory, "--out", out, "--vault-password-file", INVENTORIES / "vault-file.pass")
    assert result.returncode == 2
    assert (
        "front-proxy-ca.crt as fetched from vf-cp1: is an intermediate CA" in result.stderr
        and "Traceback" not in result.stderr
    )
    assert not out.exists() and not list(tmp_path.glob(".pki.*"))


def test_help_teaches_with_an_example():
    result = fetch_pki("--help")
    assert result.returncode == 0 and "kubespray2talos fetch-pki inventory/mycluster --out pki/" in result.stdout


def test_a_missing_inventory_is_one_clear_error(tmp_path: Path):
    result = fetch_pki(tmp_path / "nowhere", "--out", tmp_path / "pki")
    assert result.returncode == 2 and "inventory not found" in result.stderr and "Traceback" not in result.stderr


def test_an_unresolvable_host_is_named_once_with_ansibles_reason(tmp_path):
    """ansible-runner for real, ssh for real: `.invalid` never resolves (RFC 6761), so Ansible calls the host
    unreachable inside a loop task; the person reads the resolver's words once, not "All items completed"."""
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[kube_control_plane]\ncp1 ansible_host=cp1.no-such-host.invalid ip=10.0.0.1\n[etcd]\ncp1\n"
                         "[kube_node]\ncp1\n[k8s_cluster:children]\nkube_control_plane\nkube_node\n")
    if shutil.which("ssh") is None:
        pytest.fail("this test needs the OpenSSH client (apt-get install openssh-client): Ansible reaches hosts with it")
    result = fetch_pki(inventory, "--out", tmp_path / "pki")
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and len(error) == 1, result.stderr
    assert error[0].startswith("error: cp1: task ") and error[0].count("cp1:") == 1
    assert "Could not resolve hostname cp1.no-such-host.invalid" in error[0]
    assert result.stderr.count("Could not resolve hostname") == 1 and "All items completed" not in result.stderr
    assert "ansible_host" in result.stderr and not (tmp_path / "pki").exists()

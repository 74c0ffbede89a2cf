"""A real etcd cluster for tests: Debian's etcd 3.4, TLS everywhere, members on 127.0.0.1..N with certificates
in Kubespray's layout (etcd_cert_dir: ca.pem, member-<host>.pem, admin-<host>.pem), named etcd1..N as Kubespray
names them. Missing binaries fail the test with the install command: CI installs them in .ci/run."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from migrate.etcd.etcdctl import EtcdAccess
from playbook_fixtures.pki import generate as pki

NOW = datetime.now(UTC) - timedelta(hours=1)


def require_etcd() -> None:
    missing = [b for b in ("etcd", "etcdctl") if shutil.which(b) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: apt-get install etcd-server etcd-client (.ci/run does)")


def free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


@dataclass
class Member:
    name: str
    address: str
    client_port: int
    peer_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def peer_url(self) -> str:
        return f"https://{self.address}:{self.peer_port}"

    @property
    def client_url(self) -> str:
        return f"https://{self.address}:{self.client_port}"


@dataclass
class EtcdCluster:
    root: Path
    certs: Path
    members: list[Member] = field(default_factory=list)

    def access(self, host: str = "etcd1") -> EtcdAccess:
        return EtcdAccess.kubespray([m.client_url for m in self.members if m.process], self.certs, host)

    def issue(self, host: str, address: str) -> None:
        ca = (x509.load_pem_x509_certificate((self.certs / "ca.pem").read_bytes()),
              serialization.load_pem_private_key((self.certs / "ca-key.pem").read_bytes(), None))
        for kind, server in (("member", True), ("admin", False)):
            key = pki.new_key()
            cert = pki.issue(f"etcd-{kind}-{host}", key, signer=ca, sans=(address, "localhost"), server=server,
                             client=True, not_before=NOW)
            (self.certs / f"{kind}-{host}.pem").write_bytes(pki.cert_pem(cert))
            (self.certs / f"{kind}-{host}-key.pem").write_bytes(pki.key_pem(key))

    def start(self, member: Member, initial: list[Member], state: str) -> None:
        cluster = ",".join(f"{m.name}={m.peer_url}" for m in initial)
        tls = [f"--trusted-ca-file={self.certs / 'ca.pem'}", f"--cert-file={self.certs / f'member-{member.name}.pem'}",
               f"--key-file={self.certs / f'member-{member.name}-key.pem'}", "--client-cert-auth",
               f"--peer-trusted-ca-file={self.certs / 'ca.pem'}",
               f"--peer-cert-file={self.certs / f'member-{member.name}.pem'}",
               f"--peer-key-file={self.certs / f'member-{member.name}-key.pem'}", "--peer-client-cert-auth"]
        log = (self.root / f"{member.name}.log").open("wb")
        member.process = subprocess.Popen(
            ["etcd", f"--name={member.name}", f"--data-dir={self.root / member.name}",
             f"--listen-client-urls={member.client_url}", f"--advertise-client-urls={member.client_url}",
             f"--listen-peer-urls={member.peer_url}", f"--initial-advertise-peer-urls={member.peer_url}",
             f"--initial-cluster={cluster}", f"--initial-cluster-state={state}", "--heartbeat-interval=50",
             "--election-timeout=500", *tls], stdout=log, stderr=subprocess.STDOUT)

    def new_member(self, name: str, address: str) -> Member:
        member = Member(name, address, free_port(address), free_port(address))
        self.issue(name, address)
        return member

    def kill(self, name: str) -> None:
        member = next(m for m in self.members if m.name == name)
        if member.process:
            member.process.kill()
            member.process.wait(10)
            member.process = None

    def stop(self) -> None:
        for m in self.members:
            if m.process:
                m.process.kill()
                m.process.wait(10)


def start_cluster(root: Path, size: int = 3) -> EtcdCluster:
    require_etcd()
    certs = root / "ssl"
    certs.mkdir(parents=True)
    ca_key = pki.new_key()
    ca_cert = pki.issue("etcd-ca", ca_key, ca=True, not_before=NOW)
    (certs / "ca.pem").write_bytes(pki.cert_pem(ca_cert))
    (certs / "ca-key.pem").write_bytes(pki.key_pem(ca_key))
    cluster = EtcdCluster(root, certs)
    cluster.members = [cluster.new_member(f"etcd{i}", f"127.0.0.{i}") for i in range(1, size + 1)]
    for m in cluster.members:
        cluster.start(m, cluster.members, "new")
    wait_healthy(cluster)
    return cluster


def wait_healthy(cluster: EtcdCluster, timeout: float = 60.0, skip: tuple[str, ...] = ()) -> None:
    """Every running member answers `endpoint health` (a learner does not serve it: name it in `skip`)."""
    deadline = time.monotonic() + timeout
    access = cluster.access()
    access = EtcdAccess(tuple(m.client_url for m in cluster.members if m.process and m.name not in skip),
                        access.cacert, access.cert, access.key)
    while time.monotonic() < deadline:
        run = subprocess.run(["etcdctl", f"--endpoints={','.join(access.endpoints)}", f"--cacert={access.cacert}",
                              f"--cert={access.cert}", f"--key={access.key}", "endpoint", "health"],
                             capture_output=True, text=True, env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"},
                             check=False, timeout=20)
        if run.returncode == 0:
            return
        time.sleep(0.3)
    logs = "\n".join((cluster.root / f"{m.name}.log").read_text()[-400:] for m in cluster.members)
    raise AssertionError(f"etcd did not become healthy:\n{logs}")


def kubespray_inventory(cluster: EtcdCluster, directory: Path, local: tuple[str, ...] = ("cp1",)) -> Path:
    """A Kubespray inventory whose etcd hosts cp1..N are the cluster's members (ip = their address); each host in
    `local` runs under ansible_connection=local with its admin-<host>.pem issued into the test's etcd_cert_dir."""
    hosts: dict[str, dict[str, object]] = {}
    for i, member in enumerate(cluster.members, start=1):
        name = f"cp{i}"
        hosts[name] = {"ansible_host": member.address, "ip": member.address, "etcd_member_name": member.name}
        if name in local:
            cluster.issue(name, member.address)
            hosts[name].update({"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                                "ks2t_become": False, "bin_dir": str(Path(shutil.which("etcdctl") or "").parent),
                                "etcd_cert_dir": str(cluster.certs), "etcd_client_url": member.client_url})
    names = {h: None for h in hosts}
    inventory = {"all": {"hosts": hosts, "children": {
        "kube_control_plane": {"hosts": names}, "etcd": {"hosts": names},
        "kube_node": {"hosts": {}}, "k8s_cluster": {"children": {"kube_control_plane": None, "kube_node": None}}}}}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "hosts.yaml").write_text(yaml.safe_dump(inventory, sort_keys=False))
    return directory / "hosts.yaml"

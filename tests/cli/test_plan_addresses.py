"""`plan --gather-facts` and `plan --kubeconfig`: the address of a host that sets no ip, as Kubespray got it
(issue 16 item 8): real Ansible through ansible-runner with a local connection, and the twin over HTTP."""

from __future__ import annotations

import json
import shutil
import socket
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from migrate.cli import cli
from tests.conftest import CLUSTERS, INVENTORIES, shared_path

MURZ = "Murz-K8s__kubespray-inventory-base__inventory-sample"


def plan(*args: object) -> dict:
    result = CliRunner().invoke(cli, ["plan", *map(str, args)], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    out = Path(str(args[list(map(str, args)).index("--out") + 1]))
    return json.loads((out / "report.json").read_text())


def blockers(report: dict) -> set[str]:
    return {f["setting"] for f in report["findings"] if f["severity"] == "blocker"}


def default_route_address() -> str:
    """The source address of the default route, as `ip route get` picks it (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("8.8.8.8", 53))  # the destination Ansible asks `ip route get` about
        return str(probe.getsockname()[0])


def _subnets(documents: list) -> list[str]:
    found: list[str] = []
    for doc in documents:
        kubelet = (doc or {}).get("machine", {}).get("kubelet") or (doc if (doc or {}).get("kind") == "KubeNodeConfig" else {})
        found += (kubelet.get("nodeIP") or {}).get("validSubnets") or []
    return found


def test_gather_facts_reads_the_address_kubespray_falls_back_to(tmp_path):
    """Murz-K8s: node1 is reached by a DNS name and sets no ip. Ansible (local connection) reports the default
    route's address, which becomes the node address, the endpoint and the etcd peer address."""
    copy = shutil.copytree(shared_path("kubespray", "real-world", MURZ), tmp_path / "inventory")
    for path in copy.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (copy / "host_vars").mkdir()
    (copy / "host_vars" / "node1.yml").write_text(yaml.safe_dump(
        {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}))
    without = plan(copy, "--out", tmp_path / "blind")
    assert "node addresses" in blockers(without)
    report = plan(copy, "--out", tmp_path / "plan", "--gather-facts")
    address = default_route_address()
    assert report["nodes"][0]["ip"] == address and report["endpoint"] == f"https://{address}:6443"
    assert "node addresses" not in blockers(report)
    assert _subnets(list(yaml.safe_load_all((tmp_path / "plan" / "nodes" / "node1.yaml").read_text()))) == [f"{address}/32"]


@pytest.fixture
def live_demo(tmp_path):
    from migrate.cluster.twin import Twin, serve_in_thread

    handle = serve_in_thread(Twin.from_snapshot(CLUSTERS / "demo.json"))
    yield handle.write_kubeconfig(tmp_path / "kubeconfig")
    handle.stop()


def test_kubeconfig_reads_the_nodes_internal_ip(tmp_path, live_demo):
    """demo with w3's ip and ansible_host removed: its Node's InternalIP in the live cluster is the address."""
    copy = shutil.copytree(INVENTORIES / "demo", tmp_path / "demo")
    hosts = copy / "hosts.yaml"
    data = yaml.safe_load(hosts.read_text())
    data["all"]["hosts"]["w3"] = {k: v for k, v in data["all"]["hosts"]["w3"].items() if k not in ("ip", "ansible_host")}
    hosts.write_text(yaml.safe_dump(data))
    snapshot = json.loads((CLUSTERS / "demo.json").read_text())
    nodes = snapshot["objects"]["nodes"]
    live = next(a["address"] for n in nodes if n["metadata"]["name"] == "w3"
                for a in n["status"]["addresses"] if a["type"] == "InternalIP")
    report = plan(copy, "--out", tmp_path / "plan", "--kubeconfig", live_demo)
    assert {n["name"]: n["ip"] for n in report["nodes"]}["w3"] == live
    assert "node addresses" not in blockers(report)

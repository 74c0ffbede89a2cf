"""Plans of the real public inventories are right where issue 16 found them wrong (items 2-5), and their diffs
explain every change (`diff --fail-on unexplained` passes on a faithful plan of each one that plans)."""

from __future__ import annotations

import ipaddress
import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from migrate.cli import cli
from migrate.errors import UserError
from migrate.kubespray import load_cluster
from migrate.talos.plan import PlanRequest, plan_cluster
from migrate.talos.read import read_documents
from tests.conftest import INVENTORIES, SHARED, shared_path

REAL_WORLD = sorted(p.stem for p in (SHARED / "kubespray" / "expected").glob("*.json")
                    if not p.stem.startswith("sample-")) if SHARED.is_dir() else []


def expected(case: str) -> dict:
    return json.loads(shared_path("kubespray", "expected", f"{case}.json").read_text())


def inventory(case: str) -> Path:
    return shared_path("kubespray", "real-world", case, expected(case)["inventory_sources"][0])


def documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def plan(path: Path, out: Path, talos_version: str = "auto"):
    return plan_cluster(load_cluster(path), PlanRequest(inventory=path, out=out, talos_version=talos_version))


@pytest.mark.parametrize("case", REAL_WORLD)
def test_diff_of_a_faithful_plan_explains_every_change(case, tmp_path):
    """Item 4: no false positive (nodelocaldns_ip inside the service range, etcd renames under kubeadm) makes
    `diff --fail-on unexplained` fail on an inventory and its own plan; one that cannot plan is refused clearly."""
    path = inventory(case)
    out = tmp_path / "plan"
    result = CliRunner().invoke(cli, ["plan", str(path), "--out", str(out)])
    if isinstance(result.exception, UserError):  # refused (too old for Talos, unreadable, no hosts): nothing written
        assert str(result.exception).strip() and not out.exists()
        return
    assert result.exit_code in (0, 1) and (out / "controlplane.yaml").is_file(), result.output
    diff = CliRunner().invoke(cli, ["diff", str(path), str(out), "--fail-on", "unexplained", "-o", "json"],
                              catch_exceptions=False)
    data = json.loads(diff.stdout)
    unexplained = [c for c in data["changes"] if c.get("intended") is not True]
    assert diff.exit_code == 0, unexplained
    paths = {c["path"] for c in data["changes"]}
    assert "network.nodelocaldns_ip" not in paths  # the plan writes the same clusterDNS
    if expected(case)["cluster"].get("etcd_deployment_type") == "kubeadm":  # members already carry the node names
        assert not any(p.endswith(".etcd_member_name") for p in paths)


def test_ukubi_kubeadm_etcd_members_keep_their_node_names():
    """etcd_deployment_type kubeadm: kubeadm names each member after its node, so nothing is renamed."""
    spec = load_cluster(inventory("MohammadBnei__infra-bootstrap__ukubi")).spec
    members = [n for n in spec.nodes if n.etcd_member_name]
    assert members and all(n.etcd_member_name == n.name for n in members)
    assert {m.name for m in spec.etcd.members} == {n.name for n in members}


def test_wire_nodelocaldns_inside_the_service_range_reads_back(tmp_path):
    case = "wireapp__wire-server-deploy__offline"
    cluster = expected(case)["cluster"]
    plan(inventory(case), tmp_path / "plan")
    before = load_cluster(inventory(case)).spec
    after = read_documents((tmp_path / "plan" / "worker.yaml").read_text(), carried=before)
    assert after.network.nodelocaldns_ip == before.network.nodelocaldns_ip == cluster["nodelocaldns_ip"]


def test_neviadomski_lb_name_only_in_etc_hosts_gets_a_host_entry(tmp_path):
    """Item 2: Kubespray wrote `<LB address> lb-apiserver.kubernetes.local` into /etc/hosts; Talos nodes get it too."""
    case = "neviadomski__kubespray-config__root"
    cluster = expected(case)["cluster"]
    name, address = cluster["apiserver_loadbalancer_domain_name"], cluster["loadbalancer_apiserver"]["address"]
    result = plan(inventory(case), tmp_path / "plan")
    assert result.problems == []
    for role in ("controlplane.yaml", "worker.yaml"):
        machine = documents(tmp_path / "plan" / role)[0]["machine"]
        assert {"ip": address, "aliases": [name]} in machine["network"]["extraHostEntries"]
    assert f"https://{name}:" in result.report["endpoint"]


def test_talos_112_and_newer_write_the_host_entry_as_a_static_host_config(tmp_path):
    """The same entry on a Talos that moved it out of v1alpha1 (bundled demo: k8s-api.demo.internal at 10.0.10.10)."""
    spec = load_cluster(INVENTORIES / "demo").spec
    endpoint = spec.control_plane.endpoint
    assert endpoint.address and ipaddress.ip_address(endpoint.address) and endpoint.host != endpoint.address
    result = plan(INVENTORIES / "demo", tmp_path / "plan", talos_version="1.13")
    assert result.problems == []
    static = [d for d in documents(tmp_path / "plan" / "worker.yaml") if d.get("kind") == "StaticHostConfig"]
    assert static == [{"apiVersion": "v1alpha1", "kind": "StaticHostConfig", "name": endpoint.address,
                       "hostnames": [endpoint.host]}]
    assert "extraHostEntries" not in json.dumps(documents(tmp_path / "plan" / "worker.yaml")[0])


def test_levi106_no_proxy_is_what_kubespray_computes(tmp_path):
    """Item 5: http(s)_proxy without no_proxy: Kubespray's no_proxy holds the LB, every host's address and name,
    the service and pod ranges; the Talos environment carries all of it (a copy at a Kubernetes Talos runs)."""
    case = "levi106__kubespray-inventory-iotedge__root"
    oracle = expected(case)
    cluster = oracle["cluster"]
    copy = tmp_path / "inventory"
    shutil.copytree(inventory(case).parent, copy)
    settings = copy / "group_vars" / "k8s_cluster" / "k8s-cluster.yml"
    settings.chmod(0o644)
    settings.write_text(settings.read_text().replace("kube_version: v1.24.10", "kube_version: v1.30.4"))
    spec = load_cluster(copy / "hosts.yaml").spec
    no_proxy = spec.host.proxy.no_proxy.split(",")
    addresses = {values["access_ip"] or values["ip"] for values in oracle["hosts"].values()}
    assert addresses <= set(no_proxy) and set(oracle["hosts"]) <= set(no_proxy)
    assert {cluster["kube_service_addresses"], cluster["kube_pods_subnet"], "localhost", "127.0.0.1"} <= set(no_proxy)
    assert str(cluster["loadbalancer_apiserver"]["address"]) in no_proxy
    plan(copy / "hosts.yaml", tmp_path / "plan")
    env = json.dumps(documents(tmp_path / "plan" / "worker.yaml"))
    workers = [oracle["hosts"][h]["ip"] for h in oracle["groups"]["kube_node"]]
    written = next(d for d in documents(tmp_path / "plan" / "worker.yaml") if d.get("kind") == "EnvironmentConfig") \
        if "EnvironmentConfig" in env else {"variables": documents(tmp_path / "plan" / "worker.yaml")[0]["machine"]["env"]}
    assert set(workers) <= set(written["variables"]["no_proxy"].split(","))


def test_murz_single_node_without_address_is_a_blocker_naming_it(tmp_path):
    """Item 3: node1's ansible_host is a DNS name and it sets no ip; the cluster is one node."""
    result = plan(inventory("Murz-K8s__kubespray-inventory-base__inventory-sample"), tmp_path / "plan")
    blockers = {f.setting: f.reason for f in result.blockers}
    assert "node1" in blockers["node addresses"] and "--gather-facts" in blockers["node addresses"]
    assert "cannot be migrated node by node in place" in blockers["single-node cluster"]
    with pytest.raises(ValueError):  # no guessed address anywhere
        ipaddress.ip_address(result.report["endpoint"].split("//")[1].rsplit(":", 1)[0])

"""preflight over HTTP against the twin: what would stop the night is named the day before, and nothing changes."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import subprocess
import sys

import pytest

from migrate.clock import SystemClock
from migrate.cluster.twin import Twin, serve_in_thread
from migrate.cluster.twin.etcd import TwinEtcd
from migrate.cluster.twin.resources import CONFIGMAPS, DEPLOYMENTS, SERVICES
from migrate.migration.preflight import Planned, preflight, worst
from migrate.spec import ControlPlaneEndpoint, Network
from tests.cluster.conftest import deployment
from tests.conftest import CLUSTERS, FIXTURES, INVENTORIES, REPO
from tests.migration.harness import rig

PLANNED = Planned("1.31.4", ControlPlaneEndpoint("k8s-api.demo.internal"), Network())


def service(namespace, name, cluster_ip):
    return {"metadata": {"name": name, "namespace": namespace},
            "spec": {"clusterIP": cluster_ip, "ports": [{"port": 443 if name == "kubernetes" else 53}]}}


def with_services(twin, api_ip="10.233.0.1", dns_ip="10.233.0.3"):
    if not api_ip.startswith("10.233."):  # a cluster whose API server allocates from kubeadm's default range
        twin.api.services.network = ipaddress.ip_network("10.96.0.0/12")
    twin.api.create(SERVICES, "default", service("default", "kubernetes", api_ip))
    twin.api.create(SERVICES, "kube-system", service("kube-system", "coredns", dns_ip))


def checks_of(r, planned=PLANNED, plan=None, etcd="rig"):
    return {c.name: c for c in preflight(plan or r.plan, r.cluster, r.twin.clock, planned,
                                         r.etcd if etcd == "rig" else etcd)}


def test_a_budget_that_never_allows_and_the_lock_fail_the_checks(tmp_path):
    with rig(tmp_path, budget={"minAvailable": 3}) as r:
        checks = checks_of(r)
        assert checks["budgets that allow a disruption"].result == "fail"
        assert "default/web" in checks["budgets that allow a disruption"].reason
        assert checks["migration lock"].result == "pass"
        r.engine(holder="alice@laptop:1").lock.acquire()
        again = checks_of(r)
        assert again["migration lock"].result == "fail" and "alice@laptop:1" in again["migration lock"].reason
        assert worst(list(again.values())) == 2


def test_a_healthy_rig_passes_every_check(tmp_path):
    with rig(tmp_path) as r:
        with_services(r.twin)
        checks = list(checks_of(r).values())
        assert {c.result for c in checks} == {"pass"}, [c for c in checks if c.result != "pass"]
        assert {"API version", "stable control-plane endpoint", "CIDRs and DNS", "capacity per wave", "etcd members",
                "migration lock"} <= {c.name for c in checks}


def test_an_api_server_of_another_minor_fails_and_another_patch_warns(tmp_path):
    with rig(tmp_path) as r:
        minor = checks_of(r, dataclasses.replace(PLANNED, kubernetes_version="1.30.2"))["API version"]
        assert minor.result == "fail" and "v1.31.4" in minor.reason and "1.30.2" in minor.reason and minor.fix
        patch = checks_of(r, dataclasses.replace(PLANNED, kubernetes_version="1.31.9"))["API version"]
        assert patch.result == "warn"


@pytest.mark.parametrize("endpoint, says", [
    (ControlPlaneEndpoint("10.0.10.11"), "node cp1"),
    (ControlPlaneEndpoint("cp2"), "node cp2"),
    (ControlPlaneEndpoint("127.0.0.1"), "each machine itself"),
    (ControlPlaneEndpoint("10.0.10.10", kind="first-control-plane"), "first control plane"),
])
def test_an_endpoint_that_dies_with_a_node_fails(tmp_path, endpoint, says):
    with rig(tmp_path) as r:
        check = checks_of(r, dataclasses.replace(PLANNED, endpoint=endpoint))["stable control-plane endpoint"]
        assert check.result == "fail" and says in check.reason and "load balancer" in check.fix


def test_the_clusters_own_kubeadm_endpoint_on_a_node_fails_even_with_a_good_plan(tmp_path):
    with rig(tmp_path) as r:
        config = "kind: ClusterConfiguration\ncontrolPlaneEndpoint: 10.0.10.12:6443\n"
        r.twin.api.create(CONFIGMAPS, "kube-system", {"metadata": {"name": "kubeadm-config"},
                                                     "data": {"ClusterConfiguration": config}})
        check = checks_of(r)["stable control-plane endpoint"]
        assert check.result == "fail" and "kubeadm-config" in check.reason and "node cp2" in check.reason


def test_services_on_other_addresses_than_planned_fail_naming_both(tmp_path):
    with rig(tmp_path) as r:
        with_services(r.twin, api_ip="10.96.0.1", dns_ip="10.96.0.10")
        check = checks_of(r)["CIDRs and DNS"]
        assert check.result == "fail"
        assert "default/kubernetes is 10.96.0.1" in check.reason and "10.233.0.1" in check.reason
        assert "kube-system/coredns is 10.96.0.10" in check.reason and "10.233.0.3" in check.reason


def test_node_pod_cidrs_outside_the_planned_pod_network_fail(tmp_path):
    with rig(tmp_path) as r:
        with_services(r.twin)
        r.twin.add_node("w4", "10.0.10.24", pod_cidr="10.233.70.0/24")
        assert checks_of(r)["CIDRs and DNS"].result == "pass"
        check = checks_of(r, dataclasses.replace(PLANNED, network=Network(pod_subnets=("10.244.0.0/16",))))
        cidrs = check["CIDRs and DNS"]
        assert cidrs.result == "fail" and "node w4 has pods in 10.233.70.0/24, outside the plan's 10.244.0.0/16" \
            in cidrs.reason


def test_pods_that_fit_nowhere_while_a_wave_is_out_warn_on_surge_and_fail_in_place(tmp_path):
    with rig(tmp_path) as r:  # three workers of 4 CPUs, waves cp1 | cp2 | cp3 | w1,w2 | w3
        r.twin.api.create(DEPLOYMENTS, "default", deployment("big", 3, cpu="3"))
        r.twin.settle()
        surge = checks_of(r)["capacity per wave"]
        assert surge.result == "warn" and "wave 4 (w1, w2): 2 pod(s)" in surge.reason
        assert "no room (cpu)" in surge.reason and "taint node-role.kubernetes.io/control-plane" in surge.reason
        in_place = checks_of(r, plan=dataclasses.replace(r.plan, strategy="in-place"))["capacity per wave"]
        assert in_place.result == "fail" and "in-place" in in_place.fix


def test_a_pod_pinned_to_the_leaving_nodes_fits_nowhere(tmp_path):
    with rig(tmp_path) as r:
        pinned = {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": ["w3"]}]}]}}
        r.twin.api.create(DEPLOYMENTS, "default", deployment("pinned", 1, nodeSelector={"kubernetes.io/hostname": "w3"},
                                                            affinity={"nodeAffinity": pinned}))
        r.twin.settle()
        check = checks_of(r)["capacity per wave"]
        assert check.result == "warn" and "wave 5 (w3)" in check.reason and "nodeSelector/affinity" in check.reason


def test_etcd_with_a_learner_or_a_dead_member_fails(tmp_path):
    with rig(tmp_path) as r:
        r.etcd.add_member("etcd4", "10.0.10.14", learner=True)
        check = checks_of(r)["etcd members"]
        assert check.result == "fail" and "learners: etcd4" in check.reason
        r.twin.clock.advance(60)  # the learner catches up and is promoted
        assert checks_of(r)["etcd members"].result == "pass"
        r.etcd.kill(r.etcd.members()[1].id)
        dead = checks_of(r)["etcd members"]
        assert dead.result == "fail" and "unhealthy: etcd2 (no answer)" in dead.reason
        in_place = dataclasses.replace(r.plan, strategy="in-place")
        solo = TwinEtcd(r.twin.clock)
        solo.add_member("etcd1", "10.0.10.11")
        alone = checks_of(r, plan=in_place, etcd=solo)["etcd members"]
        assert alone.result == "fail" and "below quorum while reinstalling cp1" in alone.reason
        assert checks_of(r, plan=dataclasses.replace(r.plan), etcd=solo)["etcd members"].result == "pass"  # surge
        unchecked = checks_of(r, etcd=None)["etcd members"]
        assert unchecked.result == "warn" and "not checked" in unchecked.reason and "--etcd-endpoints" in unchecked.fix


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("p") / "plan"
    subprocess.run([sys.executable, "-m", "migrate", "plan", str(INVENTORIES / "demo"), "--pki",
                    str(FIXTURES / "pki" / "demo"), "--out", str(out)], capture_output=True, cwd=REPO, check=False)
    handle = serve_in_thread(Twin.from_snapshot(CLUSTERS / "demo.json", SystemClock()))
    yield out, handle.write_kubeconfig(tmp_path_factory.mktemp("k") / "kubeconfig")
    handle.stop()


def test_the_demo_cluster_warns_about_what_a_drain_would_refuse(demo):
    plan, kubeconfig = demo
    run = subprocess.run([sys.executable, "-m", "migrate", "preflight", str(plan), "--kubeconfig", str(kubeconfig),
                          "-o", "json"], capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    checks = {c["check"]: c for c in json.loads(run.stdout)}
    assert run.returncode == 1, run.stderr  # warnings only: etcd was not given, so it was not checked
    assert {n for n, c in checks.items() if c["result"] == "fail"} == set()
    assert checks["etcd members"]["result"] == "warn"
    assert checks["pods a drain refuses"]["result"] == "warn" and "default/debug-shell" in checks["pods a drain refuses"]["reason"]


def test_the_cli_reads_a_real_etcd_and_fails_on_a_learner_that_never_started(demo, tmp_path):
    """Real etcd 3.4 (TLS, Kubespray's cert layout) through etcdctl, as migrate reads it: a member added as a
    learner for a control plane that never came up is named, and the exit status is 2."""
    from migrate.etcd.etcdctl import EtcdctlMembership
    from tests.etcd.cluster import require_etcd, start_cluster

    require_etcd()
    plan, kubeconfig = demo
    etcd = start_cluster(tmp_path / "etcd")
    try:
        argv = [sys.executable, "-m", "migrate", "preflight", str(plan), "--kubeconfig", str(kubeconfig), "-o", "json",
                "--etcd-endpoints", ",".join(m.client_url for m in etcd.members), "--etcd-certs", str(etcd.certs),
                "--etcd-admin", "etcd1"]
        healthy = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
        check = {c["check"]: c for c in json.loads(healthy.stdout)}["etcd members"]
        assert check["result"] == "pass" and "3 members" in check["reason"], healthy.stderr
        EtcdctlMembership(etcd.access(), snapshot_dir=tmp_path / "s", timeout=5).add_learner(
            "talos-cp1", "https://127.0.0.9:2380")
        run = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
        check = {c["check"]: c for c in json.loads(run.stdout)}["etcd members"]
        assert run.returncode == 2 and check["result"] == "fail"
        assert "not started" in check["reason"] and "learners" in check["reason"] and "etcdctl member remove" in check["fix"]
    finally:
        etcd.stop()


def test_a_snapshot_crafted_to_fail_the_plan_checks_fails_them_through_the_cli(demo, tmp_path):
    """The demo cluster captured as if Kubespray had run without a load balancer and with kubeadm's networks: the
    endpoint is cp1's address, the Services sit in 10.96.0.0/12 and the plan (made from the inventory) disagrees."""
    import yaml

    plan, _ = demo
    snapshot = json.loads((CLUSTERS / "demo.json").read_text())
    objects = snapshot["objects"]
    config_map = next(c for c in objects["configmaps"] if c["metadata"]["name"] == "kubeadm-config")
    config = yaml.safe_load(config_map["data"]["ClusterConfiguration"])
    config["controlPlaneEndpoint"] = "10.0.10.11:6443"
    config["networking"]["serviceSubnet"] = "10.96.0.0/12"
    config_map["data"]["ClusterConfiguration"] = yaml.safe_dump(config)
    snapshot["metadata"]["kubernetesVersion"] = "v1.30.9"
    for svc in objects["services"]:  # where kubeadm's defaults put the API's and the DNS's addresses
        ip = {"kubernetes": "10.96.0.1", "coredns": "10.96.0.10"}[svc["metadata"]["name"]]
        svc["spec"].update(clusterIP=ip, clusterIPs=[ip])
    crafted = tmp_path / "crafted.json"
    crafted.write_text(json.dumps(snapshot))
    twin = Twin.from_snapshot(crafted, SystemClock())
    handle = serve_in_thread(twin)
    try:
        kubeconfig = handle.write_kubeconfig(tmp_path / "kubeconfig")
        run = subprocess.run([sys.executable, "-m", "migrate", "preflight", str(plan), "--kubeconfig", str(kubeconfig),
                              "-o", "json"], capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    finally:
        handle.stop()
    assert run.returncode == 2, run.stderr
    checks = {c["check"]: c for c in json.loads(run.stdout)}
    assert checks["API version"]["result"] == "fail" and "v1.30.9" in checks["API version"]["reason"]
    endpoint = checks["stable control-plane endpoint"]
    assert endpoint["result"] == "fail" and "10.0.10.11, the address of node cp1" in endpoint["reason"]
    cidrs = checks["CIDRs and DNS"]
    assert cidrs["result"] == "fail" and "default/kubernetes is 10.96.0.1" in cidrs["reason"]
    assert "serviceSubnet 10.96.0.0/12" in cidrs["reason"] and "kube_service_addresses" in cidrs["fix"]

"""A plan read back as Talos will run it differs from its inventory only where a plan verdict says so."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from migrate.diff import diff_specs, explain, report_verdicts
from migrate.talos.plan import PlanRequest, plan_cluster
from migrate.talos.plan_dir import read_plan
from migrate.talos.read import read_documents
from migrate.talos.render import to_yaml
from tests.conftest import FIXTURES, INVENTORIES
from tests.talos.plan_fixtures import matrix, resolved, versions_for

DEMO_PKI = FIXTURES / "pki" / "demo"


def plan_and_read(cluster, out: Path, minor: str, pki: Path | None = None):
    """`plan` then `diff INVENTORY PLAN_DIR`, in process: the changes with their verdicts, and the plan as read."""
    result = plan_cluster(cluster, PlanRequest(inventory=out, out=out, talos_version=minor, pki=pki))
    back = read_plan(out, carried=cluster.spec)
    return explain(diff_specs(cluster.spec, back.spec), report_verdicts(back.report)), back, result


@pytest.mark.parametrize("name, minor", matrix())
def test_every_fixture_plan_differs_only_where_a_verdict_says_so(name, minor, tmp_path):
    changes, _, _ = plan_and_read(resolved(name), tmp_path / "plan", minor)
    unexplained = {c.where: (c.before, c.after) for c in changes if not c.intended}
    assert unexplained == {}


@pytest.mark.parametrize("minor", [v.minor for v in versions_for("demo")])
def test_the_carried_encryption_config_is_what_talos_runs(minor, tmp_path):
    changes, back, _ = plan_and_read(resolved("demo"), tmp_path / "plan", minor, pki=DEMO_PKI)
    encryption = back.spec.control_plane.encryption
    assert (encryption.provider, encryption.key_name, encryption.resources) == ("secretbox", "key", ("secrets",))
    assert not [c for c in changes if c.where.startswith("control_plane.encryption")]


def test_without_the_clusters_file_talos_key_name_shows_with_its_manual_verdict(tmp_path):
    changes, back, _ = plan_and_read(resolved("demo"), tmp_path / "plan", "1.13")
    assert back.spec.control_plane.encryption.key_name == "key2"
    (change,) = [c for c in changes if c.where == "control_plane.encryption.key_name"]
    assert change.severity == "breaking" and any("(manual)" in e for e in change.explained_by)


def test_an_audit_policy_logging_nothing_is_auditing_off():
    for audit, rules in ((None, [{"level": "None"}]), (True, [{"level": "None", "users": ["x"]}, {"level": "Metadata"}])):
        config = _config_with_audit_policy(rules)
        read = read_documents(config).control_plane.audit
        assert (read is None) == (audit is None), rules


def _config_with_audit_policy(rules: list[dict]) -> str:
    return to_yaml([{"version": "v1alpha1", "machine": {"type": "controlplane", "kubelet": {
        "image": "ghcr.io/siderolabs/kubelet:v1.31.4"}}, "cluster": {
        "controlPlane": {"endpoint": "https://10.0.0.1:6443"},
        "apiServer": {"auditPolicy": {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": rules}}}}])


@pytest.mark.parametrize("minor", ["1.10", "1.13"])
def test_adding_the_endpoint_audience_is_a_changed_verdict(minor, tmp_path):
    cluster = resolved("demo")
    endpoint = cluster.spec.control_plane.endpoint.url
    assert endpoint not in cluster.spec.control_plane.api_audiences
    changes, back, result = plan_and_read(cluster, tmp_path / "plan", minor)
    (issuer,) = [f for f in result.findings if f.setting == "service-account issuer"]
    assert issuer.verdict == "changed" and endpoint in issuer.reason
    assert endpoint in back.spec.control_plane.api_audiences
    (change,) = [c for c in changes if c.where == "control_plane.api_audiences"]
    assert "service-account issuer (changed)" in change.explained_by


def test_an_issuer_already_at_the_endpoint_keeps_its_verdict(tmp_path):
    cluster = resolved("demo")
    endpoint = cluster.spec.control_plane.endpoint.url
    cp = dataclasses.replace(cluster.spec.control_plane, service_account_issuer=endpoint, api_audiences=(endpoint,))
    cluster = dataclasses.replace(cluster, spec=dataclasses.replace(cluster.spec, control_plane=cp))
    changes, _, result = plan_and_read(cluster, tmp_path / "plan", "1.13")
    (issuer,) = [f for f in result.findings if f.setting == "service-account issuer"]
    assert issuer.verdict == "kept"
    assert not [c for c in changes if c.where.startswith("control_plane.api_audiences")]


def _with_node_kubelet(cluster, host: str, own: dict, cluster_config: dict | None = None):
    spec = cluster.spec
    nodes = tuple(dataclasses.replace(n, kubelet_config=own) if n.name == host else n for n in spec.nodes)
    kubelet = dataclasses.replace(spec.kubelet, config={**spec.kubelet.config, **(cluster_config or {})})
    return dataclasses.replace(cluster, spec=dataclasses.replace(spec, nodes=nodes, kubelet=kubelet))


def test_a_nodes_own_kubelet_settings_reach_its_patch_and_read_back(tmp_path):
    cluster = resolved("demo")
    reserved = cluster.spec.kubelet.config["kubeReserved"]
    assert {"cpu", "memory"} < set(reserved)
    gates = {**cluster.spec.kubelet.feature_gates, "NodeSwap": True}
    own = {"kubeReserved": {"cpu": "50m", "memory": "128Mi"}, "maxPods": 250, "featureGates": gates,
           "allowedUnsafeSysctls": ["net.core.somaxconn", "net.ipv4.tcp_keepalive_time"]}
    cluster = _with_node_kubelet(cluster, "w1", own, {"allowedUnsafeSysctls": ["net.core.somaxconn"]})
    changes, back, _ = plan_and_read(cluster, tmp_path / "plan", "1.13")
    (w1,) = [n for n in back.spec.nodes if n.name == "w1"]
    assert w1.kubelet_config == own, "the cluster's other kubeReserved keys are deleted, the list only extended"
    others = [n.kubelet_config for n in back.spec.nodes if n.name != "w1"]
    assert others == [{}] * len(others)
    assert [c.where for c in changes if c.where.startswith("nodes.w1")] == []


def test_protected_or_unpatchable_node_kubelet_settings_are_reported_and_explained(tmp_path):
    cluster = _with_node_kubelet(resolved("demo"), "w2", {"cgroupDriver": "cgroupfs", "tlsCipherSuites": ["B"]},
                                 {"tlsCipherSuites": ["A"]})
    changes, back, result = plan_and_read(cluster, tmp_path / "plan", "1.12")
    verdicts = {f.setting: f for f in result.findings if f.setting in ("kubelet cgroupDriver", "kubelet tlsCipherSuites")}
    assert verdicts["kubelet tlsCipherSuites"].verdict == "manual" and "w2" in verdicts["kubelet tlsCipherSuites"].reason
    assert any(f.verdict == "dropped" and "w2" in f.reason for f in result.findings
               if f.setting == "kubelet cgroupDriver")
    patch = (tmp_path / "plan" / "nodes" / "w2.yaml").read_text()
    assert "cgroupDriver" not in patch and "tlsCipherSuites" not in patch
    node_changes = [c for c in changes if c.where.startswith("nodes.w2.kubelet_config")]
    assert {c.where for c in node_changes} == {"nodes.w2.kubelet_config.cgroupDriver",
                                                "nodes.w2.kubelet_config.tlsCipherSuites"}
    assert all(c.intended for c in node_changes)


def test_an_etcd_member_outside_the_control_planes_is_a_manual_step(tmp_path):
    cluster = resolved("hosts-and-sample-ini")
    outside = [n.name for n in cluster.spec.nodes if "etcd" in n.roles and not n.is_control_plane]
    assert outside == ["node3"]
    changes, back, result = plan_and_read(cluster, tmp_path / "plan", "1.12")
    (placement,) = [f for f in result.findings if f.setting == "etcd placement"]
    assert placement.verdict == "manual" and "node3" in placement.reason
    assert back.spec.node("node3").roles == ("worker",)
    (change,) = [c for c in changes if c.where == "nodes.node3.roles"]
    assert change.explained_by == ("etcd placement (manual)",)


def test_group_vars_kube_node_overrides_reach_the_workers_only(tmp_path):
    """split-sources: kubelet_max_pods 200 in group_vars/kube_node.yml (over 150 in [kube_node:vars])."""
    from migrate.kubespray import load_cluster

    split = INVENTORIES / "split-sources"
    cluster = load_cluster([split / "hosts", split / "workers.yml"])
    changes, back, _ = plan_and_read(cluster, tmp_path / "plan", "auto")
    pods = {n.name: n.kubelet_config.get("maxPods", back.spec.kubelet.config.get("maxPods")) for n in back.spec.nodes}
    assert {name: count for name, count in pods.items() if count == 200} == {
        n.name: 200 for n in cluster.spec.nodes if not n.is_control_plane}
    assert [c.where for c in changes if not c.intended] == []

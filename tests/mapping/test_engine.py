"""The rules engine: one Finding per setting read, verdicts that follow the cluster's values, no secret values."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

import pytest

from migrate.mapping import MANUAL, MappingContext, evaluate
from migrate.mapping.engine import NO_RULE
from migrate.mapping.rules import rule_book
from migrate.mapping.transforms import TRANSFORMS
from migrate.spec import ControlPlaneEndpoint
from migrate.talos.versions import all_versions, etcd_step
from tests.conftest import shared_path
from tests.talos.plan_fixtures import resolved


@dataclass(frozen=True)
class FakeSetting:
    name: str
    value: Any
    origin: str = "group_vars/all/all.yml:1"
    secret: bool = False


def settings(**values: Any) -> dict[str, FakeSetting]:
    return {k: FakeSetting(k, v) for k, v in values.items()}


def by_name(findings):
    return {f.setting: f for f in findings}


def test_every_setting_read_gets_exactly_one_finding():
    cluster = resolved("demo")
    findings = evaluate(cluster.settings, cluster.spec, MappingContext())
    names = [f.setting for f in findings]
    assert sorted(names) == sorted(cluster.settings)
    assert len(names) == len(set(names))


def test_a_setting_without_a_rule_is_manual_and_counted_not_skipped():
    demo = resolved("demo")
    found = by_name(evaluate(settings(frobnicate_the_cluster=True), demo.spec, MappingContext()))
    assert found["frobnicate_the_cluster"].verdict == MANUAL
    assert found["frobnicate_the_cluster"].reason == NO_RULE


def test_secret_values_never_reach_a_finding():
    demo = resolved("demo")
    token = FakeSetting("kube_encrypt_token", "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eA==", secret=True)
    found = evaluate({"kube_encrypt_token": token}, demo.spec, MappingContext())[0]
    assert found.secret and found.value is None
    assert "Zm9vYmFy" not in repr(found.to_dict())


def test_rules_cover_every_variable_of_the_reference_table():
    """kubespray-settings.md defines "every setting": each plain variable in its first column has a rule."""
    text = shared_path("reference", "kubespray-settings.md").read_text()
    names = set()
    for line in text.splitlines():
        if line.startswith("| `"):
            first = line.split(" | ")[0]
            names |= {n for n in re.findall(r"`([a-z][a-z0-9_]+)`", first)}
    # backticked words in that column that are not variables: a group, plugin values, kernel modules
    names -= {"calico_rr", "cloud", "macvlan", "nf_conntrack", "nf_tables"}
    book = rule_book()
    missing = sorted(n for n in names if n not in book.exact)
    assert len(names) > 150
    assert missing == []


def test_every_rule_is_well_formed():
    for rule in rule_book().rules:
        assert rule.reason, rule.names or rule.patterns
        verdict = rule.verdict
        if isinstance(verdict, dict) and "transform" in verdict:
            assert verdict["transform"] in TRANSFORMS


def test_talos_path_follows_the_version_contract():
    rule = rule_book().rule_for("ntp_servers")
    assert rule.talos_path((1, 11)) == "machine.time.servers"
    assert rule.talos_path((1, 12)).startswith("TimeSyncConfig")
    proxy = rule_book().rule_for("http_proxy")
    assert proxy.talos_path((1, 12)) == "machine.env"
    assert proxy.talos_path((1, 13)).startswith("EnvironmentConfig")


def test_settings_of_a_feature_that_is_off_are_dropped_with_the_reason():
    demo = resolved("demo")
    off = by_name(evaluate(settings(kube_oidc_auth=False, kube_oidc_url="https://sso"), demo.spec, MappingContext()))
    assert off["kube_oidc_url"].verdict == "dropped" and "kube_oidc_auth" in off["kube_oidc_url"].reason
    on = by_name(evaluate(settings(kube_oidc_auth=True, kube_oidc_url="https://sso"), demo.spec, MappingContext()))
    assert on["kube_oidc_url"].verdict == "kept"


def test_single_node_endpoint_is_a_manual_blocker():
    demo = resolved("demo")
    lb = by_name(evaluate(settings(loadbalancer_apiserver={"address": "10.0.10.10"}), demo.spec, MappingContext()))
    assert lb["loadbalancer_apiserver"].verdict == "kept"
    cp = dataclasses.replace(demo.spec.control_plane,
                             endpoint=ControlPlaneEndpoint("10.0.10.11", 6443, "first-control-plane"))
    spec = dataclasses.replace(demo.spec, control_plane=cp)
    single = by_name(evaluate(settings(loadbalancer_apiserver=None), spec, MappingContext()))["loadbalancer_apiserver"]
    assert single.verdict == MANUAL and single.severity == "blocker" and "10.0.10.11" in single.reason


def test_denied_flags_in_the_inventory_are_named():
    demo = resolved("demo")
    args = {"etcd-servers": "https://x:2379", "audit-log-maxage": "7"}
    found = by_name(evaluate(settings(kube_kubeadm_apiserver_extra_args=args), demo.spec, MappingContext()))
    verdict = found["kube_kubeadm_apiserver_extra_args"]
    assert verdict.verdict == "changed" and "etcd-servers" in verdict.reason and "audit-log-maxage" not in verdict.reason


@pytest.mark.parametrize("carried, verdict", [(True, "kept"), (False, MANUAL)])
def test_encryption_verdict_depends_on_the_carried_configuration(carried, verdict):
    demo = resolved("demo")  # encrypts with secretbox, key name "key"
    ctx = MappingContext(encryption_carried=carried)
    found = by_name(evaluate(settings(kube_encrypt_secret_data=True), demo.spec, ctx))["kube_encrypt_secret_data"]
    assert found.verdict == verdict
    assert "'key'" in found.reason


def test_encryption_off_removes_the_talos_secret():
    plain = resolved("single-node")
    found = by_name(evaluate(settings(kube_encrypt_secret_data=False), plain.spec, MappingContext()))
    assert found["kube_encrypt_secret_data"].verdict == "kept"
    assert "removed" in found["kube_encrypt_secret_data"].reason


@pytest.mark.parametrize("cluster_etcd, talos, verdict, severity, pin", [
    ("v3.5.16", "1.13", MANUAL, "warning", None),  # 3.5 → 3.6: the next minor runs mixed; patch 3.5 first
    ("v3.5.16", "1.14", MANUAL, "warning", "v3.6.12"),  # 3.5 → 3.7 cannot mix: pin 1.14 to the 3.6 it also runs
    ("v3.4.13", "1.14", MANUAL, "blocker", None),  # too far apart: upgrade etcd with Kubespray first
    ("v3.6.12", "1.13", "kept", "info", None),
    ("v3.6.12", "1.12", "kept", "info", None),
    ("v3.5.21", "1.9", "kept", "info", None),
])
def test_etcd_versions_join_only_an_adjacent_minor(cluster_etcd, talos, verdict, severity, pin):
    demo = resolved("demo")
    version = next(v for v in all_versions() if v.minor == talos)
    step = etcd_step(cluster_etcd, version)
    ctx = MappingContext(talos_etcd=version.etcd, etcd_advice=(step.severity, step.reason))
    found = by_name(evaluate(settings(etcd_version=cluster_etcd), demo.spec, ctx))["etcd_version"]
    assert (found.verdict, found.severity, step.image_tag) == (verdict, severity, pin)
    if severity == "blocker":
        assert "Upgrade etcd with Kubespray first" in found.reason
    elif pin:
        assert "3.5.26" in found.reason and "remove the pin" in found.reason


def test_restricted_worker_labels_are_manual():
    cluster = resolved("registry-mirrors")  # workers carry labels and a taint in host_vars
    found = by_name(evaluate(settings(node_labels={}, node_taints=[]), cluster.spec, MappingContext()))
    restricted = [n for n in cluster.spec.workers if any("kubernetes.io" in k for k in n.labels)]
    assert found["node_labels"].verdict == (MANUAL if restricted else "kept")
    assert found["node_taints"].verdict == MANUAL  # gpu-node-01 has a taint


# (settings, the words the reason must not use because they presume the opposite value)
OPPOSITE_VALUES = [
    ({"enable_nodelocaldns": False, "nodelocaldns_ip": "169.254.25.10", "nodelocaldns_health_port": 9254},
     "enable_nodelocaldns", "nodelocaldns DaemonSet keeps running"),
    ({"enable_nodelocaldns": False, "nodelocaldns_ip": "169.254.25.10"}, "nodelocaldns_ip", "keeps running"),
    ({"enable_nodelocaldns": False, "nodelocaldns_health_port": 9254}, "nodelocaldns_health_port", "free on Talos"),
    ({"kube_proxy_mode": "iptables"}, "kube_proxy_mode", "ipvs"),
    ({"kube_proxy_mode": "iptables", "kube_proxy_ipvs_modules": ["ip_vs"]}, "kube_proxy_ipvs_modules", "listed"),
    ({"http_proxy": "", "https_proxy": ""}, "http_proxy", "proxies are written"),
    ({"container_manager": "containerd", "containerd_registry_auth": []}, "containerd_registry_auth", "by hand"),
    ({"tls_cipher_suites": []}, "tls_cipher_suites", "appends"),
]


@pytest.mark.parametrize("values, name, presumes", OPPOSITE_VALUES)
def test_the_reason_matches_the_clusters_value(values, name, presumes):
    demo = resolved("demo")
    found = by_name(evaluate(settings(**values), demo.spec, MappingContext()))[name]
    assert presumes not in found.reason, found.reason
    assert found.verdict in ("kept", "dropped")


def test_the_acting_value_still_gets_the_rules_reason():
    demo = resolved("demo")
    found = by_name(evaluate(settings(http_proxy="http://proxy:3128", kube_proxy_mode="ipvs", enable_nodelocaldns=True,
                                      container_manager="containerd",
                                      containerd_registry_auth=[{"registry": "r", "username": "u"}]),
                             demo.spec, MappingContext()))
    assert found["http_proxy"].verdict == "changed" and "Talos environment" in found["http_proxy"].reason
    assert "ipvs" in found["kube_proxy_mode"].reason
    assert "keeps running" in found["enable_nodelocaldns"].reason
    assert found["containerd_registry_auth"].verdict == "manual"


def test_the_clusters_own_value_is_reported_as_written():
    """tls_min_version set: kept because the plan writes it, not "Talos defaults ... stop working"."""
    demo = resolved("demo")
    found = by_name(evaluate(settings(tls_min_version="VersionTLS12"), demo.spec, MappingContext()))["tls_min_version"]
    assert found.verdict == "kept" and "written" in found.reason and "stop working" not in found.reason


def test_docker_insecure_registries_say_what_the_plan_writes_and_warn_about_plain_http():
    demo = resolved("demo")
    found = by_name(evaluate(settings(container_manager="docker", docker_insecure_registries=["10.50.0.5:5000"]),
                             demo.spec, MappingContext()))["docker_insecure_registries"]
    assert found.verdict == "changed" and "Translate" not in found.reason
    assert "insecureSkipVerify" in (found.talos_path or "") and "plain HTTP" in found.reason


def test_no_supplementary_addresses_are_not_reported_as_added():
    demo = resolved("demo")
    found = by_name(evaluate(settings(supplementary_addresses_in_ssl_keys=[]), demo.spec, MappingContext()))
    assert "Added" not in found["supplementary_addresses_in_ssl_keys"].reason

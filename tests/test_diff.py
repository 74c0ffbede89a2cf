"""Semantic diff of two specs: grouping, severity, consequence, keyed comparison and redaction."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from migrate.diff import AREAS, SEVERITIES, diff_specs, fails, format_path, rules, worst
from migrate.kubespray import load_cluster
from migrate.spec import Component, SecretsEncryption
from tests.conftest import INVENTORIES


@pytest.fixture(scope="module")
def demo():
    return load_cluster(INVENTORIES / "demo").spec


def _by_path(changes):
    return {c.where: c for c in changes}


def test_same_spec_has_no_changes(demo):
    assert diff_specs(demo, demo) == []


def test_service_cidr_change_is_breaking_with_its_consequence(demo):
    other = replace(demo, network=replace(demo.network, service_subnets=("10.96.0.0/12",)))
    (change,) = diff_specs(demo, other)
    assert change.where == "network.service_subnets"
    assert (change.area, change.severity, change.kind) == ("network", "breaking", "changed")
    assert "ClusterIPs the new API server does not own" in change.consequence
    assert (change.before, change.after) == (["10.233.0.0/18"], ["10.96.0.0/12"])
    assert "kube_service_addresses" in change.settings


def test_nodes_compared_by_name_not_position(demo):
    reordered = replace(demo, nodes=tuple(reversed(demo.nodes)))
    assert diff_specs(demo, reordered) == []
    w3 = demo.node("w3")
    edited = replace(w3, labels={**w3.labels, "demo.internal/ingress": "false"}, ip="10.0.10.99")
    fewer = tuple(n for n in demo.nodes if n.name not in ("w1", "w3")) + (edited,)
    changes = _by_path(diff_specs(demo, replace(demo, nodes=fewer)))
    assert changes["nodes.w1"].kind == "removed" and changes["nodes.w1"].severity == "breaking"
    assert changes["nodes.w3.ip"].severity == "breaking"
    label = changes["nodes.w3.labels[demo.internal/ingress]"]
    assert (label.before, label.after, label.area) == ("true", "false", "nodes")
    assert set(changes) == {"nodes.w1", "nodes.w3.ip", "nodes.w3.labels[demo.internal/ingress]"}


def test_disjoint_node_sets_are_listed_node_by_node(demo):
    renamed = tuple(replace(n, name=f"talos-{n.name}") for n in demo.nodes)
    changes = _by_path(diff_specs(demo, replace(demo, nodes=renamed)))
    assert {p for p in changes if p.startswith("nodes")} == {f"nodes.{n.name}" for n in demo.nodes} | {
        f"nodes.talos-{n.name}" for n in demo.nodes
    }
    assert changes["nodes.cp1"].kind == "removed" and changes["nodes.talos-cp1"].kind == "added"


def test_set_like_lists_ignore_order_and_grow_softly(demo):
    cp = demo.control_plane
    shuffled = replace(demo, control_plane=replace(cp, cert_sans=tuple(reversed(cp.cert_sans))))
    assert diff_specs(demo, shuffled) == []
    grown = replace(demo, control_plane=replace(cp, cert_sans=(*cp.cert_sans, "api.example.com")))
    (change,) = diff_specs(demo, grown)
    assert change.severity == "cosmetic", "only adding a SAN harms no client"
    assert change.describe_values() == ("—", "+api.example.com")
    shrunk = replace(demo, control_plane=replace(cp, cert_sans=cp.cert_sans[1:]))
    (change,) = diff_specs(demo, shrunk)
    assert change.severity == "risky" and change.describe_values()[0] == f"-{cp.cert_sans[0]}"


def test_ordered_lists_keep_order(demo):
    swapped = replace(demo, network=replace(demo.network, upstream_dns_servers=("10.0.10.3", "10.0.10.2")))
    (change,) = diff_specs(demo, swapped)
    assert change.where == "network.upstream_dns_servers" and change.area == "DNS"


def test_absent_kubelet_fields_mean_the_upstream_default(demo):
    config = {**demo.kubelet.config, "maxPods": 110, "readOnlyPort": 0, "shutdownGracePeriod": "60s"}
    spelled_out = replace(demo, kubelet=replace(demo.kubelet, config=config))
    left_out = replace(
        demo,
        kubelet=replace(demo.kubelet, config={k: v for k, v in config.items() if k not in ("maxPods", "readOnlyPort")}),
    )
    assert diff_specs(spelled_out, left_out) == [], "110 pods and no read-only port are the kubelet's own defaults"
    without_grace = replace(
        demo, kubelet=replace(demo.kubelet, config={k: v for k, v in config.items() if k != "shutdownGracePeriod"})
    )
    (change,) = diff_specs(spelled_out, without_grace)
    assert (change.where, change.before, change.after) == ("kubelet.config.shutdownGracePeriod", "60s", "0s")
    bigger = replace(demo, kubelet=replace(demo.kubelet, config={**config, "maxPods": 250}))
    (change,) = diff_specs(spelled_out, bigger)
    assert (change.where, change.area, change.before, change.after) == ("kubelet.config.maxPods", "kubelet", 110, 250)


def test_audiences_default_to_the_issuer(demo):
    implicit = replace(demo, control_plane=replace(demo.control_plane, api_audiences=()))
    assert diff_specs(demo, implicit) == []


def test_encryption_key_name_is_breaking(demo):
    talos_key = replace(demo.control_plane.encryption, key_name="key2")
    changes = diff_specs(demo, replace(demo, control_plane=replace(demo.control_plane, encryption=talos_key)))
    (change,) = changes
    assert change.severity == "breaking" and change.area == "identity"
    assert "cannot be decrypted" in change.consequence


def test_secret_values_never_appear(demo):
    token_a, token_b = "s3cr3t-token-aaaa", "s3cr3t-token-bbbb"
    a = replace(
        demo, control_plane=replace(demo.control_plane, apiserver=Component(extra_args={"oidc-token": token_a}))
    )
    b = replace(
        demo, control_plane=replace(demo.control_plane, apiserver=Component(extra_args={"oidc-token": token_b}))
    )
    (change,) = diff_specs(a, b)
    assert change.secret and change.describe_values() == ("", "changed (redacted)")
    text = json.dumps(change.to_dict()) + repr(change.describe_values())
    assert token_a not in text and token_b not in text
    assert change.to_dict()["value"] == "changed (redacted)"


def test_anonymous_auth_is_not_mistaken_for_a_secret(demo):
    off = replace(demo, control_plane=replace(demo.control_plane, anonymous_auth=False))
    (change,) = diff_specs(demo, off)
    assert not change.secret and (change.before, change.after) == (True, False)
    assert "401" in change.consequence


def test_changes_sorted_worst_first_and_fail_on(demo):
    other = replace(
        demo,
        network=replace(demo.network, pod_subnets=("10.244.0.0/16",)),
        name="renamed",
        control_plane=replace(demo.control_plane, encryption=SecretsEncryption(provider="aescbc", key_name="key")),
    )
    changes = diff_specs(demo, other)
    assert [c.severity for c in changes] == sorted((c.severity for c in changes), key=SEVERITIES.index)
    assert worst(changes) == "breaking"
    cosmetic_only = [c for c in changes if c.severity == "cosmetic"]
    assert fails(cosmetic_only, "any") and not fails(cosmetic_only, "risky") and not fails([], "any")
    assert fails(changes, "breaking")


def test_every_rule_is_well_formed():
    for rule in rules():
        if rule.ignore:
            continue
        assert rule.area in AREAS, rule
        assert rule.severity in SEVERITIES, rule
        assert {rule.added or "risky", rule.removed or "risky"} <= {*SEVERITIES, "ignore"}, rule
        rule.consequence.format(key="k", node="n", item="i")


def test_format_path_brackets_keys_with_dots():
    assert (
        format_path(("nodes", "w3", "labels", "node.kubernetes.io/disk")) == "nodes.w3.labels[node.kubernetes.io/disk]"
    )


def test_a_setting_reported_twice_keeps_the_verdict_that_explains():
    from migrate.diff import report_verdicts

    for findings in ([{"setting": "kubelet x", "verdict": "kept"}, {"setting": "kubelet x", "verdict": "dropped"}],
                     [{"setting": "kubelet x", "verdict": "dropped"}, {"setting": "kubelet x", "verdict": "kept"}]):
        assert report_verdicts({"findings": findings}) == {"kubelet x": "dropped"}


def _with_node(spec, name, **fields):
    return replace(spec, nodes=tuple(replace(n, **fields) if n.name == name else n for n in spec.nodes))


def test_a_node_kubelet_setting_shows_the_clusters_value_as_before(demo):
    cluster_max = demo.kubelet.config.get("maxPods", 110)
    (change,) = diff_specs(demo, _with_node(demo, "w1", kubelet_config={"maxPods": 50}))
    assert change.where == "nodes.w1.kubelet_config.maxPods"
    assert (change.before, change.after) == (cluster_max, 50)
    assert change.describe_values() == (str(cluster_max), "50")
    (back,) = diff_specs(_with_node(demo, "w1", kubelet_config={"maxPods": 50}), demo)
    assert (back.before, back.after) == (50, cluster_max)


def test_a_node_dns_and_kubelet_version_show_the_clusters_value(demo):
    other = _with_node(demo, "w2", kubelet_config={"clusterDNS": ["10.233.0.10"]}, kubernetes_version="1.31.5")
    changes = _by_path(diff_specs(demo, other))
    dns = changes["nodes.w2.kubelet_config.clusterDNS"]
    assert (dns.before, dns.after, dns.area, dns.severity) == (list(demo.network.cluster_dns), ["10.233.0.10"], "DNS",
                                                                "breaking")
    version = changes["nodes.w2.kubernetes_version"]
    assert (version.before, version.after, version.severity) == (demo.kubernetes_version, "1.31.5", "risky")


def test_a_node_override_of_a_cluster_field_shows_the_clusters_value(demo):
    other = _with_node(demo, "w3", overrides={"host.ntp_servers": ["ntp.other.example"]})
    (change,) = diff_specs(demo, other)
    assert change.where == "nodes.w3.overrides[host.ntp_servers]"
    assert (change.before, change.after) == (list(demo.host.ntp_servers), ["ntp.other.example"])


@pytest.mark.parametrize(
    "after, severity",
    [("30000-40000", "risky"), ("20000-32767", "risky"), ("30000-31000", "breaking"), ("31000-33000", "breaking")],
)
def test_widening_the_node_port_range_is_risky_narrowing_or_moving_it_breaking(demo, after, severity):
    assert demo.control_plane.node_port_range == "30000-32767"
    other = replace(demo, control_plane=replace(demo.control_plane, node_port_range=after))
    (change,) = diff_specs(demo, other)
    assert (change.where, change.severity) == ("control_plane.node_port_range", severity)


def test_an_added_accepted_issuer_is_reported_and_a_dropped_one_breaks(demo):
    issuer = demo.control_plane.service_account_issuer
    both = replace(demo, control_plane=replace(demo.control_plane, accepted_issuers=(issuer, "https://api:6443")))
    (added,) = diff_specs(demo, both)
    assert (added.where, added.before, set(added.after)) == ("control_plane.accepted_issuers", [issuer],
                                                             {issuer, "https://api:6443"})
    (dropped,) = diff_specs(both, demo)
    assert dropped.severity == "breaking" and "rejected" in dropped.consequence
    explicit = replace(demo, control_plane=replace(demo.control_plane, accepted_issuers=(issuer,)))
    assert diff_specs(demo, explicit) == [], "() means only the signing issuer"

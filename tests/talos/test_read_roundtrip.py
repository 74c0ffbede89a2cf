"""Property: a spec rendered into a plan and read back is the same spec on every field the plan keeps."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrate.kubespray import load_cluster
from migrate.talos.merge import apply_patch, load_documents
from migrate.talos.read import MachineConfig, read_config
from migrate.talos.render import render, to_yaml
from migrate.talos.secrets import generate_bundle, import_pki
from migrate.talos.versions import all_versions
from tests.conftest import FIXTURES, INVENTORIES


@cache
def _demo():
    return load_cluster(INVENTORIES / "demo").spec


@cache
def _bundle():
    return generate_bundle(now=datetime(2026, 1, 1, tzinfo=UTC))


def _read_back(spec, talos, bundle=None):
    """Render, serialise to YAML as the plan writes it, parse as Talos would, apply each node's patch."""
    rendered = render(spec, bundle or _bundle(), talos)
    bases = {
        "controlplane": load_documents(to_yaml(rendered.controlplane)),
        "worker": load_documents(to_yaml(rendered.worker)),
    }
    machines = [
        MachineConfig(
            tuple(
                apply_patch(
                    bases["controlplane" if n.is_control_plane else "worker"],
                    load_documents(to_yaml(rendered.nodes[n.name])),
                )
            )
        )
        for n in spec.nodes
    ]
    return read_config(MachineConfig(tuple(bases["controlplane"])), machines, carried=spec)


def _network(draw_octet: int, prefix: int) -> str:
    return str(ipaddress.ip_network(f"10.{draw_octet}.0.0/{prefix}"))


specs = st.builds(
    lambda pod, svc, prefix, domain, mode, ntp, label, talos: (
        replace(
            _demo(),
            network=replace(
                _demo().network,
                pod_subnets=(_network(pod, prefix),),
                service_subnets=(_network(svc, 18),),
                coredns_ip=str(ipaddress.ip_network(_network(svc, 18)).network_address + 3),
                apiserver_service_ip=str(ipaddress.ip_network(_network(svc, 18)).network_address + 1),
                dns_domain=domain,
                kube_proxy_mode=mode,
            ),
            host=replace(_demo().host, ntp_servers=tuple(ntp), ntp_enabled=bool(ntp)),
            nodes=tuple(replace(n, labels={**n.labels, **label}) if n.name == "w1" else n for n in _demo().nodes),
        ),
        talos,
    ),
    pod=st.integers(100, 199),
    svc=st.integers(200, 250),
    prefix=st.sampled_from([16, 17, 18]),
    domain=st.sampled_from(["cluster.local", "k8s.example.internal", "prod.local"]),
    mode=st.sampled_from(["ipvs", "iptables", "nftables"]),
    ntp=st.lists(st.sampled_from(["ntp1.example.org", "ntp2.example.org", "10.0.0.123"]), max_size=2, unique=True),
    label=st.dictionaries(
        st.sampled_from(["example.org/zone", "team", "tier"]),
        st.sampled_from(["a", "b", "on", "off", "yes"]),
        max_size=2,
    ),
    talos=st.sampled_from([v for v in all_versions() if v.supports("1.31")]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs)
def test_render_then_read_keeps_what_the_plan_keeps(case):
    spec, talos = case
    back = _read_back(spec, talos)
    assert back.kubernetes_version == spec.kubernetes_version
    assert back.network.pod_subnets == spec.network.pod_subnets
    assert back.network.service_subnets == spec.network.service_subnets
    assert back.network.dns_domain == spec.network.dns_domain
    assert back.network.cluster_dns == spec.network.cluster_dns
    assert back.network.kube_proxy_mode == spec.network.kube_proxy_mode
    assert back.control_plane.endpoint.url == spec.control_plane.endpoint.url
    assert back.control_plane.service_account_issuer == spec.control_plane.service_account_issuer
    assert set(spec.control_plane.cert_sans) <= set(back.control_plane.cert_sans)
    if spec.host.ntp_enabled:
        assert back.host.ntp_servers == spec.host.ntp_servers
    assert {(n.name, n.ip, n.is_control_plane) for n in back.nodes} == {
        (n.name, n.ip, n.is_control_plane) for n in spec.nodes
    }
    assert back.node("w1").labels == spec.node("w1").labels, "label values like on/off/yes survive YAML both ways"
    assert {m.registry: m.endpoints for m in back.runtime.mirrors} == {
        m.registry: m.endpoints for m in spec.runtime.mirrors
    }


def _demo_pki(spec):
    return import_pki(FIXTURES / "pki" / "demo", etcd_deployment_type=spec.etcd.deployment_type,
                      now=datetime(2026, 1, 1, tzinfo=UTC))


@cache
def _cluster(name: str):
    return load_cluster(INVENTORIES / name).spec


def _flags(component) -> dict[str, str]:
    return dict(component.extra_args)


@pytest.mark.parametrize("talos", all_versions(), ids=lambda t: t.minor)
@pytest.mark.parametrize("inventory", ["demo", "encryption-aescbc", "oidc-proxy-ntp", "dual-stack", "ha-external-lb"])
def test_every_talos_version_keeps_the_clusters_values(inventory, talos):
    """One cluster planned for each Talos 1.8–1.14 (at a Kubernetes that version runs) and read back: the same
    CIDRs, DNS, endpoint, SANs, encryption and component flags, whichever document form the version uses."""
    spec = replace(_cluster(inventory), kubernetes_version=f"{talos.kubernetes_max}.0")
    joinable = inventory == "demo"  # its PKI, encryption key included, is bundled: the key must survive
    back = _read_back(spec, talos, _demo_pki(spec) if joinable else None)
    assert back.network.pod_subnets == spec.network.pod_subnets
    assert back.network.service_subnets == spec.network.service_subnets
    assert (back.network.dns_domain, back.network.cluster_dns) == (spec.network.dns_domain, spec.network.cluster_dns)
    assert back.control_plane.endpoint.url == spec.control_plane.endpoint.url
    assert set(spec.control_plane.cert_sans) <= set(back.control_plane.cert_sans)
    assert back.control_plane.service_account_issuer == spec.control_plane.service_account_issuer
    if joinable:
        assert spec.control_plane.encryption is not None
        assert back.control_plane.encryption == spec.control_plane.encryption
    for part in ("apiserver", "controller_manager", "scheduler"):
        wanted, got = _flags(getattr(spec.control_plane, part)), _flags(getattr(back.control_plane, part))
        assert {k: got.get(k) for k in wanted} == wanted, part
    assert back.kubernetes_version == spec.kubernetes_version

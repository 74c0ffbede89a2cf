"""Pod and service networks, cluster DNS, the CNI and kube-proxy, as Kubespray sets them up."""
# exercised by tests/kubespray/test_load.py and tests/acceptance/test_real_world.py

from __future__ import annotations

import ipaddress
from typing import Any

from migrate import spec as s
from migrate.errors import UserError
from migrate.kubespray.resolve import Resolution
from migrate.kubespray.settings import SETTINGS

_KNOWN_CNIS = {"calico", "cilium", "flannel", "kube-ovn", "kube-router", "macvlan", "cni", "custom_cni", "none", "cloud",
               "weave", "canal", "contiv"}


def network(r: Resolution) -> s.Network:
    ipv6 = stack_ipv6(r)
    ipv4 = bool(r.value("ipv4_stack", True))
    services = _subnets(r, "kube_service_subnets", "kube_service_addresses", "kube_service_addresses_ipv6", ipv4, ipv6)
    pods = _subnets(r, "kube_pods_subnets", "kube_pods_subnet", "kube_pods_subnet_ipv6", ipv4, ipv6)
    _check_no_overlap(r, pods, services)
    dns_mode = str(r.value("dns_mode", "coredns"))
    if dns_mode == "kubedns":  # before CoreDNS (Kubespray <= 2.10): same Service IP, and the same role for pods
        r.warnings.append(f"{r.origin('dns_mode')}: dns_mode kubedns is read as coredns (same Service IP); "
                          "the running cluster's DNS Deployment should be checked")
        dns_mode = "coredns"
    nodelocal = bool(r.value("enable_nodelocaldns", False)) and dns_mode in ("coredns", "coredns_dual")
    coredns_ip = r.value("skydns_server") or str(ipaddress.ip_network(services[0], strict=False)[3])
    nodelocal_ip = str(r.value("nodelocaldns_ip", "169.254.25.10")) if nodelocal else None
    plugin = str(r.value("kube_network_plugin", "calico"))
    if plugin not in _KNOWN_CNIS:
        r.warnings.append(f"{r.origin('kube_network_plugin')}: kube_network_plugin {plugin!r} is not a CNI Kubespray "
                          f"2.16+ deploys; its settings are not read")
    return s.Network(
        pod_subnets=pods,
        service_subnets=services,
        node_cidr_mask_size=int(r.value("kube_network_node_prefix", 24)),
        node_cidr_mask_size_ipv6=int(r.value("kube_network_node_prefix_ipv6", 120)) if ipv6 else None,
        dns_domain=str(r.value("dns_domain", "cluster.local")),
        dns_mode=dns_mode,
        coredns_ip=str(coredns_ip) if dns_mode in ("coredns", "coredns_dual") else None,
        nodelocaldns_ip=nodelocal_ip,
        cluster_dns=_cluster_dns(r, dns_mode, nodelocal_ip, coredns_ip),
        upstream_dns_servers=tuple(str(x) for x in r.value("upstream_dns_servers", []) or []),
        apiserver_service_ip=_apiserver_service_ip(r, services[0]),
        cni=s.CNI(name=plugin, settings=_cni_settings(r, plugin), multus=bool(r.value("kube_network_plugin_multus", False))),
        kube_proxy_mode=str(r.value("kube_proxy_mode", "ipvs")),
        kube_proxy_enabled=not _kube_proxy_replaced(r, plugin),
        kube_proxy_strict_arp=bool(r.value("kube_proxy_strict_arp", False)),
    )


def _apiserver_service_ip(r: Resolution, service_cidr: str) -> str:
    """The `kubernetes` Service always takes the first address of the range, whatever kube_apiserver_ip says."""
    first = str(ipaddress.ip_network(service_cidr, strict=False)[1])
    written = r.value("kube_apiserver_ip", None, needed=False)
    if written and str(written) != first:
        r.warnings.append(f"{r.origin('kube_apiserver_ip')}: kube_apiserver_ip {written} is not the first address of "
                          f"{service_cidr}; the kubernetes Service is {first} (both are kept as certificate SANs)")
    return first


def stack_ipv6(r: Resolution) -> bool:
    if r.defined("ipv6_stack"):
        return bool(r.value("ipv6_stack"))
    return bool(r.value("enable_dual_stack_networks", False))


def _subnets(r: Resolution, joined: str, v4: str, v6: str, ipv4: bool, ipv6: bool) -> tuple[str, ...]:
    """Kubespray 2.28+ joins v4,v6 in a role var; older releases read the two variables directly."""
    if r.defined(joined):
        parts = [p.strip() for p in str(r.value(joined)).split(",") if p.strip()]
    else:
        parts = ([str(r.value(v4))] if ipv4 else []) + ([str(r.value(v6))] if ipv6 else [])
    for name, cidr in zip((v4, v6) if ipv4 else (v6,), parts, strict=False):
        _network_of(r, name, cidr)
    return tuple(parts)


def _network_of(r: Resolution, name: str, cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise UserError(f"{name} is not a CIDR: {cidr!r}", where=r.where(name), hint="write it like 10.233.0.0/18") from None


def _check_no_overlap(r: Resolution, pods: tuple[str, ...], services: tuple[str, ...]) -> None:
    for pod in pods:
        for svc in services:
            p, v = ipaddress.ip_network(pod, strict=False), ipaddress.ip_network(svc, strict=False)
            if p.version == v.version and p.overlaps(v):
                raise UserError(
                    f"the pod CIDR {pod} (kube_pods_subnet, {r.origin('kube_pods_subnet')}) overlaps the service CIDR "
                    f"{svc} (kube_service_addresses, {r.origin('kube_service_addresses')})",
                    where="kube_pods_subnet",
                    hint="a cluster cannot route both; check which value the running cluster really uses (kubeadm-config)",
                )


def _cluster_dns(r: Resolution, mode: str, nodelocal_ip: str | None, coredns_ip: Any) -> tuple[str, ...]:
    """What the kubelet hands pods as their resolver (Kubespray's kubelet-config template)."""
    if nodelocal_ip:
        return (nodelocal_ip,)
    if mode == "coredns":
        return (str(coredns_ip),)
    if mode == "coredns_dual":
        return (str(coredns_ip), str(r.value("skydns_server_secondary")))
    if mode == "manual":
        return (str(r.value("manual_dns_server", "")),)
    return ()


def _cni_settings(r: Resolution, plugin: str) -> dict[str, Any]:
    prefix = {"kube-router": "kube_router_", "kube-ovn": "kube_ovn_"}.get(plugin, f"{plugin}_")
    return {
        name: r.value(name, needed=False)
        for name, area in SETTINGS.items()
        if area == "network" and name.startswith(prefix) and r.defined(name)
    }


def _kube_proxy_replaced(r: Resolution, plugin: str) -> bool:
    if r.value("kube_proxy_remove", False):
        return True
    if plugin == "cilium" and str(r.value("cilium_kube_proxy_replacement", False)).lower() in ("true", "strict"):
        return True
    if plugin == "calico" and r.value("calico_bpf_enabled", False):
        return True
    return plugin == "kube-router" and bool(r.value("kube_router_run_service_proxy", False))

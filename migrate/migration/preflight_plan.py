"""Preflight checks of the live cluster against what the plan was made for: the API's version, a control-plane
endpoint that outlives every node, and the Service and pod networks with the cluster DNS address.

Talos gets the plan's values; a cluster that runs other ones would lose its Services' addresses or its DNS the
moment a Talos node joins, so a difference here fails before anything is touched. GETs and LISTs only.
"""
# exercised by tests/migration/test_preflight.py

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import yaml

from migrate.cluster.base import Node
from migrate.migration.checks import FAIL, PASS, WARN, Check
from migrate.spec import ControlPlaneEndpoint, Network

DNS_SERVICES = ("kube-dns", "coredns")  # Kubespray names the cluster DNS Service coredns; kubeadm kube-dns


@runtime_checkable
class LiveFacts(Protocol):
    """What these checks read beyond the Cluster protocol (KubeCluster has both)."""

    def server_version(self) -> str: ...
    def list_raw(self, group: str, version: str, plural: str, namespace: str | None = None) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Planned:
    """What the plan directory says the cluster is: the version, endpoint and networks Talos will be given."""

    kubernetes_version: str = ""
    endpoint: ControlPlaneEndpoint | None = None
    network: Network | None = None


def planned_from(plan_dir: Path) -> Planned:
    from migrate.talos.plan_dir import read_plan  # the Talos documents are read only when a plan dir is checked

    spec = read_plan(plan_dir).spec
    return Planned(spec.kubernetes_version, spec.control_plane.endpoint, spec.network)


def api_version(server: str, planned: Planned) -> Check:
    name = "API version"
    if not planned.kubernetes_version:
        return Check(name, WARN, f"the API server runs {server}; the plan names no version", "re-run `plan`")
    have, want = _parts(server), _parts(planned.kubernetes_version)
    if have[:2] != want[:2]:
        return Check(name, FAIL, f"the API server runs {server}, the plan was made for {planned.kubernetes_version}",
                     "re-plan with the cluster's Kubernetes version (or upgrade first): Talos would join another minor")
    if have != want:
        return Check(name, WARN, f"the API server runs {server}, the plan was made for {planned.kubernetes_version}",
                     "re-plan with the cluster's patch release so the Talos control plane runs the same one")
    return Check(name, PASS, f"the API server runs {server}, as planned")


def _parts(version: str) -> tuple[int, ...]:
    core = version.lstrip("v").split("-")[0].split("+")[0]
    return tuple(int(p) for p in core.split(".") if p.isdigit())


def stable_endpoint(planned: Planned, nodes: Sequence[Node], kubeadm_endpoint: str | None) -> Check:
    """Every node reaches the API through one name or VIP that no single host owns: it must outlive each host."""
    name = "stable control-plane endpoint"
    owned = {a: n.name for n in nodes for a in (n.name, *n.addresses.values())}
    fix = ("put a load balancer or VIP (loadbalancer_apiserver / kube_vip) in front of the control planes, "
           "re-run Kubespray, then re-plan")
    for where, host in (("the plan", planned.endpoint.host if planned.endpoint else None),
                        ("the cluster (kubeadm-config)", _host_of(kubeadm_endpoint))):
        if not host:
            continue
        if _local(host):
            return Check(name, FAIL, f"{where} reaches the API at {host}, which is each machine itself", fix)
        if host in owned:
            return Check(name, FAIL, f"{where} reaches the API at {host}, the address of node {owned[host]}: "
                         f"it goes away with that node", fix)
    if planned.endpoint is not None and planned.endpoint.kind == "first-control-plane":
        return Check(name, FAIL, f"the plan's endpoint {planned.endpoint.host} is the first control plane's", fix)
    if planned.endpoint is None:
        return Check(name, WARN, "the plan names no control-plane endpoint", "re-run `plan`")
    return Check(name, PASS, f"{planned.endpoint.url} belongs to no single node")


def _host_of(endpoint: str | None) -> str | None:
    if not endpoint:
        return None
    rest = endpoint.split("://", 1)[-1].split("/", 1)[0]
    if rest.startswith("["):
        return rest[1:].split("]", 1)[0]
    return rest.rsplit(":", 1)[0] if rest.count(":") == 1 else rest


def _local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def kubeadm_config(configmap_data: Mapping[str, str] | None) -> Mapping[str, Any]:
    """ClusterConfiguration from kube-system/kubeadm-config ({} when the cluster has none or it is unreadable)."""
    try:
        config = yaml.safe_load((configmap_data or {}).get("ClusterConfiguration") or "") or {}
    except yaml.YAMLError:
        return {}
    return config if isinstance(config, Mapping) else {}


def networks(planned: Planned, services: Sequence[Mapping[str, Any]], raw_nodes: Sequence[Mapping[str, Any]],
             kubeadm: Mapping[str, Any]) -> Check:
    """The kubernetes Service's ClusterIP, the DNS Service's ClusterIP and each node's pod CIDR, as planned."""
    name = "CIDRs and DNS"
    net = planned.network
    if net is None:
        return Check(name, WARN, "the plan names no networks", "re-run `plan`")
    wrong: list[str] = []
    by_name = {(s["metadata"].get("namespace"), s["metadata"]["name"]): s for s in services}
    api = by_name.get(("default", "kubernetes"))
    api_ip = (api or {}).get("spec", {}).get("clusterIP")
    if api_ip and api_ip != net.apiserver_service_ip:
        wrong.append(f"Service default/kubernetes is {api_ip}, the plan's service CIDR "
                     f"{','.join(net.service_subnets)} gives {net.apiserver_service_ip}")
    dns = next((by_name[("kube-system", n)] for n in DNS_SERVICES if ("kube-system", n) in by_name), None)
    dns_ip = (dns or {}).get("spec", {}).get("clusterIP")
    if dns is not None and net.coredns_ip and dns_ip != net.coredns_ip:
        wrong.append(f"Service kube-system/{dns['metadata']['name']} is {dns_ip}, the plan gives the kubelets "
                     f"{net.coredns_ip}")
    pod_nets = [ipaddress.ip_network(s, strict=False) for s in net.pod_subnets]
    for node in raw_nodes:
        for cidr in (node.get("spec") or {}).get("podCIDRs") or []:
            block = ipaddress.ip_network(cidr, strict=False)
            if not any(block.version == p.version and block.subnet_of(p) for p in pod_nets):  # type: ignore[arg-type]
                wrong.append(f"node {node['metadata']['name']} has pods in {cidr}, outside the plan's "
                             f"{','.join(net.pod_subnets)}")
    live = kubeadm.get("networking") or {}
    for key, planned_value in (("serviceSubnet", net.service_subnets), ("podSubnet", net.pod_subnets)):
        value = live.get(key) if isinstance(live, Mapping) else None
        if isinstance(value, str) and value and [v.strip() for v in value.split(",")] != list(planned_value):
            wrong.append(f"kubeadm-config says {key} {value}, the plan {','.join(planned_value)}")
    if wrong:
        return Check(name, FAIL, "; ".join(wrong[:4]), "re-plan from the inventory this cluster was built with (its "
                     "kube_service_addresses, kube_pods_subnet, skydns_server): Talos must keep the cluster's values")
    seen = [f"kubernetes {api_ip}" if api_ip else "", f"DNS {dns_ip}" if dns_ip else ""]
    missing = [] if api_ip else ["default/kubernetes"]
    missing += [] if dns_ip or not net.coredns_ip else ["the cluster DNS Service"]
    if missing:
        return Check(name, WARN, f"could not see {', '.join(missing)}", "check RBAC allows listing Services")
    return Check(name, PASS, f"{', '.join(s for s in seen if s)} and pod CIDRs as planned")

"""Services as the API server stores them: defaults, a ClusterIP from the service range, NodePorts.

What the typed client and kubectl read back (`type`, `clusterIP(s)`, `ipFamilies`, ports with protocol and
targetPort); the allocations survive updates that leave them out, as the registry's strategy keeps them.
No kube-proxy: nothing answers on these addresses.
"""
# exercised by tests/cluster/twin/test_services.py

from __future__ import annotations

import ipaddress
from typing import Any

from migrate.cluster.twin.resources import SERVICES
from migrate.cluster.twin.status import invalid
from migrate.cluster.twin.store import Store

DEFAULT_SERVICE_SUBNET = "10.233.0.0/18"  # Kubespray's kube_service_addresses
NODE_PORTS = range(30000, 32768)


def default_service(svc: dict[str, Any]) -> None:
    """SetDefaults_Service and the fields the registry fills before allocation."""
    spec = svc.setdefault("spec", {})
    kind = spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
    if kind != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if kind in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if kind == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    svc.setdefault("status", {}).setdefault("loadBalancer", {})


def kubernetes_service(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> dict[str, Any]:
    """The Service every API server keeps in `default`: the service range's first address, 443 to the secure port."""
    return {"metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": str(network.network_address + 1), "sessionAffinity": "None",
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}}


class ServiceAllocator:
    """ClusterIPs from the service subnet (first free address, as the static band fills) and NodePorts."""

    def __init__(self, store: Store, subnet: str = DEFAULT_SERVICE_SUBNET) -> None:
        self.store = store
        self.network = ipaddress.ip_network(subnet, strict=False)

    def allocate(self, svc: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        spec = svc["spec"]
        name = svc["metadata"].get("name", "")
        if previous is not None:  # an update keeps what was allocated unless it names it
            old = previous.get("spec") or {}
            for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                if key in old:
                    spec.setdefault(key, old[key])
            old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in old.get("ports") or []}
            for port in spec.get("ports") or []:
                if old_ports.get((port.get("port"), port.get("protocol"))) and spec["type"] in ("NodePort", "LoadBalancer"):
                    port.setdefault("nodePort", old_ports[(port["port"], port["protocol"])])
        if spec["type"] == "ExternalName":
            return
        used = self._used_ips(svc)
        ip = spec.get("clusterIP") or ((spec.get("clusterIPs") or [None])[0])
        if ip is None or ip == "":
            ip = self._free_ip(used)
        elif ip != "None":
            self._check_ip(name, ip, used, previous)
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]
        spec.setdefault("ipFamilies", ["IPv6" if self.network.version == 6 else "IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            taken = self._used_node_ports(svc)
            for port in spec.get("ports") or []:
                if not port.get("nodePort"):
                    port["nodePort"] = next(p for p in NODE_PORTS if p not in taken)
                taken.add(port["nodePort"])

    def _others(self, svc: dict[str, Any]) -> list[dict[str, Any]]:
        uid = svc["metadata"].get("uid")
        return [s for s in self.store.objects(SERVICES) if uid is None or s["metadata"]["uid"] != uid]

    def _used_ips(self, svc: dict[str, Any]) -> set[str]:
        return {ip for s in self._others(svc) for ip in (s.get("spec") or {}).get("clusterIPs") or []}

    def _used_node_ports(self, svc: dict[str, Any]) -> set[int]:
        return {p["nodePort"] for s in self._others(svc) for p in (s.get("spec") or {}).get("ports") or [] if p.get("nodePort")}

    def _free_ip(self, used: set[str]) -> str:
        for address in self.network.hosts():
            if str(address) not in used:
                return str(address)
        raise invalid("Service", "", [("spec.clusterIPs", "FieldValueInvalid",
                                       "Internal error: failed to allocate a serviceIP: range is full")])

    def _check_ip(self, name: str, ip: str, used: set[str], previous: dict[str, Any] | None) -> None:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            raise invalid("Service", name, [("spec.clusterIPs[0]", "FieldValueInvalid",
                                             f'Invalid value: "{ip}": must be a valid IP address')]) from None
        if address not in self.network:
            raise invalid("Service", name, [("spec.clusterIPs", "FieldValueInvalid",
                                             f'Invalid value: []string{{"{ip}"}}: failed to allocate IP {ip}: the provided '
                                             f"IP ({ip}) is not in the valid range. The range of valid IPs is {self.network}")])
        if ip in used and previous is None:
            raise invalid("Service", name, [("spec.clusterIPs", "FieldValueInvalid",
                                             f'Invalid value: []string{{"{ip}"}}: failed to allocate IP {ip}: provided IP is '
                                             "already allocated")])

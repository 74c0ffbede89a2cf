"""Pod addresses: each node hands out IPs from its own block, as the CNI's IPAM does.

A node's block is its spec.podCIDR when it has one; otherwise the block its pods used in the snapshot
(Calico's IPAM leaves podCIDR empty); otherwise the next free /24 (/120 for IPv6) of the cluster's pod subnet.
"""
# exercised by tests/cluster/twin/test_scheduler.py

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from typing import Any

DEFAULT_POD_SUBNET = "10.233.64.0/18"  # Kubespray's kube_pods_subnet default


class PodNetwork:
    def __init__(self, pod_subnet: str = DEFAULT_POD_SUBNET):
        self.subnet = ipaddress.ip_network(pod_subnet, strict=False)
        self.blocks: dict[str, ipaddress.IPv4Network | ipaddress.IPv6Network] = {}  # node name -> block

    def learn(self, pods: Iterable[dict[str, Any]]) -> None:
        """Each node's block from the addresses its (non-hostNetwork) pods hold in a snapshot."""
        prefix = 24 if self.subnet.version == 4 else 120
        for pod in pods:
            ip, node = (pod.get("status") or {}).get("podIP"), pod["spec"].get("nodeName")
            if ip and node and not pod["spec"].get("hostNetwork") and node not in self.blocks:
                address = ipaddress.ip_address(ip)
                if address.version == self.subnet.version:
                    self.blocks[node] = ipaddress.ip_network(f"{address}/{prefix}", strict=False)

    def block(self, node: dict[str, Any]) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        cidr = (node.get("spec") or {}).get("podCIDR")
        if cidr:
            return ipaddress.ip_network(cidr, strict=False)
        name = node["metadata"]["name"]
        if name not in self.blocks:
            taken = set(self.blocks.values())
            prefix = max(self.subnet.prefixlen, 24 if self.subnet.version == 4 else 120)
            self.blocks[name] = next((b for b in self.subnet.subnets(new_prefix=prefix) if b not in taken), self.subnet)
        return self.blocks[name]

    def address(self, pod: dict[str, Any], node: dict[str, Any], in_use: set[str]) -> str:
        """A free address in the node's block, stable for a pod uid (probing past ones in use)."""
        block = self.block(node)
        hosts = block.num_addresses - 2 if block.num_addresses > 2 else block.num_addresses
        start = int(hashlib.sha256(pod["metadata"]["uid"].encode()).hexdigest(), 16) % hosts
        for step in range(hosts):
            candidate = str(block.network_address + 1 + (start + step) % hosts)
            if candidate not in in_use:
                return candidate
        return str(block.network_address + 1 + start)  # the block is full: a real IPAM would borrow another

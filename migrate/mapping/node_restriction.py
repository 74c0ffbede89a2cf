"""What the NodeRestriction admission plugin lets a kubelet put on its own Node object.

Talos applies worker labels and taints with the kubelet's credentials, so anything outside this set
never lands (and Talos retries forever): such labels are for kubectl, not the machine config.
"""

from __future__ import annotations

# labels a kubelet may set although they sit in the kubernetes.io / k8s.io namespaces
_ALLOWED_KEYS = frozenset(
    {
        "kubernetes.io/hostname",
        "kubernetes.io/arch",
        "kubernetes.io/os",
        "beta.kubernetes.io/arch",
        "beta.kubernetes.io/os",
        "beta.kubernetes.io/instance-type",
        "node.kubernetes.io/instance-type",
        "failure-domain.beta.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/zone",
        "topology.kubernetes.io/region",
        "topology.kubernetes.io/zone",
    }
)
_ALLOWED_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")
_RESTRICTED_SUFFIXES = ("kubernetes.io", "k8s.io")


def kubelet_may_set_label(key: str) -> bool:
    if key in _ALLOWED_KEYS:
        return True
    prefix = key.split("/", 1)[0] if "/" in key else ""
    if prefix.startswith("node-restriction.kubernetes.io"):
        return False
    if any(prefix == ns or prefix.endswith("." + ns) for ns in _ALLOWED_NAMESPACES):
        return True
    return not any(prefix == s or prefix.endswith("." + s) for s in _RESTRICTED_SUFFIXES)

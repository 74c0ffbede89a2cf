"""NodeRestriction: which labels a kubelet may put on its own Node."""

import pytest

from migrate.mapping.node_restriction import kubelet_may_set_label


@pytest.mark.parametrize("key, allowed", [
    ("node-role.kubernetes.io/worker", False),
    ("node-role.kubernetes.io/control-plane", False),
    ("example.k8s.io/thing", False),
    ("node-restriction.kubernetes.io/pool", False),
    ("topology.kubernetes.io/zone", True),
    ("kubernetes.io/hostname", True),
    ("node.kubernetes.io/instance-type", True),
    ("kubelet.kubernetes.io/anything", True),
    ("disk.node.kubernetes.io/ssd", True),
    ("nvidia.com/gpu.present", True),
    ("team", True),
])
def test_kubelet_may_set_label(key, allowed):
    assert kubelet_may_set_label(key) is allowed

"""Strategic merge of Talos documents, checked against Talos's own rules and its gen-config fixtures."""

from __future__ import annotations

import pytest

from migrate.errors import UserError
from migrate.talos.merge import apply_patch, load_documents
from tests.conftest import shared_path, talos_reference_dirs


def _docs(text: str) -> list[dict]:
    return load_documents(text)


def test_yaml_keeps_go_strings_off_and_dates():
    (doc,) = _docs(
        "kind: HostnameConfig\napiVersion: v1alpha1\nauto: off\nwhen: 2024-01-01\nflag: true\nyes_key: yes\n"
    )
    assert doc["auto"] == "off"
    assert doc["when"] == "2024-01-01"
    assert doc["flag"] is True
    assert doc["yes_key"] == "yes"


def test_maps_merge_scalars_override_lists_append():
    base = _docs("version: v1alpha1\nmachine:\n  certSANs: [a]\n  kubelet: {image: x, extraArgs: {v: '2'}}\n")
    patch = _docs("machine:\n  certSANs: [b]\n  kubelet: {image: y, extraArgs: {max-pods: '50'}}\n")
    (merged,) = apply_patch(base, patch)
    assert merged["machine"]["certSANs"] == ["a", "b"]
    assert merged["machine"]["kubelet"] == {"image": "y", "extraArgs": {"v": "2", "max-pods": "50"}}
    assert base[0]["machine"]["certSANs"] == ["a"], "inputs stay untouched"


def test_replace_fields_are_replaced_not_appended():
    base = _docs(
        "version: v1alpha1\ncluster:\n  network:\n    podSubnets: [10.244.0.0/16]\n    serviceSubnets: [10.96.0.0/12]\n"
        "  apiServer:\n    auditPolicy: {kind: Policy, rules: [{level: Metadata}]}\n"
    )
    patch = _docs(
        "cluster:\n  network:\n    podSubnets: [10.233.64.0/18]\n    serviceSubnets: [10.233.0.0/18]\n"
        "  apiServer:\n    auditPolicy: {kind: Policy, rules: [{level: None}]}\n"
    )
    (merged,) = apply_patch(base, patch)
    assert merged["cluster"]["network"] == {"podSubnets": ["10.233.64.0/18"], "serviceSubnets": ["10.233.0.0/18"]}
    assert merged["cluster"]["apiServer"]["auditPolicy"]["rules"] == [{"level": "None"}]


def test_interfaces_merge_by_name_and_vlans_by_id():
    base = _docs(
        "version: v1alpha1\nmachine:\n  network:\n    interfaces:\n"
        "      - interface: eth0\n        addresses: [10.0.0.2/24]\n        vlans: [{vlanId: 10, mtu: 1500}]\n"
        "      - deviceSelector: {hardwareAddr: 'aa:*'}\n        dhcp: true\n"
    )
    patch = _docs(
        "machine:\n  network:\n    interfaces:\n"
        "      - interface: eth0\n        mtu: 9000\n        vlans: [{vlanId: 10, mtu: 1400}, {vlanId: 20}]\n"
        "      - deviceSelector: {hardwareAddr: 'aa:*'}\n        $patch: delete\n"
        "      - interface: eth1\n        dhcp: true\n"
    )
    (merged,) = apply_patch(base, patch)
    ifaces = merged["machine"]["network"]["interfaces"]
    assert [i.get("interface") for i in ifaces] == ["eth0", "eth1"]
    assert ifaces[0]["mtu"] == 9000 and ifaces[0]["addresses"] == ["10.0.0.2/24"]
    assert ifaces[0]["vlans"] == [{"vlanId": 10, "mtu": 1400}, {"vlanId": 20}]


def test_patch_delete_removes_keys_and_documents():
    base = _docs(
        "version: v1alpha1\ncluster:\n  secretboxEncryptionSecret: s\n  coreDNS: {disabled: false}\n"
        "---\napiVersion: v1alpha1\nkind: HostnameConfig\nauto: stable\n"
    )
    patch = _docs(
        "cluster:\n  secretboxEncryptionSecret: {$patch: delete}\n"
        "---\napiVersion: v1alpha1\nkind: HostnameConfig\n$patch: delete\n"
    )
    merged = apply_patch(base, patch)
    assert merged == [{"version": "v1alpha1", "cluster": {"coreDNS": {"disabled": False}}}]


def test_documents_match_on_kind_and_name_missing_ones_append():
    base = _docs("apiVersion: v1alpha1\nkind: RegistryMirrorConfig\nname: docker.io\nendpoints: [{url: https://a}]\n")
    patch = _docs(
        "apiVersion: v1alpha1\nkind: RegistryMirrorConfig\nname: docker.io\nendpoints: [{url: https://b}]\n"
        "---\napiVersion: v1alpha1\nkind: RegistryMirrorConfig\nname: quay.io\nendpoints: [{url: https://q}]\n"
    )
    merged = apply_patch(base, patch)
    assert [d["name"] for d in merged] == ["docker.io", "quay.io"]
    assert merged[0]["endpoints"] == [{"url": "https://a"}, {"url": "https://b"}]


def test_patch_touching_a_document_twice_is_refused():
    patch = _docs(
        "apiVersion: v1alpha1\nkind: HostnameConfig\nauto: off\n---\napiVersion: v1alpha1\nkind: HostnameConfig\nhostname: x\n"
    )
    with pytest.raises(UserError, match="twice"):
        apply_patch([], patch)


def test_upstream_patch_fixture_appends_kubelet_mount():
    root = shared_path("talos", "gen-config-reference")
    patch = load_documents((root / "patch.yaml").read_text())
    # upstream applies this v1alpha1 patch to contracts ≤1.13 only: 1.14 has no machine.kubelet (KubeletConfig)
    for version_dir in [d for d in talos_reference_dirs() if tuple(map(int, d.name[1:].split("."))) < (1, 14)]:
        base = load_documents((version_dir / "base-controlplane.yaml").read_text())
        merged = apply_patch(base, patch)
        assert merged[0]["machine"]["kubelet"]["extraMounts"][0]["destination"] == "/var/opt"
        assert merged[0]["machine"]["kubelet"]["image"] == base[0]["machine"]["kubelet"]["image"]
        assert len(merged) == len(base)


def test_bad_yaml_names_the_line():
    with pytest.raises(UserError, match=r"cp.yaml:\d+: not valid YAML"):
        load_documents("machine:\n  type: [controlplane\n", where="cp.yaml")

"""Bad inventories get one clear message naming the file, line, host or variable; never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from migrate.errors import UserError
from migrate.kubespray import load_cluster
from tests.conftest import INVENTORIES

HOSTS = """\
all:
  hosts:
    cp1: {ansible_host: 10.1.0.11, ip: 10.1.0.11}
    w1: {ansible_host: 10.1.0.21, ip: 10.1.0.21}
  children:
    kube_control_plane: {hosts: {cp1: }}
    etcd: {hosts: {cp1: }}
    kube_node: {hosts: {w1: }}
"""


def inventory(tmp_path: Path, hosts: str = HOSTS, **group_vars: str) -> Path:
    (tmp_path / "hosts.yaml").write_text(hosts)
    for group, text in group_vars.items():
        target = tmp_path / "group_vars" / group / "main.yml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return tmp_path


def refused(path: Path, **kw) -> str:
    with pytest.raises(UserError) as info:
        load_cluster(path, **kw)
    return str(info.value)


def test_missing_directory(tmp_path):
    assert str(tmp_path / "nope") in refused(tmp_path / "nope")


def test_malformed_ini(tmp_path):
    (tmp_path / "inventory.ini").write_text("[kube_control_plane]\ncp1 ansible_host=10.0.0.1\n[kube_node\nw1\n")
    message = refused(tmp_path)
    assert "inventory.ini" in message


def test_malformed_yaml_names_the_file_and_line(tmp_path):
    message = refused(inventory(tmp_path, k8s_cluster="kube_proxy_mode: ipvs\n  bad: [unclosed\n"))
    assert "group_vars/k8s_cluster/main.yml" in message
    assert ":2" in message or "line 2" in message


def test_no_control_plane_group(tmp_path):
    hosts = "all:\n  children:\n    kube_node:\n      hosts:\n        w1: {ip: 10.1.0.21}\n"
    message = refused(inventory(tmp_path, hosts))
    assert "kube_control_plane" in message and "kube_node" in message


def test_worker_without_address_is_legal_and_said(tmp_path):
    """Ansible reaches such a host by name and Kubespray takes its address from facts: read, with a warning."""
    hosts = HOSTS.replace("w1: {ansible_host: 10.1.0.21, ip: 10.1.0.21}", "w1: {}")
    resolved = load_cluster(inventory(tmp_path, hosts))
    assert resolved.spec.node("w1").ip is None
    assert any("w1" in w and "at run time" in w for w in resolved.warnings)
    observed = load_cluster(inventory(tmp_path, hosts), observed_addresses={"w1": "10.1.0.29"})
    assert observed.spec.node("w1").ip == "10.1.0.29"
    assert not any("at run time" in w for w in observed.warnings)


def test_two_hosts_with_one_ip(tmp_path):
    hosts = HOSTS.replace("ip: 10.1.0.21", "ip: 10.1.0.11")
    message = refused(inventory(tmp_path, hosts))
    assert "cp1" in message and "w1" in message and "10.1.0.11" in message


def test_undefined_variable_in_a_needed_setting(tmp_path):
    path = inventory(tmp_path, k8s_cluster='kube_service_addresses: "{{ corp_service_range }}"\n')
    message = refused(path)
    assert "kube_service_addresses" in message and "corp_service_range" in message
    assert "group_vars/k8s_cluster/main.yml:1" in message


def test_undefined_variable_nobody_needs_is_a_warning(tmp_path):
    path = inventory(tmp_path, k8s_cluster='kube_proxy_min_sync_period: "{{ tuning.proxy_sync }}"\n')
    resolved = load_cluster(path)
    assert any("kube_proxy_min_sync_period" in w and "tuning" in w for w in resolved.warnings)


def test_jinja_syntax_error(tmp_path):
    message = refused(inventory(tmp_path, k8s_cluster='kube_pods_subnet: "{{ 10.233.64.0/18 | }}"\n'))
    assert "kube_pods_subnet" in message and "main.yml:1" in message


def test_overlapping_pod_and_service_cidrs(tmp_path):
    path = inventory(tmp_path, k8s_cluster="kube_service_addresses: 10.233.0.0/16\nkube_pods_subnet: 10.233.64.0/18\n")
    message = refused(path)
    assert "10.233.0.0/16" in message and "10.233.64.0/18" in message and "overlap" in message


def test_unknown_release(tmp_path):
    message = refused(INVENTORIES / "demo", kubespray_version="2.9")
    assert "2.9" in message and "2.16" in message


@pytest.mark.parametrize("password", [None, "wrong"])
def test_vault_file_without_or_with_a_wrong_password(tmp_path, password):
    copy = tmp_path / "inv"
    shutil.copytree(INVENTORIES / "vault-file", copy)
    kw = {}
    if password:
        (tmp_path / "pass").write_text(password)
        kw["vault_password_file"] = tmp_path / "pass"
    message = refused(copy, **kw)
    assert "vault" in message.lower() and "--vault-password-file" in message or "password" in message


def test_yaml_anchor_bomb_is_refused_quickly(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n" \
           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n" \
           "kube_feature_gates: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
    path = inventory(tmp_path, k8s_cluster=bomb)
    try:
        resolved = load_cluster(path)
    except UserError as exc:
        assert "main.yml" in str(exc)
    else:  # Ansible shares anchored nodes; reading must still not expand them into a billion strings
        assert resolved.spec.nodes


def test_ini_error_names_the_line(tmp_path):
    (tmp_path / "inventory.ini").write_text("[kube_control_plane]\ncp1 ansible_host=10.0.0.1\n\n[kube_node]\nw1 ip = 10.0.0.2\n")
    assert "inventory.ini:5" in refused(tmp_path)


def test_reading_never_runs_side_effect_lookups(tmp_path):
    marker = tmp_path / "ran"
    path = inventory(tmp_path, k8s_cluster=(
        f"kubeadm_certificate_key: \"{{{{ lookup('password', '{tmp_path}/creds/key.creds length=64') }}}}\"\n"
        f"my_probe: \"{{{{ lookup('pipe', 'touch {marker}') }}}}\"\n"))
    resolved = load_cluster(path)
    assert not (tmp_path / "creds").exists() and not marker.exists()
    assert resolved.spec.nodes  # not needed by the migration, so not an error either


def test_a_group_name_written_as_a_host_is_refused(tmp_path):
    (tmp_path / "inventory.ini").write_text(
        "[kube_control_plane]\ncp1 ip=10.0.0.1\n[kube_node]\nw1 ip=10.0.0.2\n[etcd]\nkube_control_plane\n")
    message = refused(tmp_path)
    assert "inventory.ini:6" in message and "[etcd:children]" in message


def test_taints_must_be_kubectl_strings(tmp_path):
    hosts = HOSTS.replace("w1: {ansible_host: 10.1.0.21, ip: 10.1.0.21}",
                          "w1: {ansible_host: 10.1.0.21, ip: 10.1.0.21, node_taints: [{key: dedicated, effect: NoSchedule}]}")
    message = refused(inventory(tmp_path, hosts))
    assert "node_taints" in message and "w1" in message and "hosts.yaml" in message


def test_yaml_errors_keep_the_context_line(tmp_path):
    path = inventory(tmp_path, all="offline: true\nimage_repo:\n\n\"{{ kube_image_repo }}/x\"\n  nested: 1\n")
    message = refused(path)
    assert "group_vars/all/main.yml:" in message and "YAML syntax" in message


def test_group_vars_for_a_group_that_does_not_exist_is_said(tmp_path):
    path = inventory(tmp_path, **{"k8s-cluster": "kube_network_plugin: flannel\n"})
    resolved = load_cluster(path)
    assert resolved.spec.network.cni.name == "calico"  # Ansible never applies it...
    assert any("group_vars/k8s-cluster" in w and "k8s_cluster" in w for w in resolved.warnings)  # ...and we say so


def test_kubernetes_service_ip_is_the_first_address_whatever_kube_apiserver_ip_says(tmp_path):
    path = inventory(tmp_path, k8s_cluster="kube_service_addresses: 10.96.0.0/12\nkube_apiserver_ip: 192.168.4.63\n")
    resolved = load_cluster(path)
    assert resolved.spec.network.apiserver_service_ip == "10.96.0.1"
    assert {"10.96.0.1", "192.168.4.63"} <= set(resolved.spec.control_plane.cert_sans)
    assert any("kube_apiserver_ip" in w for w in resolved.warnings)


def test_wrong_password_for_inline_vault_values_is_refused(tmp_path):
    (tmp_path / "wrong").write_text("not-the-password\n")
    message = refused(INVENTORIES / "vault-inline", vault_password_file=tmp_path / "wrong")
    assert "does not decrypt" in message and "k8s-cluster.yml:" in message

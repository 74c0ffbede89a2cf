"""The Kubespray settings this tool reads: every variable that reaches the running cluster, by area."""

from __future__ import annotations

import yaml

from migrate.mapping.data import MAPPINGS_DIR

_FILE = MAPPINGS_DIR / "kubespray" / "settings.yaml"

# name -> area (api-server, security, kubelet, network, dns, etcd, runtime, host, node, ...)
SETTINGS: dict[str, str] = {
    name: area for area, names in yaml.safe_load(_FILE.read_text()).items() for name in names
}

# host variables: read per host, never once for the cluster
HOST_SETTINGS = frozenset({"ip", "access_ip", "ip6", "access_ip6", "etcd_member_name", "node_labels", "node_taints",
                           "kube_override_hostname", "ansible_host"})

# values that are secret material: never rendered (lookups may write files), never shown
SECRET_SETTINGS = frozenset({"kube_encrypt_token", "containerd_registry_auth", "crio_registry_auth",
                             "kube_webhook_token_auth_ca_data", "kube_oidc_ca_cert"})

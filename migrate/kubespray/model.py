"""From Kubespray's effective variables to the neutral ClusterSpec, the way Kubespray's roles use them."""

from __future__ import annotations

import ipaddress
from typing import Any

from migrate import spec as s
from migrate.errors import UserError
from migrate.kubespray.inventory import CLUSTER, CONTROL_PLANE, ETCD, WORKERS, LoadedInventory
from migrate.kubespray.resolve import Resolution

# KubeletConfiguration field <- Kubespray variable, emitted only when the variable is defined
_KUBELET_FIELDS = {
    "maxPods": "kubelet_max_pods",
    "podPidsLimit": "kubelet_pod_pids_limit",
    "readOnlyPort": "kube_read_only_port",
    "statusUpdateFrequency": "kubelet_status_update_frequency",
    "shutdownGracePeriod": "kubelet_shutdown_grace_period",
    "shutdownGracePeriodCriticalPods": "kubelet_shutdown_grace_period_critical_pods",
    "failSwapOn": "kubelet_fail_swap_on",
    "protectKernelDefaults": "kubelet_protect_kernel_defaults",
    "rotateCertificates": "kubelet_rotate_certificates",
    "serverTLSBootstrap": "kubelet_rotate_server_certificates",
    "cgroupDriver": "kubelet_cgroup_driver",
    "cpuManagerPolicy": "kubelet_cpu_manager_policy",
    "topologyManagerPolicy": "kubelet_topology_manager_policy",
    "topologyManagerScope": "kubelet_topology_manager_scope",
    "imageGCHighThresholdPercent": "kubelet_image_gc_high_threshold",
    "imageGCLowThresholdPercent": "kubelet_image_gc_low_threshold",
    "streamingConnectionIdleTimeout": "kubelet_streaming_connection_idle_timeout",
    "seccompDefault": "kubelet_seccomp_default",
    "makeIPTablesUtilChains": "kubelet_make_iptables_util_chains",
    "containerLogMaxFiles": "kubelet_logfiles_max_nr",
    "containerLogMaxSize": "kubelet_logfiles_max_size",
    "eventRecordQPS": "kubelet_event_record_qps",
    "maxParallelImagePulls": "kubelet_max_parallel_image_pulls",
}
_ETCD_FLAGS = {
    "heartbeat-interval": "etcd_heartbeat_interval",
    "election-timeout": "etcd_election_timeout",
    "quota-backend-bytes": "etcd_quota_backend_bytes",
    "auto-compaction-retention": "etcd_compaction_retention",
    "max-request-bytes": "etcd_max_request_bytes",
    "snapshot-count": "etcd_snapshot_count",
    "log-level": "etcd_log_level",
}
_UPSTREAM_IMAGE_REPOS = {"registry.k8s.io", "k8s.gcr.io", "docker.io", "quay.io", "ghcr.io", "gcr.io"}
_FLATCAR_PYTHON = "/opt/bin/python"
_KNOWN_CNIS = {"calico", "cilium", "flannel", "kube-ovn", "kube-router", "macvlan", "cni", "custom_cni", "none", "cloud",
               "weave", "canal", "contiv"}


def build_spec(inventory: LoadedInventory, cluster: Resolution, hosts: dict[str, Resolution]) -> s.ClusterSpec:
    """The cluster as Kubespray deployed it. `cluster` resolves on the first control plane, `hosts` per host."""
    kubelet = _kubelet(cluster, control_plane=True)
    by_role: dict[bool, dict[str, Any]] = {}
    nodes = tuple(_node(inventory, name, hosts[name], _kubelet_differences(inventory, cluster, hosts[name], kubelet, by_role))
                  for name in hosts)
    _check_addresses(nodes, hosts)
    guessed = [n.name for n, r in zip(nodes, hosts.values(), strict=True) if n.ip and not r.value("ip", None)]
    if guessed:
        shown = ", ".join(guessed[:5]) + (f" and {len(guessed) - 5} more" if len(guessed) > 5 else "")
        cluster.warnings.append(f"{len(guessed)} host(s) have no ip, so their node address is taken from ansible_host: "
                                f"{shown}; set ip where the two differ (NAT, jump hosts)")
    network = _network(cluster)
    dns_domain = network.dns_domain
    control_planes = [n for n in nodes if n.is_control_plane]
    return s.ClusterSpec(
        name=str(cluster.value("cluster_name", "cluster.local")),
        kubernetes_version=str(cluster.value("kube_version", cluster.defaults.release.default_kube)).lstrip("v"),
        network=network,
        control_plane=_control_plane(cluster, control_planes, dns_domain, network.apiserver_service_ip),
        kubelet=kubelet,
        etcd=_etcd(inventory, cluster, hosts, nodes),
        runtime=_runtime(cluster),
        host=_host_os(cluster),
        nodes=nodes,
    )


# --- network ---------------------------------------------------------------------------------------

def _network(r: Resolution) -> s.Network:
    ipv6 = _stack_ipv6(r)
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


def _stack_ipv6(r: Resolution) -> bool:
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
        raise UserError(f"{name} is not a CIDR: {cidr!r}", where=r.origin(name), hint="write it like 10.233.0.0/18") from None


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
    from migrate.kubespray.settings import SETTINGS

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


# --- control plane ---------------------------------------------------------------------------------

def _control_plane(r: Resolution, control_planes: list[s.NodeSpec], dns_domain: str, apiserver_ip: str) -> s.ControlPlane:
    port = int(r.value("kube_apiserver_port", 6443))
    endpoint = _endpoint(r, control_planes, port)
    apiserver_args = _args(r.value("kube_kubeadm_apiserver_extra_args", {}))
    if _stack_ipv6(r):  # the bind address only changes what the API server answers on with IPv6 (2.28+: "::")
        apiserver_args.setdefault("bind-address", str(r.value("kube_apiserver_bind_address", "::")))
    issuer = apiserver_args.get("service-account-issuer", f"https://kubernetes.default.svc.{dns_domain}")
    audiences = tuple(a for a in apiserver_args.get("api-audiences", "").split(",") if a) or (issuer,)
    admission = tuple(r.value("kube_apiserver_enable_admission_plugins", []) or [])
    return s.ControlPlane(
        endpoint=endpoint,
        cert_sans=_cert_sans(r, control_planes, dns_domain, apiserver_ip, endpoint),
        apiserver_port=port,
        apiserver=s.Component(apiserver_args, _gates(r, "kube_apiserver_feature_gates")),
        controller_manager=s.Component(_controller_manager_args(r), _gates(r, "kube_controller_feature_gates")),
        scheduler=s.Component(_args(r.value("kube_kubeadm_scheduler_extra_args", {})), _gates(r, "kube_scheduler_feature_gates")),
        service_account_issuer=issuer,
        api_audiences=audiences,
        authorization_modes=tuple(r.value("authorization_modes", ["Node", "RBAC"]) or ()),
        admission_plugins=admission,
        disabled_admission_plugins=tuple(r.value("kube_apiserver_disable_admission_plugins", []) or []),
        pod_security_defaults=bool(r.value("kube_pod_security_use_default", False)) and "PodSecurity" in admission,
        node_port_range=str(r.value("kube_apiserver_node_port_range", "30000-32767")),
        anonymous_auth=bool(r.value("kube_api_anonymous_auth", True)),
        oidc=_oidc(r),
        audit=_audit(r),
        encryption=_encryption(r),
    )


def _controller_manager_args(r: Resolution) -> dict[str, str]:
    """kubeadm extraArgs, plus allocate-node-cidrs=false where Kubespray's kubeadm template writes it (Calico IPAM)."""
    args = _args(r.value("kube_kubeadm_controller_extra_args", {}))
    calico_ipam = r.value("kube_network_plugin", "calico") == "calico" and not r.value("calico_ipam_host_local", False)
    if calico_ipam or r.value("kube_controller_manager_allocate_node_cidrs", True) is False:
        args.setdefault("allocate-node-cidrs", "false")
    return args


def _endpoint(r: Resolution, control_planes: list[s.NodeSpec], port: int) -> s.ControlPlaneEndpoint:
    lb = r.value("loadbalancer_apiserver")
    if isinstance(lb, dict) and lb.get("address"):
        host = r.value("apiserver_loadbalancer_domain_name") or lb["address"]
        if host == "localhost":  # 2.30+ spells the localhost-LB case this way; kubeadm still dials the LB address
            host = lb["address"]
        return s.ControlPlaneEndpoint(str(host), int(lb.get("port", port)), "loadbalancer")
    first = control_planes[0]
    return s.ControlPlaneEndpoint(str(first.access_ip or first.ip or first.name), port, "first-control-plane")


def _cert_sans(r: Resolution, cps: list[s.NodeSpec], dns_domain: str, apiserver_ip: str, ep: s.ControlPlaneEndpoint) -> tuple[str, ...]:
    """The apiserver certificate SANs Kubespray's kubeadm-setup.yml builds (host facts aside)."""
    sans: list[str] = ["kubernetes", "kubernetes.default", "kubernetes.default.svc", f"kubernetes.default.svc.{dns_domain}",
                       apiserver_ip, str(r.value("kube_apiserver_ip", apiserver_ip, needed=False)), "localhost", "127.0.0.1"]
    lb = r.value("loadbalancer_apiserver")
    if isinstance(lb, dict) and lb.get("address"):
        sans += [ep.host, str(lb["address"])]
    sans += [str(x) for x in r.value("supplementary_addresses_in_ssl_keys", []) or []]
    for n in cps:
        sans += [a for a in (n.access_ip, n.ip, n.ip6, n.name) if a]
    if r.value("kube_vip_enabled", False) and r.value("kube_vip_address"):
        sans.append(str(r.value("kube_vip_address")))
    return tuple(dict.fromkeys(sans))


def _args(value: Any) -> dict[str, str]:
    """kubeadm extraArgs: flag -> string (YAML may have given numbers or booleans)."""
    if not isinstance(value, dict):
        return {}
    return {str(k): _flag_value(v) for k, v in value.items()}


def _flag_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    return str(v)


def _gates(r: Resolution, own: str) -> dict[str, bool]:
    """A component's own gate list wins when non-empty, else kube_feature_gates (Kubespray's rule)."""
    items = r.value(own, None, needed=False) or r.value("kube_feature_gates", []) or []
    gates: dict[str, bool] = {}
    for item in items:
        name, _, flag = str(item).partition("=")
        gates[name.strip()] = flag.strip().lower() in ("true", "1", "yes")
    return gates


def _oidc(r: Resolution) -> s.OIDC | None:
    if not (r.value("kube_oidc_auth", False) and r.defined("kube_oidc_url") and r.defined("kube_oidc_client_id")):
        return None
    opt = lambda name: (str(r.value(name)) if r.defined(name) else None)  # noqa: E731
    return s.OIDC(
        issuer_url=str(r.value("kube_oidc_url")), client_id=str(r.value("kube_oidc_client_id")),
        username_claim=opt("kube_oidc_username_claim"), username_prefix=opt("kube_oidc_username_prefix"),
        groups_claim=opt("kube_oidc_groups_claim"), groups_prefix=opt("kube_oidc_groups_prefix"),
        ca_file=opt("kube_oidc_ca_file"),
    )


def _audit(r: Resolution) -> s.Audit | None:
    if not r.value("kubernetes_audit", False):
        return None
    return s.Audit(
        log_path=str(r.value("audit_log_path", s.Audit.log_path)),
        max_age=int(r.value("audit_log_maxage", 30)), max_backups=int(r.value("audit_log_maxbackups", 10)),
        max_size=int(r.value("audit_log_maxsize", 100)),
        policy_file=str(r.value("audit_policy_file", s.Audit.policy_file)),
    )


def _encryption(r: Resolution) -> s.SecretsEncryption | None:
    if not r.value("kube_encrypt_secret_data", False):
        return None
    return s.SecretsEncryption(
        provider=str(r.value("kube_encryption_algorithm", "secretbox")),
        key_name="key",  # Kubespray's secrets_encryption.yaml template names its only key "key"
        resources=tuple(r.value("kube_encryption_resources", ["secrets"]) or ["secrets"]),
    )


# --- kubelet, etcd, runtime, host ------------------------------------------------------------------

def _kubelet(r: Resolution, control_plane: bool) -> s.Kubelet:
    config = {f: r.value(v, needed=False) for f, v in _KUBELET_FIELDS.items() if r.defined(v)}
    config.setdefault("cgroupDriver", "systemd")  # the kubelet-config template's own default
    config.update(_reservations(r, control_plane))
    eviction = r.value("eviction_hard", {}, needed=False)
    if eviction:
        config["evictionHard"] = eviction
    extra = r.value("kubelet_config_extra_args", {}, needed=False)
    if isinstance(extra, dict):
        config.update(extra)
    flags: dict[str, str] = {}
    for flag in r.value("kubelet_custom_flags", [], needed=False) or []:
        name, _, val = str(flag).lstrip("-").partition("=")
        flags[name] = val
    return s.Kubelet(config=config, extra_args=flags, feature_gates=_gates(r, "kubelet_feature_gates"))


_KUBELET_INPUTS = tuple(_KUBELET_FIELDS.values()) + (
    "eviction_hard", "kubelet_config_extra_args", "kubelet_custom_flags", "kubelet_feature_gates", "kube_feature_gates",
    "system_reserved", "kube_cpu_reserved", "kube_memory_reserved", "system_cpu_reserved", "system_memory_reserved",
    "kube_master_cpu_reserved", "kube_master_memory_reserved", "kube_ephemeral_storage_reserved", "kube_pid_reserved",
)


def _kubelet_differences(inv: LoadedInventory, cluster: Resolution, host: Resolution, kubelet: s.Kubelet,
                         by_role: dict[bool, dict[str, Any]]) -> dict[str, Any]:
    """Kubelet fields this host runs differently (group_vars/kube_node.yml, or per-role defaults), for its own patch."""
    control_plane = host.host in inv.groups.get(CONTROL_PLANE, ())
    same_inputs = all(host.raw(v) == cluster.raw(v) for v in _KUBELET_INPUTS)
    if same_inputs and control_plane in by_role:
        return by_role[control_plane]  # hosts with the same inputs and role run the same kubelet: compute once
    own = _kubelet(host, control_plane=control_plane).config
    differences = {k: v for k, v in own.items() if kubelet.config.get(k) != v}
    if same_inputs:
        by_role[control_plane] = differences
    return differences


def _reservations(r: Resolution, control_plane: bool) -> dict[str, Any]:
    """kubeReserved always (control planes had their own cpu/memory before 2.27); systemReserved always from 2.27,
    before only when system_reserved is on."""
    old_cp = control_plane and not r.defaults.release.at_least("2.27")
    kube = {"cpu": "kube_master_cpu_reserved" if old_cp else "kube_cpu_reserved",
            "memory": "kube_master_memory_reserved" if old_cp else "kube_memory_reserved",
            "ephemeral-storage": "kube_ephemeral_storage_reserved", "pid": "kube_pid_reserved"}
    system = {"cpu": "system_cpu_reserved", "memory": "system_memory_reserved",
              "ephemeral-storage": "system_ephemeral_storage_reserved", "pid": "system_pid_reserved"}
    out: dict[str, Any] = {}
    reserved = {k: str(r.value(v)) for k, v in kube.items() if r.defined(v)}
    if reserved:
        out["kubeReserved"] = reserved
    if r.defaults.release.at_least("2.27") or r.value("system_reserved", False):
        sys_reserved = {k: str(r.value(v)) for k, v in system.items() if r.defined(v)}
        if sys_reserved:
            out["systemReserved"] = sys_reserved
    return out


def _etcd(inv: LoadedInventory, r: Resolution, hosts: dict[str, Resolution], nodes: tuple[s.NodeSpec, ...]) -> s.Etcd:
    kind = "kubeadm" if r.value("etcd_kubeadm_enabled", False) else str(r.value("etcd_deployment_type", "host"))
    members_hosts = list(inv.groups.get(ETCD, ())) or (list(inv.groups.get(CONTROL_PLANE, ())) if kind == "kubeadm" else [])
    by_host = {n.name: n for n in nodes}
    names = {h: _node_name(hosts[h], h) for h in hosts}
    members = []
    for i, host in enumerate(members_hosts, start=1):
        node = by_host[names[host]]
        address = _url_host(node.access_ip or node.ip or node.name)
        member = node.etcd_member_name if kind != "kubeadm" else None
        members.append(s.EtcdMember(str(member or (node.name if kind == "kubeadm" else f"etcd{i}")), node.name,
                                    f"https://{address}:2380", f"https://{address}:2379"))
    flags = {flag: str(r.value(var)) for flag, var in _ETCD_FLAGS.items() if r.defined(var)}
    extra = r.value("etcd_extra_vars", {}, needed=False)
    if isinstance(extra, dict):
        flags.update({str(k).replace("_", "-"): str(v) for k, v in extra.items()})
    return s.Etcd(
        deployment_type=kind,
        members=tuple(members),
        cert_dir="/etc/kubernetes/ssl/etcd" if kind == "kubeadm" else "/etc/ssl/etcd/ssl",
        data_dir=str(r.value("etcd_data_dir", "/var/lib/etcd")),
        extra_args=flags,
        events_cluster=bool(r.value("etcd_events_cluster_enabled", False)),
    )


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _runtime(r: Resolution) -> s.ContainerRuntime:
    manager = str(r.value("container_manager", "containerd"))
    mirrors: list[s.RegistryMirror] = []
    insecure: list[str] = []
    if manager == "containerd":
        for entry in r.value("containerd_registries_mirrors", [], needed=False) or []:
            hosts = [m for m in entry.get("mirrors", []) if isinstance(m, dict)]
            endpoints = tuple(str(m.get("host")) for m in hosts if m.get("host"))
            if entry.get("prefix") == "docker.io" and endpoints == ("https://registry-1.docker.io",):
                continue  # Kubespray's default entry: docker.io served by itself, no mirror
            mirrors.append(s.RegistryMirror(str(entry.get("prefix")), endpoints,
                                            any(bool(m.get("skip_verify")) for m in hosts),
                                            any(bool(m.get("override_path")) for m in hosts)))
        for prefix, endpoint in (r.value("containerd_registries", {}, needed=False) or {}).items():
            endpoints = tuple(endpoint) if isinstance(endpoint, list) else (str(endpoint),)
            mirrors.append(s.RegistryMirror(str(prefix), endpoints))
        insecure += list((r.value("containerd_insecure_registries", {}, needed=False) or {}).keys())
    elif manager == "docker":
        mirrors_list = tuple(str(m) for m in r.value("docker_registry_mirrors", [], needed=False) or [])
        if mirrors_list:
            mirrors.append(s.RegistryMirror("docker.io", mirrors_list))
        insecure += [str(x) for x in r.value("docker_insecure_registries", [], needed=False) or []]
    elif manager == "crio":
        for reg in r.value("crio_registries", [], needed=False) or []:
            if isinstance(reg, dict) and reg.get("mirrors"):
                mirrors.append(s.RegistryMirror(str(reg.get("prefix") or reg.get("location")),
                                                tuple(str(m.get("location")) for m in reg["mirrors"])))
        insecure += [str(x) for x in r.value("crio_insecure_registries", [], needed=False) or []]
    repos = {}
    for var in ("kube_image_repo", "gcr_image_repo", "docker_image_repo", "quay_image_repo", "github_image_repo"):
        value = r.value(var, None, needed=False)
        if value and str(value) not in _UPSTREAM_IMAGE_REPOS:
            repos[var] = str(value)
    return s.ContainerRuntime(manager, tuple(mirrors), tuple(insecure), repos)


def _host_os(r: Resolution) -> s.HostOS:
    proxy = None
    if any(r.defined(v) for v in ("http_proxy", "https_proxy")):
        opt = lambda name: (str(r.value(name)) if r.defined(name) and r.value(name) else None)  # noqa: E731
        proxy = s.Proxy(opt("http_proxy"), opt("https_proxy"), opt("no_proxy"))
    sysctls = {"net.ipv6.conf.all.forwarding": "1"} if _stack_ipv6(r) else {}  # preinstall sets it for IPv6 stacks
    for item in r.value("additional_sysctl", [], needed=False) or []:
        if isinstance(item, dict) and "name" in item:
            sysctls[str(item["name"])] = str(item.get("value", ""))
    modules = tuple(r.value("kube_proxy_ipvs_modules", ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh"], needed=False) or ()) \
        if r.value("kube_proxy_mode", "ipvs") == "ipvs" else ()
    bin_dir = str(r.value("bin_dir", "/usr/local/bin"))
    flatcar = r.raw("ansible_python_interpreter") == _FLATCAR_PYTHON or bin_dir == "/opt/bin"
    return s.HostOS(
        ntp_servers=_ntp_servers(r),
        ntp_enabled=bool(r.value("ntp_enabled", False)),
        nameservers=tuple(str(x) for x in r.value("nameservers", [], needed=False) or []),
        search_domains=tuple(str(x) for x in r.value("searchdomains", [], needed=False) or []),
        proxy=proxy,
        sysctls=sysctls,
        kernel_modules=tuple(str(m) for m in modules),
        os_family="flatcar" if flatcar else None,
        bin_dir=bin_dir,
    )


def _ntp_servers(r: Resolution) -> tuple[str, ...]:
    """Servers Kubespray configured, chrony/ntpd options (iburst, ...) stripped; none when it did not manage NTP."""
    if not (r.value("ntp_enabled", False) or r.value("ntp_manage_config", False)):
        return ()
    return tuple(str(x).split()[0] for x in r.value("ntp_servers", [], needed=False) or [] if str(x).strip())


# --- nodes -----------------------------------------------------------------------------------------

def _node_name(r: Resolution, inventory_name: str) -> str:
    override = r.value("kube_override_hostname", None, needed=False)
    return str(override) if override else inventory_name


def _node(inv: LoadedInventory, name: str, r: Resolution, kubelet_config: dict[str, Any]) -> s.NodeSpec:
    roles = []
    if name in inv.groups.get(CONTROL_PLANE, ()):
        roles.append(s.ROLE_CONTROL_PLANE)
    if name in inv.groups.get(WORKERS, ()):
        roles.append(s.ROLE_WORKER)
    if name in inv.groups.get(ETCD, ()):
        roles.append(s.ROLE_ETCD)
    ip = r.value("ip", None)
    ansible_host = r.raw("ansible_host") or r.raw("ansible_ssh_host")  # ansible_ssh_host: Ansible < 2.0 spelling
    if not ip:
        ip = _literal_address(ansible_host) or _literal_address(name)
    labels = r.value("node_labels", {}) or {}
    taints = r.value("node_taints", []) or []
    _check_labels_and_taints(r, name, labels, taints)
    return s.NodeSpec(
        name=_node_name(r, name),
        roles=tuple(roles),
        ip=str(ip) if ip else None,
        access_ip=str(r.value("access_ip") or ip) if (r.value("access_ip") or ip) else None,
        ip6=str(r.value("ip6")) if r.value("ip6") else None,
        ansible_host=str(ansible_host) if ansible_host else None,
        etcd_member_name=_member_name(inv, name, r),
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        taints=tuple(str(t) for t in taints) if isinstance(taints, list) else (),
        kubelet_config=kubelet_config,
    )


def _member_name(inv: LoadedInventory, name: str, r: Resolution) -> str | None:
    """etcd<N> by position in the etcd group (Kubespray's default template), unless the inventory names it."""
    members = inv.groups.get(ETCD, ())
    if name not in members:
        return None
    if r.set_by_inventory("etcd_member_name") and r.value("etcd_member_name"):
        return str(r.value("etcd_member_name"))
    return f"etcd{members.index(name) + 1}"


def _check_labels_and_taints(r: Resolution, host: str, labels: Any, taints: Any) -> None:
    """Kubespray runs `kubectl label/taint` with these: a dict of strings, and a list of key=value:Effect strings."""
    if not isinstance(labels, dict):
        raise UserError(f"node_labels of host {host} must be a mapping of label to value, not {type(labels).__name__}",
                        where=r.origin("node_labels"), hint="write node_labels: {\"role\": \"db\"}")
    bad = [t for t in (taints if isinstance(taints, list) else [taints]) if not isinstance(t, str) or ":" not in t]
    if bad:
        raise UserError(
            f"node_taints of host {host} must be strings like 'key=value:NoSchedule', not {bad[0]!r}",
            where=r.origin("node_taints"),
            hint="Kubespray passes each entry to `kubectl taint`; write e.g. - \"dedicated=db:NoSchedule\"",
        )


def _literal_address(value: Any) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value))) if value else None
    except ValueError:
        return None


def _check_addresses(nodes: tuple[s.NodeSpec, ...], hosts: dict[str, Resolution]) -> None:
    by_ip: dict[str, str] = {}
    for node, (inv_name, r) in zip(nodes, hosts.items(), strict=True):
        if node.ip is None and node.ansible_host is None and (node.is_worker or node.is_control_plane):
            raise UserError(
                f"host {inv_name} has no address: neither ip nor ansible_host is set",
                where=r.inventory.host_line(inv_name),
                hint="set ip (the node address Kubernetes uses) in the inventory or host_vars",
            )
        if node.ip is None:
            continue
        if node.ip in by_ip and r.defined("ip"):
            raise UserError(
                f"hosts {by_ip[node.ip]} and {inv_name} both have the address {node.ip}",
                where=r.inventory.host_line(inv_name),
                hint="every node needs its own ip; fix the copy-paste in the inventory",
            )
        by_ip[node.ip] = inv_name


def require_control_plane(inv: LoadedInventory) -> str:
    """The first control plane: Kubespray renders kubeadm's config there."""
    cps = inv.groups.get(CONTROL_PLANE, ())
    if not cps:
        known = list(inv.declared_groups)
        raise UserError(
            "no control-plane hosts: the inventory has no hosts in kube_control_plane (or legacy kube-master)",
            where=str(inv.sources[0]),
            hint=f"groups found: {', '.join(known) or 'none'}; put the control-plane hosts in kube_control_plane",
        )
    if not inv.groups.get(CLUSTER):
        raise UserError("the inventory has no Kubernetes hosts", where=str(inv.sources[0]))
    return cps[0]

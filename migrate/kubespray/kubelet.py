"""The kubelet's configuration: cluster-wide, and where a host differs (per role, or its own group_vars)."""
# exercised by tests/kubespray/test_load.py

from __future__ import annotations

from typing import Any

from migrate import spec as s
from migrate.kubespray.flags import feature_gates
from migrate.kubespray.inventory import CONTROL_PLANE, LoadedInventory
from migrate.kubespray.resolve import Resolution

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
    "tlsMinVersion": "tls_min_version",  # the kubelet-config template passes the cluster-wide TLS settings too
    "tlsCipherSuites": "tls_cipher_suites",
}


def kubelet(r: Resolution, control_plane: bool) -> s.Kubelet:
    config = {f: r.value(v, needed=False) for f, v in _KUBELET_FIELDS.items() if r.defined(v)}
    if not config.get("tlsMinVersion"):
        config.pop("tlsMinVersion", None)  # "" in the sample inventory: the template writes nothing
    if "tlsCipherSuites" in config:
        config["tlsCipherSuites"] = [str(x) for x in config["tlsCipherSuites"] or []]  # a list or a mapping of names
        if not config["tlsCipherSuites"]:
            del config["tlsCipherSuites"]
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
    return s.Kubelet(config=config, extra_args=flags, feature_gates=feature_gates(r, "kubelet_feature_gates"))


_KUBELET_INPUTS = tuple(_KUBELET_FIELDS.values()) + (
    "eviction_hard", "kubelet_config_extra_args", "kubelet_custom_flags", "kubelet_feature_gates", "kube_feature_gates",
    "system_reserved", "kube_cpu_reserved", "kube_memory_reserved", "system_cpu_reserved", "system_memory_reserved",
    "kube_master_cpu_reserved", "kube_master_memory_reserved", "kube_ephemeral_storage_reserved", "kube_pid_reserved",
)


def kubelet_differences(inv: LoadedInventory, cluster: Resolution, host: Resolution, cluster_kubelet: s.Kubelet,
                         by_role: dict[bool, dict[str, Any]]) -> dict[str, Any]:
    """Kubelet fields this host runs differently (group_vars/kube_node.yml, or per-role defaults), for its own patch."""
    control_plane = host.host in inv.groups.get(CONTROL_PLANE, ())
    same_inputs = all(host.raw(v) == cluster.raw(v) for v in _KUBELET_INPUTS)
    if same_inputs and control_plane in by_role:
        return by_role[control_plane]  # hosts with the same inputs and role run the same kubelet: compute once
    own = kubelet(host, control_plane=control_plane).config
    differences = {k: v for k, v in own.items() if cluster_kubelet.config.get(k) != v}
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

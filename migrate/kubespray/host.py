"""What runs on the host besides Kubernetes: container runtime and registries, NTP, DNS, proxies, sysctls."""
# exercised by tests/kubespray/test_load.py

from __future__ import annotations

from collections.abc import Mapping

from migrate import spec as s
from migrate.kubespray.inventory import CALICO_RR, CLUSTER, CONTROL_PLANE, ETCD
from migrate.kubespray.network import stack_ipv6
from migrate.kubespray.resolve import Resolution

_UPSTREAM_IMAGE_REPOS = {"registry.k8s.io", "k8s.gcr.io", "docker.io", "quay.io", "ghcr.io", "gcr.io"}
_FLATCAR_PYTHON = "/opt/bin/python"


def runtime(r: Resolution) -> s.ContainerRuntime:
    manager = str(r.value("container_manager", "containerd"))
    mirrors: list[s.RegistryMirror] = []
    insecure_registries: list[str] = []
    if manager == "containerd":
        for entry in r.value("containerd_registries_mirrors", [], needed=False) or []:
            hosts = [m for m in entry.get("mirrors", []) if isinstance(m, dict)]
            endpoints = tuple(str(m.get("host")) for m in hosts if m.get("host"))
            if entry.get("prefix") == "docker.io" and endpoints == ("https://registry-1.docker.io",):
                continue  # Kubespray's default entry: docker.io served by itself, no mirror
            insecure = tuple(str(m["host"]) for m in hosts if m.get("host") and m.get("skip_verify"))
            override = tuple(str(m["host"]) for m in hosts if m.get("host") and m.get("override_path"))
            mirrors.append(s.RegistryMirror(str(entry.get("prefix")), endpoints, bool(insecure), bool(override),
                                            insecure, override))
        for prefix, endpoint in (r.value("containerd_registries", {}, needed=False) or {}).items():
            endpoints = tuple(endpoint) if isinstance(endpoint, list) else (str(endpoint),)
            mirrors.append(s.RegistryMirror(str(prefix), endpoints))
        insecure_registries += list((r.value("containerd_insecure_registries", {}, needed=False) or {}).keys())
    elif manager == "docker":
        mirrors_list = tuple(str(m) for m in r.value("docker_registry_mirrors", [], needed=False) or [])
        if mirrors_list:
            mirrors.append(s.RegistryMirror("docker.io", mirrors_list))
        insecure_registries += [str(x) for x in r.value("docker_insecure_registries", [], needed=False) or []]
    elif manager == "crio":
        for reg in r.value("crio_registries", [], needed=False) or []:
            if isinstance(reg, dict) and reg.get("mirrors"):
                mirrors.append(s.RegistryMirror(str(reg.get("prefix") or reg.get("location")),
                                                tuple(str(m.get("location")) for m in reg["mirrors"])))
        insecure_registries += [str(x) for x in r.value("crio_insecure_registries", [], needed=False) or []]
    repos = {}
    for var in ("kube_image_repo", "gcr_image_repo", "docker_image_repo", "quay_image_repo", "github_image_repo"):
        value = r.value(var, None, needed=False)
        if value and str(value) not in _UPSTREAM_IMAGE_REPOS:
            repos[var] = str(value)
    return s.ContainerRuntime(manager, tuple(mirrors), tuple(insecure_registries), repos)


def host_os(r: Resolution, hosts: Mapping[str, s.NodeSpec] | None = None) -> s.HostOS:
    """`hosts`: inventory host -> its node, for the no_proxy Kubespray computes."""
    proxy = None
    if any(r.defined(v) for v in ("http_proxy", "https_proxy")):
        def opt(name: str) -> str | None:
            return str(r.value(name)) if r.defined(name) and r.value(name) else None

        no_proxy = opt("no_proxy") if r.defined("no_proxy") else kubespray_no_proxy(r, hosts or {})
        proxy = s.Proxy(opt("http_proxy"), opt("https_proxy"), no_proxy)
    sysctls = {"net.ipv6.conf.all.forwarding": "1"} if stack_ipv6(r) else {}  # preinstall sets it for IPv6 stacks
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


def kubespray_no_proxy(r: Resolution, hosts: Mapping[str, s.NodeSpec]) -> str:
    """no_proxy as kubespray_defaults' no_proxy.yml builds it when the inventory sets none: the LB, every cluster,
    etcd and calico_rr host by address and name, additional_no_proxy, then loopback, the service and pod ranges
    and svc. (Its ansible_hostname entries come from facts and are left out: they only repeat a name.)"""
    entries: list[str] = []
    lb = r.value("loadbalancer_apiserver", None, needed=False)
    if isinstance(lb, dict):
        entries += [str(r.value("apiserver_loadbalancer_domain_name", "", needed=False) or ""), str(lb.get("address", ""))]
    dns_domain = str(r.value("dns_domain", "cluster.local"))
    groups = r.inventory.groups
    which = CONTROL_PLANE if r.value("no_proxy_exclude_workers", False, needed=False) else CLUSTER
    for host in dict.fromkeys((*groups.get(which, ()), *groups.get(ETCD, ()), *groups.get(CALICO_RR, ()))):
        node = hosts.get(host)
        address = (node.access_ip or node.ip) if node is not None else None
        entries += [address or "", host, f"{host}.{dns_domain}"]
    additional = r.value("additional_no_proxy", None, needed=False)
    if additional:
        entries.append(str(additional))
    entries += ["127.0.0.1", "localhost", str(r.value("kube_service_addresses")), str(r.value("kube_pods_subnet")),
                "svc", f"svc.{dns_domain}"]
    return ",".join(e for e in entries if e)


def _ntp_servers(r: Resolution) -> tuple[str, ...]:
    """Servers Kubespray configured, chrony/ntpd options (iburst, ...) stripped; none when it did not manage NTP."""
    if not (r.value("ntp_enabled", False) or r.value("ntp_manage_config", False)):
        return ()
    return tuple(str(x).split()[0] for x in r.value("ntp_servers", [], needed=False) or [] if str(x).strip())

"""Talos machine configs back into a ClusterSpec: what the cluster will really run, Talos defaults included.

Reads ours or anyone's documents (Talos 1.8–1.14: v1alpha1 plus HostnameConfig, ResolverConfig,
TimeSyncConfig, RegistryMirrorConfig, RegistryTLSConfig, EnvironmentConfig, and 1.14's Kube*Config documents
folded back by multidoc.fold) and fills, for every field
the documents leave out, the value Talos itself would use (reference/talos.md §B, §D, §H).
Some things Talos does not run at all (the CNI when `cni: none`, the DNS service when CoreDNS is
disabled): those are `carried` over from the cluster as it runs today, when the caller knows it.
Talos's own defaults live in talos/defaults.py; reading a plan directory in talos/plan_dir.py.
"""
# long: one reader per ClusterSpec section over one MachineConfig view; split further, a reader of one section
# would need the others' private helpers (flags, addresses, defaults) and the mapping would scatter

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from migrate import component_flags as flags
from migrate.component_flags import flag_value
from migrate.errors import UserError
from migrate.spec import (
    CNI,
    ROLE_CONTROL_PLANE,
    ROLE_ETCD,
    ROLE_WORKER,
    Audit,
    ClusterSpec,
    Component,
    ContainerRuntime,
    ControlPlane,
    ControlPlaneEndpoint,
    Etcd,
    EtcdMember,
    HostOS,
    Kubelet,
    Network,
    NodeSpec,
    Proxy,
    RegistryMirror,
    SecretsEncryption,
    to_dict,
)
from migrate.talos import multidoc
from migrate.talos.defaults import (
    APISERVER_TYPED_FLAGS,
    CONTROL_PLANE_TAINT,
    CONTROLLER_TYPED_FLAGS,
    DEFAULT_DNS_DOMAIN,
    DEFAULT_NTP_SERVERS,
    DEFAULT_POD_SUBNETS,
    DEFAULT_SERVICE_SUBNETS,
    ENCRYPTION_KEYS,
    ETCD_CERT_DIR,
    HOST_DNS_IP,
    KUBELET_DEFAULTS,
    NFTABLES_SINCE,
    TALOS_AUDIT,
    TALOS_SYSTEM_RESERVED,
    TALOS_SYSTEM_RESERVED_MEMORY,
    UPSTREAM_KUBE_REPOS,
)
from migrate.talos.encryption import carried_encryption
from migrate.talos.merge import load_documents
from migrate.version import require_minor

_ABSENT = object()


@dataclass(frozen=True)
class MachineConfig:
    """One machine's documents after patching, with quick access to the v1alpha1 root.

    Documents in Talos 1.14's form are folded into the v1alpha1 form on the way in (multidoc.fold), so every
    reader below sees one shape whichever Talos version wrote them."""

    documents: tuple[dict[str, Any], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "documents", tuple(multidoc.fold(list(self.documents))))

    @property
    def root(self) -> dict[str, Any]:
        return next((d for d in self.documents if "kind" not in d), {})

    def get(self, *path: str, default: Any = None) -> Any:
        node: Any = self.root
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                return default
            node = node[key]
        return default if node is None else node

    def kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.documents if d.get("kind") == kind]

    @property
    def machine_type(self) -> str:
        kind = self.get("machine", "type", default="worker")
        return "controlplane" if kind in ("controlplane", "init") else "worker"


def read_documents(text: str, where: str = "<config>", carried: ClusterSpec | None = None) -> ClusterSpec:
    """A single machine config (any Talos version, multi-doc) → ClusterSpec with that one machine as node."""
    config = MachineConfig(tuple(load_documents(text, where)))
    return read_config(config, [config], carried=carried)


def read_config(
    cluster: MachineConfig,
    machines: Iterable[MachineConfig] = (),
    carried: ClusterSpec | None = None,
    node_names: list[str] | None = None,
) -> ClusterSpec:
    """Cluster-wide fields from `cluster` (a control-plane config); one NodeSpec per machine config."""
    machines = list(machines)
    version = kubernetes_version(cluster)
    network = _network(cluster, version, carried)
    runtime = _runtime(cluster, carried)
    shared = _machine_scoped(cluster)
    nodes = tuple(
        _node(m, (node_names[i] if node_names else None), cluster, network, version,
              {k: v for k, v in _machine_scoped(m).items() if shared.get(k) != v})
        for i, m in enumerate(machines)
    )
    advertised = {n.name: _etcd_address(m) or n.ip for n, m in zip(nodes, machines, strict=True)}
    control_plane = _control_plane(cluster, network, nodes)
    return ClusterSpec(
        name=str(cluster.get("cluster", "clusterName", default="")),
        kubernetes_version=version,
        network=network,
        control_plane=control_plane,
        kubelet=_kubelet(cluster),
        etcd=_etcd(cluster, nodes, advertised),
        runtime=runtime,
        host=_host(cluster),
        nodes=nodes,
    )


def kubernetes_version(config: MachineConfig) -> str:
    """The Kubernetes version every component image is tagged with (kubelet first, as Talos pins it)."""
    for path in (("machine", "kubelet", "image"), ("cluster", "apiServer", "image")):
        if tag := _image_tag(config.get(*path)):
            return tag
    raise UserError(
        "cannot tell the Kubernetes version: no machine.kubelet.image or cluster.apiServer.image tag",
        hint="generate the config with `talosctl gen config --kubernetes-version` or set the kubelet image",
    )


# --- network and DNS -----------------------------------------------------------------------------


def _network(config: MachineConfig, version: str, carried: ClusterSpec | None) -> Network:
    net = config.get("cluster", "network", default={})
    service = tuple(net.get("serviceSubnets") or (DEFAULT_SERVICE_SUBNETS[4],))
    pods = tuple(net.get("podSubnets") or (DEFAULT_POD_SUBNETS[4],))
    tenth = nth_address(service[0], 10)
    coredns_on = not config.get("cluster", "coreDNS", "disabled", default=False)
    cluster_dns = tuple(str(ip) for ip in config.get("machine", "kubelet", "clusterDNS", default=[])) or (tenth,)
    link_local = [ip for ip in cluster_dns if _is_nodelocal(ip)]
    proxy = config.get("cluster", "proxy", default={})
    proxy_args = {k: flag_value(v) for k, v in (proxy.get("extraArgs") or {}).items()}
    strict_arp = proxy_args.pop("ipvs-strict-arp", "false").lower() == "true"
    cm_args = config.get("cluster", "controllerManager", "extraArgs", default={})
    was = carried.network if carried else None
    return Network(
        pod_subnets=pods,
        service_subnets=service,
        node_cidr_mask_size=int(flag_value(cm_args.get("node-cidr-mask-size-ipv4", cm_args.get("node-cidr-mask-size", 24)))),
        node_cidr_mask_size_ipv6=_int_or_none(cm_args.get("node-cidr-mask-size-ipv6")),
        dns_domain=str(net.get("dnsDomain") or DEFAULT_DNS_DOMAIN),
        # with Talos's CoreDNS off, the DNS the cluster has today keeps serving (Talos does not touch it)
        dns_mode="coredns" if coredns_on or not was else was.dns_mode,
        coredns_ip=tenth if coredns_on else (was.coredns_ip if was else None),
        # a nodelocaldns address inside the service range (wire: 10.233.0.10) is not link-local: the carried spec says it
        nodelocaldns_ip=link_local[0] if link_local else (
            was.nodelocaldns_ip if was and was.nodelocaldns_ip in cluster_dns else None),
        cluster_dns=cluster_dns,
        upstream_dns_servers=(was.upstream_dns_servers if was and not coredns_on else ()),
        apiserver_service_ip=nth_address(service[0], 1),
        cni=_cni(net.get("cni") or {}, was),
        kube_proxy_mode=str(proxy.get("mode") or _default_proxy_mode(version)),
        kube_proxy_enabled=not proxy.get("disabled", False),
        kube_proxy_strict_arp=strict_arp,
        kube_proxy_extra=proxy_args,
    )


def _cni(cni: Mapping[str, Any], was: Network | None) -> CNI:
    name = str(cni.get("name") or "flannel")
    if name == "flannel":
        return CNI(name="flannel")
    if was is not None and was.cni.name not in ("flannel",):
        return was.cni  # `none`/`custom`: the CNI already installed keeps running, Talos does not manage it
    return CNI(name=name, settings={"urls": list(cni["urls"])} if cni.get("urls") else {})


def _default_proxy_mode(version: str) -> str:
    return "nftables" if require_minor(version, "Kubernetes version") >= NFTABLES_SINCE else "iptables"


def _is_nodelocal(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_link_local and ip != HOST_DNS_IP
    except ValueError:
        return False


def nth_address(cidr: str, n: int) -> str:
    """The n-th address of a CIDR (1 = the API server Service IP, 10 = Talos's cluster DNS)."""
    try:
        return str(ipaddress.ip_network(cidr, strict=False).network_address + n)
    except ValueError:
        raise UserError(f"not a CIDR: {cidr!r}", where="cluster.network.serviceSubnets") from None


# --- control plane -------------------------------------------------------------------------------


def _control_plane(config: MachineConfig, network: Network, nodes: tuple[NodeSpec, ...]) -> ControlPlane:
    api = config.get("cluster", "apiServer", default={})
    endpoint_url = config.get("cluster", "controlPlane", "endpoint")
    if not endpoint_url:
        raise UserError(
            "cluster.controlPlane.endpoint is missing", hint="every Talos config needs the API endpoint URL"
        )
    endpoint = _endpoint(str(endpoint_url), nodes, _host_entries(config))
    args = {k: flag_value(v) for k, v in (api.get("extraArgs") or {}).items()}
    issuers = flags.split_list(args.get("service-account-issuer")) or [endpoint.url]
    audiences = flags.split_list(args.get("api-audiences")) or [endpoint.url]
    return ControlPlane(
        endpoint=endpoint,
        cert_sans=_apiserver_sans(api, endpoint, network, nodes),
        apiserver_port=int(config.get("cluster", "controlPlane", "localAPIServerPort", default=6443)),
        apiserver=Component(
            extra_args={k: v for k, v in args.items() if k not in APISERVER_TYPED_FLAGS},
            feature_gates=flags.feature_gates(args.get("feature-gates")),
        ),
        controller_manager=_component(config.get("cluster", "controllerManager", default={}), CONTROLLER_TYPED_FLAGS),
        scheduler=_component(config.get("cluster", "scheduler", default={})),
        service_account_issuer=issuers[0],
        accepted_issuers=tuple(issuers),  # Talos ≥1.13 accepts its endpoint as a second issuer
        api_audiences=tuple(audiences),
        authorization_modes=tuple(_merge_additive(["Node", "RBAC"], flags.split_list(args.get("authorization-mode")))),
        admission_plugins=tuple(flags.split_list(args.get("enable-admission-plugins"))),
        disabled_admission_plugins=tuple(flags.split_list(args.get("disable-admission-plugins"))),
        pod_security_defaults=_pod_security_defaults(api),
        pod_security_levels=_pod_security_levels(api) if _pod_security_defaults(api) else {},
        admission_configs={str(p.get("name")): dict(p.get("configuration") or {}) for p in api.get("admissionControl") or []
                           if p.get("name") != "PodSecurity"},
        node_port_range=args.get("service-node-port-range", "30000-32767"),
        anonymous_auth=args.get("anonymous-auth", "false").lower() == "true",  # Talos hard-sets false
        oidc=flags.oidc(args),
        audit=_audit(api, args),
        encryption=_encryption(config),
    )


def _host_entries(config: MachineConfig) -> dict[str, str]:
    """Host name -> address from StaticHostConfig documents (1.12+) or machine.network.extraHostEntries."""
    names: dict[str, str] = {}
    for entry in config.get("machine", "network", "extraHostEntries", default=[]) or []:
        names.update(dict.fromkeys((str(a) for a in entry.get("aliases") or []), str(entry.get("ip"))))
    for doc in config.kind("StaticHostConfig"):
        names.update(dict.fromkeys((str(h) for h in doc.get("hostnames") or []), str(doc.get("name"))))
    return names


def _endpoint(url: str, nodes: tuple[NodeSpec, ...], entries: Mapping[str, str]) -> ControlPlaneEndpoint:
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if not parts.hostname:
        raise UserError(f"not an endpoint URL: {url!r}", where="cluster.controlPlane.endpoint")
    host = parts.hostname
    single_node = any(host in n.addresses or host == n.name for n in nodes if n.is_control_plane)
    return ControlPlaneEndpoint(
        host=host, port=parts.port or 6443, kind="first-control-plane" if single_node else "loadbalancer",
        address=entries.get(host),
    )


def _apiserver_sans(
    api: Mapping[str, Any], endpoint: ControlPlaneEndpoint, network: Network, nodes: Iterable[NodeSpec]
) -> tuple[str, ...]:
    """certSANs plus what Talos always adds: the endpoint host, the in-cluster names, the CP addresses."""
    domain = network.dns_domain
    sans = [str(s) for s in api.get("certSANs") or []]
    sans += [endpoint.host, network.apiserver_service_ip, "localhost", "127.0.0.1"]
    sans += ["kubernetes", "kubernetes.default", "kubernetes.default.svc", f"kubernetes.default.svc.{domain}"]
    for node in nodes:
        if node.is_control_plane:
            sans += [node.name, *node.addresses]
    return tuple(sorted(set(sans) - {""}))


def _audits_nothing(policy: Any) -> bool:
    """A policy whose every rule is `level: None` logs no event: auditing is off (Talos's default policy logs)."""
    rules = policy.get("rules") if isinstance(policy, Mapping) else None
    return isinstance(rules, list) and bool(rules) and all(str(r.get("level")) == "None" for r in rules)


def _audit(api: Mapping[str, Any], args: Mapping[str, str]) -> Audit | None:
    """Talos audits unless every rule is `level: None`; its own single Metadata rule reads as the built-in policy."""
    policy = api.get("auditPolicy")
    if _audits_nothing(policy):
        return None
    rules = tuple(r for r in ((policy or {}).get("rules") or []) if isinstance(r, Mapping))
    builtin = rules == ({"level": "Metadata"},) or not rules
    return replace(flags.audit(args, default=TALOS_AUDIT) or TALOS_AUDIT,
                   policy_rules=() if builtin else tuple(dict(r) for r in rules))


def _pod_security_levels(api: Mapping[str, Any]) -> dict[str, str]:
    """mode → level of the PodSecurity admission configuration's defaults."""
    for plugin in api.get("admissionControl") or []:
        if plugin.get("name") == "PodSecurity":
            defaults = (plugin.get("configuration") or {}).get("defaults") or {}
            return {m: str(defaults[m]) for m in ("audit", "enforce", "warn") if m in defaults}
    return {}


def _pod_security_defaults(api: Mapping[str, Any]) -> bool:
    """A PodSecurity admission config whose defaults restrict anything (all-privileged restricts nothing)."""
    for plugin in api.get("admissionControl") or []:
        defaults = (plugin.get("configuration") or {}).get("defaults") or {}
        if plugin.get("name") == "PodSecurity":
            return any(defaults.get(mode, "privileged") != "privileged" for mode in ("enforce", "audit", "warn"))
    return False


def _component(section: Mapping[str, Any], typed: frozenset[str] = frozenset()) -> Component:
    args = {k: flag_value(v) for k, v in (section.get("extraArgs") or {}).items() if k not in typed}
    gates = flags.feature_gates(args.pop("feature-gates", None))
    return Component(extra_args=args, feature_gates=gates)


def _encryption(config: MachineConfig) -> SecretsEncryption | None:
    """The cluster's own EncryptionConfiguration when the plan mounts it over Talos's, else Talos's key names."""
    carried = carried_encryption(config.get("machine", "files", default=[]),
                                 config.get("cluster", "apiServer", "extraVolumes", default=[]))
    if carried is not None:
        return carried
    for field_name, (provider, key_name) in ENCRYPTION_KEYS.items():
        if config.get("cluster", field_name):
            return SecretsEncryption(provider=provider, key_name=key_name)
    return None


# --- kubelet, etcd, runtime, host ----------------------------------------------------------------


def _kubelet(config: MachineConfig) -> Kubelet:
    kubelet = config.get("machine", "kubelet", default={})
    args = {k: flag_value(v) for k, v in (kubelet.get("extraArgs") or {}).items()}
    gates = flags.feature_gates(args.pop("feature-gates", None))
    reserved = {**TALOS_SYSTEM_RESERVED, "memory": TALOS_SYSTEM_RESERVED_MEMORY[config.machine_type]}
    settings = {**KUBELET_DEFAULTS, "systemReserved": reserved, **(kubelet.get("extraConfig") or {})}
    settings.pop("registerWithTaints", None)  # per node: read into NodeSpec.taints
    settings["seccompDefault"] = bool(kubelet.get("defaultRuntimeSeccompProfileEnabled", False))
    gates = {**gates, **(settings.pop("featureGates", None) or {})}
    return Kubelet(config=settings, extra_args=args, feature_gates=gates)


def _etcd(config: MachineConfig, nodes: tuple[NodeSpec, ...], advertised: dict[str, str | None]) -> Etcd:
    members = tuple(
        EtcdMember(
            name=n.name,  # Talos names each member after the node's hostname
            node=n.name,
            peer_url=f"https://{_url_host(ip)}:2380" if ip else "",
            client_url=f"https://{_url_host(ip)}:2379" if ip else "",
        )
        for n in nodes
        if n.is_control_plane and n.name
        for ip in [advertised.get(n.name)]
    )
    args = {k: flag_value(v) for k, v in (config.get("cluster", "etcd", "extraArgs", default={})).items()}
    return Etcd(deployment_type="talos", members=members, cert_dir=ETCD_CERT_DIR, extra_args=args)


def _etcd_address(machine: MachineConfig) -> str | None:
    """The address etcd advertises when cluster.etcd.advertisedSubnets pins one."""
    for subnet in machine.get("cluster", "etcd", "advertisedSubnets", default=[]):
        network = ipaddress.ip_network(str(subnet), strict=False)
        if network.num_addresses == 1:
            return str(network.network_address)
    return None


def _runtime(config: MachineConfig, carried: ClusterSpec | None) -> ContainerRuntime:
    mirrors: dict[str, dict[str, Any]] = {}  # registry → endpoints, and those whose path is used as is
    for host, mirror in (config.get("machine", "registries", "mirrors", default={})).items():
        endpoints = list(mirror.get("endpoints") or [])
        mirrors[host] = {"endpoints": endpoints, "override": endpoints if mirror.get("overridePath") else []}
    for doc in config.kind("RegistryMirrorConfig"):
        endpoints = [e.get("url") for e in doc.get("endpoints") or []]
        override = [e.get("url") for e in doc.get("endpoints") or [] if e.get("overridePath")]
        mirrors[str(doc.get("name"))] = {"endpoints": endpoints, "override": override}
    insecure = {
        host
        for host, cfg in (config.get("machine", "registries", "config", default={})).items()
        if (cfg.get("tls") or {}).get("insecureSkipVerify")
    }
    insecure |= {str(d.get("name")) for d in config.kind("RegistryTLSConfig") if d.get("insecureSkipVerify")}
    return ContainerRuntime(
        manager="containerd",
        mirrors=tuple(
            RegistryMirror(
                registry=host,
                endpoints=tuple(m["endpoints"]),
                skip_verify=any(_host_of(e) in insecure for e in m["endpoints"]) or host in insecure,
                override_path=bool(m["override"]),
                insecure_endpoints=tuple(e for e in m["endpoints"] if _host_of(e) in insecure),
                override_path_endpoints=tuple(m["override"]),
            )
            for host, m in sorted(mirrors.items())
        ),
        insecure_registries=tuple(sorted(h for h in insecure if h not in mirrors)),
        image_repositories=_image_repositories(config, carried),
    )


def _image_repositories(config: MachineConfig, carried: ClusterSpec | None) -> dict[str, str]:
    """Where control-plane images come from; add-on repositories (not Talos's business) stay as they are."""
    repos = {k: v for k, v in (carried.runtime.image_repositories if carried else {}).items() if k != "kube_image_repo"}
    image = str(config.get("cluster", "apiServer", "image", default=""))
    repo = image.rsplit(":", 1)[0].rsplit("/", 1)[0] if "/" in image else ""
    if repo and repo not in UPSTREAM_KUBE_REPOS:
        repos["kube_image_repo"] = repo
    return repos


def _host(config: MachineConfig) -> HostOS:
    time_docs = config.kind("TimeSyncConfig")
    if time_docs:
        doc = time_docs[0]
        ntp_servers = tuple((doc.get("ntp") or {}).get("servers") or DEFAULT_NTP_SERVERS)
        ntp_enabled = bool(doc.get("enabled", True))
    else:
        ntp_servers = tuple(config.get("machine", "time", "servers", default=[]) or DEFAULT_NTP_SERVERS)
        ntp_enabled = not config.get("machine", "time", "disabled", default=False)
    resolvers = config.kind("ResolverConfig")
    if resolvers:
        nameservers = tuple(str(n.get("address")) for n in resolvers[0].get("nameservers") or [])
        search = tuple((resolvers[0].get("searchDomains") or {}).get("domains") or [])
    else:
        nameservers = tuple(config.get("machine", "network", "nameservers", default=[]))
        search = tuple(config.get("machine", "network", "searchDomains", default=[]))
    env = dict(config.get("machine", "env", default={}))
    for doc in config.kind("EnvironmentConfig"):
        env.update(doc.get("variables") or {})
    proxy = Proxy(
        http_proxy=env.get("http_proxy") or env.get("HTTP_PROXY"),
        https_proxy=env.get("https_proxy") or env.get("HTTPS_PROXY"),
        no_proxy=env.get("no_proxy") or env.get("NO_PROXY"),
    )
    modules = tuple(str(m.get("name")) for m in config.get("machine", "kernel", "modules", default=[]))
    return HostOS(
        ntp_servers=ntp_servers,
        ntp_enabled=ntp_enabled,
        nameservers=nameservers,
        search_domains=search,
        proxy=proxy if any((proxy.http_proxy, proxy.https_proxy, proxy.no_proxy)) else None,
        sysctls={str(k): str(v) for k, v in (config.get("machine", "sysctls", default={})).items()},
        kernel_modules=modules,
        os_family="talos",
        bin_dir="/usr/local/bin",
    )


# --- nodes ---------------------------------------------------------------------------------------


def _machine_scoped(machine: MachineConfig) -> dict[str, Any]:
    """What each machine's own config decides although the spec models it once for the cluster (dotted path →
    value): read from every machine, so a worker.yaml that disagrees with controlplane.yaml is not lost."""
    scoped = {f"host.{k}": v for k, v in to_dict(_host(machine)).items()}
    # image repositories come from the control plane's cluster section, not from each machine
    scoped |= {f"runtime.{k}": v for k, v in to_dict(_runtime(machine, None)).items() if k != "image_repositories"}
    kubelet = _kubelet(machine)
    scoped |= {"kubelet.extra_args": kubelet.extra_args}
    return scoped


def _node(
    machine: MachineConfig,
    file_name: str | None,
    cluster: MachineConfig,
    network: Network,
    version: str,
    overrides: dict[str, Any],
) -> NodeSpec:
    name = hostname(machine) or file_name or ""
    control_plane = machine.machine_type == "controlplane"
    schedulable = bool(cluster.get("cluster", "allowSchedulingOnControlPlanes", default=False))
    roles = (ROLE_CONTROL_PLANE, ROLE_ETCD) if control_plane else (ROLE_WORKER,)
    if control_plane and schedulable:
        roles = (*roles, ROLE_WORKER)
    cluster_kubelet, machine_kubelet = _kubelet(cluster), _kubelet(machine)
    own_kubelet = {k: v for k, v in machine_kubelet.config.items() if cluster_kubelet.config.get(k, _ABSENT) != v}
    if machine_kubelet.feature_gates != cluster_kubelet.feature_gates:
        own_kubelet["featureGates"] = machine_kubelet.feature_gates
    cluster_dns = [str(ip) for ip in machine.get("machine", "kubelet", "clusterDNS", default=[])]
    if (cluster_dns or [nth_address(network.service_subnets[0], 10)]) != list(network.cluster_dns):
        own_kubelet["clusterDNS"] = cluster_dns or [nth_address(network.service_subnets[0], 10)]
    own_version = _image_tag(machine.get("machine", "kubelet", "image"))
    taints = [_taint(k, str(v)) for k, v in (machine.get("machine", "nodeTaints", default={})).items()]
    # taints a worker registers with (NodeRestriction forbids it to add them later)
    for t in machine.get("machine", "kubelet", "extraConfig", "registerWithTaints", default=[]):
        taints.append(flags.taint_text(t["key"], t.get("value"), t["effect"]))
    if control_plane and not schedulable:
        taints.append(CONTROL_PLANE_TAINT)
    ip4, ip6 = _node_addresses(machine)
    return NodeSpec(
        name=name,
        roles=roles,
        ip=ip4,
        access_ip=ip4,
        ip6=ip6,
        etcd_member_name=name if control_plane else None,
        labels={str(k): str(v) for k, v in (machine.get("machine", "nodeLabels", default={})).items()},
        taints=tuple(sorted(set(taints))),
        install_disk=machine.get("machine", "install", "disk"),
        kubelet_config=own_kubelet,
        kubernetes_version=own_version if own_version not in (None, version) else None,
        overrides=overrides,
    )



def hostname(machine: MachineConfig) -> str | None:
    for doc in machine.kind("HostnameConfig"):
        if doc.get("hostname"):
            return str(doc["hostname"])
    value = machine.get("machine", "network", "hostname")
    return str(value) if value else None


def _node_addresses(machine: MachineConfig) -> tuple[str | None, str | None]:
    """The node IP: kubelet.nodeIP.validSubnets when it pins one address, else the first static address."""
    pinned = [
        s for s in machine.get("machine", "kubelet", "nodeIP", "validSubnets", default=[]) if not str(s).startswith("!")
    ]
    pinned = [s for s in pinned if ipaddress.ip_network(str(s), strict=False).num_addresses == 1]
    static = [a for i in machine.get("machine", "network", "interfaces", default=[]) for a in i.get("addresses") or []]
    for doc in machine.kind("LinkConfig"):
        static += [a.get("address") for a in doc.get("addresses") or [] if a.get("address")]
    found: dict[int, str] = {}
    for candidate in [*pinned, *static]:
        try:
            ip = ipaddress.ip_interface(str(candidate)).ip
        except ValueError:
            continue
        found.setdefault(ip.version, str(ip))
    return found.get(4), found.get(6)


def _taint(key: str, value: str) -> str:
    """Talos writes taints as `key: value:Effect` (or `key: :Effect`); the spec as `key=value:Effect`."""
    val, _, effect = value.rpartition(":")
    return flags.taint_text(key, val, effect)


# --- small parsers -------------------------------------------------------------------------------


def _image_tag(image: Any) -> str | None:
    """The version an image is tagged with (`…/kubelet:v1.31.4` → 1.31.4), None when untagged."""
    text = str(image or "")
    return text.rsplit(":", 1)[1].lstrip("v").split("@")[0] if ":" in text.rsplit("/", 1)[-1] else None




def _merge_additive(defaults: list[str], extra: list[str]) -> list[str]:
    """Talos appends user values to its own for additive flags (authorization-mode & co), without repeats."""
    return list(dict.fromkeys([*defaults, *extra]))


def _int_or_none(value: Any) -> int | None:
    return int(flag_value(value)) if value not in (None, "") else None




def _url_host(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip


def _host_of(url: str | None) -> str:
    return urlsplit(url or "").netloc

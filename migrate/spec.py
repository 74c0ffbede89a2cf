"""The neutral model of a cluster: what it runs, independent of who built it.

Readers (Kubespray inventory, live cluster, Talos documents) produce a ClusterSpec;
writers (Talos documents) consume one; the diff compares two. Frozen dataclasses, no I/O.
Names follow Kubernetes: kubelet settings are KubeletConfiguration fields, component
arguments are command-line flag names without the leading dashes.
Secret material (keys, tokens) never lives here: only its shape (provider, key name).
"""
# exercised by tests/talos/test_read_roundtrip.py

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any

ROLE_CONTROL_PLANE = "control-plane"
ROLE_WORKER = "worker"
ROLE_ETCD = "etcd"


@dataclass(frozen=True)
class ControlPlaneEndpoint:
    """Where nodes and clients reach the Kubernetes API."""

    host: str
    port: int = 6443
    # loadbalancer (external LB or VIP) | first-control-plane (a single node's address)
    kind: str = "loadbalancer"
    # what `host` resolves to through a host entry (Kubespray writes the LB's name into every node's /etc/hosts)
    address: str | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"


@dataclass(frozen=True)
class CNI:
    name: str = "calico"  # calico | cilium | flannel | kube-ovn | kube-router | macvlan | cni | custom_cni | none | ...
    settings: dict[str, Any] = field(default_factory=dict)  # plugin knobs that constrain the node (MTU, mode, backend)
    multus: bool = False


@dataclass(frozen=True)
class Network:
    pod_subnets: tuple[str, ...] = ("10.233.64.0/18",)
    service_subnets: tuple[str, ...] = ("10.233.0.0/18",)
    node_cidr_mask_size: int = 24
    node_cidr_mask_size_ipv6: int | None = None
    dns_domain: str = "cluster.local"
    dns_mode: str = "coredns"  # coredns | coredns_dual | manual | none
    coredns_ip: str | None = "10.233.0.3"  # the cluster DNS Service IP
    nodelocaldns_ip: str | None = "169.254.25.10"  # None when nodelocaldns is off
    cluster_dns: tuple[str, ...] = ("169.254.25.10",)  # what the kubelet hands to pods
    upstream_dns_servers: tuple[str, ...] = ()
    apiserver_service_ip: str = "10.233.0.1"
    cni: CNI = field(default_factory=CNI)
    kube_proxy_mode: str = "ipvs"  # ipvs | iptables | nftables
    kube_proxy_enabled: bool = True  # False when a CNI replaces it
    kube_proxy_strict_arp: bool = False
    kube_proxy_extra: dict[str, Any] = field(default_factory=dict)  # KubeProxyConfiguration fields beyond the mode

    @property
    def dual_stack(self) -> bool:
        return len(self.pod_subnets) > 1


@dataclass(frozen=True)
class Component:
    """A control-plane component: command-line flags and feature gates."""

    extra_args: dict[str, str] = field(default_factory=dict)
    feature_gates: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class OIDC:
    issuer_url: str
    client_id: str
    username_claim: str | None = None
    username_prefix: str | None = None
    groups_claim: str | None = None
    groups_prefix: str | None = None
    ca_file: str | None = None


@dataclass(frozen=True)
class Audit:
    log_path: str = "/var/log/audit/kube-apiserver-audit.log"
    max_age: int = 30
    max_backups: int = 10
    max_size: int = 100
    policy_file: str = "/etc/kubernetes/audit-policy/apiserver-audit-policy.yaml"
    # the cluster's own policy rules (Kubespray's audit_policy_custom_rules); () = the built-in policy of whoever
    # runs the API server (Kubespray's rule set, or Talos's single Metadata rule)
    policy_rules: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class SecretsEncryption:
    """Encryption at rest; the key itself lives only in the secrets bundle."""

    provider: str = "secretbox"  # secretbox | aescbc | aesgcm | kms
    key_name: str = "key"  # the name stored in every encrypted value's prefix
    resources: tuple[str, ...] = ("secrets",)


@dataclass(frozen=True)
class ControlPlane:
    endpoint: ControlPlaneEndpoint
    cert_sans: tuple[str, ...] = ()
    apiserver_port: int = 6443
    apiserver: Component = field(default_factory=Component)
    controller_manager: Component = field(default_factory=Component)
    scheduler: Component = field(default_factory=Component)
    service_account_issuer: str = "https://kubernetes.default.svc.cluster.local"
    # every issuer the API server accepts tokens from, the signing one first; () means only service_account_issuer
    accepted_issuers: tuple[str, ...] = ()
    api_audiences: tuple[str, ...] = ()
    authorization_modes: tuple[str, ...] = ("Node", "RBAC")
    admission_plugins: tuple[str, ...] = ()
    disabled_admission_plugins: tuple[str, ...] = ()
    pod_security_defaults: bool = False  # a cluster-wide PodSecurity admission configuration is in force
    # with pod_security_defaults: mode (enforce, audit, warn) → level (privileged, baseline, restricted)
    pod_security_levels: dict[str, str] = field(default_factory=dict)
    # admission plugin → its configuration, for plugins configured besides PodSecurity (EventRateLimit)
    admission_configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    node_port_range: str = "30000-32767"
    anonymous_auth: bool = True
    oidc: OIDC | None = None
    audit: Audit | None = None
    encryption: SecretsEncryption | None = None


@dataclass(frozen=True)
class Kubelet:
    config: dict[str, Any] = field(default_factory=dict)  # KubeletConfiguration fields the cluster sets
    extra_args: dict[str, str] = field(default_factory=dict)  # command-line flags
    feature_gates: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class EtcdMember:
    name: str
    node: str  # the NodeSpec.name of the host that runs it
    peer_url: str
    client_url: str


@dataclass(frozen=True)
class Etcd:
    deployment_type: str = "host"  # host | docker | kubeadm
    members: tuple[EtcdMember, ...] = ()
    cert_dir: str = "/etc/ssl/etcd/ssl"
    data_dir: str = "/var/lib/etcd"
    extra_args: dict[str, str] = field(default_factory=dict)  # etcd flags: heartbeat-interval, quota-backend-bytes, ...
    events_cluster: bool = False


@dataclass(frozen=True)
class RegistryMirror:
    registry: str  # docker.io, or a host:port
    endpoints: tuple[str, ...]
    skip_verify: bool = False  # some endpoint skips TLS verification (which ones: insecure_endpoints)
    override_path: bool = False  # some endpoint overrides the path (which ones: override_path_endpoints)
    insecure_endpoints: tuple[str, ...] = ()  # endpoints whose TLS certificate is not verified
    override_path_endpoints: tuple[str, ...] = ()  # endpoints whose URL path is used as is


@dataclass(frozen=True)
class ContainerRuntime:
    manager: str = "containerd"  # containerd | crio | docker
    mirrors: tuple[RegistryMirror, ...] = ()
    insecure_registries: tuple[str, ...] = ()
    image_repositories: dict[str, str] = field(default_factory=dict)  # kube_image_repo & co, when not upstream


@dataclass(frozen=True)
class Proxy:
    http_proxy: str | None = None
    https_proxy: str | None = None
    no_proxy: str | None = None


@dataclass(frozen=True)
class HostOS:
    ntp_servers: tuple[str, ...] = ()  # bare server names, ntpd/chrony options stripped
    ntp_enabled: bool = False
    nameservers: tuple[str, ...] = ()  # resolvers the hosts use
    search_domains: tuple[str, ...] = ()
    proxy: Proxy | None = None
    sysctls: dict[str, str] = field(default_factory=dict)
    kernel_modules: tuple[str, ...] = ()
    os_family: str | None = None  # flatcar | None when unknown
    bin_dir: str = "/usr/local/bin"


@dataclass(frozen=True)
class NodeSpec:
    name: str  # the Kubernetes node name
    roles: tuple[str, ...]  # control-plane, worker, etcd
    ip: str | None = None  # the node IP the kubelet and API server use
    access_ip: str | None = None  # what other nodes use to reach it
    ip6: str | None = None
    ansible_host: str | None = None
    etcd_member_name: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[str, ...] = ()  # key=value:Effect
    install_disk: str | None = None
    kubelet_config: dict[str, Any] = field(default_factory=dict)  # KubeletConfiguration fields where this node differs from the cluster's
    kubernetes_version: str | None = None  # this node's kubelet version when it is not the cluster's (None: the cluster's)
    # cluster-wide spec fields this machine runs differently ("host.ntp_servers": [...]); {} when it runs them as the cluster
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def is_control_plane(self) -> bool:
        return ROLE_CONTROL_PLANE in self.roles

    @property
    def is_worker(self) -> bool:
        return ROLE_WORKER in self.roles

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(a for a in (self.ip, self.ip6) if a)


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    kubernetes_version: str  # without the leading "v"
    network: Network
    control_plane: ControlPlane
    kubelet: Kubelet = field(default_factory=Kubelet)
    etcd: Etcd = field(default_factory=Etcd)
    runtime: ContainerRuntime = field(default_factory=ContainerRuntime)
    host: HostOS = field(default_factory=HostOS)
    nodes: tuple[NodeSpec, ...] = ()

    def node(self, name: str) -> NodeSpec:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    @property
    def control_planes(self) -> tuple[NodeSpec, ...]:
        return tuple(n for n in self.nodes if n.is_control_plane)

    @property
    def workers(self) -> tuple[NodeSpec, ...]:
        return tuple(n for n in self.nodes if not n.is_control_plane)


def to_dict(obj: Any) -> Any:
    """Plain data (dicts, lists, scalars) for JSON/YAML output and diffing."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def from_dict(cls: type, data: Any) -> Any:
    """Rebuild a dataclass tree from to_dict() output (missing fields take their defaults)."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _coerce(hints[f.name], data[f.name])
    return cls(**kwargs)


def _coerce(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _coerce(inner[0], value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_dict(hint, value)
    if origin is tuple:
        (item,) = typing.get_args(hint)[:1]
        return tuple(_coerce(item, v) for v in value)
    return value

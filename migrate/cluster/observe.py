"""The running cluster as a ClusterSpec: what kubeadm, the kubelets and kube-proxy were really given.

Sources, all in kube-system: the kubeadm-config ConfigMap (ClusterConfiguration), kubelet-config
(KubeletConfiguration), kube-proxy (KubeProxyConfiguration), the kube-apiserver static pods' flags when
the API lets us read them, the DNS Service, and the Node objects. What a cluster cannot tell about itself
(host NTP, how Ansible reaches a host, etcd member names) is taken from `baseline`, the spec the
inventory describes, so a diff against it shows drift only where drift can be observed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import yaml

from migrate import component_flags as flags
from migrate.cluster.base import Cluster, ConfigMap, Node, RawLister
from migrate.errors import UserError
from migrate.spec import (
    ROLE_CONTROL_PLANE,
    ROLE_ETCD,
    ROLE_WORKER,
    Audit,
    ClusterSpec,
    Component,
    ControlPlane,
    ControlPlaneEndpoint,
    Etcd,
    EtcdMember,
    Kubelet,
    Network,
    NodeSpec,
    SecretsEncryption,
)

NAMESPACE = "kube-system"
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
# labels the kubelet (or a cloud) puts on every node by itself: not something the inventory sets
AUTOMATIC_LABEL_PREFIXES = (
    "kubernetes.io/",
    "beta.kubernetes.io/",
    "node-role.kubernetes.io/",
    "topology.kubernetes.io/",
)
DNS_SERVICES = ("coredns", "kube-dns")
CONTROL_PLANE_TAINT_KEYS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")


@dataclass(frozen=True)
class Observed:
    spec: ClusterSpec
    sources: tuple[str, ...]  # what was read, e.g. "kube-system/kubeadm-config"
    missing: tuple[str, ...]  # what could not be read (the spec keeps the baseline there)


def observe(cluster: Cluster, baseline: ClusterSpec | None = None) -> Observed:
    """Read the running cluster; fields it cannot show keep `baseline`'s values."""
    read: list[str] = []
    missing: list[str] = []

    def configmap(name: str) -> ConfigMap | None:
        found = cluster.get_configmap(NAMESPACE, name)
        (read if found else missing).append(f"{NAMESPACE}/{name}")
        return found

    kubeadm = configmap("kubeadm-config")
    if kubeadm is None:
        raise UserError(
            "the cluster has no kube-system/kubeadm-config ConfigMap: not a kubeadm/Kubespray cluster, "
            "or this user may not read kube-system",
            hint="check `kubectl -n kube-system get cm kubeadm-config` with the same kubeconfig and context",
        )
    kubelet = configmap("kubelet-config")
    proxy = configmap("kube-proxy")
    pods = _raw(cluster, "pods", read, missing)
    services = _raw(cluster, "services", read, missing)
    apiservers = [p for p in pods if (p.get("metadata") or {}).get("labels", {}).get("component") == "kube-apiserver"]
    dns = next((s for s in services if (s.get("metadata") or {}).get("name") in DNS_SERVICES), None)
    nodes = cluster.list_nodes()
    read.append(f"{len(nodes)} nodes")
    spec = spec_from_objects(
        cluster_configuration(kubeadm),
        _config_document(kubelet, ("kubelet",)),
        _config_document(proxy, ("config.conf",)),
        apiserver_flags(apiservers),
        dns,
        nodes,
        baseline,
    )
    return Observed(spec=spec, sources=tuple(read), missing=tuple(missing))


def _raw(cluster: Cluster, plural: str, read: list[str], missing: list[str]) -> list[dict[str, Any]]:
    """kube-system objects as JSON where the connection can list them (the static pods carry the flags)."""
    what = f"{NAMESPACE} {plural}"
    if not isinstance(cluster, RawLister):
        missing.append(what)
        return []
    try:
        found = cluster.list_raw("", "v1", plural, NAMESPACE)
    except UserError:
        missing.append(what)
        return []
    read.append(what)
    return found


def spec_from_objects(
    cluster_config: Mapping[str, Any],
    kubelet_config: Mapping[str, Any] | None,
    proxy_config: Mapping[str, Any] | None,
    running_args: Mapping[str, str],
    dns_service: Mapping[str, Any] | None,
    nodes: Iterable[Node],
    baseline: ClusterSpec | None,
) -> ClusterSpec:
    """A ClusterSpec from the objects kubeadm and Kubespray leave in the cluster."""
    networking = cluster_config.get("networking") or {}
    api_args = {**extra_args(cluster_config.get("apiServer")), **running_args}  # the running flags win
    base = baseline or _empty(cluster_config)
    pods = flags.split_list(networking.get("podSubnet")) or list(base.network.pod_subnets)
    services = flags.split_list(networking.get("serviceSubnet")) or list(base.network.service_subnets)
    node_specs = tuple(_node(n, base) for n in nodes) or base.nodes
    return replace(
        base,
        name=str(cluster_config.get("clusterName") or base.name),
        kubernetes_version=str(cluster_config.get("kubernetesVersion") or base.kubernetes_version).lstrip("v"),
        network=_network(
            base.network, networking, cluster_config, kubelet_config, proxy_config, dns_service, pods, services
        ),
        control_plane=_control_plane(base.control_plane, cluster_config, api_args),
        kubelet=_kubelet(base.kubelet, kubelet_config),
        etcd=_etcd(base.etcd, api_args, node_specs),
        nodes=node_specs,
    )


# --- reading the objects -------------------------------------------------------------------------


def cluster_configuration(config_map: ConfigMap) -> dict[str, Any]:
    text = config_map.data.get("ClusterConfiguration")
    if not text:
        raise UserError("kube-system/kubeadm-config has no ClusterConfiguration", where="kube-system/kubeadm-config")
    return _yaml(text, "kube-system/kubeadm-config")


def extra_args(section: Mapping[str, Any] | None) -> dict[str, str]:
    """kubeadm extraArgs: a map (v1beta3) or a list of {name, value} (v1beta4)."""
    args = (section or {}).get("extraArgs") or {}
    if isinstance(args, list):
        found: dict[str, str] = {}
        for a in args:
            if isinstance(a, Mapping) and "name" in a:
                _repeat(found, str(a["name"]), str(a.get("value", "")))
        return found
    return {str(k): str(v) for k, v in args.items()}


def _repeat(found: dict[str, str], name: str, value: str) -> None:
    """A flag given twice (--service-account-issuer, v1beta4's repeated extraArgs) keeps every value, comma-joined."""
    found[name] = f"{found[name]},{value}" if name in found else value


def apiserver_flags(pods: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """--flag=value of the first kube-apiserver static pod (all control planes run the same manifest)."""
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or []:
            if container.get("name") != "kube-apiserver":
                continue
            found: dict[str, str] = {}
            for arg in [*(container.get("command") or []), *(container.get("args") or [])]:
                if str(arg).startswith("--"):
                    name, _, value = str(arg)[2:].partition("=")
                    _repeat(found, name, value)
            return found
    return {}


def _config_document(config_map: ConfigMap | None, keys: tuple[str, ...]) -> dict[str, Any] | None:
    data = config_map.data if config_map else {}
    for key in keys:
        if data.get(key):
            return _yaml(data[key], f"kube-system ConfigMap key {key}")
    return None


def _yaml(text: str, where: str) -> dict[str, Any]:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"not valid YAML: {exc}", where=where) from None
    return value if isinstance(value, dict) else {}


# --- into the spec ---------------------------------------------------------------------------------


def _network(was: Network, networking: Mapping[str, Any], cluster_config: Mapping[str, Any],
             kubelet: Mapping[str, Any] | None, proxy: Mapping[str, Any] | None, dns_service: Mapping[str, Any] | None,
             pods: list[str], services: list[str]) -> Network:
    cm_args = extra_args(cluster_config.get("controllerManager"))
    cluster_dns = tuple(str(ip) for ip in (kubelet or {}).get("clusterDNS") or was.cluster_dns)
    link_local = [ip for ip in cluster_dns if ipaddress.ip_address(ip).is_link_local]
    mode = str((proxy or {}).get("mode") or ("iptables" if proxy else was.kube_proxy_mode))
    return replace(
        was,
        pod_subnets=tuple(pods),
        service_subnets=tuple(services),
        node_cidr_mask_size=int(
            cm_args.get("node-cidr-mask-size-ipv4", cm_args.get("node-cidr-mask-size", was.node_cidr_mask_size))
        ),
        dns_domain=str(networking.get("dnsDomain") or was.dns_domain),
        coredns_ip=(dns_service or {}).get("spec", {}).get("clusterIP") or was.coredns_ip,
        nodelocaldns_ip=link_local[0] if link_local else None,
        cluster_dns=cluster_dns,
        apiserver_service_ip=str(ipaddress.ip_network(services[0], strict=False).network_address + 1),
        kube_proxy_mode=mode,
        kube_proxy_enabled=proxy is not None or was.kube_proxy_enabled,
        kube_proxy_strict_arp=bool(((proxy or {}).get("ipvs") or {}).get("strictARP", was.kube_proxy_strict_arp)),
    )


def _control_plane(was: ControlPlane, cluster_config: Mapping[str, Any], args: Mapping[str, str]) -> ControlPlane:
    endpoint = _endpoint(str(cluster_config.get("controlPlaneEndpoint") or ""), was.endpoint)
    issuers = flags.split_list(args.get("service-account-issuer"))
    audiences = flags.split_list(args.get("api-audiences"))
    api = cluster_config.get("apiServer") or {}
    return replace(
        was,
        endpoint=endpoint,
        cert_sans=tuple(str(s) for s in api.get("certSANs") or was.cert_sans),
        apiserver_port=int(args.get("secure-port", was.apiserver_port)),
        apiserver=_component(was.apiserver, args),
        controller_manager=_component(was.controller_manager, extra_args(cluster_config.get("controllerManager"))),
        scheduler=_component(was.scheduler, extra_args(cluster_config.get("scheduler"))),
        # kubeadm's default issuer when no flag says otherwise
        service_account_issuer=issuers[0] if issuers else f"https://kubernetes.default.svc.{_domain(cluster_config)}",
        api_audiences=tuple(audiences) if audiences else (),
        accepted_issuers=tuple(issuers),  # a repeated flag: every issuer the API server accepts
        authorization_modes=tuple(flags.split_list(args.get("authorization-mode"))) or was.authorization_modes,
        admission_plugins=tuple(flags.split_list(args.get("enable-admission-plugins"))),
        disabled_admission_plugins=tuple(flags.split_list(args.get("disable-admission-plugins"))),
        node_port_range=args.get("service-node-port-range", "30000-32767"),
        anonymous_auth=args.get("anonymous-auth", "true").lower() == "true",
        oidc=flags.oidc(args),
        audit=_audit(was.audit, args),
        # the provider and key name live in a file on the control planes; only the switch is visible
        encryption=(was.encryption or _unknown_encryption()) if "encryption-provider-config" in args else None,
    )


def _audit(was: Audit | None, args: Mapping[str, str]) -> Audit | None:
    """The audit flags as the API server runs them; the policy's rules live in a file only the inventory shows."""
    seen = flags.audit(args)
    return replace(seen, policy_rules=was.policy_rules) if seen is not None and was is not None else seen


def _component(was: Component, args: Mapping[str, str]) -> Component:
    """Extra args compared on the flags the inventory sets (the rest are kubeadm's); gates only when visible."""
    gates = flags.feature_gates(args["feature-gates"]) if "feature-gates" in args else dict(was.feature_gates)
    return Component(extra_args={k: args[k] for k in was.extra_args if k in args}, feature_gates=gates)


def _kubelet(was: Kubelet, config: Mapping[str, Any] | None) -> Kubelet:
    """kubeadm's kubelet-config: Kubespray's kubelets read a node-local file, so only values shown here count."""
    if config is None:
        return was
    gates = {str(k): bool(v) for k, v in (config.get("featureGates") or was.feature_gates).items()}
    return replace(was, config={k: config.get(k, v) for k, v in was.config.items()}, feature_gates=gates)


def _etcd(was: Etcd, args: Mapping[str, str], nodes: tuple[NodeSpec, ...]) -> Etcd:
    urls = flags.split_list(args.get("etcd-servers"))
    if not urls or any("127.0.0.1" in u or "localhost" in u for u in urls):
        return was  # stacked etcd behind localhost: membership is not visible from the API
    by_url = {m.client_url: m for m in was.members}
    members = tuple(
        by_url.get(u) or EtcdMember(name=_host(u), node=_node_at(_host(u), nodes), peer_url="", client_url=u)
        for u in urls
    )
    return replace(was, members=members)


def _node(node: Node, base: ClusterSpec) -> NodeSpec:
    taints = tuple(
        flags.taint_text(t.key, t.value, t.effect)
        for t in node.taints
        if not t.key.startswith("node.kubernetes.io/")  # condition taints (not-ready, unschedulable) come and go
    )
    control_plane = any(label in node.labels for label in CONTROL_PLANE_LABELS)
    tainted = any(t.key in CONTROL_PLANE_TAINT_KEYS for t in node.taints)
    roles = [ROLE_CONTROL_PLANE] if control_plane else []
    if not control_plane or not tainted:
        roles.append(ROLE_WORKER)
    known = next((n for n in base.nodes if n.name == node.name), None)
    if known and ROLE_ETCD in known.roles:
        roles.append(ROLE_ETCD)  # etcd membership is not on the Node object
    ip = node.internal_ip
    return NodeSpec(
        name=node.name,
        roles=tuple(roles),
        ip=ip if ip and ":" not in ip else None,
        access_ip=known.access_ip if known else ip,
        ip6=ip if ip and ":" in ip else (known.ip6 if known else None),
        ansible_host=known.ansible_host if known else None,
        etcd_member_name=known.etcd_member_name if known else None,
        labels={k: str(v) for k, v in node.labels.items() if not k.startswith(AUTOMATIC_LABEL_PREFIXES)},
        taints=tuple(t for t in taints if t.split("=")[0].split(":")[0] not in CONTROL_PLANE_TAINT_KEYS),
        install_disk=known.install_disk if known else None,
    )


def _endpoint(text: str, was: ControlPlaneEndpoint) -> ControlPlaneEndpoint:
    """kubeadm's controlPlaneEndpoint: host:port, [v6]:port or a bare host."""
    if not text:
        return was
    parts = urlsplit(f"//{text}")
    host = parts.hostname or text
    # the nodes' /etc/hosts entry for that name is not visible through the API: the baseline's, for the same name
    return ControlPlaneEndpoint(host=host, port=parts.port or 6443, kind=was.kind,
                                address=was.address if host == was.host else None)


def _unknown_encryption() -> SecretsEncryption:
    return SecretsEncryption(provider="unknown", key_name="unknown")


def _empty(cluster_config: Mapping[str, Any]) -> ClusterSpec:
    """A spec to fill when no inventory is given: only what the cluster shows will be set."""
    return ClusterSpec(
        name=str(cluster_config.get("clusterName") or ""),
        kubernetes_version=str(cluster_config.get("kubernetesVersion") or "").lstrip("v"),
        network=Network(),
        control_plane=ControlPlane(endpoint=ControlPlaneEndpoint(host="")),
    )


def _domain(cluster_config: Mapping[str, Any]) -> str:
    return str((cluster_config.get("networking") or {}).get("dnsDomain") or "cluster.local")


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def _node_at(address: str, nodes: tuple[NodeSpec, ...]) -> str:
    return next((n.name for n in nodes if address in n.addresses), address)

"""ClusterSpec + secrets bundle + Talos version → controlplane.yaml, worker.yaml and one patch per node.

The configs follow the chosen version's contract: v1alpha1 fields up to 1.11, the separate host documents
from 1.12 (HostnameConfig, ResolverConfig, TimeSyncConfig, Registry*Config), EnvironmentConfig from 1.13,
and from 1.14 the Kubernetes settings split into Kube*Config documents (multidoc.py).
Every value the cluster has is written out; nothing is left to a Talos default that differs (DESIGN.md).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from migrate.mapping.finding import Finding
from migrate.spec import ClusterSpec
from migrate.talos import components, host, multidoc
from migrate.talos.encryption import EncryptionOverride, encryption_override
from migrate.talos.nodes import INSTALL_DISK, node_patch
from migrate.talos.versions import TalosVersion, images

CONTROLPLANE = "controlplane"
WORKER = "worker"
KUBEPRISM_PORT = 7445
CP_LABELS = {"node.kubernetes.io/exclude-from-external-load-balancers": ""}


@dataclass
class Rendered:
    controlplane: list[dict[str, Any]]
    worker: list[dict[str, Any]]
    nodes: dict[str, list[dict[str, Any]]]  # host -> patch documents
    findings: list[Finding] = field(default_factory=list)
    encryption: EncryptionOverride = field(default_factory=EncryptionOverride)

    def files(self) -> dict[str, str]:
        """Relative path -> YAML text, the plan directory's configs."""
        out = {"controlplane.yaml": to_yaml(self.controlplane), "worker.yaml": to_yaml(self.worker)}
        for name, docs in sorted(self.nodes.items()):
            out[f"nodes/{name}.yaml"] = to_yaml(docs)
        return out


def render(spec: ClusterSpec, bundle: Any, talos: TalosVersion, etcd_image_tag: str | None = None) -> Rendered:
    """`etcd_image_tag`: pin the Talos members' etcd (versions.etcd_step) instead of Talos's default."""
    findings: list[Finding] = []
    enc = encryption_override(spec, bundle)
    findings += enc.findings
    host_part = _host_part(spec, talos)
    findings += host_part.findings
    cluster_cp, cluster_findings = _cluster(spec, bundle, talos, CONTROLPLANE, enc, etcd_image_tag)
    findings += cluster_findings
    machine_cp, machine_findings = _machine(spec, bundle, talos, CONTROLPLANE, host_part, enc)
    findings += machine_findings
    machine_w, _ = _machine(spec, bundle, talos, WORKER, host_part, enc)
    cluster_w, _ = _cluster(spec, bundle, talos, WORKER, enc)
    trailer = _hostname_default(talos) + host_part.documents
    controlplane = [_v1alpha1(machine_cp, cluster_cp), *trailer]
    worker = [_v1alpha1(machine_w, cluster_w), *trailer]
    kubelets, kubelet_findings = components.node_kubelets(spec)
    findings += kubelet_findings
    nodes = {n.name: node_patch(n, talos, kubelets.get(n.name)) for n in spec.nodes}
    if talos.kubernetes_documents:
        controlplane, worker = multidoc.split(controlplane), multidoc.split(worker)
        nodes = {name: multidoc.split(patch, patch=True) for name, patch in nodes.items()}
    return Rendered(controlplane, worker, nodes, findings, enc)


if TYPE_CHECKING:
    _BaseDumper = yaml.SafeDumper
else:
    _BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # libyaml's emitter when available: 1,000 patches
    """Multi-line strings (file contents, policies) as literal blocks a reviewer can read."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text and not text.endswith((" ", "\t")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(documents: list[dict[str, Any]]) -> str:
    """Multi-document YAML; PyYAML quotes on/off/yes/no itself, so Talos (Go YAML) and we read the same."""
    return "---\n".join(yaml.dump(d, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)
                        for d in documents)


def _v1alpha1(machine: dict[str, Any], cluster: dict[str, Any]) -> dict[str, Any]:
    return {"version": "v1alpha1", "debug": False, "machine": machine, "cluster": cluster}


def _hostname_default(talos: TalosVersion) -> list[dict[str, Any]]:
    # gen config's default; every node patch replaces it with the inventory name (auto: off)
    return [host.document("HostnameConfig", auto="stable")] if talos.has("HostnameConfig") else []


def _host_part(spec: ClusterSpec, talos: TalosVersion) -> host.HostPart:
    part = host.HostPart()
    part.add(host.resolvers(spec, talos)).add(host.time_servers(spec, talos)).add(host.registries(spec, talos))
    part.add(host.host_entries(spec, talos))
    part.add(host.environment(host.proxy_environment(spec), talos))
    return part


def _machine(spec: ClusterSpec, bundle: Any, talos: TalosVersion, role: str, host_part: host.HostPart,
             enc: EncryptionOverride) -> tuple[dict[str, Any], list[Finding]]:
    kubelet, findings = components.kubelet(spec, talos)
    machine: dict[str, Any] = {
        "type": role,
        "token": bundle.trustd_token,
        "ca": _pair(bundle.os, with_key=role == CONTROLPLANE),
        "certSANs": [],
        "kubelet": kubelet,
        "install": _install(talos),
        "features": {
            **talos.defaults_for("features"),  # ≤1.11: rbac, stableHostname, apidCheckExtKeyUsage (off when unset)
            "diskQuotaSupport": True,
            "kubePrism": {"enabled": True, "port": KUBEPRISM_PORT},
            "hostDNS": {"enabled": True, "forwardKubeDNSToHost": True},
        },
    }
    modules = components.kernel_modules(spec)
    if modules:
        machine["kernel"] = {"modules": modules}
    sysctls = components.sysctls(spec)
    if sysctls:
        machine["sysctls"] = sysctls
    if role == CONTROLPLANE:
        machine["nodeLabels"] = dict(CP_LABELS)
        if enc.files:
            machine["files"] = [dict(f) for f in enc.files]
    machine.update(host_part.machine)
    return machine, findings


def _install(talos: TalosVersion) -> dict[str, Any]:
    return {"disk": INSTALL_DISK, "image": talos.installer_image, "wipe": False, **talos.defaults_for("install")}


def _cluster(spec: ClusterSpec, bundle: Any, talos: TalosVersion, role: str,
             enc: EncryptionOverride, etcd_image_tag: str | None = None) -> tuple[dict[str, Any], list[Finding]]:
    endpoint = spec.control_plane.endpoint
    control_plane: dict[str, Any] = {"endpoint": endpoint.url}
    if spec.control_plane.apiserver_port != 6443:
        control_plane["localAPIServerPort"] = spec.control_plane.apiserver_port
    cluster: dict[str, Any] = {
        "id": bundle.cluster_id,
        "secret": bundle.cluster_secret,
        "controlPlane": control_plane,
        "clusterName": spec.name,
        "network": {
            "dnsDomain": spec.network.dns_domain,
            "podSubnets": list(spec.network.pod_subnets),
            "serviceSubnets": list(spec.network.service_subnets),
            "cni": {"name": "none"},  # Kubespray's CNI keeps running; Talos must not deploy (and adopt) flannel
        },
        "token": bundle.bootstrap_token,
        "ca": _pair(bundle.k8s, with_key=role == CONTROLPLANE),
    }
    findings: list[Finding] = []
    if role == CONTROLPLANE:
        cluster.update(enc.cluster)
        cluster["aggregatorCA"] = _pair(bundle.k8s_aggregator, with_key=True)
        cluster["serviceAccount"] = {"key": _b64(bundle.k8s_service_account.key)}
        apiserver, found = components.apiserver(spec, talos)
        apiserver.update(talos.defaults_for("apiServer"))
        if enc.volumes:
            apiserver["extraVolumes"] = [dict(v) for v in enc.volumes]
        findings += found
        cluster["apiServer"] = apiserver
        for name, build in (("controllerManager", components.controller_manager), ("scheduler", components.scheduler),
                            ("proxy", components.proxy)):
            cluster[name], found = build(spec)
            findings += found
        cluster["etcd"], found = components.etcd(spec, _pair(bundle.etcd, with_key=True))
        if etcd_image_tag:
            cluster["etcd"]["image"] = f"{images()['etcd']}:{etcd_image_tag}"
        findings += found
        cluster["coreDNS"] = {"disabled": True}  # Kubespray's coredns Service stays authoritative
        if any(n.is_control_plane and n.is_worker for n in spec.nodes):
            cluster["allowSchedulingOnControlPlanes"] = True
    cluster["discovery"] = {"enabled": True, "registries": {"kubernetes": {"disabled": True}, "service": {}}}
    return cluster, findings


def _pair(pair: Any, *, with_key: bool) -> dict[str, str]:
    return {"crt": _b64(pair.crt), "key": _b64(pair.key) if with_key else ""}


def _b64(pem: str | None) -> str:
    return base64.b64encode((pem or "").encode()).decode() if pem else ""

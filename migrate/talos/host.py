"""Host settings that Talos 1.12 moved out of v1alpha1 into their own documents (1.13: the environment too).

Each function returns `HostPart`: fields for the v1alpha1 `machine` section (older contracts) and/or
whole documents (newer ones), so the caller never asks which version it is rendering for.
"""
# exercised by tests/talos/test_render.py

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from migrate.mapping.finding import MANUAL, Finding, finding
from migrate.spec import ClusterSpec, RegistryMirror
from migrate.talos.versions import TalosVersion

API_VERSION = "v1alpha1"
# Kubespray's built-in docker.io entry points at Docker Hub itself: not a mirror
_UPSTREAM = {"docker.io": "https://registry-1.docker.io"}


@dataclass
class HostPart:
    machine: dict[str, Any] = field(default_factory=dict)
    documents: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def add(self, other: HostPart) -> HostPart:
        for key, value in other.machine.items():
            if isinstance(value, dict) and isinstance(self.machine.get(key), dict):
                self.machine[key] = {**self.machine[key], **value}
            else:
                self.machine[key] = value
        self.documents.extend(other.documents)
        self.findings.extend(other.findings)
        return self


SEARCH_DOMAINS_SINCE = (1, 9)  # machine.network.searchDomains is in the v1alpha1 schema from Talos 1.9


def document(kind: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, **fields}


def resolvers(spec: ClusterSpec, talos: TalosVersion) -> HostPart:
    """The hosts' DNS servers (Kubespray's `nameservers`) and search domains. upstream_dns_servers stay in the
    CoreDNS ConfigMap, which forwards to them directly, so they do not become host resolvers."""
    servers = list(spec.host.nameservers)
    domains = list(spec.host.search_domains)
    if not servers and not domains:
        return HostPart()
    if talos.has("ResolverConfig"):
        doc = document("ResolverConfig")
        if servers:
            doc["nameservers"] = [{"address": s} for s in servers]
        if domains:
            doc["searchDomains"] = {"domains": domains}
        return HostPart(documents=[doc])
    network: dict[str, Any] = {}
    findings: list[Finding] = []
    if servers:
        network["nameservers"] = servers
    if domains and talos.key >= SEARCH_DOMAINS_SINCE:
        network["searchDomains"] = domains
    elif domains:  # the 1.8 schema has no machine.network.searchDomains: never write what Talos would reject
        findings.append(finding("host search domains", MANUAL, f"Talos {talos.minor} cannot set the hosts' search domains "
                                f"({', '.join(domains)}); machine.network.searchDomains came in 1.9. Pods resolve "
                                "through CoreDNS as before; target Talos ≥1.9 if host processes need them.",
                                talos_path="machine.network.searchDomains", area="DNS"))
    return HostPart(machine={"network": network} if network else {}, findings=findings)


def host_entries(spec: ClusterSpec, talos: TalosVersion) -> HostPart:
    """The /etc/hosts entry Kubespray gave every node for the API endpoint's name (lb-apiserver.kubernetes.local)."""
    endpoint = spec.control_plane.endpoint
    if not endpoint.address:
        return HostPart()
    if talos.has("StaticHostConfig"):
        return HostPart(documents=[document("StaticHostConfig", name=endpoint.address, hostnames=[endpoint.host])])
    return HostPart(machine={"network": {"extraHostEntries": [{"ip": endpoint.address, "aliases": [endpoint.host]}]}})


def time_servers(spec: ClusterSpec, talos: TalosVersion) -> HostPart:
    servers = [s.split()[0] for s in spec.host.ntp_servers if s.strip()]  # strip chrony/ntpd options
    if not servers:
        return HostPart()
    if talos.has("TimeSyncConfig"):
        return HostPart(documents=[document("TimeSyncConfig", ntp={"servers": servers})])
    return HostPart(machine={"time": {"servers": servers}})


def registries(spec: ClusterSpec, talos: TalosVersion) -> HostPart:
    """Mirrors and TLS exceptions per endpoint, as Kubespray sets them: one skip_verify mirror never turns off
    verification for another registry's host."""
    mirrors = [m for m in spec.runtime.mirrors if not _is_upstream(m)]
    insecure = sorted({_host(e) for m in mirrors for e in insecure_endpoints(m)}
                      | {_host(r) for r in spec.runtime.insecure_registries})
    if not mirrors and not insecure:
        return HostPart()
    if talos.has("RegistryMirrorConfig"):
        docs = [document("RegistryMirrorConfig", name=m.registry, endpoints=[_endpoint(e, m) for e in m.endpoints])
                for m in mirrors]
        docs += [document("RegistryTLSConfig", name=h, insecureSkipVerify=True) for h in insecure]
        return HostPart(documents=docs)
    part = HostPart()
    section: dict[str, Any] = {}
    if mirrors:
        section["mirrors"] = {m.registry: _legacy_mirror(m, part.findings) for m in mirrors}
    if insecure:
        section["config"] = {h: {"tls": {"insecureSkipVerify": True}} for h in insecure}
    part.machine["registries"] = section
    return part


def insecure_endpoints(mirror: RegistryMirror) -> tuple[str, ...]:
    """The endpoints whose certificate is not verified; a spec that only says "some endpoint" (the boolean without
    the list, e.g. from an older spec file) can only mean its endpoints."""
    if mirror.insecure_endpoints or not mirror.skip_verify:
        return mirror.insecure_endpoints
    return mirror.endpoints


def override_path_endpoints(mirror: RegistryMirror) -> tuple[str, ...]:
    """The endpoints whose URL path is used as is (same fallback as insecure_endpoints)."""
    if mirror.override_path_endpoints or not mirror.override_path:
        return mirror.override_path_endpoints
    return mirror.endpoints


def environment(variables: dict[str, str], talos: TalosVersion) -> HostPart:
    if not variables:
        return HostPart()
    if talos.has("EnvironmentConfig"):
        return HostPart(documents=[document("EnvironmentConfig", variables=variables)])
    return HostPart(machine={"env": variables})


def proxy_environment(spec: ClusterSpec) -> dict[str, str]:
    """http(s)_proxy and a no_proxy that also covers what Talos nodes reach directly."""
    proxy = spec.host.proxy
    if proxy is None or not (proxy.http_proxy or proxy.https_proxy):
        return {}
    env: dict[str, str] = {}
    if proxy.http_proxy:
        env["http_proxy"] = proxy.http_proxy
    if proxy.https_proxy:
        env["https_proxy"] = proxy.https_proxy
    direct = [x.strip() for x in (proxy.no_proxy or "").split(",") if x.strip()]
    needed = [*spec.network.pod_subnets, *spec.network.service_subnets, ".svc", f".{spec.network.dns_domain}",
              "localhost", "127.0.0.1", spec.control_plane.endpoint.host,
              *(n.ip for n in spec.control_planes if n.ip)]
    for item in needed:
        if item not in direct:
            direct.append(item)
    env["no_proxy"] = ",".join(direct)
    return env


def _is_upstream(mirror: RegistryMirror) -> bool:
    upstream = _UPSTREAM.get(mirror.registry)
    return upstream is not None and [e.rstrip("/") for e in mirror.endpoints] == [upstream]


def _endpoint(url: str, mirror: RegistryMirror) -> dict[str, Any]:
    entry: dict[str, Any] = {"url": url}
    if url in override_path_endpoints(mirror):
        entry["overridePath"] = True
    return entry


def _legacy_mirror(mirror: RegistryMirror, findings: list[Finding]) -> dict[str, Any]:
    """≤1.11 has one overridePath per registry: set only when every endpoint wants it, else a person decides."""
    entry: dict[str, Any] = {"endpoints": list(mirror.endpoints)}
    overriding = override_path_endpoints(mirror)
    if overriding and set(overriding) >= set(mirror.endpoints):
        entry["overridePath"] = True
    elif overriding:
        findings.append(finding(
            f"registry mirror {mirror.registry}", MANUAL,
            f"Kubespray uses the path of {', '.join(overriding)} as is (override_path) but not of "
            f"{', '.join(e for e in mirror.endpoints if e not in overriding)}; this Talos version has one "
            f"overridePath for the whole registry, so it is left unset and pulls through the overriding endpoint "
            f"would get /v2 appended. Split the registry's endpoints, drop the plain ones, or plan for Talos >=1.12 "
            f"(overridePath per endpoint).",
            talos_path=f"machine.registries.mirrors[{mirror.registry}].overridePath", area="registries"))
    return entry


def _host(url: str) -> str:
    return urlsplit(url).netloc or url.split("/")[0] if "://" in url else url.split("/")[0]

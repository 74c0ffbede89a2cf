"""Rendering: the cluster's own values reach the Talos documents, in the form each Talos version reads."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrate.errors import UserError
from migrate.spec import Component
from migrate.talos import multidoc
from migrate.talos.merge import apply_patch, load_documents
from migrate.talos.read import read_documents
from migrate.talos.render import render, to_yaml
from migrate.talos.secrets import generate_bundle, import_pki
from migrate.talos.validate import validate
from migrate.talos.versions import choose
from tests.conftest import FIXTURES, shared_path
from tests.talos.plan_fixtures import matrix, resolved

# What each fixture's author says Kubespray runs (playbook_fixtures/inventories/README.md), NOT what our reader says:
# service CIDRs, pod CIDRs, kubelet cluster DNS, dnsDomain, kube-proxy mode, Kubernetes version, API endpoint
EXPECTED = {
    "demo": (["10.233.0.0/18"], ["10.233.64.0/18"], ["169.254.25.10"], "cluster.local", "ipvs", "1.31.4",
             "https://k8s-api.demo.internal:6443"),
    "single-node": (["10.233.0.0/18"], ["10.233.64.0/18"], ["169.254.25.10"], "cluster.local", "ipvs", "1.30.4",
                    "https://192.168.122.10:6443"),
    "ha-external-lb": (["10.96.0.0/16"], ["10.244.0.0/16"], ["169.254.25.10"], "k8s.corp.internal", "ipvs", "1.32.5",
                       "https://api.k8s.corp.internal:8443"),
    "localhost-proxy": (["10.233.0.0/18"], ["10.233.64.0/18"], ["10.233.0.3"], "cluster.local", "ipvs", "1.27.5",
                        "https://192.168.20.11:6443"),
    "dual-stack": (["10.233.0.0/18", "fd00:10:96::/112"], ["10.233.64.0/18", "fd00:10:244::/56"], ["169.254.25.10"],
                   "cluster.local", "ipvs", "1.33.5", "https://10.30.0.11:6443"),
    "large-ha": (["10.233.0.0/18"], ["10.233.64.0/18"], ["169.254.25.10"], "cluster.local", "iptables", "1.30.4",
                 "https://k8s-api.large.internal:6443"),
    "flatcar": (["10.233.0.0/18"], ["10.233.64.0/18"], ["169.254.25.10"], "cluster.local", "iptables", "1.29.5",
                "https://10.70.0.11:6443"),
}


@pytest.fixture(scope="module")
def bundle():
    return generate_bundle()


def rendered_for(name: str, minor: str, bundle):
    spec = resolved(name).spec
    return render(spec, bundle, choose(minor, spec.kubernetes_version))


@pytest.mark.parametrize("name, minor", [case for case in matrix() if case[0] in EXPECTED])
def test_the_clusters_values_are_written_never_talos_defaults(name, minor, bundle):
    services, pods, cluster_dns, domain, proxy_mode, k8s, endpoint = EXPECTED[name]
    cp = multidoc.fold(rendered_for(name, minor, bundle).controlplane)[0]  # 1.14's documents read in v1alpha1 form
    network = cp["cluster"]["network"]
    assert network["serviceSubnets"] == services and network["podSubnets"] == pods
    assert network["dnsDomain"] == domain
    assert network["cni"] == {"name": "none"}
    assert cp["machine"]["kubelet"]["clusterDNS"] == cluster_dns
    assert cp["cluster"]["coreDNS"] == {"disabled": True}
    assert cp["cluster"]["proxy"]["mode"] == proxy_mode
    modules = [m["name"] for m in cp["machine"].get("kernel", {}).get("modules", [])]
    assert ("ip_vs" in modules) == (proxy_mode == "ipvs")
    assert cp["cluster"]["controlPlane"]["endpoint"] == endpoint
    images = [cp["machine"]["kubelet"]["image"]] + [cp["cluster"][c]["image"] for c in
                                                    ("apiServer", "controllerManager", "scheduler", "proxy")]
    assert all(i.endswith(f":v{k8s}") for i in images)
    issuers = cp["cluster"]["apiServer"]["extraArgs"]["service-account-issuer"]
    first = issuers[0] if isinstance(issuers, list) else issuers
    assert first == f"https://kubernetes.default.svc.{domain}"  # the cluster's issuer stays primary
    assert endpoint in cp["cluster"]["apiServer"]["extraArgs"]["api-audiences"].split(",")


@pytest.mark.parametrize("name, minor", matrix())
def test_every_document_and_every_merged_node_config_is_schema_valid(name, minor, bundle):
    schemas = shared_path("talos", "schemas")
    talos = choose(minor, resolved(name).spec.kubernetes_version)
    out = rendered_for(name, minor, bundle)
    problems = validate("controlplane.yaml", out.controlplane, talos, schemas)
    problems += validate("worker.yaml", out.worker, talos, schemas)
    # large inventories: check every patch, and a sample of patched configs (they share one shape)
    for host, patch in out.nodes.items():
        problems += validate(f"nodes/{host}.yaml", patch, talos, schemas)
    for node in [*resolved(name).spec.control_planes[:1], *resolved(name).spec.workers[:2]]:
        base = out.controlplane if node.is_control_plane else out.worker
        text = to_yaml(apply_patch(load_documents(to_yaml(base)), load_documents(to_yaml(out.nodes[node.name]))))
        problems += validate(f"{node.name} merged", load_documents(text), talos, schemas)
    assert [str(p) for p in problems] == []


@pytest.mark.parametrize("minor, modern", [("1.11", False), ("1.12", True), ("1.13", True)])
def test_hostname_uses_the_versions_own_form(minor, modern, bundle):
    out = rendered_for("demo", minor, bundle)
    patch = out.nodes["cp1"]
    if modern:
        assert {"apiVersion": "v1alpha1", "kind": "HostnameConfig", "hostname": "cp1", "auto": "off"} in patch
        assert "network" not in patch[0]["machine"]
        assert "auto: 'off'" in to_yaml(patch)  # quoted: a YAML 1.1 reader would make `off` a boolean
    else:
        assert patch[0]["machine"]["network"]["hostname"] == "cp1"
        assert all("kind" not in d for d in out.controlplane + patch)
    assert patch[0]["machine"]["kubelet"]["nodeIP"]["validSubnets"] == ["10.0.10.11/32"]
    assert patch[0]["cluster"]["etcd"]["advertisedSubnets"] == ["10.0.10.11/32"]


def test_host_documents_follow_the_contract(bundle):
    """oidc-proxy-ntp: proxy env, NTP with options, resolvers, OIDC flags."""
    old, mid, new = (rendered_for("oidc-proxy-ntp", m, bundle).controlplane for m in ("1.11", "1.12", "1.13"))
    assert old[0]["machine"]["time"]["servers"] == ["ntp-a.corp.example.internal", "ntp-b.corp.example.internal",
                                                    "10.60.0.123"]
    assert old[0]["machine"]["env"]["https_proxy"] == "http://proxy.corp.example.internal:3128"
    assert "nameservers" in old[0]["machine"]["network"]
    kinds_mid = {d.get("kind") for d in mid}
    assert {"TimeSyncConfig", "ResolverConfig", "HostnameConfig"} <= kinds_mid and "EnvironmentConfig" not in kinds_mid
    assert "env" in mid[0]["machine"] and "time" not in mid[0]["machine"]
    env = next(d for d in new if d.get("kind") == "EnvironmentConfig")["variables"]
    assert "env" not in new[0]["machine"]
    no_proxy = env["no_proxy"].split(",")
    assert {"10.233.0.0/18", "10.233.64.0/18", ".svc", ".cluster.local"} <= set(no_proxy)
    assert not any("iburst" in yaml.safe_dump(d) for d in new)
    args = new[0]["cluster"]["apiServer"]["extraArgs"]
    assert args["oidc-issuer-url"] == "https://sso.corp.example.internal/realms/kubernetes"
    assert args["oidc-username-prefix"] == "oidc:"


def test_restricted_worker_labels_stay_out_of_the_patch(bundle):
    out = rendered_for("demo", "1.13", bundle)
    spec = resolved("demo").spec
    w3 = spec.node("w3")
    labels = out.nodes["w3"][0]["machine"].get("nodeLabels", {})
    assert labels == {k: v for k, v in w3.labels.items() if "kubernetes.io" not in k or k.startswith("node.kubernetes.io")}
    restricted = dataclasses.replace(w3, labels={"node-role.kubernetes.io/worker": "", "team": "a"})
    spec2 = dataclasses.replace(spec, nodes=tuple(restricted if n.name == "w3" else n for n in spec.nodes))
    patched = render(spec2, bundle, choose("1.13", spec.kubernetes_version)).nodes["w3"][0]["machine"]
    assert patched["nodeLabels"] == {"team": "a"}


def test_denied_flags_and_protected_fields_are_dropped_with_findings(bundle):
    spec = resolved("demo").spec
    apiserver = Component(extra_args={"etcd-servers": "https://10.0.10.11:2379", "tls-cert-file": "/x.crt",
                                      "audit-log-maxage": 7}, feature_gates={})
    cp = dataclasses.replace(spec.control_plane, apiserver=apiserver)
    kubelet = dataclasses.replace(spec.kubelet, config={**spec.kubelet.config, "cgroupRoot": "/kubepods"},
                                  extra_args={"config": "/etc/kubernetes/kubelet-config.yaml", "v": 2})
    spec = dataclasses.replace(spec, control_plane=cp, kubelet=kubelet)
    out = render(spec, bundle, choose("1.12", spec.kubernetes_version))
    args = out.controlplane[0]["cluster"]["apiServer"]["extraArgs"]
    assert "etcd-servers" not in args and "tls-cert-file" not in args and args["audit-log-maxage"] == "7"
    kubelet_out = out.controlplane[0]["machine"]["kubelet"]
    assert "cgroupRoot" not in kubelet_out["extraConfig"] and kubelet_out["extraArgs"] == {"v": "2"}
    dropped = {f.setting for f in out.findings if f.verdict == "dropped"}
    assert {"kube-apiserver --etcd-servers", "kube-apiserver --tls-cert-file", "kubelet --config",
            "kubelet cgroupRoot"} <= dropped


def test_encryption_config_is_carried_with_its_key_name(bundle):
    spec = resolved("demo").spec
    imported = import_pki(FIXTURES / "pki" / "demo", etcd_deployment_type="host")
    out = render(spec, imported, choose("1.13", spec.kubernetes_version))
    cp = out.controlplane[0]
    (carried,) = cp["machine"]["files"]
    # kube-apiserver runs as uid 65534 on Talos and machine.files writes root-owned files: 0600 would stop it
    assert carried["path"].startswith("/var/") and carried["permissions"] & 0o004
    assert "name: key\n" in carried["content"]
    (volume,) = cp["cluster"]["apiServer"]["extraVolumes"]
    assert volume["hostPath"] == carried["path"] and volume["readonly"] is True
    assert "encryption-provider-config" not in cp["cluster"]["apiServer"]["extraArgs"]  # denied by Talos
    assert "files" not in out.worker[0]["machine"] and "secretboxEncryptionSecret" not in out.worker[0]["cluster"]
    assert out.encryption.carried
    (rotate,) = [f for f in out.findings if f.setting == "encryption key rotation"]
    assert rotate.verdict == "manual" and "unverified" in rotate.reason and "key2" in rotate.reason


def test_the_on_node_encryption_provider_wins_over_the_inventorys(tmp_path):
    """demo's inventory says secretbox; the node's secrets_encryption.yaml says aescbc, which Kubespray re-reads."""
    import shutil

    pki = shutil.copytree(FIXTURES / "pki" / "demo", tmp_path / "pki")
    text = (pki / "secrets_encryption.yaml").read_text().replace("secretbox:", "aescbc:")
    (pki / "secrets_encryption.yaml").write_text(text)
    spec = resolved("demo").spec
    assert spec.control_plane.encryption.provider == "secretbox"
    out = render(spec, import_pki(pki, etcd_deployment_type="host"), choose("1.13", spec.kubernetes_version))
    cluster = out.controlplane[0]["cluster"]
    assert cluster["aescbcEncryptionSecret"] and "secretboxEncryptionSecret" not in cluster
    assert out.encryption.provider == "aescbc"
    (mismatch,) = [f for f in out.findings if f.setting == "encryption provider mismatch"]
    assert "aescbc" in mismatch.reason and "secretbox" in mismatch.reason


def test_a_cluster_without_encryption_gets_no_encryption_secret(bundle):
    out = rendered_for("single-node", "1.12", bundle)
    for docs in (out.controlplane, out.worker):
        text = to_yaml(docs)
        assert "EncryptionSecret" not in text and bundle.secretbox_encryption_secret not in text


def test_an_imported_config_without_the_clusters_key_is_refused(bundle):
    spec = resolved("demo").spec
    wrong = dataclasses.replace(bundle, encryption_config=(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n"
        "  providers:\n  - secretbox:\n      keys:\n      - name: key2\n        secret: c2VjcmV0\n  - identity: {}\n"))
    with pytest.raises(UserError, match="no key named 'key'"):
        render(spec, wrong, choose("1.13", spec.kubernetes_version))


@pytest.mark.parametrize("name, allocate", [("demo", "false"), ("large-ha", None)])
def test_calico_ipam_keeps_node_cidr_allocation_off(name, allocate, bundle):
    cm = rendered_for(name, "1.12", bundle).controlplane[0]["cluster"]["controllerManager"]
    assert cm.get("extraArgs", {}).get("allocate-node-cidrs") == allocate


def test_allocate_node_cidrs_comes_from_the_spec_only(bundle):
    spec = resolved("demo").spec
    assert spec.network.cni.name == "calico"
    args = dict(spec.control_plane.controller_manager.extra_args)
    assert args.pop("allocate-node-cidrs") == "false"
    cp = dataclasses.replace(spec.control_plane,
                             controller_manager=dataclasses.replace(spec.control_plane.controller_manager,
                                                                    extra_args=args))
    out = render(dataclasses.replace(spec, control_plane=cp), bundle, choose("1.13", spec.kubernetes_version))
    assert "allocate-node-cidrs" not in out.controlplane[0]["cluster"]["controllerManager"].get("extraArgs", {})


def test_large_cluster_node_prefix_and_max_pods_are_kept(bundle):
    cp = rendered_for("large-ha", "1.12", bundle).controlplane[0]
    assert cp["cluster"]["controllerManager"]["extraArgs"]["node-cidr-mask-size-ipv4"] == "26"
    assert cp["machine"]["kubelet"]["extraConfig"]["maxPods"] == 60


def _key_paths(doc, prefix=(), depth=4):
    paths = set()
    if isinstance(doc, dict) and depth:
        for key, value in doc.items():
            paths |= {prefix + (key,)} | _key_paths(value, prefix + (key,), depth - 1)
    return paths


@pytest.mark.parametrize("minor", ["1.8", "1.9", "1.10", "1.11", "1.12", "1.13"])
@pytest.mark.parametrize("role", ["controlplane", "worker"])
def test_configs_are_complete_for_the_versions_contract(minor, role, bundle):
    """Everything `talosctl gen config` writes for that version is in ours too (persist: deprecated, schema-invalid;
    machine.network: written empty by gen ≤1.12, filled per node by our patches)."""
    reference = shared_path("talos", "gen-config-reference", f"v{minor}", f"base-{role}.yaml")
    gen = list(yaml.safe_load_all(reference.read_text()))
    ours = getattr(rendered_for("demo", minor, bundle), role)
    missing = {".".join(p) for p in _key_paths(gen[0]) - _key_paths(ours[0])} - {"persist", "machine.network"}
    assert missing == set()
    assert {d["kind"] for d in gen[1:]} <= {d["kind"] for d in ours[1:]}
    assert "persist" not in ours[0]


@pytest.mark.parametrize("minor", ["1.10", "1.13"])
def test_dual_stack_keeps_ipv6_working(minor, bundle):
    cp = rendered_for("dual-stack", minor, bundle).controlplane[0]
    assert cp["cluster"]["apiServer"]["extraArgs"]["bind-address"] == "::"
    assert cp["machine"]["sysctls"]["net.ipv6.conf.all.forwarding"] == "1"
    node = resolved("dual-stack").spec.control_planes[0]
    subnets = rendered_for("dual-stack", minor, bundle).nodes[node.name][0]["machine"]["kubelet"]["nodeIP"]["validSubnets"]
    assert subnets == [f"{node.ip}/32", f"{node.ip6}/128"]
    single = rendered_for("demo", minor, bundle).controlplane[0]
    assert "bind-address" not in single["cluster"]["apiServer"]["extraArgs"] and "sysctls" not in single["machine"]


_octet = st.integers(min_value=0, max_value=255)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pods=st.tuples(_octet, st.integers(min_value=12, max_value=20)),
    services=st.tuples(_octet, st.integers(min_value=16, max_value=24)),
    domain=st.from_regex(r"[a-z][a-z0-9]{0,8}\.(local|internal|corp)", fullmatch=True),
    proxy_mode=st.sampled_from(["ipvs", "iptables", "nftables"]),
    minor=st.sampled_from(["1.8", "1.11", "1.12", "1.13"]),
)
def test_network_round_trips_through_the_talos_documents(pods, services, domain, proxy_mode, minor, bundle):
    """Whatever the cluster's network, Talos (read back as Talos would run it) gets exactly that network."""
    pod_cidr = str(ipaddress.ip_network(f"10.{pods[0]}.0.0/{pods[1]}", strict=False))
    service_cidr = str(ipaddress.ip_network(f"172.16.{services[0]}.0/{services[1]}", strict=False))
    dns_ip = str(next(ipaddress.ip_network(service_cidr).hosts()) + 2)
    base = resolved("demo").spec
    network = dataclasses.replace(base.network, pod_subnets=(pod_cidr,), service_subnets=(service_cidr,),
                                  dns_domain=domain, kube_proxy_mode=proxy_mode, cluster_dns=(dns_ip,))
    spec = dataclasses.replace(base, network=network)
    talos = choose(minor, spec.kubernetes_version)
    back = read_documents(to_yaml(render(spec, bundle, talos).controlplane))
    assert back.network.pod_subnets == (pod_cidr,) and back.network.service_subnets == (service_cidr,)
    assert back.network.dns_domain == domain and back.network.kube_proxy_mode == proxy_mode
    assert back.network.cluster_dns == (dns_ip,)
    assert back.kubernetes_version == spec.kubernetes_version
    assert back.control_plane.service_account_issuer == base.control_plane.service_account_issuer


@pytest.mark.parametrize("defaults_on, enforce, warn", [(False, "privileged", "privileged"),
                                                        (True, "baseline", "restricted")])
def test_pod_security_is_the_clusters_not_talos_baseline(defaults_on, enforce, warn, bundle):
    spec = resolved("single-node").spec
    spec = dataclasses.replace(spec, control_plane=dataclasses.replace(spec.control_plane,
                                                                       pod_security_defaults=defaults_on))
    cp = render(spec, bundle, choose("1.12", spec.kubernetes_version)).controlplane[0]
    (admission,) = cp["cluster"]["apiServer"]["admissionControl"]
    assert admission["configuration"]["defaults"]["enforce"] == enforce
    assert admission["configuration"]["defaults"]["warn"] == warn


def test_a_known_install_disk_lands_in_the_node_patch(bundle):
    spec = resolved("demo").spec
    nodes = tuple(dataclasses.replace(n, install_disk="/dev/nvme0n1") for n in spec.nodes)
    out = render(dataclasses.replace(spec, nodes=nodes), bundle, choose("1.13", spec.kubernetes_version))
    assert all(patch[0]["machine"]["install"] == {"disk": "/dev/nvme0n1"} for patch in out.nodes.values())


def with_mirrors(name: str, *mirrors):
    spec = resolved(name).spec
    return dataclasses.replace(spec, runtime=dataclasses.replace(spec.runtime, mirrors=mirrors))


HUB = "https://registry-1.docker.io"
HARBOR = "https://harbor.example.internal/v2/dockerhub"


def mixed_docker_io():
    from migrate.spec import RegistryMirror

    return RegistryMirror("docker.io", (HARBOR, HUB), skip_verify=True, override_path=True,
                          insecure_endpoints=(HARBOR,), override_path_endpoints=(HARBOR,))


@pytest.mark.parametrize("minor", ["1.11", "1.13"])
def test_tls_verification_is_skipped_only_for_the_insecure_endpoints_host(minor, bundle):
    spec = with_mirrors("demo", mixed_docker_io())
    docs = render(spec, bundle, choose(minor, spec.kubernetes_version)).controlplane
    if minor == "1.13":
        skipped = {d["name"] for d in docs if d.get("kind") == "RegistryTLSConfig" and d.get("insecureSkipVerify")}
    else:
        config = docs[0]["machine"]["registries"]["config"]
        skipped = {h for h, c in config.items() if c["tls"].get("insecureSkipVerify")}
    assert skipped == {"harbor.example.internal"}


def test_override_path_per_endpoint_from_1_12(bundle):
    spec = with_mirrors("demo", mixed_docker_io())
    docs = render(spec, bundle, choose("1.13", spec.kubernetes_version)).controlplane
    mirror = next(d for d in docs if d.get("kind") == "RegistryMirrorConfig")
    assert mirror["endpoints"] == [{"url": HARBOR, "overridePath": True}, {"url": HUB}]


def test_override_path_on_1_11_only_when_every_endpoint_overrides(bundle):
    from migrate.spec import RegistryMirror

    quay = RegistryMirror("quay.io", ("https://harbor.example.internal/v2/quay",), override_path=True,
                          override_path_endpoints=("https://harbor.example.internal/v2/quay",))
    spec = with_mirrors("demo", mixed_docker_io(), quay)
    out = render(spec, bundle, choose("1.11", spec.kubernetes_version))
    mirrors = out.controlplane[0]["machine"]["registries"]["mirrors"]
    assert mirrors["quay.io"]["overridePath"] is True
    assert "overridePath" not in mirrors["docker.io"]
    manual = [f for f in out.findings if f.verdict == "manual" and "docker.io" in f.setting]
    assert manual and HUB in manual[0].reason and "quay.io" not in " ".join(f.setting for f in manual)

"""KubeCluster, the real client path, over HTTP against the twin's facade."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from migrate.cluster.base import BootstrapToken, Cluster, EvictionOutcome, Taint
from migrate.cluster.kube import KubeCluster
from migrate.cluster.twin import Twin, VirtualClock, serve_in_thread
from migrate.cluster.twin.resources import EVENTS, NODES, PDBS, PODS, SECRETS, STATEFULSETS
from migrate.errors import UserError
from tests.cluster.conftest import deployment, pdb, small_twin, web_with_budget
from tests.conftest import CLUSTERS


@pytest.fixture
def kube(twin: Twin, served: Any, tmp_path) -> Iterator[KubeCluster]:
    cluster = KubeCluster(served.write_kubeconfig(tmp_path / "kubeconfig"), clock=twin.clock, seed=1)
    yield cluster
    cluster.close()


def test_it_is_a_cluster(kube: KubeCluster) -> None:
    assert isinstance(kube, Cluster)


def test_nodes_cordon_labels_taints_delete(kube: KubeCluster) -> None:
    assert [n.name for n in kube.list_nodes()] == ["w1", "w2", "w3"] and all(n.ready for n in kube.list_nodes())
    assert kube.cordon("w1").unschedulable
    assert [n.name for n in kube.list_nodes("kubernetes.io/hostname in (w1,w2)")] == ["w1", "w2"]
    node = kube.set_labels("w1", {"migration.example/wave": "1", "kubernetes.io/os": None})
    assert node.labels["migration.example/wave"] == "1" and "kubernetes.io/os" not in node.labels
    tainted = kube.set_taints("w2", [Taint("migration.example/draining", "NoSchedule", "yes")])
    assert Taint("migration.example/draining", "NoSchedule", "yes") in tainted.taints
    assert not kube.uncordon("w1").unschedulable
    assert kube.delete_node("w3") and kube.get_node("w3") is None and not kube.delete_node("w3")


def test_eviction_outcomes_and_waiting_for_pods_to_go(twin: Twin, kube: KubeCluster) -> None:
    web_with_budget(twin, 3, maxUnavailable=1)
    pods = kube.list_pods(node_name="w1") + kube.list_pods(node_name="w2") + kube.list_pods(node_name="w3")
    first, second = pods[0], pods[1]
    assert kube.evict_pod(first.namespace, first.name).outcome is EvictionOutcome.EVICTED
    blocked = kube.evict_pod(second.namespace, second.name)
    assert blocked.outcome is EvictionOutcome.BLOCKED_BY_PDB and blocked.pdb == "web" and "needs 2 healthy pods" in blocked.message
    start = twin.clock.now()
    assert kube.wait_pods_gone([first], timeout=30) == []
    assert twin.clock.now() - start <= 3  # polled once a (virtual) second until the kubelet finished it
    assert kube.evict_pod("default", "nope").outcome is EvictionOutcome.NOT_FOUND
    twin.api.create(PDBS, "default", pdb("web-2", {"app": "web"}, minAvailable=1))
    twin.settle()
    assert kube.evict_pod(second.namespace, second.name).outcome is EvictionOutcome.MULTIPLE_PDBS


def test_a_statefulset_pod_that_comes_back_under_its_name_counts_as_gone(twin: Twin, kube: KubeCluster) -> None:
    spec = deployment("db", 1)
    twin.api.create(STATEFULSETS, "default", spec)
    twin.settle()
    pod = kube.get_pod("default", "db-0")
    assert kube.delete_pod("default", "db-0")
    assert kube.wait_pods_gone([pod], timeout=30) == []
    assert kube.get_pod("default", "db-0").uid != pod.uid


def test_bootstrap_tokens_round_trip_as_kube_system_secrets(twin: Twin, kube: KubeCluster) -> None:
    token = BootstrapToken("abcdef", "0123456789abcdef", expiration="2030-01-01T00:00:00Z", description="talos join")
    kube.create_bootstrap_token(token)
    secret = twin.store.get(SECRETS, "kube-system", "bootstrap-token-abcdef")
    assert secret["type"] == "bootstrap.kubernetes.io/token"
    assert kube.get_bootstrap_token("abcdef") == token
    assert "0123456789abcdef" not in repr(token)
    assert kube.delete_bootstrap_token("abcdef") and kube.get_bootstrap_token("abcdef") is None


def test_events_are_recorded(twin: Twin, kube: KubeCluster) -> None:
    node = kube.get_node("w1")
    kube.record_event("default", node, "Cordoned", "migration wave 1")
    events = list(twin.store.objects(EVENTS, "default"))
    assert [(e["reason"], e["involvedObject"]["name"]) for e in events] == [("Cordoned", "w1")]


def test_5xx_and_429_are_retried_with_backoff_on_the_clock(twin: Twin, served: Any, kube: KubeCluster) -> None:
    served.fail_next(503, 500, 429)
    start = twin.clock.now()
    assert kube.get_node("w1").name == "w1"
    assert twin.clock.now() - start >= 0.1 + 0.2 + 0.4  # three waits, each at least half of 0.2, 0.4, 0.8 s
    served.fail_next(*[503] * 6)
    with pytest.raises(UserError) as info:
        kube.get_node("w1")
    assert "HTTP 503" in str(info.value)


def test_refusals_become_user_errors(twin: Twin, tmp_path) -> None:
    handle = serve_in_thread(twin, token="right")
    try:
        path = handle.write_kubeconfig(tmp_path / "kc")
        kc = yaml.safe_load(path.read_text())
        kc["users"][0]["user"]["token"] = "wrong"
        path.write_text(yaml.safe_dump(kc))
        with pytest.raises(UserError) as info:
            KubeCluster(path, clock=twin.clock).list_nodes()
        assert "401" in str(info.value) and "credentials" in str(info.value)
    finally:
        handle.stop()
    with pytest.raises(UserError) as info:
        KubeCluster(tmp_path / "missing-kubeconfig")
    assert "kubeconfig" in str(info.value)


def test_an_unreachable_server_is_one_clear_error(tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "x",
                                    "clusters": [{"name": "x", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                                    "users": [{"name": "x", "user": {}}], "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}]}))
    clock = VirtualClock()
    with pytest.raises(UserError) as info:
        KubeCluster(path, clock=clock, attempts=3).list_nodes()
    assert f"127.0.0.1:{port}" in str(info.value) and "reach" in str(info.value)


@pytest.fixture(scope="module")
def large_ha() -> Iterator[tuple[Twin, Any]]:
    twin = Twin.from_snapshot(CLUSTERS / "large-ha.json")
    handle = serve_in_thread(twin)
    yield twin, handle
    handle.stop()


def test_large_lists_are_paged_and_complete(large_ha, tmp_path) -> None:
    twin, handle = large_ha
    kube = KubeCluster(handle.write_kubeconfig(tmp_path / "kc"), clock=twin.clock)
    pods = kube.list_pods()
    assert len(pods) == len(list(twin.store.objects(PODS))) > 3900
    assert len({p.key for p in pods}) == len(pods)
    on_node = kube.list_pods(node_name="node042")
    assert on_node and all(p.node_name == "node042" for p in on_node)
    assert len(kube.list_nodes()) == 200 and len(kube.list_pdbs()) > 300
    handle.fail_next(0, 410)  # the second page finds its continue token expired: the list starts over
    assert len(kube.list_pods()) == len(pods)


def test_kubeadm_config_reads_back_from_the_demo_snapshot(tmp_path) -> None:
    twin = Twin.from_snapshot(CLUSTERS / "demo.json")
    handle = serve_in_thread(twin)
    try:
        kube = KubeCluster(handle.write_kubeconfig(tmp_path / "kc"), clock=twin.clock)
        config = yaml.safe_load(kube.get_configmap("kube-system", "kubeadm-config").data["ClusterConfiguration"])
        assert config["controlPlaneEndpoint"] == "k8s-api.demo.internal:6443"
        assert kube.get_configmap("kube-system", "absent") is None
    finally:
        handle.stop()


def test_small_twin_builder_is_deterministic() -> None:
    a, b = small_twin(), small_twin()
    assert [n["metadata"]["uid"] for n in a.store.objects(NODES)] == [n["metadata"]["uid"] for n in b.store.objects(NODES)]


def test_tls_and_connection_failures_are_one_clean_sentence(tmp_path, twin) -> None:
    handle = serve_in_thread(twin)
    try:
        kc = yaml.safe_load(handle.write_kubeconfig(tmp_path / "kc").read_text())
        kc["clusters"][0]["cluster"]["server"] = handle.url.replace("http://", "https://")  # TLS to a plain-HTTP server
        path = tmp_path / "tls"
        path.write_text(yaml.safe_dump(kc))
        with pytest.raises(UserError) as info:
            KubeCluster(path, clock=twin.clock, attempts=2).server_version()
    finally:
        handle.stop()
    message = info.value.message
    assert message.startswith(f"TLS with the Kubernetes API server at {handle.url.replace('http://', 'https://')} failed: ")
    assert "wrong version number" in message.lower() or "record layer failure" in message.lower()
    assert not any(noise in message for noise in ("HTTP 0", "refused: 0", "SSLError", "HTTPSConnectionPool", "\n"))

    kc["clusters"][0]["cluster"]["server"] = handle.url  # stopped: nothing listens any more
    path.write_text(yaml.safe_dump(kc))
    with pytest.raises(UserError) as info:
        KubeCluster(path, clock=VirtualClock(), attempts=2).list_nodes()
    assert info.value.message == f"cannot reach the Kubernetes API server at {handle.url}: Connection refused"


def _self_signed(tmp_path) -> tuple[str, str]:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "twin")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "tls.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    return str(tmp_path / "tls.crt"), str(tmp_path / "tls.key")


def test_an_untrusted_certificate_names_the_verification_failure(tmp_path, twin) -> None:
    import ssl

    handle = serve_in_thread(twin)
    try:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*_self_signed(tmp_path))
        handle.server.socket = context.wrap_socket(handle.server.socket, server_side=True)
        kc = yaml.safe_load(handle.write_kubeconfig(tmp_path / "kc").read_text())
        server = handle.url.replace("http://", "https://")
        kc["clusters"][0]["cluster"]["server"] = server  # no certificate-authority: the twin's cert is not trusted
        (tmp_path / "kc").write_text(yaml.safe_dump(kc))
        with pytest.raises(UserError) as info:
            KubeCluster(tmp_path / "kc", clock=twin.clock, attempts=2).list_nodes()
    finally:
        handle.stop()
    assert info.value.message == f"TLS with the Kubernetes API server at {server} failed: certificate verify failed: self-signed certificate"

"""Objects the typed Python client reads back complete: Services with their allocations, status counters at 0."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from migrate.cluster.twin.resources import NAMESPACES, SERVICEACCOUNTS
from tests.cluster.conftest import small_twin


@pytest.fixture
def typed(served: Any, tmp_path: Any) -> client.ApiClient:
    return config.new_client_from_config(str(served.write_kubeconfig(tmp_path / "kc")))


def _service(name: str, kind: str = "ClusterIP", **spec: Any) -> client.V1Service:
    return client.V1Service(metadata=client.V1ObjectMeta(name=name), spec=client.V1ServiceSpec(
        type=kind, selector={"app": name}, ports=[client.V1ServicePort(port=80, name="http")], **spec))


def test_services_get_a_cluster_ip_from_the_range_defaults_and_node_ports(typed: client.ApiClient) -> None:
    core = client.CoreV1Api(typed)
    web = core.create_namespaced_service("default", _service("web"))
    edge = core.create_namespaced_service("default", _service("edge", "NodePort"))
    headless = core.create_namespaced_service("default", _service("db", cluster_ip="None"))
    assert web.spec.type == "ClusterIP" and web.spec.session_affinity == "None"
    assert web.spec.ports[0].protocol == "TCP" and web.spec.ports[0].target_port == 80
    addresses = {web.spec.cluster_ip, edge.spec.cluster_ip}
    assert len(addresses) == 2 and all(ipaddress.ip_address(a) in ipaddress.ip_network("10.233.0.0/18") for a in addresses)
    assert web.spec.cluster_ips == [web.spec.cluster_ip] and web.spec.ip_families == ["IPv4"]
    assert 30000 <= edge.spec.ports[0].node_port <= 32767 and edge.spec.external_traffic_policy == "Cluster"
    assert headless.spec.cluster_ip == "None"
    # a replace that leaves the allocation out keeps it, as the registry does
    body = core.read_namespaced_service("web", "default")
    body.spec.cluster_ip, body.spec.cluster_ips, body.metadata.labels = None, None, {"tier": "front"}
    assert core.replace_namespaced_service("web", "default", body).spec.cluster_ip == web.spec.cluster_ip
    with pytest.raises(ApiException) as taken:
        core.create_namespaced_service("default", _service("copy", cluster_ip=web.spec.cluster_ip))
    assert taken.value.status == 422 and "provided IP is already allocated" in taken.value.body
    with pytest.raises(ApiException) as outside:
        core.create_namespaced_service("default", _service("far", cluster_ip="192.168.1.1"))
    assert outside.value.status == 422 and "The range of valid IPs is 10.233.0.0/18" in outside.value.body


def test_new_workloads_deserialise_with_the_counters_the_client_requires(typed: client.ApiClient) -> None:
    apps = client.AppsV1Api(typed)
    template = client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels={"app": "x"}), spec=client.V1PodSpec(
        containers=[client.V1Container(name="x", image="example/x:1")]))
    selector = client.V1LabelSelector(match_labels={"app": "x"})
    ds = apps.create_namespaced_daemon_set("default", client.V1DaemonSet(
        metadata=client.V1ObjectMeta(name="x"), spec=client.V1DaemonSetSpec(selector=selector, template=template)))
    assert (ds.status.desired_number_scheduled, ds.status.number_ready, ds.status.number_misscheduled) == (0, 0, 0)
    rs = apps.create_namespaced_replica_set("default", client.V1ReplicaSet(
        metadata=client.V1ObjectMeta(name="y"), spec=client.V1ReplicaSetSpec(selector=selector, template=template)))
    sts = apps.create_namespaced_stateful_set("default", client.V1StatefulSet(
        metadata=client.V1ObjectMeta(name="z"), spec=client.V1StatefulSetSpec(selector=selector, template=template,
                                                                              service_name="z")))
    assert rs.status.replicas == 0 and (sts.status.replicas, sts.status.available_replicas) == (0, 0)


def test_every_namespace_gets_a_default_service_account() -> None:
    twin = small_twin(workers=1)
    twin.api.create(NAMESPACES, None, {"metadata": {"name": "shop"}})
    twin.settle()
    for ns in ("default", "kube-system", "shop"):
        assert twin.store.find(SERVICEACCOUNTS, ns, "default") is not None, ns
    twin.api.delete(SERVICEACCOUNTS, "shop", "default")
    twin.settle()
    assert twin.store.find(SERVICEACCOUNTS, "shop", "default") is not None  # the controller puts it back

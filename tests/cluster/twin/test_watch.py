"""Watches and lists that exercise a client's recovery: compaction by time (410), bookmarks, exact-version lists,
and a resourceVersion from the future — over HTTP, with the official client."""

from __future__ import annotations

import json

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from migrate.cluster.twin.resources import CONFIGMAPS


@pytest.fixture
def core(served) -> client.CoreV1Api:
    config = client.Configuration()
    config.host = served.url
    return client.CoreV1Api(client.ApiClient(config))


def _cm(name: str, value: str) -> dict:
    return {"metadata": {"name": name}, "data": {"v": value}}


def _events_from(core: client.CoreV1Api, resource_version: str) -> list[tuple[str, str]]:
    stream = watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=resource_version,
                                  timeout_seconds=1)
    return [(e["type"], e["object"].metadata.name) for e in stream]


def test_history_is_kept_five_to_ten_minutes_then_a_watch_from_it_gets_410(core, twin) -> None:
    old = core.create_namespaced_config_map("default", _cm("a", "1")).metadata.resource_version
    core.patch_namespaced_config_map("a", "default", {"data": {"v": "2"}})  # history after `old` to lose
    twin.advance(400)
    middle = core.create_namespaced_config_map("default", _cm("b", "1")).metadata.resource_version
    assert ("MODIFIED", "a") in _events_from(core, old)  # compacted only up to the revision of one interval ago
    twin.advance(350)
    core.create_namespaced_config_map("default", _cm("c", "1"))
    with pytest.raises(ApiException) as expired:
        _events_from(core, old)
    assert expired.value.status == 410 and "too old resource version" in expired.value.reason
    assert [e for e in _events_from(core, middle) if e[1] != "b"] == [("ADDED", "c")]


def test_a_watch_that_allows_bookmarks_gets_them_with_the_latest_revision(core, served, twin) -> None:
    served.server.bookmark_every = 0.2
    core.create_namespaced_config_map("default", _cm("a", "1"))
    start = core.list_namespaced_config_map("default").metadata.resource_version
    twin.api.create(CONFIGMAPS, "kube-system", _cm("elsewhere", "1"))  # moves the revision, not this watch's data
    latest = str(twin.store.revision)
    events = list(watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=start,
                                       allow_watch_bookmarks=True, timeout_seconds=1, _preload_content=False))
    marks = [e for e in events if e["type"] == "BOOKMARK"]
    assert marks and marks[-1]["raw_object"]["metadata"]["resourceVersion"] == latest
    plain = list(watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=start,
                                      timeout_seconds=1))
    assert not plain  # without allowWatchBookmarks, none


def test_an_exact_list_reads_history_and_is_refused_once_compacted_or_malformed(core, twin) -> None:
    core.create_namespaced_config_map("default", _cm("a", "1"))
    core.create_namespaced_config_map("default", _cm("b", "1"))
    then = core.list_namespaced_config_map("default").metadata.resource_version
    core.patch_namespaced_config_map("a", "default", {"data": {"v": "2"}})
    core.delete_namespaced_config_map("b", "default")
    core.create_namespaced_config_map("default", _cm("c", "1"))
    past = core.list_namespaced_config_map("default", resource_version=then, resource_version_match="Exact")
    assert past.metadata.resource_version == then
    assert {i.metadata.name: i.data["v"] for i in past.items} == {"a": "1", "b": "1"}
    for params, field in (({"resource_version_match": "Exact"}, "resourceVersionMatch"),
                          ({"resource_version": "0", "resource_version_match": "Exact"}, "resourceVersionMatch"),
                          ({"resource_version": then, "resource_version_match": "Newest"}, "resourceVersionMatch")):
        with pytest.raises(ApiException) as refused:
            core.list_namespaced_config_map("default", **params)
        body = json.loads(refused.value.body)
        assert refused.value.status == 422 and body["details"]["causes"][0]["field"] == field
        assert body["message"].startswith('ListOptions.meta.k8s.io "" is invalid: ')
    twin.store.compact()
    with pytest.raises(ApiException) as expired:
        core.list_namespaced_config_map("default", resource_version=then, resource_version_match="Exact")
    assert expired.value.status == 410
    assert json.loads(expired.value.body)["message"] == "The resourceVersion for the provided list is too old."


def test_a_resource_version_from_the_future_is_refused_as_too_large(core, twin) -> None:
    future = str(twin.store.revision + 1000)
    for call in (lambda: core.list_namespaced_config_map("default", resource_version=future),
                 lambda: core.list_namespaced_config_map("default", resource_version=future, watch=True,
                                                         _preload_content=False)):
        with pytest.raises(ApiException) as refused:
            call()
        body = json.loads(refused.value.body)
        assert refused.value.status == 504 and body["reason"] == "Timeout"
        assert body["message"] == f"Timeout: Too large resource version: {future}, current: {twin.store.revision}"
        assert body["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"


def test_served_in_virtual_time_an_idle_watch_moves_the_twin_clock_to_what_is_due_and_to_its_timeout(twin) -> None:
    from migrate.cluster.twin import serve_in_thread
    from migrate.cluster.twin.resources import DEPLOYMENTS, PODS
    from tests.cluster.conftest import FAST, deployment

    twin.api.create(DEPLOYMENTS, "default", deployment("web", 2))
    twin.settle()
    served = serve_in_thread(twin, virtual_watches=True)
    try:
        config = client.Configuration()
        config.host = served.url
        core = client.CoreV1Api(client.ApiClient(config))
        pod = next(p for p in twin.store.objects(PODS, "default"))
        node = pod["spec"]["nodeName"]
        listed = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").metadata.resource_version
        core.delete_namespaced_pod(pod["metadata"]["name"], "default")
        start, seen, version = twin.clock.now(), [], listed
        while ("DELETED", pod["metadata"]["name"]) not in seen:  # each stream ends after the batch it delivered
            for event in watch.Watch().stream(core.list_pod_for_all_namespaces, field_selector=f"spec.nodeName={node}",
                                              resource_version=version, timeout_seconds=60):
                seen.append((event["type"], event["object"].metadata.name))
                version = event["object"].metadata.resource_version
        assert all(name == pod["metadata"]["name"] or kind == "ADDED" for kind, name in seen)  # only this node's pods
        assert 0 < twin.clock.now() - start <= FAST.stop_delay + 1  # moved to the kubelet's confirmation, no further
        start = twin.clock.now()
        events = list(watch.Watch().stream(core.list_namespaced_config_map, "default", allow_watch_bookmarks=True,
                                           resource_version=str(twin.store.revision), timeout_seconds=45,
                                           _preload_content=False))
        assert [e["type"] for e in events] == ["BOOKMARK"]  # nothing happened: it ran to its timeout, marking where
        assert events[0]["raw_object"]["metadata"]["resourceVersion"] == str(twin.store.revision)
        assert twin.clock.now() - start >= 45
    finally:
        served.stop()

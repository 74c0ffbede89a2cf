"""Object store semantics: versions, conflicts, graceful deletion, pagination and watch resumption."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.clock import VirtualClock
from migrate.cluster.twin.resources import CONFIGMAPS, DEPLOYMENTS, NODES, PODS
from migrate.cluster.twin.selectors import EVERYTHING, FieldSelector, parse_label_selector
from migrate.cluster.twin.status import ApiError
from migrate.cluster.twin.store import Store, clone


def _cm(name: str, ns: str = "default", **labels: str) -> dict:
    return {"metadata": {"name": name, "namespace": ns, "labels": labels}, "data": {"k": name}}


@pytest.fixture
def store() -> Store:
    return Store(VirtualClock(), history=50)


def test_every_write_takes_the_next_global_resource_version(store: Store) -> None:
    a = store.create(CONFIGMAPS, _cm("a"))
    b = store.create(NODES, {"metadata": {"name": "n1"}, "spec": {}})
    assert int(b["metadata"]["resourceVersion"]) == int(a["metadata"]["resourceVersion"]) + 1
    assert a["metadata"]["uid"] != b["metadata"]["uid"] and a["metadata"]["creationTimestamp"]
    with pytest.raises(ApiError) as info:
        store.create(CONFIGMAPS, _cm("a"))
    assert info.value.code == 409 and info.value.reason == "AlreadyExists"


def test_stale_update_is_a_409_conflict_and_no_op_keeps_the_version(store: Store) -> None:
    first = store.create(CONFIGMAPS, _cm("a"))
    second = store.update(CONFIGMAPS, {**first, "data": {"k": "v2"}})
    with pytest.raises(ApiError) as info:
        store.update(CONFIGMAPS, {**first, "data": {"k": "v3"}})
    assert info.value.code == 409 and "the object has been modified" in info.value.message
    assert store.update(CONFIGMAPS, second) is second


def test_generation_moves_with_spec_not_with_status_or_labels(store: Store) -> None:
    deploy = store.create(DEPLOYMENTS, {"metadata": {"name": "d", "namespace": "x"}, "spec": {"replicas": 1}})
    relabelled = store.update(DEPLOYMENTS, {**deploy, "metadata": {**deploy["metadata"], "labels": {"a": "b"}}})
    status = store.update(DEPLOYMENTS, {**relabelled, "status": {"replicas": 1}}, status=True)
    scaled = store.update(DEPLOYMENTS, {**status, "spec": {"replicas": 2}})
    assert [o["metadata"]["generation"] for o in (deploy, relabelled, status, scaled)] == [1, 1, 1, 2]
    assert scaled["status"] == {"replicas": 1}  # a main-resource write cannot change status


def test_graceful_deletion_marks_then_removal_deletes(store: Store) -> None:
    store.create(PODS, {"metadata": {"name": "p", "namespace": "x"}, "spec": {"nodeName": "n1"}})
    marked, gone = store.delete(PODS, "x", "p", grace_seconds=30)
    assert not gone and marked["metadata"]["deletionGracePeriodSeconds"] == 30 and marked["metadata"]["deletionTimestamp"]
    shorter, _ = store.delete(PODS, "x", "p", grace_seconds=5)
    assert shorter["metadata"]["deletionGracePeriodSeconds"] == 5
    longer, _ = store.delete(PODS, "x", "p", grace_seconds=60)
    assert longer["metadata"]["deletionGracePeriodSeconds"] == 5
    store.remove(PODS, "x", "p")
    assert store.find(PODS, "x", "p") is None


def test_limit_and_continue_page_through_everything_once(store: Store) -> None:
    for i in range(7):
        store.create(CONFIGMAPS, _cm(f"cm{i}", tier="a" if i % 2 else "b"))
    seen, token = [], None
    while True:
        page = store.list(CONFIGMAPS, None, EVERYTHING, None, limit=3, continue_token=token)
        seen += [o["metadata"]["name"] for o in page.items]
        token = page.continue_token
        if not token:
            break
    assert seen == [f"cm{i}" for i in range(7)]
    page = store.list(CONFIGMAPS, None, parse_label_selector("tier=a"), None, limit=2)
    assert [o["metadata"]["name"] for o in page.items] == ["cm1", "cm3"] and page.continue_token


def test_a_continue_token_older_than_compaction_is_410_gone(store: Store) -> None:
    for i in range(3):
        store.create(CONFIGMAPS, _cm(f"cm{i}"))
    token = store.list(CONFIGMAPS, limit=1).continue_token
    store.compact()
    with pytest.raises(ApiError) as info:
        store.list(CONFIGMAPS, limit=1, continue_token=token)
    assert info.value.code == 410 and info.value.reason == "Expired"


def test_watch_replays_from_a_resource_version_and_translates_selector_moves(store: Store) -> None:
    start = store.create(CONFIGMAPS, _cm("a", tier="web"))
    watch = store.watch(CONFIGMAPS, "default", parse_label_selector("tier=web"), FieldSelector(), start["metadata"]["resourceVersion"])
    moved = store.update(CONFIGMAPS, {**start, "metadata": {**start["metadata"], "labels": {"tier": "db"}}})
    store.update(CONFIGMAPS, {**moved, "metadata": {**moved["metadata"], "labels": {"tier": "web"}}})
    store.remove(CONFIGMAPS, "default", "a")
    events = [watch.next(0)[0] for _ in range(3)]
    assert events == ["DELETED", "ADDED", "DELETED"]
    assert watch.next(0) is None


def test_watch_from_a_compacted_version_is_410(store: Store) -> None:
    first = store.create(CONFIGMAPS, _cm("a"))
    for i in range(60):  # more writes than the history keeps
        store.create(CONFIGMAPS, _cm(f"x{i}"))
    with pytest.raises(ApiError) as info:
        store.watch(CONFIGMAPS, None, EVERYTHING, FieldSelector(), first["metadata"]["resourceVersion"])
    assert info.value.code == 410 and "too old resource version" in info.value.message


def test_initial_events_end_with_a_bookmark(store: Store) -> None:
    store.create(CONFIGMAPS, _cm("a"))
    watch = store.watch(CONFIGMAPS, "default", EVERYTHING, FieldSelector(), "5", initial_events=True)
    kind, obj = watch.next(0)
    marker_kind, marker = watch.next(0)
    assert (kind, obj["metadata"]["name"]) == ("ADDED", "a")
    assert marker_kind == "BOOKMARK" and marker["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(st.text(max_size=4), inner,
                                                                                         max_size=4),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_clone_is_what_a_json_round_trip_gives_and_shares_nothing_mutable(value: object) -> None:
    copy = clone(value)
    assert copy == json.loads(json.dumps(value))  # a tuple comes back a list, as over the wire

    def containers(v: object) -> list[object]:
        inner = v.values() if isinstance(v, dict) else v if isinstance(v, (list, tuple)) else ()
        return [v] + [c for item in inner for c in containers(item)] if isinstance(v, (dict, list)) else \
            [c for item in inner for c in containers(item)]

    assert not {id(c) for c in containers(copy)} & {id(c) for c in containers(value)}


def test_clone_refuses_what_json_refuses() -> None:
    with pytest.raises(TypeError):
        clone({"a": {1, 2}})


def test_uids_are_version_4_uuids_distinct_and_the_same_for_the_same_seed() -> None:
    def uids(seed: int) -> list[str]:
        store = Store(VirtualClock(), seed=seed)
        return [store.create(CONFIGMAPS, _cm(f"c{i}"))["metadata"]["uid"] for i in range(50)]

    first = uids(7)
    assert first == uids(7) and first != uids(8) and len(set(first)) == 50
    parsed = [uuid.UUID(u) for u in first]
    assert all(str(p) == u and p.version == 4 and p.variant == uuid.RFC_4122 for p, u in zip(parsed, first, strict=True))

from __future__ import annotations

import pytest

from migrate.cluster.twin.patch import JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, apply_patch
from migrate.cluster.twin.status import ApiError

POD = {"metadata": {"labels": {"a": "1", "b": "2"}},
       "spec": {"containers": [{"name": "app", "image": "app:1"}, {"name": "side", "image": "side:1"}],
                "tolerations": [{"key": "x", "operator": "Exists"}]}}


def test_merge_patch_replaces_lists_and_null_deletes() -> None:
    out = apply_patch(POD, {"metadata": {"labels": {"a": None, "c": "3"}}, "spec": {"containers": [{"name": "only"}]}}, MERGE_PATCH)
    assert out["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert out["spec"]["containers"] == [{"name": "only"}]


def test_strategic_merge_merges_keyed_lists_and_honours_directives() -> None:
    patch = {"spec": {"containers": [{"name": "app", "image": "app:2"}, {"name": "side", "$patch": "delete"}, {"name": "new", "image": "n:1"}],
                      "$setElementOrder/containers": [{"name": "app"}, {"name": "new"}]}}
    out = apply_patch(POD, patch, STRATEGIC_MERGE_PATCH)
    assert out["spec"]["containers"] == [{"name": "app", "image": "app:2"}, {"name": "new", "image": "n:1"}]
    assert out["spec"]["tolerations"] == POD["spec"]["tolerations"]
    assert POD["spec"]["containers"][0]["image"] == "app:1"  # the stored object is never mutated


def test_json_patch_operations_and_failed_test() -> None:
    ops = [{"op": "add", "path": "/metadata/labels/c", "value": "3"}, {"op": "remove", "path": "/metadata/labels/a"},
           {"op": "replace", "path": "/spec/containers/0/image", "value": "app:3"}, {"op": "copy", "from": "/metadata/labels/b", "path": "/metadata/labels/d"}]
    out = apply_patch(POD, ops, JSON_PATCH)
    assert out["metadata"]["labels"] == {"b": "2", "c": "3", "d": "2"} and out["spec"]["containers"][0]["image"] == "app:3"
    with pytest.raises(ApiError) as info:
        apply_patch(POD, [{"op": "test", "path": "/metadata/labels/a", "value": "nope"}], JSON_PATCH)
    assert info.value.code == 422


def test_strategic_merge_replaces_a_selector_whole() -> None:
    pdb = {"spec": {"selector": {"matchLabels": {"app": "web", "tier": "front"}}, "minAvailable": 1}}
    out = apply_patch(pdb, {"spec": {"selector": {"matchLabels": {"app": "web"}}}}, STRATEGIC_MERGE_PATCH)
    assert out["spec"] == {"selector": {"matchLabels": {"app": "web"}}, "minAvailable": 1}

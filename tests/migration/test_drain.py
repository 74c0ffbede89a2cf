"""Drain as kubectl does it, over HTTP against the twin: refusals name their override, budgets are waited on,
and a drain that runs out of time fails with the node still cordoned."""

from __future__ import annotations

import pytest

from migrate.cluster.twin.resources import DEPLOYMENTS, PODS
from migrate.migration.drain import DrainRefused, DrainTimeout, drain_nodes, plan_drain
from migrate.migration.filters import DrainOptions
from tests.cluster.conftest import deployment
from tests.migration.harness import rig


def _bare_pod(name: str, node: str, **spec):
    return {"metadata": {"name": name, "labels": {"app": name}},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}], **spec}}


def test_pods_nothing_recreates_and_emptydir_data_are_refused_naming_the_flags(tmp_path):
    with rig(tmp_path) as r:
        r.twin.api.create(PODS, "default", _bare_pod("debug", "w1"))
        r.twin.api.create(DEPLOYMENTS, "default", deployment("cache", 1, volumes=[{"name": "tmp", "emptyDir": {}}],
                                                             nodeSelector={"kubernetes.io/hostname": "w1"}))
        r.twin.settle()
        with pytest.raises(DrainRefused) as caught:
            drain_nodes(r.cluster, ["w1"], DrainOptions(), r.twin.clock)
        message = str(caught.value) + caught.value.hint
        assert "default/debug (no controller will recreate it)" in message and "--force" in message
        assert "emptyDir" in message and "--delete-emptydir-data" in message
        assert not r.cluster.get_node("w1").unschedulable  # all or nothing: nothing was touched


def test_daemonset_and_mirror_pods_are_left_where_they_are(tmp_path):
    with rig(tmp_path) as r:
        verdicts = plan_drain(r.cluster, ["w1", "w2", "w3"], DrainOptions())
        assert all(v.action == "evict" for v in verdicts if v.pod.labels.get("app") == "web")


def test_a_budget_is_waited_on_and_the_drain_finishes_when_it_allows(tmp_path):
    with rig(tmp_path, budget={"maxUnavailable": 1}) as r:
        nodes = sorted({p.node_name for p in r.cluster.list_pods(namespace="default")})[:2]  # one worker stays free
        for n in nodes:
            r.cluster.cordon(n)
        events: list[tuple[str, str]] = []
        result = drain_nodes(r.cluster, nodes, DrainOptions(timeout=300), r.twin.clock,
                             lambda what, detail: events.append((what, detail)))
        assert len(result.evicted) == 2 and any(kind == "blocked" for kind, _ in events)  # 429 seen, then retried


def test_a_drain_out_of_time_fails_naming_the_budget(tmp_path):
    with rig(tmp_path, budget={"maxUnavailable": 0}) as r:
        node = next(p.node_name for p in r.cluster.list_pods(namespace="default"))
        r.cluster.cordon(node)
        with pytest.raises(DrainTimeout) as caught:
            drain_nodes(r.cluster, [node], DrainOptions(timeout=30), r.twin.clock)
        assert "web" in str(caught.value) and "stays cordoned" in caught.value.hint
        assert r.cluster.get_node(node).unschedulable

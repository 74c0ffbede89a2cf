"""The migration engine over HTTP against the twin: a whole HA cluster replaced, budgets held, etcd kept safe."""

from __future__ import annotations

import pytest

from migrate.cluster.twin.resources import PDBS
from migrate.errors import UserError
from migrate.ledger import HostState, Ledger
from migrate.migration.drain import DrainTimeout
from tests.migration.harness import NODES, rig


def test_a_whole_ha_cluster_moves_to_talos_with_every_host_decommissioned(tmp_path):
    with rig(tmp_path) as r:
        r.engine().run()
        nodes = {n.name for n in r.cluster.list_nodes()}
        assert nodes == {f"{n}-talos" for n, _ in NODES}  # every old node gone, every replacement there
        web = [p for p in r.cluster.list_pods(namespace="default") if p.labels.get("app") == "web"]
        assert len(web) == 3 and all(p.ready and p.node_name.endswith("-talos") for p in web)
        members = r.etcd.members()
        assert len(members) == 3 and not any(m.is_learner for m in members)
        assert not {m.name for m in members} & {"etcd1", "etcd2", "etcd3"}  # matched by peer URL, all replaced
        assert len(r.etcd.snapshots) == 3  # one before each removal
        ledger = Ledger.open(r.ledger_path)
        assert {h.state for h in ledger.hosts()} == {HostState.DECOMMISSIONED}
        removal = next(s for s in ledger.steps("cp1") if s.step == "etcd" and s.outcome == "ok")
        assert removal.evidence["removed"]["name"] == "etcd1" and removal.evidence["snapshot"]["sha256"]


def test_control_planes_go_one_at_a_time_and_workers_within_the_budget(tmp_path):
    with rig(tmp_path, max_unavailable=2) as r:
        r.engine().run()
        cordoned_together: list[set[str]] = []
        for e in r.events:
            if e.kind == "wave":
                cordoned_together.append(set(e.host.split(",")))
        assert cordoned_together[:3] == [{"cp1"}, {"cp2"}, {"cp3"}]
        assert all(len(w) <= 2 for w in cordoned_together[3:])


def test_a_budget_that_never_allows_a_disruption_stops_the_run_with_the_node_cordoned(tmp_path):
    with rig(tmp_path, budget={"maxUnavailable": 0}) as r:
        engine = r.engine()
        engine.drain_opts = type(engine.drain_opts)(timeout=60)
        with pytest.raises(DrainTimeout) as caught:
            engine.run()
        assert "held by PodDisruptionBudget" in str(caught.value) and "web" in str(caught.value)
        stuck = [n for n in r.cluster.list_nodes() if n.unschedulable]
        assert stuck and all(n.name.startswith("w") for n in stuck)  # cordoned, still there, not deleted
        ledger = Ledger.open(r.ledger_path)
        assert {ledger.host(n.name).state for n in stuck} == {HostState.FAILED}
        assert r.cluster.get_lease("kube-system", "kubespray2talos-migration").holder == ""  # lock released


def test_projected_quorum_refuses_to_remove_a_member_when_another_is_dead(tmp_path):
    with rig(tmp_path) as r:
        r.etcd.kill(next(m.id for m in r.etcd.members() if m.name == "etcd2"))
        with pytest.raises(UserError, match="would risk quorum"):
            r.engine().run()
        assert any(m.name == "etcd1" for m in r.etcd.members())  # nothing removed
        assert r.cluster.get_node("cp1") is not None  # and the node is not deleted


def test_a_second_run_is_refused_naming_the_holder(tmp_path):
    with rig(tmp_path) as r:
        first = r.engine(run_id="alice", holder="alice@laptop:1")
        first.lock.acquire()
        with pytest.raises(UserError, match="alice@laptop:1 holds the lock"):
            r.engine(run_id="bob", holder="bob@desk:2").run()
        first.lock.release()
        r.engine(run_id="bob", holder="bob@desk:2").run()  # free again: bob proceeds


def test_the_budget_holds_through_the_whole_run(tmp_path):
    """The web Deployment keeps at least 2 of 3 Ready at every event of the run (its maxUnavailable 1 honoured)."""
    with rig(tmp_path) as r:
        lowest = []
        engine = r.engine()
        real = engine.on_event

        def watch(event):
            real(event)
            budget = r.twin.store.find(PDBS, "default", "web")
            lowest.append(int((budget.get("status") or {}).get("currentHealthy", 3)))
        engine.on_event = watch
        engine.run()
        assert min(lowest) >= 2


def test_control_planes_are_refused_without_etcd_membership_before_anything_changes(tmp_path):
    with rig(tmp_path) as r:
        engine = r.engine()
        engine.etcd = None
        with pytest.raises(UserError, match="need etcd membership"):
            engine.run()
        assert not any(n.unschedulable for n in r.cluster.list_nodes())
        assert r.cluster.get_lease("kube-system", "kubespray2talos-migration") is None
        engine.run(only=["w1"])  # workers need no etcd
        assert r.cluster.get_node("w1") is None and r.cluster.get_node("cp1") is not None

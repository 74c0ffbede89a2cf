"""strategy: in-place over HTTP against the twin: each machine leaves Kubernetes and etcd, is reinstalled and comes
back under its own name as a new Node; a control plane only while etcd keeps quorum without it; a run killed
anywhere resumes to the same end without a second drain or deleting the node that came back."""

from __future__ import annotations

import itertools
import random

import pytest

from migrate.errors import UserError
from migrate.ledger import HostState, Ledger
from migrate.migration.engine import IN_PLACE_STEPS
from tests.migration.harness import NODES, Crash, CrashingCluster, rig

SEEDS = range(10)


def _uids(r):
    return {n.name: n.uid for n in r.cluster.list_nodes()}


def test_every_machine_comes_back_as_a_new_node_of_the_same_name(tmp_path):
    with rig(tmp_path, strategy="in-place") as r:
        before = _uids(r)
        peers = {m.peer_urls for m in r.etcd.members()}
        r.engine().run()
        after = _uids(r)
        assert set(after) == set(before) and all(after[n] != before[n] for n in before)  # same names, new Nodes
        web = [p for p in r.cluster.list_pods(namespace="default") if p.labels.get("app") == "web"]
        assert len(web) == 3 and all(p.ready for p in web)
        members = r.etcd.members()
        assert {m.peer_urls for m in members} == peers and not any(m.is_learner for m in members)
        assert not {m.name for m in members} & {"etcd1", "etcd2", "etcd3"}  # every member was replaced
        ledger = Ledger.open(r.ledger_path)
        assert {h.state for h in ledger.hosts()} == {HostState.DECOMMISSIONED}
        for host, _ in NODES:
            done = [s.step for s in ledger.steps(host) if s.outcome == "ok"]
            assert done == [s for s in IN_PLACE_STEPS if s in done] and done[-1] == "rejoin"
            assert "provision" not in done  # nothing joins before the host leaves
        states = [e.after for e in ledger.events("w1")]
        assert states == [HostState.ACTIVE, HostState.CORDONED, HostState.DRAINED, HostState.REMOVED,
                          HostState.DECOMMISSIONING, HostState.DECOMMISSIONED]


def test_a_control_plane_stays_untouched_when_etcd_would_lose_quorum_while_it_reinstalls(tmp_path):
    with rig(tmp_path, strategy="in-place") as r:
        r.etcd.kill(next(m.id for m in r.etcd.members() if m.name == "etcd3"))
        with pytest.raises(UserError, match="would risk quorum") as refused:
            r.engine().run()
        assert "strategy: surge" in refused.value.hint
        assert not r.cluster.get_node("cp1").unschedulable  # refused before the cordon, not after a drain
        assert len(r.etcd.members()) == 3


@pytest.fixture(scope="module")
def calls_in_a_whole_run(tmp_path_factory):
    with rig(tmp_path_factory.mktemp("count"), strategy="in-place") as r:
        counter = CrashingCluster(r.cluster, at=10**9)
        r.engine(counter).run()
        return 10**9 - counter._left


@pytest.mark.parametrize("seed", SEEDS)
def test_an_in_place_run_killed_anywhere_resumes_to_the_same_end(seed, tmp_path, calls_in_a_whole_run):
    at = random.Random(1000 + seed).randint(1, calls_in_a_whole_run)
    with rig(tmp_path, strategy="in-place") as r:
        before = _uids(r)
        with pytest.raises(Crash):
            r.engine(CrashingCluster(r.cluster, at), run_id="first", holder="op@ci:1").run()
        r.engine(run_id="second", holder="op@ci:1").run()
        ledger = Ledger.open(r.ledger_path)
        assert {h.state for h in ledger.hosts()} == {HostState.DECOMMISSIONED}
        after = _uids(r)
        assert set(after) == set(before) and all(after[n] != before[n] for n in before)
        web = [p for p in r.cluster.list_pods(namespace="default") if p.labels.get("app") == "web"]
        assert len(web) == 3 and all(p.ready for p in web)
        for host, _ in NODES:  # each of these once, in this order: no second drain, no Node deleted before its drain
            ok = {step: [s for s in ledger.steps(host) if s.step == step and s.outcome == "ok"]
                  for step in ("drain", "delete-node", "reinstall", "rejoin")}
            assert all(len(records) == 1 for records in ok.values()), {k: len(v) for k, v in ok.items()}
            order = [records[0] for records in ok.values()]
            assert all(later.started_at >= earlier.finished_at for earlier, later in itertools.pairwise(order))
        assert len(r.etcd.members()) == 3 and not any(m.is_learner for m in r.etcd.members())


def test_a_dry_run_shows_the_in_place_order_and_changes_nothing(tmp_path):
    from migrate.migration.dryrun import preview
    from migrate.migration.filters import DrainOptions

    with rig(tmp_path, strategy="in-place") as r:
        before = _uids(r)
        waves = preview(r.plan, r.cluster, DrainOptions())
        assert waves[0].steps == list(IN_PLACE_STEPS)  # a control plane: its etcd member leaves before the reinstall
        assert waves[-1].steps == [s for s in IN_PLACE_STEPS if s != "etcd"]
        assert all(not n.unschedulable for n in r.cluster.list_nodes()) and _uids(r) == before

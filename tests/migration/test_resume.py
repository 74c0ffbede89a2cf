"""kill -9 at any moment, then the same command: the run finishes with no second drain, no lost pod, and no node
deleted before its drain finished. The crash lands at the Nth call to the Kubernetes API, for many N."""

from __future__ import annotations

import random

import pytest

from migrate.ledger import HostState, Ledger
from tests.migration.harness import NODES, Crash, CrashingCluster, rig

SEEDS = range(50)


@pytest.fixture(scope="module")
def calls_in_a_whole_run(tmp_path_factory):
    """How many API calls an uninterrupted run makes: crash points are drawn from that range."""
    with rig(tmp_path_factory.mktemp("count")) as r:
        counter = CrashingCluster(r.cluster, at=10**9)
        r.engine(counter).run()
        return 10**9 - counter._left


@pytest.mark.parametrize("seed", SEEDS)
def test_a_run_killed_anywhere_resumes_to_the_same_end(seed, tmp_path, calls_in_a_whole_run):
    at = random.Random(seed).randint(1, calls_in_a_whole_run)
    with rig(tmp_path) as r:
        with pytest.raises(Crash):
            r.engine(CrashingCluster(r.cluster, at), run_id="first", holder="op@ci:1").run()
        r.engine(run_id="second", holder="op@ci:1").run()  # same operator, same command: takes over its own lock

        ledger = Ledger.open(r.ledger_path)
        assert {h.state for h in ledger.hosts()} == {HostState.DECOMMISSIONED}
        assert {n.name for n in r.cluster.list_nodes()} == {f"{n}-talos" for n, _ in NODES}
        web = [p for p in r.cluster.list_pods(namespace="default") if p.labels.get("app") == "web"]
        assert len(web) == 3 and all(p.ready for p in web)  # no pod lost
        for host, _ in NODES:
            steps = ledger.steps(host)
            drains = [s for s in steps if s.step == "drain" and s.outcome == "ok"]
            assert len(drains) == 1, f"{host} drained twice"
            deleted = [s for s in steps if s.step == "delete-node" and s.outcome == "ok"]
            assert len(deleted) == 1 and deleted[0].started_at >= drains[0].finished_at
        assert len(r.etcd.members()) == 3 and not any(m.is_learner for m in r.etcd.members())


class LedgerCrash(BaseException):
    """The process dies right after the ledger recorded a step's outcome, before the host's state moved."""


class CrashAfterOutcome:
    """The real ledger, which dies after the Nth successful step outcome it records (a crash in the gap between
    a step's outcome and the host's move to its next state)."""

    def __init__(self, ledger: Ledger, nth: int) -> None:
        self._ledger, self._left = ledger, nth

    def finish_step(self, sid, outcome, evidence=None):
        self._ledger.finish_step(sid, outcome, evidence)
        if outcome == "ok":
            self._left -= 1
            if self._left == 0:
                raise LedgerCrash(f"killed after step outcome {sid}")

    def __getattr__(self, name):
        return getattr(self._ledger, name)


@pytest.mark.parametrize("nth", [1, 2, 4, 7, 9, 12, 15, 20, 26, 31, 37, 40])
def test_a_crash_between_a_steps_outcome_and_the_hosts_move_resumes_forward(nth, tmp_path):
    """Whatever step it follows (provision, cordon, drain, verify, etcd, delete-node, decommission), the next run
    moves the host on as the recorded outcome said, never runs the step again, and ends with every host retired."""
    with rig(tmp_path) as r:
        ledger = CrashAfterOutcome(Ledger.open(r.ledger_path, clock=r.twin.clock), nth)
        try:
            r.engine(ledger=ledger, run_id="first", holder="op@ci:1").run()
        except LedgerCrash:
            pass
        r.engine(run_id="second", holder="op@ci:1").run()
        ledger = Ledger.open(r.ledger_path)
        assert {h.state for h in ledger.hosts()} == {HostState.DECOMMISSIONED}
        for host, _ in NODES:
            ok = [s.step for s in ledger.steps(host) if s.outcome == "ok"]
            assert len(ok) == len(set(ok)), f"{host} ran a step twice: {ok}"

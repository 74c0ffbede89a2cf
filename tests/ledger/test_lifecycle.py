"""Transitions: the legal ones move the host and write an event; illegal ones are refused naming the legal ones."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.clock import VirtualClock
from migrate.ledger import HostState, Ledger, LedgerError
from migrate.ledger.lifecycle import END_STATES, TRANSITIONS, legal_next

S = HostState
HAPPY_PATH = [S.REPLACEMENT_READY, S.CORDONED, S.DRAINED, S.REMOVED, S.DECOMMISSIONING, S.DECOMMISSIONED]


def test_the_happy_path_walks_a_host_to_decommissioned_with_an_event_per_step(tmp_path):
    clock = VirtualClock()
    with Ledger.create(tmp_path / "ledger.db", "p1", [("w1", "worker")], clock=clock) as ledger:
        for state in HAPPY_PATH:
            clock.advance(60)
            ledger.transition("w1", state, run_id="r1", step=f"to-{state}", evidence={"pods_evicted": 3})
        host = ledger.host("w1")
        assert host.state is S.DECOMMISSIONED and host.changed_at == clock.now()
        events = ledger.events("w1")
    assert [e.after for e in events] == [S.ACTIVE, *HAPPY_PATH]
    assert [e.before for e in events] == [None, S.ACTIVE, *HAPPY_PATH[:-1]]
    assert all(e.actor == events[0].actor and "@" in e.actor for e in events)
    assert events[1].evidence == {"pods_evicted": 3}


def test_an_illegal_transition_is_refused_naming_the_legal_states_and_writes_nothing(tmp_path):
    with Ledger.create(tmp_path / "ledger.db", "p1", [("w1", "worker")]) as ledger:
        ledger.transition("w1", S.REPLACEMENT_READY, run_id="r", step="join")
        before = ledger.events()
        with pytest.raises(LedgerError) as refused:
            ledger.transition("w1", S.REMOVED, run_id="r", step="remove")
        assert ledger.events() == before and ledger.host("w1").state is S.REPLACEMENT_READY
    text = str(refused.value)
    assert "w1" in text and "replacement-ready to removed" in text
    assert all(s.value in text for s in legal_next(S.REPLACEMENT_READY))


@pytest.mark.parametrize("end", sorted(END_STATES))
def test_end_states_lead_nowhere(tmp_path, end):
    with Ledger.create(tmp_path / "ledger.db", "p1", [("w1", "worker")]) as ledger:
        path = [S.RETIRED] if end is S.RETIRED else HAPPY_PATH
        for state in path:
            ledger.transition("w1", state, run_id="r", step="s")
        with pytest.raises(LedgerError, match="end state"):
            ledger.transition("w1", S.ACTIVE, run_id="r", step="s")


def test_an_unknown_host_is_refused_naming_the_plan_hosts(tmp_path):
    with Ledger.create(tmp_path / "ledger.db", "p1", [("cp1", "controlplane"), ("w1", "worker")]) as ledger:
        with pytest.raises(LedgerError, match="cp1, w1"):
            ledger.transition("w9", S.FAILED, run_id="r", step="s")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["cp1", "w1", "w2"]), st.sampled_from(list(HostState))), max_size=30))
def test_any_sequence_of_calls_leaves_a_history_that_replays_to_the_stored_states(tmp_path_factory, calls):
    """Legal or not, every call either lands as one event or changes nothing; replaying events gives the hosts."""
    path = tmp_path_factory.mktemp("seq") / "ledger.db"
    clock = VirtualClock()
    with Ledger.create(path, "p1", [("cp1", "controlplane"), ("w1", "worker"), ("w2", "worker")], clock=clock) as ledger:
        for host, to in calls:
            clock.advance(1)
            before = ledger.host(host).state
            try:
                ledger.transition(host, to, run_id="r", step="s")
                assert to == before or to in TRANSITIONS[before]
            except LedgerError:
                assert to != before and to not in TRANSITIONS[before]
    with Ledger.open(path, "p1") as reopened:  # from the file, not from the writer's memory
        replayed: dict[str, HostState] = {}
        for event in reopened.events():
            assert replayed.get(event.host) == event.before  # each event starts where the last one ended
            replayed[event.host] = event.after
        assert replayed == {h.name: h.state for h in reopened.hosts()}
        for host in reopened.hosts():
            last = reopened.events(host.name)[-1]
            assert (host.changed_at, host.actor) == (last.at, last.actor)


def test_an_in_place_host_is_cordoned_without_a_replacement_and_walks_to_decommissioned(tmp_path):
    in_place = [S.CORDONED, S.DRAINED, S.REMOVED, S.DECOMMISSIONING, S.DECOMMISSIONED]
    with Ledger.create(tmp_path / "ledger.db", "p1", [("w1", "worker")]) as ledger:
        for state in in_place:
            ledger.transition("w1", state, run_id="r", step=f"to-{state}")
        assert [e.after for e in ledger.events("w1")] == [S.ACTIVE, *in_place]

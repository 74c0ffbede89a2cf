"""A hypothesis state machine drives the ledger as a migration would (moves, journalled steps, reopening the file
in between) against a plain model; after every rule the file must agree with the model and its own history."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from migrate.clock import VirtualClock
from migrate.ledger import HostState, Ledger, LedgerError
from migrate.ledger.lifecycle import TRANSITIONS

HOSTS = [("cp1", "controlplane"), ("w1", "worker"), ("w2", "worker")]
NAMES = [n for n, _ in HOSTS]


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory(prefix="ledger-machine-")
        self.path = Path(self.dir.name) / "ledger.db"
        self.clock = VirtualClock()
        self.ledger = Ledger.create(self.path, "plan", HOSTS, clock=self.clock)
        self.states = {n: HostState.ACTIVE for n in NAMES}
        self.open_steps: dict[int, str] = {}  # step id -> host, begun and not finished
        self.finished: dict[int, str] = {}  # step id -> outcome

    @rule(host=st.sampled_from(NAMES), to=st.sampled_from(list(HostState)))
    def move(self, host: str, to: HostState) -> None:
        self.clock.advance(1)
        legal = to == self.states[host] or to in TRANSITIONS[self.states[host]]
        try:
            event = self.ledger.transition(host, to, run_id="run", step="move", evidence={"to": to.value})
        except LedgerError:
            assert not legal
            return
        assert legal and (event.before, event.after) == (self.states[host], to)
        self.states[host] = to

    @rule(host=st.sampled_from(NAMES), step=st.sampled_from(["cordon", "drain", "remove"]))
    def begin(self, host: str, step: str) -> None:
        self.open_steps[self.ledger.begin_step(host, step, run_id="run", intent={"step": step})] = host

    @precondition(lambda self: bool(self.open_steps))
    @rule(data=st.data(), outcome=st.sampled_from(["ok", "failed"]))
    def finish(self, data: st.DataObject, outcome: str) -> None:
        step_id = data.draw(st.sampled_from(sorted(self.open_steps)))
        self.ledger.finish_step(step_id, outcome)
        del self.open_steps[step_id]
        self.finished[step_id] = outcome

    @rule()
    def reopen(self) -> None:  # another process (or a resumed run) picks the file up
        self.ledger.close()
        self.ledger = Ledger.open(self.path, "plan", clock=self.clock)

    @invariant()
    def file_agrees_with_the_model_and_its_history(self) -> None:
        assert {h.name: h.state for h in self.ledger.hosts()} == self.states
        replayed: dict[str, HostState | None] = {}
        for event in self.ledger.events():
            assert replayed.get(event.host) == event.before
            replayed[event.host] = event.after
        assert replayed == self.states
        steps = {s.id: s for s in self.ledger.steps()}
        assert {i for i, s in steps.items() if s.outcome is None} == set(self.open_steps)
        assert {i: s.outcome for i, s in steps.items() if s.outcome} == self.finished
        for name in NAMES:
            mine = [s for s in steps.values() if s.host == name]
            assert self.ledger.last_step(name) == (max(mine, key=lambda s: s.id) if mine else None)

    def teardown(self) -> None:
        self.ledger.close()
        self.dir.cleanup()


LedgerMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
test_ledger_state_machine = LedgerMachine.TestCase

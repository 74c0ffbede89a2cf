"""What the ledger hands out: immutable records of a host, an event and a journalled step."""
# exercised by tests/ledger/test_journal.py

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from migrate.ledger.lifecycle import HostState


@dataclass(frozen=True)
class HostRecord:
    name: str
    role: str
    state: HostState
    changed_at: float
    actor: str
    note: str


@dataclass(frozen=True)
class Event:
    id: int
    at: float
    actor: str
    run_id: str
    host: str  # "" for a plan-wide event (a manual finding marked done)
    step: str
    before: HostState | None
    after: HostState | None
    outcome: str
    evidence: Mapping[str, Any]
    note: str


@dataclass(frozen=True)
class StepRecord:
    id: int
    host: str
    step: str
    run_id: str
    started_at: float
    finished_at: float | None  # None with outcome None: intent recorded, never finished (a crash)
    outcome: str | None
    intent: Mapping[str, Any]
    evidence: Mapping[str, Any]

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


@dataclass(frozen=True)
class FindingMark:
    setting: str
    status: str  # "done" (or "open" when a mark is withdrawn)
    changed_at: float
    actor: str
    note: str

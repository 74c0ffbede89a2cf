"""The decommission ledger: every old host tracked to end of life, and the journal a migration resumes from."""

from migrate.ledger.identity import default_path, plan_id
from migrate.ledger.lifecycle import HostState, LedgerError, legal_next
from migrate.ledger.records import Event, FindingMark, HostRecord, StepRecord
from migrate.ledger.store import Ledger

__all__ = ["Event", "FindingMark", "HostRecord", "HostState", "Ledger", "LedgerError", "StepRecord", "default_path",
           "legal_next", "plan_id"]

"""The life of an old host, NetBox-style: which state follows which, and the refusal that names the legal ones."""

from __future__ import annotations

import enum

from migrate.errors import UserError


class LedgerError(UserError):
    """An illegal transition, another plan's ledger, a corrupt or newer file, a writer that holds it too long."""


class HostState(enum.StrEnum):  # a str: compares and serializes as its value
    ACTIVE = "active"  # serving, untouched
    REPLACEMENT_READY = "replacement-ready"  # its Talos successor has joined
    CORDONED = "cordoned"
    DRAINED = "drained"
    REMOVED = "removed"  # gone from Kubernetes and from etcd
    DECOMMISSIONING = "decommissioning"  # the host itself is being wiped / powered off
    DECOMMISSIONED = "decommissioned"
    FAILED = "failed"  # a step failed; a person or a resumed run decides what comes next
    RETIRED = "retired"  # taken out by hand, outside the tool


S = HostState
# forward along the lifecycle, back before anything irreversible (an aborted drain uncordons), and out by hand
_ANYWHERE_BEFORE_END = (S.FAILED, S.RETIRED)
TRANSITIONS: dict[HostState, frozenset[HostState]] = {
    S.ACTIVE: frozenset({S.REPLACEMENT_READY, S.CORDONED, *_ANYWHERE_BEFORE_END}),  # in-place: no replacement first
    S.REPLACEMENT_READY: frozenset({S.CORDONED, S.ACTIVE, *_ANYWHERE_BEFORE_END}),
    S.CORDONED: frozenset({S.DRAINED, S.REPLACEMENT_READY, *_ANYWHERE_BEFORE_END}),
    S.DRAINED: frozenset({S.REMOVED, S.REPLACEMENT_READY, *_ANYWHERE_BEFORE_END}),
    S.REMOVED: frozenset({S.DECOMMISSIONING, *_ANYWHERE_BEFORE_END}),
    S.DECOMMISSIONING: frozenset({S.DECOMMISSIONED, *_ANYWHERE_BEFORE_END}),
    # a failed host resumes at whichever state its postconditions prove, or is retired by hand
    S.FAILED: frozenset({S.ACTIVE, S.REPLACEMENT_READY, S.CORDONED, S.DRAINED, S.REMOVED, S.DECOMMISSIONING,
                         S.DECOMMISSIONED, S.RETIRED}),
    S.DECOMMISSIONED: frozenset(),
    S.RETIRED: frozenset(),
}
END_STATES = frozenset({S.DECOMMISSIONED, S.RETIRED})  # the old host no longer exists
ORDER: list[HostState] = [*HostState]  # display order: lifecycle first, then failed and retired


def legal_next(state: HostState) -> list[HostState]:
    """States reachable from `state` in lifecycle order (staying put is always allowed: a resumed step re-records)."""
    return [s for s in ORDER if s in TRANSITIONS[state]]


def check_transition(host: str, before: HostState, after: HostState) -> None:
    if after == before or after in TRANSITIONS[before]:
        return
    legal = ", ".join(s.value for s in legal_next(before)) or "none: it is an end state"
    raise LedgerError(f"cannot move from {before.value} to {after.value}", where=f"host {host}",
                      hint=f"from {before.value} the legal next states are: {legal}")


def parse_state(text: str) -> HostState:
    try:
        return HostState(text.strip().lower())
    except ValueError:
        raise LedgerError(f"unknown host state {text!r}",
                          hint="one of: " + ", ".join(s.value for s in HostState)) from None

"""Projected quorum (Cluster API's control-plane scale-down rule), as one pure function.

Before a member leaves, count what remains: voting members (learners do not vote) minus the leaving one, and
the newest member counted as possibly failed (it joined last and is the likeliest to be unstable). The healthy
remainder must still be a majority of the voters that remain, or the removal could take the API down.
"""
# exercised by tests/etcd/test_quorum.py

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from migrate.etcd.membership import Member, MemberHealth


@dataclass(frozen=True)
class QuorumVerdict:
    holds: bool
    voters_after: int
    healthy_after: int  # counting the newest member as failed
    reason: str


def projected_quorum(members: Sequence[Member], health: Sequence[MemberHealth], leaving: int,
                     newest: int | None = None) -> QuorumVerdict:
    healthy = {h.member_id for h in health if h.healthy}
    voters = [m for m in members if not m.is_learner and m.id != leaving]
    counted = [m for m in voters if m.id in healthy and m.id != newest]
    need = len(voters) // 2 + 1
    holds = len(voters) > 0 and len(counted) >= need
    reason = (f"{len(voters)} voting members remain; {len(counted)} healthy without the newest"
              f"{'' if newest is None else f' ({newest:x})'}, {need} needed for quorum")
    return QuorumVerdict(holds, len(voters), len(counted), reason)

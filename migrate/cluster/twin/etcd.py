"""etcd for rehearsals: the twin's members, leader, learners and quorum behind the EtcdMembership protocol.

A member added for a new control plane joins as a learner and is promoted once caught up (after
`catch_up` seconds of the twin's clock), as Talos does for its own members; a killed member answers nothing,
and a cluster whose voters lost their majority refuses every change, as raft does.
"""
# exercised by tests/migration/test_engine.py (removal, quorum refusal) and tests/migration/test_resume.py

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, replace

from migrate.clock import Clock
from migrate.etcd.membership import EtcdError, Member, MemberHealth, Snapshot, member_for_peer


@dataclass
class _State:
    member: Member
    alive: bool = True
    added_at: float = 0.0


class TwinEtcd:
    def __init__(self, clock: Clock, catch_up: float = 10.0) -> None:
        self.clock, self.catch_up = clock, catch_up
        self._members: dict[int, _State] = {}
        self._leader: int | None = None
        self._next_id = 0x8E9E05C52164694D  # etcd IDs are 64-bit; a fixed start keeps rehearsals repeatable
        self._lock = threading.Lock()
        self.snapshots: list[Snapshot] = []

    # --- building and faults (what a rehearsal does to it) ---------------------------------------
    def add_member(self, name: str, address: str, *, learner: bool = False) -> Member:
        with self._lock:
            self._next_id += 0x1111
            peer = f"https://[{address}]:2380" if ":" in address else f"https://{address}:2380"
            member = Member(self._next_id, name, (peer,), (peer.replace(":2380", ":2379"),), is_learner=learner)
            self._members[member.id] = _State(member, added_at=self.clock.now())
            if self._leader is None and not learner:
                self._leader = member.id
            return member

    def kill(self, member_id: int) -> None:
        with self._lock:
            self._members[member_id].alive = False
            if self._leader == member_id:
                self._elect()

    # --- the protocol ----------------------------------------------------------------------------
    def members(self) -> list[Member]:
        with self._lock:
            self._promote_caught_up()
            return [s.member for s in self._members.values()]

    def health(self) -> list[MemberHealth]:
        with self._lock:
            self._promote_caught_up()
            quorum = self._has_quorum()
            return [MemberHealth(s.member.id, s.alive and quorum, leader=s.member.id == self._leader, version="3.5.16",
                                 error="" if s.alive and quorum else ("no answer" if not s.alive else "no quorum"))
                    for s in self._members.values()]

    def leader(self) -> Member | None:
        with self._lock:
            return self._members[self._leader].member if self._leader in self._members else None

    def move_leader(self, to_member_id: int) -> None:
        with self._lock:
            self._require_quorum("move leader")
            target = self._members.get(to_member_id)
            if target is None or not target.alive or target.member.is_learner:
                raise EtcdError(f"member {to_member_id:x} cannot lead (missing, down or a learner)")
            self._leader = to_member_id

    def wait_promoted(self, peer_url: str, timeout: float) -> Member:
        deadline = self.clock.now() + timeout
        while True:
            with self._lock:
                self._promote_caught_up()
                found = next((s.member for s in self._members.values() if peer_url in s.member.peer_urls), None)
            if found is not None and not found.is_learner:
                return found
            if self.clock.now() >= deadline:
                seen = "not a member" if found is None else "still a learner"
                raise EtcdError(f"the member at {peer_url} was not promoted within {timeout:.0f}s ({seen})")
            self.clock.sleep(min(1.0, max(0.0, deadline - self.clock.now())))

    def snapshot(self, reason: str) -> Snapshot:
        with self._lock:
            self._require_quorum("snapshot")
            listing = ",".join(sorted(f"{m:x}" for m in self._members)).encode()
            snap = Snapshot("twin", f"/var/backups/etcd-{len(self.snapshots) + 1}.db", hashlib.sha256(listing).hexdigest(),
                            len(listing))
            self.snapshots.append(snap)
            return snap

    def remove_member(self, member_id: int) -> None:
        with self._lock:
            self._require_quorum("remove member")
            if member_id not in self._members:
                raise EtcdError(f"member {member_id:x} is not in the cluster")
            if len(self._members) == 1:
                raise EtcdError("the last member cannot be removed")
            del self._members[member_id]
            if self._leader == member_id:
                self._elect()

    def member_for(self, address: str) -> Member | None:
        return member_for_peer(self.members(), address)

    # --- raft, simplified ------------------------------------------------------------------------
    def _promote_caught_up(self) -> None:
        now = self.clock.now()
        for state in self._members.values():
            if state.member.is_learner and state.alive and now - state.added_at >= self.catch_up and self._has_quorum():
                state.member = replace(state.member, is_learner=False)

    def _has_quorum(self) -> bool:
        voters = [s for s in self._members.values() if not s.member.is_learner]
        return sum(s.alive for s in voters) > len(voters) / 2

    def _require_quorum(self, what: str) -> None:
        if not self._has_quorum():
            raise EtcdError(f"cannot {what}: the cluster has lost quorum")

    def _elect(self) -> None:
        alive = [s.member.id for s in self._members.values() if s.alive and not s.member.is_learner]
        self._leader = min(alive) if alive and self._has_quorum() else None

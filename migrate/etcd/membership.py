"""What the migration asks of etcd, as one protocol: the twin implements it for rehearsals, etcdctl for real clusters.

Members are matched to hosts by peer URL, never by name: Kubespray names them etcd1..N, Talos after the node.
"""
# exercised by tests/migration/test_engine.py (members matched by peer URL) and tests/etcd/test_quorum.py

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Member:
    id: int  # etcd's member ID (etcdctl prints it in hex)
    name: str  # "" for a member added but not started yet
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...] = ()
    is_learner: bool = False

    @property
    def started(self) -> bool:
        return bool(self.name) and bool(self.client_urls)

    @property
    def hex_id(self) -> str:
        return f"{self.id:x}"


@dataclass(frozen=True)
class MemberHealth:
    member_id: int
    healthy: bool
    leader: bool = False
    version: str = ""
    db_size: int = 0  # bytes
    raft_index: int = 0
    error: str = ""  # why it is not healthy (timeout, refused, alarm); "" when healthy


@dataclass(frozen=True)
class Snapshot:
    """An `etcdctl snapshot save` taken before a removal: where it lies and what it hashes to."""

    host: str
    path: str
    sha256: str
    size: int


class EtcdError(Exception):
    """etcd did not do what was asked (timeout, refused, lost quorum); the message says what was seen."""


@runtime_checkable
class EtcdMembership(Protocol):
    """Every call has a deadline; a member that does not answer is reported unhealthy, never assumed healthy."""

    def members(self) -> list[Member]: ...
    def health(self) -> list[MemberHealth]: ...
    def leader(self) -> Member | None: ...
    def move_leader(self, to_member_id: int) -> None: ...
    def wait_promoted(self, peer_url: str, timeout: float) -> Member: ...  # a Talos member adds and promotes itself
    def snapshot(self, reason: str) -> Snapshot: ...
    def remove_member(self, member_id: int) -> None: ...  # callers check projected_quorum_holds first


def peer_url(address: str) -> str:
    """The peer URL etcd (Kubespray's and Talos's) listens on at this host address."""
    return f"https://[{address}]:2380" if ":" in address else f"https://{address}:2380"


def member_for_peer(members: Sequence[Member], address: str) -> Member | None:
    """The member whose peer URL carries this host address (https://10.0.0.1:2380 for 10.0.0.1)."""
    bracketed = f"[{address}]" if ":" in address else address
    for m in members:
        if any(url.split("://", 1)[-1].rsplit(":", 1)[0] == bracketed for url in m.peer_urls):
            return m
    return None

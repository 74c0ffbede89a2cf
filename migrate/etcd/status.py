"""What `etcd status` shows: every member with its health, matched to the plan's hosts by peer URL, and what is
wrong — a member no host claims, a host whose member is missing, a learner not promoted, an even member count."""
# exercised by tests/etcd/test_status.py

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from migrate.etcd.membership import EtcdMembership, member_for_peer


@dataclass(frozen=True)
class MemberRow:
    name: str
    id: str
    host: str | None
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...]
    learner: bool
    leader: bool
    healthy: bool
    version: str
    db_size: int
    raft_index: int
    error: str


def etcd_status(etcd: EtcdMembership, hosts: Mapping[str, str]) -> tuple[list[MemberRow], list[str]]:
    """`hosts`: the etcd hosts the plan knows, name -> address. Returns the rows and the problems found."""
    members, health = etcd.members(), {h.member_id: h for h in etcd.health()}
    claimed = {m.id: host for host, address in hosts.items() if (m := member_for_peer(members, address))}
    rows = [MemberRow(m.name or "(not started)", m.hex_id, claimed.get(m.id), m.peer_urls, m.client_urls, m.is_learner,
                      health[m.id].leader if m.id in health else False, m.id in health and health[m.id].healthy,
                      health[m.id].version if m.id in health else "", health[m.id].db_size if m.id in health else 0,
                      health[m.id].raft_index if m.id in health else 0, health[m.id].error if m.id in health else "")
            for m in members]
    problems = [f"member {r.name} ({r.id}) is claimed by no host of the plan" for r in rows if r.host is None]
    problems += [f"host {h} has no etcd member at {a}" for h, a in hosts.items() if h not in claimed.values()]
    problems += [f"member {r.name} ({r.id}) is a learner not promoted yet" for r in rows if r.learner]
    problems += [f"member {r.name} ({r.id}) is unhealthy: {r.error}" for r in rows if not r.healthy]
    voters = sum(not r.learner for r in rows)
    if voters % 2 == 0:
        problems.append(f"{voters} voting members: an even count tolerates no more failures than one fewer")
    return rows, problems


def to_dict(rows: list[MemberRow], problems: list[str]) -> dict[str, Any]:
    return {"members": [r.__dict__ for r in rows], "problems": problems}

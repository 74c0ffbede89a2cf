"""strategy: in-place — the old host leaves Kubernetes and etcd first, then the same machine is reinstalled with Talos
and rejoins (under its own name or the planned one): no spare machine, one host's capacity less while it reinstalls.

A control plane goes in-place only when etcd keeps quorum with its member gone for the whole reinstall (the
projected quorum, checked before the node is even cordoned and again before the member is removed). The Node
that comes back may carry the old name, so every postcondition tells the old Node from the new one by uid: the
uid seen when the run cordoned it is kept in that step's intent.
"""
# exercised by tests/migration/test_in_place.py

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from migrate.cluster.base import Node
from migrate.errors import UserError
from migrate.etcd.membership import EtcdMembership, Member, member_for_peer, peer_url
from migrate.etcd.quorum import projected_quorum
from migrate.migration.member_swap import member_gone
from migrate.migration.plan_file import HostMove
from migrate.migration.running import Finished, Running

if TYPE_CHECKING:
    from migrate.migration.engine import Migration

Action = Callable[[], Mapping[str, Any]]
Holds = Callable[[], bool] | None


class InPlace:
    """The in-place steps of a Migration: what each does and the postcondition a resumed run checks first."""

    def __init__(self, run: Migration) -> None:
        self.run = run

    def intent(self, move: HostMove, step: str) -> Mapping[str, Any] | None:
        if step != "cordon":
            return None
        node = self.run.cluster.get_node(move.host)
        return {"step": step, "old_uid": self._old_uid(move.host) or (node.uid if node else "")}

    def actions(self, move: HostMove, step: str) -> tuple[Action, Holds]:
        table: dict[str, tuple[Action, Holds]] = {
            "cordon": (lambda: self._cordon(move), lambda: self._gone_or(move, lambda n: bool(n.unschedulable))),
            "verify": (lambda: self.run._verify(move), None),
            "etcd": (lambda: self._remove_member(move), member_gone(self.run.etcd, move)),
            "delete-node": (lambda: self.run._delete_node(move), lambda: self._gone_or(move, lambda n: False)),
            "reinstall": (lambda: dict(self.run.hands.provision(move)), lambda: self._reborn(move) is not None),
            "rejoin": (lambda: self._rejoin(move), lambda: self._rejoined(move)),
        }
        return table[step]

    # --- postconditions: the old Node (by uid) and the new one ---------------------------------------------
    def _old_uid(self, host: str) -> str:
        return next((str(s.intent["old_uid"]) for s in self.run.ledger.steps(host)
                     if s.step == "cordon" and s.intent.get("old_uid")), "")

    def _gone_or(self, move: HostMove, test: Callable[[Any], bool]) -> bool:
        """The old Node is gone (none by that name, or one with another uid), or passes `test`."""
        node, old = self.run.cluster.get_node(move.host), self._old_uid(move.host)
        return node is None or bool(old and node.uid != old) or test(node)

    def _reborn(self, move: HostMove) -> Any:
        node = self.run.cluster.get_node(move.replacement)
        return node if node is not None and node.uid != self._old_uid(move.host) else None

    def _rejoined(self, move: HostMove) -> bool:
        node = self._reborn(move)
        if node is None or not node.ready:
            return False
        etcd = self._etcd(move)
        member = member_for_peer(etcd.members(), self._address(move)) if etcd else None
        return etcd is None or (member is not None and not member.is_learner)

    # --- the steps -----------------------------------------------------------------------------------------
    def _cordon(self, move: HostMove) -> Mapping[str, Any]:
        etcd = self._etcd(move)
        if etcd is not None:
            old = member_for_peer(etcd.members(), move.address or "")
            if old is not None:
                self._quorum_without(etcd, old, move)  # refuse before the drain, not half-way
        node = self.run.cluster.cordon(move.host)
        return {"unschedulable": node.unschedulable, "old_uid": node.uid}

    def _remove_member(self, move: HostMove) -> Mapping[str, Any]:
        etcd = self._etcd(move)
        old = member_for_peer(etcd.members(), move.address or "") if etcd else None
        if etcd is None or old is None:
            return {"etcd": "no member at this address"}
        leader = etcd.leader()
        if leader is not None and leader.id == old.id:
            etcd.move_leader(self._successor(etcd, old))
        verdict = self._quorum_without(etcd, old, move)
        snapshot = etcd.snapshot(f"before removing {old.name} for its reinstall")
        etcd.remove_member(old.id)
        return {"removed": {"name": old.name, "id": old.hex_id}, "quorum": verdict,
                "snapshot": {"path": snapshot.path, "sha256": snapshot.sha256}}

    def start_decommission(self, move: HostMove) -> Running:
        """Started with the wave's other hooks (migration/wave_hooks.py); without a hook the reinstall wipes the host."""
        if move.decommission is None:
            return Finished({"decommission": "no hook: the reinstall wipes the host"})
        return self.run.hands.start_decommission(move)

    def _rejoin(self, move: HostMove) -> Mapping[str, Any]:
        """The reinstalled machine registers as a new Node and is Ready; a control plane's member is promoted."""
        clock, deadline = self.run.clock, self.run.clock.now() + self.run.plan.drain_timeout
        old = self._old_uid(move.host)

        def back(node: Node | None) -> bool:
            return node is not None and node.uid != old and node.ready

        while not back(node := self.run.cluster.wait_node(move.replacement, back, self.run._slice(deadline))):
            if clock.now() >= deadline:
                raise UserError(f"{move.replacement} did not come back Ready after its reinstall",
                                where=f"host {move.host}", hint="check the reinstall (provision) hook and "
                                "`talosctl -n ADDRESS dmesg`; the run goes on from here when started again")
            self.run.lock.renew_if_due()
            self.run._emit("waiting", move.host, "rejoin", f"{move.replacement} not Ready yet")
        evidence: dict[str, Any] = {"node": move.replacement, "uid": node.uid if node is not None else ""}
        etcd = self._etcd(move)
        if etcd is not None:
            member = etcd.wait_promoted(peer_url(self._address(move)), timeout=max(1.0, deadline - clock.now()))
            evidence["member"] = {"name": member.name, "id": member.hex_id}
        return evidence

    # --- etcd ----------------------------------------------------------------------------------------------
    def _etcd(self, move: HostMove) -> EtcdMembership | None:
        return self.run.etcd if move.is_control_plane and move.address else None

    def _address(self, move: HostMove) -> str:
        return move.replacement_address or move.address or ""

    def _quorum_without(self, etcd: EtcdMembership, old: Member, move: HostMove) -> str:
        # no member joins while this one is away, so nothing is counted as newest: every remaining voter must hold
        verdict = projected_quorum(etcd.members(), etcd.health(), leaving=old.id)
        if not verdict.holds:
            raise UserError(f"reinstalling {move.host} in place takes etcd member {old.name} ({old.hex_id}) away and "
                            f"would risk quorum: {verdict.reason}", where=f"host {move.host}",
                            hint="bring unhealthy members back, or use strategy: surge for this control plane "
                            "(its replacement joins first)")
        return verdict.reason

    @staticmethod
    def _successor(etcd: EtcdMembership, old: Member) -> int:
        healthy = {h.member_id for h in etcd.health() if h.healthy}
        for m in etcd.members():
            if m.id != old.id and m.id in healthy and not m.is_learner:
                return m.id
        raise UserError(f"no healthy voting member to take etcd leadership from {old.name}")

"""etcdctl on an old etcd host through ansible-runner, as an operator runs it by hand: Kubespray's own etcdctl
(`bin_dir`), its certificates (`etcd_cert_dir`: ca.pem, admin-<host>.pem) and the host's own client URL.

Nothing leaves the host but etcdctl's answers; the snapshot before a removal stays on the host too (0600, its
sha256 handed back for the ledger). Hosts are tried in the order given: put the one that moves last first, so
the host whose member leaves is never the one asked (after a removal its host is dropped from the list).
"""
# exercised by tests/etcd/test_onhost.py (ansible_connection=local against a real etcd 3.4)

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrate.ansible import run_playbook
from migrate.errors import UserError
from migrate.etcd.etcdctl import Answer, EtcdctlCall
from migrate.etcd.membership import EtcdError, Member, Snapshot, member_for_peer

PLAYBOOK = "etcdctl.yml"
SNAPSHOT_DIR = "/var/backups/kubespray2talos"  # beside Kubespray's own etcd backups (etcd_backup_prefix)


@dataclass(frozen=True)
class EtcdHost:
    name: str  # the inventory host
    address: str  # the address its member's peer URL carries (Kubespray: access_ip, else ip)


class HostEtcdctl:
    def __init__(self, inventory: Path, hosts: Sequence[EtcdHost], *, snapshot_dir: str = SNAPSHOT_DIR,
                 timeout: float = 10.0, vault_password_file: Path | None = None, endpoints: str | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        if not hosts:
            raise UserError("the inventory has no etcd host to run etcdctl on", where=str(inventory),
                            hint="an `etcd` group with the old etcd hosts (Kubespray's own)")
        if not snapshot_dir.startswith("/"):
            raise UserError("the snapshot directory on the etcd host must be an absolute path", where=snapshot_dir)
        self.inventory, self.hosts, self.snapshot_dir = inventory, list(hosts), snapshot_dir.rstrip("/")
        self.timeout, self.vault_password_file, self.endpoints, self.progress = timeout, vault_password_file, endpoints, progress

    @property
    def host(self) -> EtcdHost:
        if not self.hosts:
            raise EtcdError("no old etcd host is left to run etcdctl on")
        return self.hosts[0]

    def run(self, calls: Sequence[EtcdctlCall]) -> list[Answer]:
        wanted = [{"args": list(c.args), "json": c.json, **({"endpoints": ",".join(c.endpoints)} if c.endpoints else {})}
                  for c in calls]
        back = self._play({"ks2t_action": "calls", "ks2t_calls": wanted})
        rcs, outs, errs, msgs = (list(back.get(k) or []) for k in ("ks2t_rc", "ks2t_stdout", "ks2t_stderr", "ks2t_msg"))
        if not len(rcs) == len(outs) == len(errs) == len(msgs) == len(calls):
            raise EtcdError(f"etcdctl on {self.host.name}: {len(rcs)} answers for {len(calls)} calls")
        # etcdctl's own stderr says what went wrong; the module's msg only when etcdctl could not even start
        return [Answer(int(rc), str(out), str(err).strip() or (str(msg).strip() if int(rc) else ""))
                for rc, out, err, msg in zip(rcs, outs, errs, msgs, strict=True)]

    def snapshot(self, name: str) -> Snapshot:
        path = f"{self.snapshot_dir}/{name}"
        back = self._play({"ks2t_action": "snapshot", "ks2t_snapshot_path": path}).get("ks2t_snapshot") or {}
        if not back.get("sha256"):
            raise EtcdError(f"the snapshot on {self.host.name} was not handed back (no checksum for {path})")
        return Snapshot(str(back["host"]), str(back["path"]), str(back["sha256"]), int(back.get("size") or 0))

    def member_removed(self, member: Member) -> None:
        """A host whose member left is no longer asked: its etcd stops serving."""
        self.hosts = [h for h in self.hosts if member_for_peer([member], h.address) is None]

    def _play(self, extravars: dict[str, Any]) -> dict[str, Any]:
        common: dict[str, Any] = {"ks2t_host": self.host.name, "ks2t_timeout": int(self.timeout)}
        if self.endpoints:
            common["ks2t_endpoints"] = self.endpoints
        result = run_playbook(PLAYBOOK, self.inventory, extravars={**common, **extravars},
                              vault_password_file=self.vault_password_file, progress=self.progress)
        if self.host.name not in result.stats:
            raise UserError(f"no host {self.host.name!r} in the inventory", where=str(self.inventory),
                            hint="name an etcd host of this inventory")
        return result.artifacts

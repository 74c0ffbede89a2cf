"""The real EtcdMembership: `etcdctl` (API v3, JSON output) with Kubespray's etcd certificates.

Every call has a deadline (`--command-timeout` and a process timeout). A member that does not answer is
reported unhealthy with what was seen, never assumed healthy. A snapshot is saved (0600, sha256 recorded)
before a removal, and a removal is refused unless the projected quorum holds.
"""
# exercised by tests/etcd/test_etcdctl.py (a real 3-member TLS etcd on 127.0.0.x)

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from migrate.clock import Clock, SystemClock
from migrate.errors import UserError
from migrate.etcd.membership import EtcdError, Member, MemberHealth, Snapshot
from migrate.etcd.quorum import projected_quorum

INSTALL_HINT = "install etcdctl (Debian: apt-get install etcd-client), or run where Kubespray put it (/usr/local/bin)"


@dataclass(frozen=True)
class EtcdAccess:
    """How to reach the cluster: client URLs and a client certificate its CA trusts (Kubespray: admin-<host>.pem)."""

    endpoints: tuple[str, ...]
    cacert: Path
    cert: Path
    key: Path

    @classmethod
    def kubespray(cls, endpoints: Sequence[str], cert_dir: Path, host: str) -> EtcdAccess:
        """Kubespray's layout under etcd_cert_dir (/etc/ssl/etcd/ssl): ca.pem, admin-<host>.pem, admin-<host>-key.pem."""
        return cls(tuple(endpoints), cert_dir / "ca.pem", cert_dir / f"admin-{host}.pem", cert_dir / f"admin-{host}-key.pem")


@dataclass(frozen=True)
class EtcdctlCall:
    """One etcdctl invocation; the certificate flags are the runner's business (here, or on an etcd host)."""

    args: tuple[str, ...]
    endpoints: tuple[str, ...] = ()  # () = the runner's own
    json: bool = True


@dataclass(frozen=True)
class Answer:
    rc: int
    stdout: str
    stderr: str


class EtcdctlRunner(Protocol):
    """Where etcdctl runs: on this machine with fetched certificates, or on an old etcd host through Ansible."""

    timeout: float

    def run(self, calls: Sequence[EtcdctlCall]) -> list[Answer]: ...  # one answer per call, in order
    def snapshot(self, name: str) -> Snapshot: ...  # `etcdctl snapshot save`, 0600, with its sha256
    def member_removed(self, member: Member) -> None: ...  # stop using a host whose member just left


class LocalEtcdctl:
    """etcdctl on this machine against --endpoints with a copy of Kubespray's certificates."""

    def __init__(self, access: EtcdAccess, *, snapshot_dir: Path, timeout: float = 10.0, etcdctl: str = "etcdctl") -> None:
        binary = shutil.which(etcdctl)
        if binary is None:
            raise UserError(f"{etcdctl} not found", hint=INSTALL_HINT)
        for path in (access.cacert, access.cert, access.key):
            if not path.is_file():
                raise UserError("etcd certificate not found", where=str(path),
                                hint="fetch Kubespray's etcd certificates (etcd_cert_dir) or run on an etcd host")
        self.access, self.snapshot_dir, self.timeout, self.binary = access, snapshot_dir, timeout, binary

    def run(self, calls: Sequence[EtcdctlCall]) -> list[Answer]:
        return [self._one(call) for call in calls]

    def snapshot(self, name: str) -> Snapshot:
        self.snapshot_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.snapshot_dir / name
        answer = Answer(1, "", "no endpoint")
        for endpoint in self.access.endpoints:  # `snapshot save` takes one endpoint: the first that answers
            answer = self._one(EtcdctlCall(("snapshot", "save", str(path)), (endpoint,), json=False))
            if answer.rc == 0:
                break
        else:
            raise EtcdError(f"etcdctl snapshot save: {_last_line(answer)}")
        os.chmod(path, 0o600)  # the snapshot holds every secret of the cluster
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return Snapshot("local", str(path), digest, path.stat().st_size)

    def member_removed(self, member: Member) -> None:
        """Endpoints are the operator's list: nothing to switch."""

    def _one(self, call: EtcdctlCall) -> Answer:
        command = [self.binary, f"--endpoints={','.join(call.endpoints or self.access.endpoints)}",
                   f"--cacert={self.access.cacert}", f"--cert={self.access.cert}", f"--key={self.access.key}",
                   f"--command-timeout={int(self.timeout)}s", f"--dial-timeout={max(1, int(self.timeout / 2))}s",
                   *(["-w", "json"] if call.json else []), *call.args]
        try:
            run = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout + 5, check=False,
                                 env={**os.environ, "ETCDCTL_API": "3"})
        except subprocess.TimeoutExpired:
            return Answer(-1, "", f"did not answer within {self.timeout + 5:.0f}s")
        return Answer(run.returncode, run.stdout, run.stderr)


class EtcdctlMembership:
    def __init__(self, access: EtcdAccess | None = None, *, snapshot_dir: Path | None = None, clock: Clock | None = None,
                 timeout: float = 10.0, etcdctl: str = "etcdctl", runner: EtcdctlRunner | None = None) -> None:
        """etcdctl here with `access` (and `snapshot_dir` on this machine), or through `runner` (an etcd host)."""
        if runner is None:
            if access is None or snapshot_dir is None:
                raise ValueError("either a runner, or access and snapshot_dir")
            runner = LocalEtcdctl(access, snapshot_dir=snapshot_dir, timeout=timeout, etcdctl=etcdctl)
        self.runner, self.timeout = runner, runner.timeout
        self.clock = clock or SystemClock()

    # --- the protocol ----------------------------------------------------------------------------------------
    def health(self) -> list[MemberHealth]:
        return self._state()[1]

    def _state(self) -> tuple[list[Member], list[MemberHealth]]:
        """One round trip: the members and every started member's status (`endpoint status --cluster`); a member
        that does not answer is unhealthy with what etcdctl said, never assumed healthy."""
        listed, statuses = self.runner.run([EtcdctlCall(("member", "list")),
                                            EtcdctlCall(("endpoint", "status", "--cluster"))])
        members = self._members(listed)
        answered: dict[int, dict[str, Any]] = {}
        for entry in _json_list(statuses.stdout):
            status = entry.get("Status") or {}
            answered[int((status.get("header") or {}).get("member_id", 0))] = status
        errors = _endpoint_errors(statuses.stderr)
        out = []
        for member in members:
            st = answered.get(member.id)
            if st is not None:
                out.append(MemberHealth(member.id, True, leader=int(st.get("leader", 0)) == member.id,
                                        version=str(st.get("version", "")), db_size=int(st.get("dbSize", 0)),
                                        raft_index=int(st.get("raftIndex", 0))))
            elif not member.client_urls:
                out.append(MemberHealth(member.id, False, error="not started (no client URL yet)"))
            else:
                seen = [errors[u] for u in member.client_urls if u in errors]
                out.append(MemberHealth(member.id, False, error=seen[0] if seen else _last_line(statuses) or "no answer"))
        return members, out

    def leader(self) -> Member | None:
        members, health = self._state()
        leaders = {h.member_id for h in health if h.leader}
        return next((m for m in members if m.id in leaders), None)

    def move_leader(self, to_member_id: int) -> None:
        current = self.leader()
        if current is None:
            raise EtcdError("no leader answers: leadership cannot be moved")
        if current.id != to_member_id:  # etcd takes move-leader only from the current leader
            self._run("move-leader", f"{to_member_id:x}", endpoints=current.client_urls[:1])

    def promote(self, member_id: int) -> None:
        """What Talos does for its own learner once caught up (here for tests and for hand-joined members)."""
        try:
            self._run("member", "promote", f"{member_id:x}")
        except EtcdError:
            if any(m.id == member_id and not m.is_learner for m in self.members()):
                return  # an earlier attempt went through before its answer was lost: promoted is promoted
            raise

    def add_learner(self, name: str, peer_url: str) -> Member:
        data = json.loads(self._reconfigure("member", "add", name, f"--peer-urls={peer_url}", "--learner") or "{}")
        return _member(data["member"])

    def wait_promoted(self, peer_url: str, timeout: float) -> Member:
        deadline = self.clock.now() + timeout
        while True:
            members = self.members()
            found = next((m for m in members if peer_url in m.peer_urls), None)
            if found is not None and not found.is_learner and found.started:
                return found
            if self.clock.now() >= deadline:
                seen = ("not a member: Talos adds itself once its machine config is applied" if found is None else
                        "added but not started: the node has not reached etcd" if not found.started else
                        "a started learner not promoted: Talos promotes it once it has caught up with the leader")
                others = ", ".join(f"{m.name or m.hex_id}{' (learner)' if m.is_learner else ''}" for m in members)
                raise EtcdError(f"the member at {peer_url} was not promoted within {timeout:.0f}s: {seen} "
                                f"(members: {others})")
            self.clock.sleep(min(2.0, max(0.1, deadline - self.clock.now())))

    def snapshot(self, reason: str) -> Snapshot:
        return self.runner.snapshot(f"etcd-{int(self.clock.now())}.db")

    def remove_member(self, member_id: int) -> None:
        members, health = self._state()
        if member_id not in {m.id for m in members}:
            raise EtcdError(f"member {member_id:x} is not in the cluster")
        # etcd does not say which member joined last; the engine checks with the newest named before calling
        verdict = projected_quorum(members, health, leaving=member_id)
        if not verdict.holds:
            raise EtcdError(f"refusing to remove member {member_id:x}: {verdict.reason}")
        leaving = next(m for m in members if m.id == member_id)
        try:
            self._reconfigure("member", "remove", f"{member_id:x}")
        except EtcdError as exc:
            # asked through the leaving member itself, its etcd may stop before it answers: look again elsewhere
            if "server stopped" not in str(exc):
                raise
            self.runner.member_removed(leaving)
            if any(m.id == member_id for m in self.members()):
                raise
            return
        self.runner.member_removed(leaving)

    def _reconfigure(self, *args: str) -> str:
        """A membership change. etcd answers "unhealthy cluster" until its leader has been in touch with a
        quorum for 5 s (after a start or a leader change): retried with a deadline, never forced."""
        deadline = self.clock.now() + 3 * self.timeout
        while True:
            try:
                return self._run(*args)
            except EtcdError as exc:
                if "unhealthy cluster" not in str(exc) or self.clock.now() >= deadline:
                    raise
                self.clock.sleep(1.0)

    # --- etcdctl -----------------------------------------------------------------------------------------------
    def members(self) -> list[Member]:
        return self._members(self.runner.run([EtcdctlCall(("member", "list"))])[0])

    def _members(self, answer: Answer) -> list[Member]:
        data = json.loads(self._checked(answer, "member list") or "{}")
        return [_member(m) for m in data.get("members") or []]

    def _run(self, *args: str, endpoints: Sequence[str] | None = None, json_output: bool = True) -> str:
        answer = self.runner.run([EtcdctlCall(tuple(args), tuple(endpoints or ()), json_output)])[0]
        return self._checked(answer, " ".join(args[:2]))

    @staticmethod
    def _checked(answer: Answer, what: str) -> str:
        if answer.rc != 0:
            raise EtcdError(f"etcdctl {what}: {_last_line(answer) or f'exit code {answer.rc}'}")
        return answer.stdout


def _last_line(answer: Answer) -> str:
    lines = (answer.stderr or answer.stdout).strip().splitlines()
    return lines[-1].strip() if lines else ""


def _json_list(text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text or "[]")
    except json.JSONDecodeError:
        return []
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


_FAILED = re.compile(r"Failed to get the status of endpoint (\S+) \((.*)\)\s*$")


def _endpoint_errors(stderr: str) -> dict[str, str]:
    """etcdctl's line per member that did not answer `endpoint status`, by client URL."""
    return {m.group(1): m.group(2) for line in stderr.splitlines() if (m := _FAILED.search(line.strip()))}


def _member(data: dict[str, Any]) -> Member:
    return Member(int(data["ID"]), str(data.get("name") or ""), tuple(data.get("peerURLs") or ()),
                  tuple(data.get("clientURLs") or ()), bool(data.get("isLearner", False)))

"""One migration per cluster: a coordination.k8s.io Lease held and renewed for the whole run.

A second run is refused naming the holder; a holder that stopped renewing past the lease's duration may be
taken over (its run died); a renewal that finds another holder means this run lost the lock and must stop."""
# exercised by tests/migration/test_engine.py (a second run refused, the lock released) and tests/migration/test_resume.py

from __future__ import annotations

import getpass
import os
import socket

from migrate.clock import Clock
from migrate.cluster.base import Cluster, Lease
from migrate.errors import UserError

NAMESPACE, NAME = "kube-system", "kubespray2talos-migration"
DURATION = 120  # seconds without a renewal before another run may take over


def holder_identity() -> str:
    """user@host:pid — the host and pid let a re-run on the same machine take over from a run that was killed."""
    return f"{getpass.getuser()}@{socket.gethostname()}:{os.getpid()}"


def _dead_here(holder: str) -> bool:
    """The holder ran on this machine and its process is gone (kill -9): its lock is ours to take."""
    where, _, pid = holder.rpartition(":")
    if where.rpartition("@")[2] != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class LockLost(UserError):
    """Another run holds the migration lock now: this one stops after its current step."""


class MigrationLock:
    def __init__(self, cluster: Cluster, holder: str, clock: Clock, duration: int = DURATION) -> None:
        self.cluster, self.holder, self.clock, self.duration = cluster, holder, clock, duration
        self._lease: Lease | None = None

    def acquire(self) -> None:
        now = self.clock.now()
        current = self.cluster.get_lease(NAMESPACE, NAME)
        mine = Lease(NAMESPACE, NAME, self.holder, self.duration, now)
        if current is None:
            self._lease = self.cluster.create_lease(mine)
        elif current.holder == self.holder or current.expired(now) or _dead_here(current.holder):
            self._lease = self.cluster.update_lease(
                Lease(NAMESPACE, NAME, self.holder, self.duration, now, current.resource_version))
        else:
            raise self._held_by(current, now)
        if self._lease is None:  # another run wrote between our read and our write
            raise self._held_by(self.cluster.get_lease(NAMESPACE, NAME), now)

    def renew(self) -> None:
        if self._lease is None:
            raise LockLost("the migration lock is not held", where=f"lease {NAMESPACE}/{NAME}")
        renewed = self.cluster.update_lease(Lease(NAMESPACE, NAME, self.holder, self.duration, self.clock.now(),
                                                  self._lease.resource_version))
        if renewed is None or renewed.holder != self.holder:
            self._lease = None
            raise LockLost("lost the migration lock to another run", where=f"lease {NAMESPACE}/{NAME}",
                           hint="another operator took over; run `kubespray2talos status` and agree who goes on")
        self._lease = renewed

    def renew_if_due(self) -> None:
        if self._lease is not None and self.clock.now() - self._lease.renew_time >= self.duration / 3:
            self.renew()

    def release(self) -> None:
        if self._lease is None:
            return
        self.cluster.update_lease(Lease(NAMESPACE, NAME, "", self.duration, self.clock.now(),
                                        self._lease.resource_version))
        self._lease = None

    def _held_by(self, lease: Lease | None, now: float) -> UserError:
        if lease is None:
            return UserError("could not take the migration lock", where=f"lease {NAMESPACE}/{NAME}")
        left = max(0, int(lease.renew_time + lease.duration_seconds - now))
        return UserError(f"another migration of this cluster is running: {lease.holder} holds the lock "
                         f"(renewed {int(now - lease.renew_time)}s ago, expires in {left}s unless renewed)",
                         where=f"lease {NAMESPACE}/{NAME}", hint="wait for it to finish, or stop that run first")

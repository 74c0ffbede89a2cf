"""Which plan a ledger belongs to, where it lives, and who is writing to it."""
# exercised by tests/ledger/test_plandir.py

from __future__ import annotations

import getpass
import hashlib
import os
import socket
from pathlib import Path

from migrate.ledger.lifecycle import LedgerError

LEDGER_FILE = "ledger.db"
# the documents that ARE the plan (what would be applied to the nodes, and every verdict); secrets.yaml and
# talosconfig are left out (their digest would say nothing a reviewer can check) and so is everything the
# ledger writes itself (ledger.db, its -wal/-shm/-holder siblings)
PLAN_DOCUMENTS = ("controlplane.yaml", "worker.yaml", "report.json")


def plan_id(plan_dir: Path) -> str:
    """sha256 over each plan document's relative path, length and bytes, in a fixed order (nodes/*.yaml sorted)."""
    plan_dir = Path(plan_dir)
    if not (plan_dir / "report.json").is_file():
        raise LedgerError("not a plan directory (no report.json)", where=str(plan_dir),
                          hint="give the directory `kubespray2talos plan --out` wrote")
    names = [n for n in PLAN_DOCUMENTS if (plan_dir / n).is_file()]
    names += sorted(f"nodes/{p.name}" for p in (plan_dir / "nodes").glob("*.yaml")) if (plan_dir / "nodes").is_dir() else []
    digest = hashlib.sha256(b"kubespray2talos plan v1\0")
    for name in names:
        data = (plan_dir / name).read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def default_path(plan_dir: Path) -> Path:
    return Path(plan_dir) / LEDGER_FILE


def actor() -> str:
    """user@host, as an auditor would ask for it; a uid when the user has no name (a bare container)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"

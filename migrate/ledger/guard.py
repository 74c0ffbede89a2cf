"""Refusals before SQLite gets a chance to misbehave: a file that is not a ledger, a truncated one, a read-only
directory, a writer that holds the lock too long (named, from the holder note each writer leaves)."""
# exercised by tests/ledger/test_refusals.py

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from migrate.clock import rfc3339
from migrate.ledger.lifecycle import LedgerError

SQLITE_MAGIC = b"SQLite format 3\x00"
_RESTORE = "restore it from a backup (or move it away: `plan` creates a fresh one, without the history)"


def check_file(path: Path) -> None:
    """A ledger file must be a whole SQLite database: magic header, and as many pages as its header claims."""
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
            size = os.fstat(fh.fileno()).st_size
    except PermissionError:
        raise LedgerError("the ledger cannot be read (permission denied)", where=str(path),
                          hint="run as the user who owns the plan directory") from None
    if len(header) < 100 or header[:16] != SQLITE_MAGIC:
        raise LedgerError("not a ledger: the file is not an SQLite database (corrupted or overwritten)",
                          where=str(path), hint=_RESTORE)
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    header_valid = header[24:28] == header[92:96]  # SQLite trusts the page count only then
    if header_valid and pages and size < pages * page_size:
        raise LedgerError(f"the ledger is truncated ({size} bytes; its header says {pages * page_size})",
                          where=str(path), hint=_RESTORE)


def check_writable_dir(path: Path) -> None:
    parent = path.parent
    if not parent.is_dir():
        raise LedgerError("the ledger's directory does not exist", where=str(parent),
                          hint="give an existing plan directory, or --ledger FILE in one")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise LedgerError("the ledger's directory is read-only: SQLite needs to write its journal beside the file",
                          where=str(parent), hint="run as the user who owns the plan directory, or copy the plan "
                                                  "somewhere writable")


@contextmanager
def sqlite_errors(path: Path) -> Iterator[None]:
    """Every SQLite failure becomes a person-readable refusal (exit 2); a bug in our SQL still surfaces as one."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            raise LedgerError(f"another writer holds the ledger: {holder_text(path)}", where=str(path),
                              hint="wait for it to finish (or stop it), then repeat; nothing was written") from None
        if "readonly" in text or "unable to open" in text or "disk I/O" in text:
            raise LedgerError(f"the ledger cannot be written ({text})", where=str(path),
                              hint="check the directory's permissions and free space") from None
        if "malformed" in text or "not a database" in text:
            raise LedgerError(f"the ledger is corrupted ({text})", where=str(path), hint=_RESTORE) from None
        raise
    except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
        raise LedgerError(f"the ledger is corrupted ({exc})", where=str(path), hint=_RESTORE) from None


def holder_path(path: Path) -> Path:
    return path.with_name(path.name + "-holder")


def note_holder(holder: str, actor: str, run_id: str, since: float) -> None:
    """Say who holds the write lock, for as long as it is held (best effort: a lost note only makes a busy
    message vaguer). `holder`: the note's file, `holder_path` of the ledger (computed once per ledger)."""
    data = json.dumps({"actor": actor, "pid": os.getpid(), "run_id": run_id, "since": since}).encode()
    try:
        fd = os.open(holder, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    except OSError:
        pass


def drop_holder(holder: str) -> None:
    try:
        os.unlink(holder)
    except FileNotFoundError:
        pass


def holder_text(path: Path) -> str:
    try:
        note = json.loads(holder_path(path).read_text())
        pid = int(note["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that left no note (an sqlite3 shell or another tool?)"
    who = f"{note.get('actor', '?')} (pid {pid}"
    who += f", run {note['run_id']}" if note.get("run_id") else ""
    who += f", since {rfc3339(float(note['since']))})" if note.get("since") else ")"
    return who if _alive(pid) else f"a process that left no note (the last recorded writer, {who}, has exited)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

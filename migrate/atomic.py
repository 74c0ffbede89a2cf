"""Atomic file and directory writes: readers see the old content or the new, never half of either.

An output directory is written as a sibling stage directory that replaces it at the end, under a lock
(two runs into one directory: the second is refused, not silently overwritten). The stage is removed on
every exit path Python sees (an error, SIGINT, SIGTERM through `Interrupted`); a stage left by a run that
was SIGKILLed is removed by the next run into the same directory, which holds the lock.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from migrate.errors import UserError

SECRET_FILE_MODE = 0o600
SECRET_DIR_MODE = 0o700
_STAGE = ".stage-"  # .DIR.stage-<random>: only directories named so are ever removed as stale


class Interrupted(KeyboardInterrupt):
    """A signal (SIGINT, SIGTERM) stopped the run; raised so that every cleanup on the way out runs."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def raise_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C (finally blocks, staged directories removed) instead of killing mid-write."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise Interrupted(signum)

    signal.signal(signal.SIGTERM, handler)


def check_output_dir(target: Path) -> Path:
    """The directory a verb will replace, refused with a clear message when it cannot or must not be."""
    resolved = Path(os.path.abspath(target))
    cwd = Path.cwd()
    if resolved == cwd or resolved in cwd.parents or resolved == Path(resolved.anchor):
        raise UserError("the output directory is the directory you are in (or holds it): it would be replaced",
                        where=str(target), hint="write into a new directory, e.g. --out plan/")
    for parent in resolved.parents:
        if parent.exists() and not parent.is_dir():
            raise UserError(f"{parent} is a file, not a directory", where=str(target),
                            hint="choose an --out whose parent directories exist or can be created")
        if parent.is_dir():
            if not os.access(parent, os.W_OK | os.X_OK):
                raise UserError(f"cannot write in {parent} (permission denied)", where=str(target),
                                hint="choose a directory you can write to")
            break
    if resolved.exists() and not resolved.is_dir():
        raise UserError("the output path exists and is not a directory", where=str(target),
                        hint="choose another --out, or move the file away")
    return resolved


@contextmanager
def output_lock(target: Path) -> Iterator[None]:
    """An exclusive lock for writing `target`, held in `.DIR.lock` beside it; a second run is refused."""
    lock = target.with_name(f".{target.name}.lock")
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
                raise UserError("another kubespray2talos run is writing this directory", where=str(target),
                                hint="wait for it to finish, or write somewhere else") from None
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino  # not a lock file the previous holder just removed
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)


def _remove_stale_stages(target: Path) -> None:
    """Stages of this target left by a killed run (we hold the lock: no live run owns one)."""
    for stale in target.parent.glob(f".{target.name}{_STAGE}*"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)


def write_file(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    """Write through a temp file in the same directory, fsync, then rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)  # before any byte lands, so a secret is never world-readable
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def staged_directory(target: Path, mode: int = 0o755, keep_old_as: Path | None = None) -> Iterator[Path]:
    """Yield a sibling temp dir to fill; on success it replaces `target`, on error it vanishes.
    With `keep_old_as`, the replaced directory is moved there (0700) instead of deleted."""
    target = check_output_dir(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {target.parent}: {exc.strerror}", where=str(target)) from None
    with output_lock(target):
        _remove_stale_stages(target)
        stage = Path(tempfile.mkdtemp(prefix=f".{target.name}{_STAGE}", dir=target.parent))
        try:
            os.chmod(stage, mode)
            yield stage
            old = None
            if target.exists():
                old = keep_old_as or target.with_name(f".{target.name}.old-{os.getpid()}")
                os.replace(target, old)
                if keep_old_as is not None:
                    os.chmod(old, SECRET_DIR_MODE)  # it may hold a secrets bundle
            os.replace(stage, target)
        finally:
            shutil.rmtree(stage, ignore_errors=True)  # gone already after a success; removed on any way out
        if old is not None and keep_old_as is None:
            shutil.rmtree(old, ignore_errors=True)


def free_sibling(target: Path, suffix: str) -> Path:
    """`DIR<suffix>`, or `DIR<suffix>.1`, `.2`… when taken: a backup never overwrites an earlier backup."""
    candidate = target.with_name(target.name + suffix)
    n = 0
    while candidate.exists():
        n += 1
        candidate = target.with_name(f"{target.name}{suffix}.{n}")
    return candidate

"""Atomic file and directory writes: readers see the old content or the new, never half of either."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SECRET_FILE_MODE = 0o600
SECRET_DIR_MODE = 0o700


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
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    os.chmod(stage, mode)
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = keep_old_as or target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        if keep_old_as is not None:
            os.chmod(old, SECRET_DIR_MODE)  # it may hold a secrets bundle
    os.replace(stage, target)
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

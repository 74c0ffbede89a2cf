"""Hostile inputs: helpers to run a verb as a user would and to build an inventory from the hostile base."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import FIXTURES

HOSTILE = FIXTURES / "hostile"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


def k2t(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60) -> Run:
    """One real process, as a user runs it: exit code, stdout, stderr."""
    proc = subprocess.run([sys.executable, "-m", "migrate", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env={**os.environ, **(env or {})})
    return Run(proc.returncode, proc.stdout, proc.stderr)


def inventory(tmp: Path, case: str | None = None, **files: str) -> Path:
    """The hostile base inventory (or a named case) copied under tmp, with `files` (relative path -> text) added."""
    target = tmp / (case or "inv")
    shutil.copytree(HOSTILE / (case or "base"), target, symlinks=True)
    for rel, text in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return target


def assert_clean_failure(run: Run, *needles: str) -> None:
    """Bad input: exit 2, one error line, no traceback, and the message names what is wrong."""
    assert run.code == 2, run.both
    assert "Traceback" not in run.both and "internal error" not in run.err, run.err
    for needle in needles:
        assert needle in run.err, run.err

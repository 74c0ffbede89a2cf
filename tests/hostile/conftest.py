"""Hostile inputs: helpers to run a verb as a user would and to build an inventory from the hostile base."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import time
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


def run_cli(*args: str | Path) -> tuple[int, str, str, float]:
    """The CLI entry point in this process (ansible-core loaded once: fast): exit code, stdout, stderr, seconds."""
    from migrate.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv, sys.argv = sys.argv, ["kubespray2talos", *map(str, args)]
    started = time.monotonic()
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    finally:
        sys.argv = argv
    return code, out.getvalue(), err.getvalue(), time.monotonic() - started


def k2t_here(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 0) -> Run:
    """k2t in this process: the same entry point and exit codes, without paying ansible-core's import again."""
    saved_env = {k: os.environ.get(k) for k in env or {}}
    saved_cwd = Path.cwd()
    os.environ.update(env or {})
    if cwd is not None:
        os.chdir(cwd)
    try:
        code, out, err, _ = run_cli(*args)
    finally:
        os.chdir(saved_cwd)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return Run(code, out, err)

"""Defects 12 and 13 (plan's output directory): locked, checked before anything is read, no stage left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from migrate.atomic import output_lock, staged_directory
from migrate.errors import UserError
from tests.hostile.conftest import HOSTILE, assert_clean_failure, k2t, k2t_here

BASE = HOSTILE / "base"


def test_out_dot_with_force_is_refused_and_the_directory_stays(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine\n")
    run = k2t("plan", BASE, "--out", ".", "--force", cwd=tmp_path)
    assert_clean_failure(run, "the directory you are in")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_an_out_whose_parent_is_a_file_is_one_message(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert_clean_failure(k2t("plan", BASE, "--out", tmp_path / "file" / "plan"), "is a file, not a directory")


def test_an_out_that_is_a_file_is_one_message(tmp_path: Path) -> None:
    (tmp_path / "plan").write_text("x")
    run = k2t("plan", BASE, "--out", tmp_path / "plan")
    assert run.code == 2 and "Traceback" not in run.err and (tmp_path / "plan").read_text() == "x"


def test_a_second_writer_of_the_same_directory_is_refused(tmp_path: Path) -> None:
    with output_lock(tmp_path / "plan"):
        run = k2t("plan", BASE, "--out", tmp_path / "plan")
    assert_clean_failure(run, "another kubespray2talos run is writing this directory")
    assert not (tmp_path / "plan").exists()
    assert k2t_here("plan", BASE, "--out", tmp_path / "plan").code in (0, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan"], "the lock or a stage was left behind"


def test_a_stage_left_by_a_killed_run_is_removed_by_the_next(tmp_path: Path) -> None:
    stale = tmp_path / ".plan.stage-killed"
    stale.mkdir()
    (stale / "secrets.yaml").write_text("ca key of a run that was SIGKILLed\n")
    unrelated = tmp_path / ".plan.notes"
    unrelated.mkdir()
    with staged_directory(tmp_path / "plan") as stage:
        (stage / "f").write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".plan.notes", "plan"]


def test_an_error_inside_the_stage_removes_it(tmp_path: Path) -> None:
    with pytest.raises(UserError), staged_directory(tmp_path / "plan") as stage:
        (stage / "secrets.yaml").write_text("x")
        raise UserError("bad")
    assert list(tmp_path.iterdir()) == []


def test_sigterm_while_writing_leaves_nothing(tmp_path: Path) -> None:
    # a child that stages a directory and waits to be terminated mid-write
    code = (
        "import sys, time; from pathlib import Path; from migrate.atomic import raise_on_sigterm, staged_directory\n"
        "raise_on_sigterm()\n"
        f"with staged_directory(Path({str(tmp_path / 'plan')!r}), mode=0o700) as stage:\n"
        "    (stage / 'secrets.yaml').write_text('key'); print('staged', flush=True); time.sleep(30)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "staged"
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert list(tmp_path.iterdir()) == [], os.listdir(tmp_path)

"""migrate/atomic.py: a reader sees the old content or the new, never half; secrets are 0600 from the first byte."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from migrate.atomic import SECRET_DIR_MODE, SECRET_FILE_MODE, free_sibling, staged_directory, write_file


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_file_replaces_content_with_the_mode_asked_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "secrets.yaml"
    write_file(target, "old\n", SECRET_FILE_MODE)
    write_file(target, b"new\n", SECRET_FILE_MODE)
    assert target.read_bytes() == b"new\n" and _mode(target) == SECRET_FILE_MODE
    assert [p.name for p in tmp_path.iterdir()] == ["secrets.yaml"]


def test_a_failed_write_keeps_the_old_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    write_file(target, "{}\n")
    with pytest.raises(TypeError):
        write_file(target, 42)  # type: ignore[arg-type]  # a bug in the caller, after the temp file exists
    assert target.read_text() == "{}\n" and [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_staged_directory_replaces_the_target_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "plan"
    with staged_directory(target, mode=SECRET_DIR_MODE) as stage:
        (stage / "a.yaml").write_text("1")
        assert not target.exists()  # nothing visible before the end
    assert (target / "a.yaml").read_text() == "1" and _mode(target) == SECRET_DIR_MODE
    with pytest.raises(RuntimeError), staged_directory(target) as stage:
        (stage / "a.yaml").write_text("half")
        raise RuntimeError("rendering failed")
    assert (target / "a.yaml").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan"]  # the stage is gone


def test_the_replaced_directory_is_kept_private_and_backups_never_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "plan"
    with staged_directory(target) as stage:
        (stage / "secrets.yaml").write_text("first")
    for expected in ("plan.previous", "plan.previous.1"):
        keep = free_sibling(target, ".previous")
        assert keep.name == expected
        with staged_directory(target, keep_old_as=keep) as stage:
            (stage / "secrets.yaml").write_text("next")
        assert keep.is_dir() and _mode(keep) == SECRET_DIR_MODE
    assert (tmp_path / "plan.previous" / "secrets.yaml").read_text() == "first"

"""Defect 9: inventory values are printed as text: never rich markup (`[/]` crashed, `[fd00::1]` vanished),
never terminal control sequences (ANSI, OSC title changes)."""

from __future__ import annotations

from pathlib import Path

from tests.hostile.conftest import HOSTILE, k2t, k2t_here

INV = HOSTILE / "terminal-injection"


def test_markup_and_escapes_in_values_are_shown_as_text(tmp_path: Path) -> None:
    runs = [k2t("inspect", INV, "--all"), k2t_here("plan", INV, "--out", tmp_path / "plan"),
            k2t_here("diff", HOSTILE / "base", INV)]
    for run in runs:
        assert run.code in (0, 1), run.err
        assert "Traceback" not in run.both and "internal error" not in run.err
        assert "\x1b" not in run.both and "\x07" not in run.both, "a control sequence reached the terminal"
    inspect = runs[0].out
    assert "http://[fd00::1]:3128" in inspect and "http://[/]:3128" in inspect
    assert "red[/],[bold]x[/bold]" in inspect
    assert "http://[fd00::1]:3128" in runs[2].out

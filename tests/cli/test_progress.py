"""The live board folds a real run's events (the engine over HTTP against the twin) into what an operator watches:
the wave, every host's step and status, the pods left to evict and the budget that holds the drain, by name."""

from __future__ import annotations

import dataclasses
import io

import pytest
from rich.console import Console

from migrate.cli.progress import Board, Progress
from migrate.migration.drain import DrainTimeout
from migrate.migration.filters import DrainOptions
from tests.migration.harness import rig


def _screen(board: Board) -> str:
    console = Console(file=io.StringIO(), width=160, color_system=None)
    console.print(board.render())
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_a_drain_held_by_a_budget_shows_the_budget_and_the_pods_left(tmp_path):
    with rig(tmp_path, budget={"maxUnavailable": 0}) as r:
        engine = r.engine()
        engine.drain_opts = DrainOptions(timeout=30)
        engine.plan = dataclasses.replace(engine.plan, hosts=tuple(m for m in engine.plan.hosts
                                                                   if not m.is_control_plane))
        with pytest.raises(DrainTimeout):
            engine.run()
    board = Board()
    for event in r.events:
        board.apply(event)
    screen = _screen(board)
    assert "held by PodDisruptionBudget default/web" in screen
    assert "pods left to evict:" in screen and board.pods_left and board.pods_left > 0
    assert {(board.hosts[h].step, board.hosts[h].status) for h in ("w1", "w2")} == {("drain", "failed")}
    lines = io.StringIO()
    progress = Progress("table", stream=lines, live=False)
    for event in r.events:
        progress(event)
    text = lines.getvalue().splitlines()
    assert sum(" blocked " in x for x in text) >= 1 and any("[PDB " in x for x in text)
    waits = [x for x in text if " waiting " in x]
    assert len(waits) == len(set(x[9:] for x in waits))  # a repeated wait is printed once

"""How `migrate` shows a run while it goes: a live board on a terminal, one line per event in a pipe or a log,
one JSON object per event with `-o json`. The engine only hands over events; everything here is rendering."""
# exercised by tests/cli/test_migrate_progress.py

from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field
from typing import IO

from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from migrate import ui
from migrate.migration.engine import Event

STATUS_STYLE = {"running": "cyan", "done": "green", "failed": "bold red", "waiting": "yellow", "blocked": "yellow",
                "pending": "dim"}


@dataclass
class HostRow:
    wave: int
    step: str = ""
    status: str = "pending"  # pending | running | waiting | blocked | done | failed
    note: str = ""


@dataclass
class Board:
    """The run as the last events left it: every host's wave, step and status, and the current drain's pods."""

    hosts: dict[str, HostRow] = field(default_factory=dict)
    wave: int = 0
    waves: int = 0
    pods_left: int | None = None
    blocking: str = ""  # the PodDisruptionBudget that holds the drain now
    last: str = ""

    def apply(self, event: Event) -> None:
        names = [h for h in event.host.split(",") if h]
        if event.kind == "wave":
            self.wave, self.waves = event.wave, max(self.waves, event.wave)
            self.pods_left, self.blocking = None, ""
            for name in names:
                self.hosts.setdefault(name, HostRow(event.wave))
            return
        for name in names:
            row = self.hosts.setdefault(name, HostRow(event.wave))
            row.step = event.step or row.step
            row.status = {"step-started": "running", "step-done": "done", "step-skipped": "done",
                          "step-failed": "failed", "waiting": "waiting", "blocked": "blocked"}.get(event.kind, "running")
            row.note = event.detail if event.kind in ("waiting", "blocked", "step-failed", "step-skipped") else ""
        if event.pods_left is not None:
            self.pods_left = event.pods_left
        if event.kind == "blocked":
            self.blocking = event.pdb
        elif event.kind == "evicted":
            self.blocking = ""
        self.last = line(event)

    def render(self) -> Group:
        drain = "" if self.pods_left is None else f"  ·  pods left to evict: {self.pods_left}"
        held = f"  ·  held by PodDisruptionBudget {self.blocking}" if self.blocking else ""
        head = Text(f"wave {self.wave}{drain}{held}", style="bold")
        table = Table("wave", "host", "step", "status", "", box=None, pad_edge=False)
        for name, row in self.hosts.items():
            table.add_row(str(row.wave), ui.text(name), ui.text(row.step), Text(row.status, STATUS_STYLE[row.status]),
                          ui.text(row.note[:80]))
        return Group(head, table, ui.text(self.last))


def line(event: Event) -> str:
    """One event as one line of text: what a pipe, a CI log or `tee` gets."""
    stamp = time.strftime("%H:%M:%S", time.gmtime(event.at)) if event.at else "--:--:--"
    extra = f" [{event.pods_left} left]" if event.pods_left is not None and event.kind in ("to-evict", "evicted") else ""
    extra += f" [PDB {event.pdb}]" if event.pdb else ""
    return f"{stamp} wave {event.wave:<3} {event.kind:<13} {event.host:<24} {event.step:<13} {event.detail}{extra}".rstrip()


class Progress:
    """The renderer for a run: call it with each event; close it when the run ends (or stops)."""

    def __init__(self, fmt: str, stream: IO[str] | None = None, live: bool | None = None) -> None:
        self.fmt, self.stream = fmt, stream or sys.stdout
        self.board = Board()
        self._live: Live | None = None
        self._last_waiting: tuple[str, str, str] | None = None
        if fmt == "table" and (self.stream.isatty() if live is None else live):
            self._live = Live(self.board.render(), console=ui.out, refresh_per_second=4, transient=False)
            self._live.start()

    def __call__(self, event: Event) -> None:
        if self.fmt == "json":  # JSON lines, flushed one by one, for jq and log shippers
            self.stream.write(json.dumps(dataclasses.asdict(event), default=str) + "\n")
            self.stream.flush()
            return
        self.board.apply(event)
        if self._live is not None:
            self._live.update(self.board.render())
            return
        if event.kind == "waiting":  # a wait polled every few seconds is one line until what it waits for changes
            key = (event.host, event.step, event.detail)
            if key == self._last_waiting:
                return
            self._last_waiting = key
        self.stream.write(ui.strip_control(line(event)) + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._live is not None:
            self._live.update(self.board.render())
            self._live.stop()
            self._live = None


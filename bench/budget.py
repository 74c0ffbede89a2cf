"""Budgets as ratios against a baseline measured in the same run, not absolute seconds.

The machine that runs `make bench` is shared (two cores, several agents, CI runners of any speed): an absolute
"under 10 s" fails on a busy box and says nothing on a fast one. Each benchmark times a fixed piece of work
(a fresh interpreter starting the CLI) before and after it runs, and states each budget as a multiple of it.

Budgets count CPU seconds (this process and the commands it waited for, `os.times`), not wall-clock seconds:
on a box with a load average of 20 a fresh interpreter can wait seconds for a core, which says nothing about
the code, while its CPU time barely moves. Wall-clock figures are printed beside them for people.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

BASELINE_REPEATS = 5
# what baseline_work costs in CPU on the machine the issues' budgets were set on (the 2-core box, Python 3.11,
# 2026; docs/performance.md): a budget of "10 s" there is 10 / 0.115 = 87 baselines anywhere
REFERENCE_BASELINE_S = 0.115


def within(seconds: float) -> float:
    """An issue's budget in seconds on the reference machine, as a number of baselines."""
    return seconds / REFERENCE_BASELINE_S


def baseline_work() -> None:
    """A fixed piece of work like the tool's: a fresh interpreter that starts the CLI (`kubespray2talos --version`:
    Python, click, rich and our package imported). Most of what a verb costs in a benchmark is of this kind, and
    load inflates it the same way (a pure-Python loop in a warm process barely moved while `status` doubled)."""
    subprocess.run([sys.executable, "-m", "migrate", "--version"], capture_output=True, check=True)


def cpu_now() -> float:
    """CPU seconds so far: this process (every thread) and the children it has waited for."""
    t = os.times()  # children in clock ticks; this process at process_time's finer resolution
    return time.process_time() + t.children_user + t.children_system


@dataclass(frozen=True)
class Took:
    wall: float
    cpu: float


def timed(fn: Callable[[], object]) -> Took:
    wall, cpu = time.perf_counter(), cpu_now()
    fn()
    return Took(time.perf_counter() - wall, cpu_now() - cpu)


def baseline_seconds() -> float:
    """CPU seconds of baseline_work, the median of a few runs (so one hiccup moves nothing)."""
    return statistics.median(timed(baseline_work).cpu for _ in range(BASELINE_REPEATS))


@dataclass(frozen=True)
class Budget:
    what: str
    seconds: float  # CPU seconds measured
    limit: float  # in baselines

    def ratio(self, baseline: float) -> float:
        return self.seconds / baseline

    def met(self, baseline: float) -> bool:
        return self.ratio(baseline) <= self.limit


def judge(budgets: list[Budget], baseline: float) -> int:
    """Prints each budget as measured / allowed in baselines; 0 when all are met, 1 otherwise."""
    print(f"baseline: {baseline * 1000:.0f} ms CPU (bench/budget.py baseline_work, median of {BASELINE_REPEATS}; "
          f"load average {os.getloadavg()[0]:.1f})")
    missed = [b for b in budgets if not b.met(baseline)]
    for b in budgets:
        state = "ok" if b.met(baseline) else "MISSED"
        print(f"  budget {b.what}: {b.seconds * 1000:.1f} ms CPU = {b.ratio(baseline):.3g} baselines (limit {b.limit:.3g}) {state}")
    print("budgets met" if not missed else f"BUDGET MISSED: {', '.join(b.what for b in missed)}")
    return 1 if missed else 0

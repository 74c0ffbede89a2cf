"""Budgets as ratios against a baseline measured in the same run, not absolute seconds.

The machine that runs `make bench` is shared (two cores, several agents, CI runners of any speed): an absolute
"under 10 s" fails on a busy box and says nothing on a fast one. Each benchmark times a fixed piece of
pure-Python work (the kind the tool does: building dicts, sorting, JSON and hashing) before and after it runs,
and states each budget as a multiple of it.

Budgets count CPU seconds (this process and the commands it waited for, `os.times`), not wall-clock seconds:
on a box with a load average of 20 a fresh interpreter can wait seconds for a core, which says nothing about
the code, while its CPU time barely moves. Wall-clock figures are printed beside them for people.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

BASELINE_REPEATS = 5


def baseline_work() -> int:
    """A fixed amount of work, a few tens of milliseconds on an idle core (docs/performance.md has the figures)."""
    rows = [{"name": f"node{i:05d}", "labels": {"zone": f"z{i % 7}", "role": "worker" if i % 5 else "cp"}, "n": i}
            for i in range(5_000)]
    rows.sort(key=lambda r: (r["labels"]["zone"], -r["n"]))
    text = json.dumps(rows, sort_keys=True)
    again = json.loads(text)
    return len(again) + len(hashlib.sha256(text.encode()).hexdigest())


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
        print(f"  budget {b.what}: {b.seconds:.3f} s CPU = {b.ratio(baseline):.1f} baselines (limit {b.limit:g}) {state}")
    print("budgets met" if not missed else f"BUDGET MISSED: {', '.join(b.what for b in missed)}")
    return 1 if missed else 0

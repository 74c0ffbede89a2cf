from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from migrate.cluster.twin.nodeinfo import NodeInfo
from migrate.cluster.twin.nodetable import NodeTable, window
from migrate.cluster.twin.scoring import MAX_SCORE, best, resource_score, resource_scores


def _search(fit: list[bool], start: int, wanted: int) -> tuple[list[int], int]:
    """kube-scheduler's findNodesThatPassFilters, one node at a time."""
    chosen, checked = [], 0
    for i in range(start, start + len(fit)):
        checked += 1
        if fit[i % len(fit)]:
            chosen.append(i % len(fit))
            if len(chosen) == wanted:
                break
    return chosen, checked


@given(st.lists(st.booleans(), min_size=1, max_size=60), st.integers(0, 59), st.integers(1, 60))
def test_the_search_window_is_the_node_at_a_time_search(fit: list[bool], start: int, wanted: int) -> None:
    start %= len(fit)
    chosen, checked = window(np.array(fit, dtype=bool), start, wanted)
    assert (list(chosen), checked) == _search(fit, start, wanted)


def _info(name: str, alloc: dict[str, float], used: dict[str, float], cpu: float, memory: float) -> NodeInfo:
    info = NodeInfo({"metadata": {"name": name}}, {"kubernetes.io/hostname": name}, 1, alloc)
    info.used, info.cpu, info.memory = used, cpu, memory
    info.allocate(alloc)
    return info


millis = st.integers(0, 40_000).map(lambda m: m / 1000)
nodes = st.lists(st.tuples(st.sampled_from([0.0, 2.0, 4.0, 32.0]), millis, st.sampled_from([0.0, 2.0**33, 2.0**37]),
                           st.integers(0, 2**37).map(float), st.booleans()), min_size=1, max_size=12)


@given(nodes, millis, st.integers(0, 2**34).map(float))
def test_fit_and_scores_over_the_table_are_those_of_one_node_at_a_time(
        specs: list[tuple[float, float, float, float, bool]], want_cpu: float, want_mem: float) -> None:
    infos = {}
    for i, (cpu_cap, cpu, mem_cap, memory, gpu) in enumerate(specs):
        alloc = {"cpu": cpu_cap, "memory": mem_cap, "pods": 110.0, **({"nvidia.com/gpu": 1.0} if gpu else {})}
        infos[f"n{len(specs) - i:02}"] = _info(f"n{len(specs) - i:02}", alloc, {"cpu": cpu, "memory": memory},
                                               cpu, memory)
    order = list(infos)
    table = NodeTable(order, infos)
    assert table.sync()
    need = {"cpu": want_cpu, "memory": want_mem, "pods": 1.0, "nvidia.com/gpu": 1.0}
    fit = table.fits(need)
    for i, info in enumerate(infos.values()):  # a resource the node does not report is not checked there
        assert fit[i] == all(r not in info.room or a <= info.room[r] for r, a in need.items())
    chosen = np.arange(len(order))
    spread = np.array([(7 * i) % 101 for i in range(len(order))], dtype=np.int64)
    prefer = np.array([i % 3 for i in range(len(order))], dtype=np.int64)
    totals = []
    for i, info in enumerate(infos.values()):
        scores = []
        for cap, used in ((info.cpu_cap, info.cpu + want_cpu), (info.mem_cap, info.memory + want_mem)):
            full = not cap or used > cap
            scores.append((0 if full else int((cap - used) * MAX_SCORE / cap), 1.0 if full else used / cap))
        balanced = int((1 - abs(scores[0][1] - scores[1][1]) / 2) * MAX_SCORE)
        taint = MAX_SCORE - (MAX_SCORE * int(prefer[i]) // int(prefer.max()) if prefer.max() else 0)
        totals.append((-(2 * int(spread[i]) + (scores[0][0] + scores[1][0]) // 2 + balanced + 3 * taint), order[i]))
    assert order[best(table, chosen, (want_cpu, want_mem), prefer, spread)] == min(totals)[1]


@given(nodes, st.lists(st.tuples(st.integers(0, 11), millis, st.integers(0, 2**33).map(float)), max_size=40),
       millis, st.integers(0, 2**34).map(float))
def test_columns_kept_across_binds_are_those_computed_afresh(
        specs: list[tuple[float, float, float, float, bool]], binds: list[tuple[int, float, float]], want_cpu: float,
        want_mem: float) -> None:
    # a kept column is brought up to date one row per bind (scalar arithmetic), or again whole after many binds
    infos = {f"n{i:02}": _info(f"n{i:02}", {"cpu": c, "memory": m, "pods": 110.0}, {"cpu": cpu, "memory": mem},
                               cpu, mem) for i, (c, cpu, m, mem, _) in enumerate(specs)}
    table = NodeTable(list(infos), infos)
    table.sync()
    want, need = (want_cpu, want_mem), {"cpu": want_cpu, "memory": want_mem, "pods": 1.0}
    for row, cpu, memory in binds:
        kept = table.column(("resources", want), lambda: resource_scores(table, want),
                            lambda i: resource_score(table.rows[i], want)).copy()
        fit = table.fits(need).copy()
        assert list(kept) == list(resource_scores(table, want))
        assert list(fit) == list(np.all(table.room >= [want_cpu, want_mem, 1.0], axis=1))
        i = row % len(infos)
        table.rows[i].add({"cpu": cpu, "memory": memory, "pods": 1.0}, (cpu, memory))
        table.write(i)

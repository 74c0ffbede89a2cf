"""The node list as columns, so that one pod's filters and scores run over every node at once (numpy).

Each column is in node-list order: the room left per resource (+inf where the node does not report the
resource: it is not checked there), the non-zero requests and allocatable that scoring reads, each node's
rank by name (ties go to the first name), and, per topology key, which nodes carry it and under which value.
The values are the NodeInfos' own floats, copied, so the arithmetic on them is the same IEEE arithmetic the
scheduler did node by node. Rebuilt when the node list changes; a row is copied again when its NodeInfo's
version moves."""
# exercised by tests/cluster/twin/test_nodetable.py and tests/cluster/twin/test_scheduler.py

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from migrate.cluster.twin.nodeinfo import NodeInfo

Flags = NDArray[np.bool_]
Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


class NodeTable:
    def __init__(self, order: list[str], infos: dict[str, NodeInfo]) -> None:
        size = len(order)
        self.names = order
        self.rows = [infos[name] for name in order]
        self.position = {name: i for i, name in enumerate(order)}
        self.rank: Ints = np.empty(size, np.int64)
        self.rank[sorted(range(size), key=order.__getitem__)] = np.arange(size)
        self.resources: dict[str, int] = {}  # resource -> its column in room
        for info in self.rows:
            for resource in info.alloc:
                self.resources.setdefault(resource, len(self.resources))
        self.room: Floats = np.full((size, len(self.resources)), np.inf)
        self.cpu: Floats = np.zeros(size)
        self.memory: Floats = np.zeros(size)
        self.cpu_cap: Floats = np.zeros(size)
        self.mem_cap: Floats = np.zeros(size)
        self._seen = [-1] * size  # the NodeInfo version each row was copied from
        self._needs: dict[tuple[tuple[str, float], ...], Floats] = {}
        self._keys: dict[str, tuple[Flags, Ints, dict[str, int]]] = {}
        self._everywhere: dict[str, bool] = {}
        self._written: list[int] = []  # the rows copied again, in turn: what a kept column brings up to date
        self._columns: dict[Hashable, tuple[NDArray[Any], int]] = {}  # key -> values, how much of _written they saw

    def sync(self) -> bool:
        """Copy again the rows whose NodeInfo changed; False when a node reports a resource no column holds."""
        seen = self._seen
        for i, info in enumerate(self.rows):
            if info.version != seen[i] and not self.write(i):
                return False
        return True

    def write(self, i: int) -> bool:
        info = self.rows[i]
        row, columns = self.room[i], self.resources
        row[:] = np.inf
        for resource, room in info.room.items():
            column = columns.get(resource)
            if column is None:
                return False
            row[column] = room
        self.cpu[i], self.memory[i], self.cpu_cap[i], self.mem_cap[i] = info.cpu, info.memory, info.cpu_cap, info.mem_cap
        self._seen[i] = info.version
        self._written.append(i)
        return True

    def column(self, key: Hashable, whole: Callable[[], NDArray[Any]], one: Callable[[int], Any]) -> NDArray[Any]:
        """A value per row, kept under `key`: computed for every row by `whole`, then again by `one` for the rows
        written since (one row per bind); valid until the next write."""
        kept, written = self._columns.get(key), self._written
        if kept is None or len(written) - kept[1] > len(self.rows) // 8:
            values = whole()
        else:
            values = kept[0]
            for i in set(written[kept[1]:]):
                values[i] = one(i)
        if len(written) > 64 * len(self.rows):  # start the list again: what each column saw is forgotten with it
            written.clear()
            self._columns.clear()
        self._columns[key] = values, len(written)
        return values

    def fits(self, need: dict[str, float]) -> Flags:
        """NodeResourcesFit: no requested resource beyond the room a node reports (-inf: not requested)."""
        key = tuple(need.items())
        wanted = self._needs.get(key)
        if wanted is None:
            wanted = self._needs[key] = np.full(len(self.resources), -np.inf)
            for resource, amount in need.items():
                column = self.resources.get(resource)
                if column is not None:  # no node reports it: checked nowhere
                    wanted[column] = amount
        room, rows = self.room, self.rows
        return self.column(("fits", key), lambda: np.all(room >= wanted, axis=1),
                           lambda i: not any(r in rows[i].room and a > rows[i].room[r] for r, a in key))

    def topology(self, key: str) -> tuple[Flags, Ints, dict[str, int]]:
        """Which nodes carry the label, each node's value as a number ("" for a node without it), and the numbers."""
        known = self._keys.get(key)
        if known is None:
            ids: dict[str, int] = {}
            has = np.array([key in info.labels for info in self.rows], dtype=bool)
            value = np.array([ids.setdefault(info.labels.get(key, ""), len(ids)) for info in self.rows], dtype=np.int64)
            known = self._keys[key] = has, value, ids
            self._everywhere[key] = bool(has.all())
        return known

    def everywhere(self, key: str) -> bool:
        """Every node carries the label (asked after topology(key))."""
        return self._everywhere[key]


def window(fit: Flags, start: int, wanted: int) -> tuple[Ints, int]:
    """findNodesThatPassFilters: the first `wanted` fitting positions from `start` on, wrapping round the list, and
    how many positions the search went through."""
    total = len(fit)
    found = np.flatnonzero(fit)
    split = int(np.searchsorted(found, start))
    if split:
        found = np.concatenate((found[split:], found[:split]))
    if wanted and len(found) >= wanted:
        chosen = found[:wanted]
        return chosen, (int(chosen[-1]) - start) % total + 1
    return found, total

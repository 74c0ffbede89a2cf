"""The store's change history: what watches replay and exact-version lists read, compacted as etcd is.

kube-apiserver asks etcd to compact every five minutes (`--etcd-compaction-interval`), up to the revision it
saw one interval before, so a revision stays readable for five to ten minutes and older ones answer 410.
The twin does the same on its own clock, with a cap on the number of events kept.
"""
# exercised by tests/cluster/twin/test_watch.py

from __future__ import annotations

import queue
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from migrate.cluster.twin.resources import ResourceType
from migrate.cluster.twin.selectors import FieldSelector, LabelSelector
from migrate.cluster.twin.status import ApiError, gone

COMPACTION_INTERVAL = 300.0  # seconds, kube-apiserver's default --etcd-compaction-interval
LIST_TOO_OLD = "The resourceVersion for the provided list is too old."


class Event(NamedTuple):  # immutable; a tuple is built several times faster than a frozen dataclass
    type: str  # ADDED | MODIFIED | DELETED
    resource: ResourceType
    object: dict[str, Any]
    old: dict[str, Any] | None
    revision: int


@dataclass
class Watch:
    """A subscription: events already translated for this watcher's selectors, in order."""

    resource: ResourceType
    namespace: str | None
    labels: LabelSelector
    fields: FieldSelector
    queue: queue.Queue[tuple[str, dict[str, Any]] | None] = field(default_factory=queue.Queue)
    closed: bool = False

    def matches(self, obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        meta = obj["metadata"]
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        return self.labels.matches(meta.get("labels")) and self.fields.matches(obj)

    def offer(self, event: Event) -> None:
        """Translate a change as the watch cache does: an object moving out of the selector is DELETED for us."""
        if event.resource is not self.resource:
            return
        now, before = self.matches(event.object), self.matches(event.old)
        if event.type == "MODIFIED" and now != before:
            kind = "ADDED" if now else "DELETED"
        elif now or (event.type == "DELETED" and before):
            kind = event.type
        else:
            return
        self.queue.put((kind, event.object))

    def bookmark(self, revision: int, annotations: dict[str, str] | None = None) -> None:
        """A BOOKMARK: an object with only kind and the revision up to which this watcher has every event."""
        meta: dict[str, Any] = {"resourceVersion": str(revision)}
        if annotations:
            meta["annotations"] = annotations
        self.queue.put(("BOOKMARK", {"kind": self.resource.kind, "apiVersion": self.resource.api_version,
                                     "metadata": meta}))

    def idle(self) -> bool:
        return self.queue.empty()

    def next(self, timeout: float | None = None) -> tuple[str, dict[str, Any]] | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.closed = True
        self.queue.put(None)


class History:
    def __init__(self, capacity: int, interval: float = COMPACTION_INTERVAL) -> None:
        self.events: deque[Event] = deque(maxlen=capacity)
        self.compacted = 0  # revisions at or below this are no longer readable
        self.interval = interval
        self._checkpoint: tuple[float, int] | None = None  # (when, revision) the next compaction goes up to

    def record(self, event: Event, now: float) -> None:
        if self._checkpoint is None:
            self._checkpoint = (now, event.revision - 1)
        elif now >= self._checkpoint[0] + self.interval:
            self.compact(self._checkpoint[1])
            self._checkpoint = (now, event.revision - 1)
        self.events.append(event)
        if len(self.events) == self.events.maxlen:
            self.compacted = max(self.compacted, self.events[0].revision - 1)

    def compact(self, revision: int) -> None:
        self.compacted = upto = max(self.compacted, revision)
        events = self.events
        while events and events[0].revision <= upto:
            events.popleft()

    def since(self, revision: int) -> Iterator[Event]:
        """Every event after `revision`; 410 when compaction has already dropped some of them."""
        if revision < self.compacted:
            raise gone(f"too old resource version: {revision} ({self.compacted + 1})")
        return (e for e in list(self.events) if e.revision > revision)

    def as_of(self, rt: ResourceType, current: Iterable[dict[str, Any]], revision: int) -> list[dict[str, Any]]:
        """The objects of one type as they were at `revision`, by undoing every later event (a list with
        resourceVersionMatch=Exact); 410 once that revision is compacted."""
        if revision < self.compacted:
            raise gone(LIST_TOO_OLD)
        state = {_key(o): o for o in current}
        for event in reversed(list(self.events)):
            if event.revision <= revision:
                break
            if event.resource is not rt:
                continue
            if event.old is None:
                state.pop(_key(event.object), None)
            else:
                state[_key(event.old)] = event.old
        return [state[k] for k in sorted(state)]


def too_large(revision: int, current: int) -> ApiError:
    """A resourceVersion the store has not reached yet, as the watch cache answers it after its wait."""
    return ApiError(504, "Timeout", f"Timeout: Too large resource version: {revision}, current: {current}",
                    {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                     "retryAfterSeconds": 1})


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj["metadata"]
    return meta.get("namespace", ""), meta["name"]

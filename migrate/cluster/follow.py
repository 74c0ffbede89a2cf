"""Waiting on the API as an informer does: list once, then follow a watch from the list's resourceVersion.

The server ends each watch at its timeoutSeconds; the next one starts from the last resourceVersion seen (a
BOOKMARK moves it too, so an idle watch never falls behind compaction). A 410 Gone (the version was compacted)
lists again; a dropped connection or a 5xx watches again after a pause. No request is made while nothing changes.
"""
# exercised by tests/cluster/test_follow.py (over HTTP against the twin, with the official client)

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import urllib3
from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from migrate.clock import Clock
from migrate.cluster.base import WATCH_SECONDS

T = TypeVar("T")
RETRYABLE = {429, 500, 502, 503, 504}  # what the client tries again, a request or a watch
Lister = Callable[[], tuple[list[dict[str, Any]], str]]  # -> (items, the list's resourceVersion)
Opener = Callable[..., Any]  # the client's list function, which Watch.stream calls with watch=True


@dataclass
class Followed(Generic[T]):
    """The objects a wait watches (by uid), and counts of what it cost."""

    objects: dict[str, T] = field(default_factory=dict)
    lists: int = 0
    watches: int = 0


@dataclass
class Follower(Generic[T]):
    lister: Lister
    opener: Opener
    convert: Callable[[dict[str, Any]], T]
    clock: Clock
    request_timeout: float = 30.0
    backoff: float = 0.2
    max_backoff: float = 5.0
    on_error: Callable[[ApiException], Exception] = lambda exc: exc

    def until(self, holds: Callable[[list[T]], bool], timeout: float) -> Followed[T]:
        """Follow until `holds(objects)` or `timeout` seconds on the clock; the objects as last seen."""
        deadline = self.clock.now() + timeout
        seen: Followed[T] = Followed()
        version = self._relist(seen)
        delay = self.backoff
        while not holds(list(seen.objects.values())):
            left = deadline - self.clock.now()
            if left <= 0:
                break
            seen.watches += 1
            try:
                for kind, obj, at in self._events(version, left):
                    version = at  # a watch broken after this event goes on from here
                    if kind == "DELETED":
                        seen.objects.pop(_uid(obj), None)
                    elif kind in ("ADDED", "MODIFIED"):
                        seen.objects[_uid(obj)] = self.convert(obj)
                    if kind != "BOOKMARK" and holds(list(seen.objects.values())):
                        return seen
                delay = self.backoff
            except ApiException as exc:
                if exc.status == 410:  # compacted past our version: start over from a fresh list, as informers do
                    version = self._relist(seen)
                    continue
                if exc.status not in RETRYABLE and exc.status != 0:
                    raise self.on_error(exc) from None
                delay = self._pause(delay, deadline)
            except (urllib3.exceptions.HTTPError, ConnectionError, OSError):
                delay = self._pause(delay, deadline)  # the stream broke: watch again from the last version seen
        return seen

    def _relist(self, seen: Followed[T]) -> str:
        items, version = self.lister()
        seen.lists += 1
        seen.objects = {_uid(o): self.convert(o) for o in items}
        return version

    def _events(self, version: str, left: float) -> Iterator[tuple[str, dict[str, Any], str]]:
        seconds = max(1, min(WATCH_SECONDS, math.ceil(left)))
        # return_type "object" keeps each object a dict (no model classes); deserialize=False would lose the
        # Status of an ERROR event (the client reads it from raw_object, which that mode does not fill)
        stream = watch.Watch(return_type="object").stream(
            self.opener, resource_version=version, timeout_seconds=seconds, allow_watch_bookmarks=True,
            _request_timeout=(self.request_timeout, seconds + self.request_timeout))
        for event in stream:
            obj = event.get("raw_object") or {}
            version = (obj.get("metadata") or {}).get("resourceVersion") or version
            yield str(event.get("type")), obj, version

    def _pause(self, delay: float, deadline: float) -> float:
        self.clock.sleep(max(0.0, min(delay, self.max_backoff, deadline - self.clock.now())))
        return min(delay * 2, self.max_backoff)


def _uid(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return str(meta.get("uid") or f"{meta.get('namespace', '')}/{meta.get('name', '')}")

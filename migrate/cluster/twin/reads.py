"""Reading collections over HTTP: lists (pages, tables, exact resourceVersions) and watch streams.

The list options are checked as apimachinery's ValidateListOptions does them, a resourceVersion the store has not
reached is refused as the watch cache refuses it (504 "Too large resource version"), and a watch that allows
bookmarks gets one whenever it has been idle for `bookmark_every` seconds and just before it times out.
Served with `virtual_watches` on a virtual clock, a watch with nothing to send moves the twin's time to its next due
moment (timeoutSeconds counted on that clock) and ends once it has sent a batch, so the client looks before time
moves on — a migration rehearsed over HTTP waits on watches in virtual time as it would on a real server.
"""
# exercised by tests/cluster/twin/test_watch.py

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from migrate.cluster.twin.resources import ResourceType
from migrate.cluster.twin.status import ApiError, invalid
from migrate.cluster.twin.table import to_table

if TYPE_CHECKING:
    from migrate.cluster.twin.history import Watch
    from migrate.cluster.twin.http import TwinServer

DEFAULT_WATCH_SECONDS = 1800


def list_options(query: dict[str, str], watch: bool) -> None:
    """ValidateListOptions: 422 on ListOptions.meta.k8s.io for combinations a real server forbids."""
    match, rv = query.get("resourceVersionMatch"), query.get("resourceVersion")
    initial = query.get("sendInitialEvents")
    causes: list[tuple[str, str, str]] = []
    if initial is not None:
        if not watch:
            causes.append(("sendInitialEvents", "FieldValueForbidden", "Forbidden: sendInitialEvents is forbidden "
                           "for list"))
        if match != "NotOlderThan":
            causes.append(("resourceVersionMatch", "FieldValueForbidden", "Forbidden: sendInitialEvents requires "
                           "setting resourceVersionMatch to NotOlderThan"))
        if query.get("allowWatchBookmarks") != "true":
            causes.append(("allowWatchBookmarks", "FieldValueForbidden", "Forbidden: sendInitialEvents requires "
                           "setting allowWatchBookmarks to true"))
    elif match:
        if watch:
            causes.append(("resourceVersionMatch", "FieldValueForbidden",
                           "Forbidden: resourceVersionMatch is forbidden for watch"))
        if not rv:
            causes.append(("resourceVersionMatch", "FieldValueForbidden",
                           "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"))
        if query.get("continue"):
            causes.append(("resourceVersionMatch", "FieldValueForbidden",
                           "Forbidden: resourceVersionMatch is forbidden when continue is provided"))
        if match not in ("Exact", "NotOlderThan"):
            causes.append(("resourceVersionMatch", "FieldValueNotSupported", f'Unsupported value: "{match}": '
                           'supported values: "Exact", "NotOlderThan", ""'))
        if match == "Exact" and rv == "0":
            causes.append(("resourceVersionMatch", "FieldValueForbidden",
                           'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"'))
    if causes:
        raise invalid("ListOptions", "", causes, "meta.k8s.io")


class CollectionReads:
    """GET on a collection, mixed into the request handler (which supplies server, headers, wfile, _send)."""

    server: TwinServer
    headers: Any
    wfile: Any
    # supplied by the handler and BaseHTTPRequestHandler (annotations only: no attribute that would shadow them)
    _send: Any
    send_response: Any
    send_header: Any
    end_headers: Any

    def _list(self, rt: ResourceType, namespace: str | None, query: dict[str, str]) -> None:
        list_options(query, watch=False)
        page = self.server.twin.api.list(rt, namespace, query.get("labelSelector"), query.get("fieldSelector"),
                                         int(query.get("limit") or 0), query.get("continue"),
                                         query.get("resourceVersion"), query.get("resourceVersionMatch"))
        if self._wants_table():
            self._send(200, to_table(rt, page.items, self.server.twin.clock.now(), page.resource_version,
                                     query.get("includeObject", "Metadata"), page.continue_token))
            return
        meta: dict[str, Any] = {"resourceVersion": page.resource_version}
        if page.continue_token:
            meta["continue"] = page.continue_token
            meta["remainingItemCount"] = page.remaining
        self._send(200, {"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": meta,
                         "items": page.items})

    def _watch(self, rt: ResourceType, namespace: str | None, query: dict[str, str]) -> None:
        list_options(query, watch=True)
        twin = self.server.twin
        try:
            watch = twin.api.watch(rt, namespace, query.get("labelSelector"), query.get("fieldSelector"),
                                   query.get("resourceVersion"), initial_events=query.get("sendInitialEvents") == "true")
        except ApiError as exc:
            if exc.code != 410:
                raise
            # as the API server does: the stream opens, then carries one ERROR event with the Status
            self._start_stream()
            self._chunk({"type": "ERROR", "object": exc.body()})
            return self._end_stream()
        seconds = float(query.get("timeoutSeconds") or DEFAULT_WATCH_SECONDS)
        deadline = time.monotonic() + seconds
        bookmarks = query.get("allowWatchBookmarks") == "true"
        as_table = self._wants_table()  # `kubectl get -w`: every event carries a one-row Table, as the API server sends
        last_sent, closing_mark, sent = time.monotonic(), False, False
        virtual_end = twin.clock.now() + seconds if self.server.virtual_watches else None
        self._start_stream()
        try:
            while not self.server.stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                event = watch.next(timeout=0 if virtual_end is not None else min(left, 0.2))
                if event is None and virtual_end is not None:
                    # virtual time moves only while nobody has news: once a batch is out the stream ends (a server
                    # may end any watch early) and the client, having looked, watches again from where it was
                    if sent or not self._wait_virtually(watch, virtual_end, bookmarks):
                        break
                    continue
                if event is None:
                    if watch.closed:
                        break
                    idle = time.monotonic() - last_sent >= self.server.bookmark_every
                    if bookmarks and (idle or (left < 1.0 and not closing_mark)):
                        closing_mark = closing_mark or left < 1.0
                        with twin.store.lock:  # every event up to this revision is already queued for us
                            if watch.idle():
                                watch.bookmark(twin.store.revision)
                    continue
                if event[0] == "BOOKMARK" and not bookmarks and not event[1]["metadata"].get("annotations"):
                    continue
                last_sent, sent = time.monotonic(), True
                shown = self._as_table(rt, event[1], query) if as_table and event[0] != "BOOKMARK" else event[1]
                self._chunk({"type": event[0], "object": shown})
            self._end_stream()
        finally:
            watch.close()

    def _wait_virtually(self, watch: Watch, end: float, bookmarks: bool) -> bool:
        """Virtual time: nothing queued, so the twin's clock moves to its next due moment (at most to the end of
        the watch, timeoutSeconds on that clock) and its actors act; False once the watch's time is up."""
        twin = self.server.twin
        with twin.store.lock:
            if watch.closed:
                return False
            if twin.run_until(lambda: not watch.idle(), timeout=max(0.0, end - twin.clock.now())):
                return True
            revision = twin.store.revision
        if bookmarks:  # the API server marks the revision it got to before it ends a watch
            self._chunk({"type": "BOOKMARK", "object": {"kind": watch.resource.kind, "apiVersion":
                         watch.resource.api_version, "metadata": {"resourceVersion": str(revision)}}})
        return False

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, event: dict[str, Any]) -> None:
        raw = json.dumps(event, separators=(",", ":")).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(raw), raw))
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _as_table(self, rt: ResourceType, obj: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        if obj.get("kind") == "Status":
            return obj
        return to_table(rt, [obj], self.server.twin.clock.now(), obj["metadata"].get("resourceVersion", ""),
                        query.get("includeObject", "Metadata"))

    def _wants_table(self) -> bool:
        accept = self.headers.get("Accept") or ""
        return "as=Table" in accept

"""The twin over HTTP, speaking enough of the Kubernetes REST API for the official client and kubectl."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from migrate.atomic import write_file
from migrate.clock import VirtualClock
from migrate.cluster.twin import discovery, openapi, protobuf
from migrate.cluster.twin.pacing import Pacing
from migrate.cluster.twin.patch import APPLY_PATCH
from migrate.cluster.twin.reads import CollectionReads
from migrate.cluster.twin.resources import ResourceType, by_path
from migrate.cluster.twin.simulation import Twin
from migrate.cluster.twin.status import ApiError, bad_request, internal, method_not_allowed, not_found

_FAULT_REASONS = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout", 403: "Forbidden", 401: "Unauthorized"}
_SCALABLE = ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController")


MAX_BODY = 3 * 1024 * 1024  # bytes: the API server refuses larger request bodies with 413


class TwinServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, twin: Twin, address: tuple[str, int], token: str | None = None):
        super().__init__(address, TwinHandler)
        self.twin = twin
        self.token = token  # when set, requests must carry it as a bearer token (401 otherwise)
        self.stopping = threading.Event()
        self.faults: list[int] = []  # HTTP codes the next requests fail with: rehearse flaky API servers
        self.bookmark_every = 60.0  # wall seconds an idle watch that allows bookmarks waits before sending one
        # virtual time only: an idle watch moves the twin's clock (to its next due moment, at most timeoutSeconds on
        # that clock), as a client's sleep does; for a run whose only waiting is on watches (a migration's)
        self.virtual_watches = False
        self.pacing = Pacing(twin) if isinstance(twin.clock, VirtualClock) else None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (keep-alive closed at exit) is not an error worth a traceback on stderr."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)

    def fail_next(self, *codes: int) -> None:
        with self.twin.store.lock:
            self.faults.extend(codes)

    def _next_fault(self) -> int | None:
        with self.twin.store.lock:
            return self.faults.pop(0) if self.faults else None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class TwinHandler(CollectionReads, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a read costs a round trip, not a TCP handshake
    disable_nagle_algorithm = True  # without it every response waits ~40 ms for a delayed ACK
    server: TwinServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    # --- plumbing ------------------------------------------------------------------------------
    def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
        # json.Encoder in kube-apiserver ends every body with a newline; clients comparing error text see it
        raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(raw)

    def _body(self) -> Any:
        raw = self._raw
        content_type = self.headers.get("Content-Type") or ""
        if "protobuf" in content_type:
            return protobuf.decode(raw)  # DeleteOptions (drain --disable-eviction); other types 415
        if "cbor" in content_type:  # CBOR clients fall back to JSON on 415
            raise protobuf.unsupported_media_type()
        if not raw:
            return {}
        try:
            body = yaml.safe_load(raw) if "yaml" in content_type else json.loads(raw, parse_constant=_no_constant)
        except (ValueError, yaml.YAMLError) as exc:
            raise bad_request(f"the body of the request could not be decoded: {exc}") from None
        # only a JSON patch is a list; a merge patch that is not an object replaces the object (RFC 7386)
        if not isinstance(body, dict) and not ("json-patch" in content_type or "merge-patch" in content_type):
            raise bad_request(f"Object 'Kind' is missing: the body must be an object, not {type(body).__name__}")
        return body

    def _dispatch(self, method: str) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return self._send(400, bad_request("Content-Length is not a number").body())
        if length > MAX_BODY:  # kube-apiserver's limit; the body is not read, so the connection cannot be reused
            self.close_connection = True
            return self._send(413, ApiError(413, "RequestEntityTooLarge", "the request body is too large").body())
        self._raw = self.rfile.read(length) if length else b""  # always consumed: the connection is kept alive
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        fault = self.server._next_fault()
        if fault:  # 0 lets a request through, so a fault can be aimed at a later one
            return self._send(fault, ApiError(fault, _FAULT_REASONS.get(fault, "InternalError"), "injected fault").body())
        if self.server.token and self.headers.get("Authorization") != f"Bearer {self.server.token}":
            return self._send(401, ApiError(401, "Unauthorized", "Unauthorized").body())
        if self.server.pacing is not None:  # virtual time: the controllers act when pacing.py says, as in process
            self.server.pacing.before(write=method != "GET")
        try:
            self._route(method, url.path.rstrip("/") or "/", query)
        except ApiError as exc:
            self._send(exc.code, exc.body())
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # noqa: BLE001 - a bug in the twin must reach the client as a 500, not a dropped connection
            self._send(500, internal(f"twin: {type(exc).__name__}: {exc}").body())

    def _route(self, method: str, path: str, query: dict[str, str]) -> None:
        twin = self.server.twin
        if path in ("/healthz", "/readyz", "/livez"):
            return self._send(200, b"ok", "text/plain; charset=utf-8")
        if path == "/version":
            return self._send(200, discovery.version_info(twin.version))
        if path == "/api":
            return self._send(200, discovery.api_versions(self.server.url.split("//", 1)[1]))
        if path == "/apis":
            return self._send(200, discovery.api_group_list())
        if path == "/openapi/v3":
            return self._send(200, openapi.root())
        if path.startswith("/openapi/v3/"):
            gv = path[len("/openapi/v3/") :].split("/")
            doc = openapi.document("" if gv[0] == "api" else gv[1], gv[-1])
            return self._send(200, doc) if doc else self._send(404, _not_found_body())
        parts = [unquote(p) for p in path.strip("/").split("/")]  # clients escape `:` in `kubeadm:kubelet-bootstrap`
        if parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) == 2:
            doc = discovery.api_group(parts[1])
            return self._send(200, doc) if doc else self._send(404, _not_found_body())
        elif parts[0] == "apis" and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return self._send(404, _not_found_body())
        if not rest:
            doc = discovery.resource_list(group, version)
            return self._send(200, doc) if doc else self._send(404, _not_found_body())
        if rest[0] == "watch":  # the deprecated /watch/ path prefix
            rest, query = rest[1:], {**query, "watch": "true"}
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        rt = by_path(group, version, rest[0])
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if len(rest) > 3 or (rt.namespaced and name is not None and namespace is None):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if name is None:
            return self._collection(method, rt, namespace, query)
        return self._member(method, rt, namespace or "", name, sub, query)

    # --- collections ---------------------------------------------------------------------------
    def _collection(self, method: str, rt: ResourceType, namespace: str | None, query: dict[str, str]) -> None:
        api = self.server.twin.api
        if method == "GET" and query.get("watch") in ("true", "1"):
            return self._watch(rt, namespace, query)
        if method == "GET":
            return self._list(rt, namespace, query)
        if method == "POST":
            body = self._body()
            return self._send(201, api.create(rt, namespace, body, dry_run=bool(query.get("dryRun"))))
        if method == "DELETE":
            page = api.list(rt, namespace, query.get("labelSelector"), query.get("fieldSelector"))
            options = self._body() or {}
            for obj in page.items:
                api.delete(rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"], options)
            return self._send(
                200, {"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": {}, "items": page.items}
            )
        raise method_not_allowed()

    # --- members -------------------------------------------------------------------------------
    def _member(
        self, method: str, rt: ResourceType, namespace: str, name: str, sub: str | None, query: dict[str, str]
    ) -> None:
        api = self.server.twin.api
        if sub is not None and sub not in {s[0] for s in rt.subresources}:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if sub == "eviction" and method == "POST":
            return self._send(201, api.evict(namespace, name, self._body(), dry_run=bool(query.get("dryRun"))))
        if sub == "binding" and method == "POST":
            return self._send(201, api.bind(namespace, name, self._body()))
        if sub == "scale":
            return self._scale(method, rt, namespace, name)
        if method == "GET":
            obj = api.get(rt, namespace, name)
            return self._send(200, self._as_table(rt, obj, query) if self._wants_table() else obj)
        if method == "PUT":
            obj, created = api.put(rt, namespace, name, self._body(), sub, dry_run=bool(query.get("dryRun")))
            return self._send(201 if created else 200, obj)
        if method == "PATCH":
            content_type = self.headers.get("Content-Type") or "application/json"
            if content_type.startswith(APPLY_PATCH):
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    "server-side apply is not supported by the twin; use client-side `kubectl apply`",
                )
            if content_type.split(";")[0] in ("application/json", "application/json-patch+json"):
                # a JSON object sent as a JSON patch is read as the strategic merge patch its sender meant
                content_type = (
                    "application/json-patch+json"
                    if isinstance(self._body(), list)
                    else "application/strategic-merge-patch+json"
                )
            return self._send(
                200, api.patch(rt, namespace, name, self._body(), content_type, sub, dry_run=bool(query.get("dryRun")))
            )
        if method == "DELETE":
            options = {**self._body(), **_delete_query(query)}
            obj, gone = api.delete(rt, namespace, name, options)
            if gone and not rt.returns_deleted:  # the generic registry's finalizeDelete: a Status naming what went
                details = {"name": name, "group": rt.group, "kind": rt.plural, "uid": obj["metadata"]["uid"]}
                return self._send(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                        "details": {k: v for k, v in details.items() if v}})
            return self._send(200, obj)
        raise method_not_allowed()

    def _scale(self, method: str, rt: ResourceType, namespace: str, name: str) -> None:
        api = self.server.twin.api
        if rt.kind not in _SCALABLE:
            raise not_found(rt.qualified, name)
        if method in ("PUT", "PATCH"):
            body = self._body()
            replicas = ((body.get("spec") or {}) if isinstance(body, dict) else {}).get("replicas")
            if replicas is None:
                raise bad_request("spec.replicas is required")
            obj = api.get(rt, namespace, name)
            api.replace(rt, namespace, name, {**obj, "spec": {**obj["spec"], "replicas": int(replicas)}})
        obj = api.get(rt, namespace, name)
        self._send(
            200,
            {
                "kind": "Scale",
                "apiVersion": "autoscaling/v1",
                "metadata": {
                    k: obj["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                },
                "spec": {"replicas": obj["spec"].get("replicas", 1)},
                "status": {"replicas": (obj.get("status") or {}).get("replicas", 0)},
            },
        )


def _no_constant(name: str) -> Any:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")  # Go's JSON has no NaN


def _delete_query(query: dict[str, str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if "gracePeriodSeconds" in query:
        options["gracePeriodSeconds"] = int(query["gracePeriodSeconds"])
    if "dryRun" in query:
        options["dryRun"] = [query["dryRun"]]
    if "propagationPolicy" in query:
        options["propagationPolicy"] = query["propagationPolicy"]
    if "orphanDependents" in query:
        options["orphanDependents"] = query["orphanDependents"] == "true"
    return options


def _not_found_body() -> dict[str, Any]:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {}).body()


class ServedTwin:
    """A running facade: where it listens, a kubeconfig for it, and a clean stop."""

    def __init__(self, twin: Twin, server: TwinServer, thread: threading.Thread):
        self.twin = twin
        self.server = server
        self._thread = thread

    @property
    def url(self) -> str:
        return self.server.url

    def fail_next(self, *codes: int) -> None:
        """Make the next requests fail with these HTTP codes (then serve normally)."""
        self.server.fail_next(*codes)

    def kubeconfig(self, context: str = "twin") -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": context,
            "preferences": {},
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": context, "user": {}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context, "namespace": "default"}}],
        }

    def write_kubeconfig(self, path: Path | str, context: str = "twin") -> Path:
        path = Path(path)
        write_file(path, yaml.safe_dump(self.kubeconfig(context), sort_keys=False), mode=0o600)
        return path

    def stop(self) -> None:
        self.server.stopping.set()
        if self.server.pacing is not None:
            self.server.pacing.close()
        self.twin.stop()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


def serve_in_thread(twin: Twin, host: str = "127.0.0.1", port: int = 0, token: str | None = None, *,
                    virtual_watches: bool = False) -> ServedTwin:
    server = TwinServer(twin, (host, port), token)
    server.virtual_watches = virtual_watches and isinstance(twin.clock, VirtualClock)
    thread = threading.Thread(target=server.serve_forever, name="twin-http", daemon=True, kwargs={"poll_interval": 0.2})
    thread.start()
    if not isinstance(twin.clock, VirtualClock):
        twin.start()
    return ServedTwin(twin, server, thread)

"""`Cluster` over the official `kubernetes` client: kubeconfig/context or in-cluster, paged lists, retries.

Responses are read as plain JSON (`_preload_content=False`): the generated models cost seconds on a
4,000-pod list and the migration only needs a few fields of each object.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from migrate.clock import Clock, SystemClock
from migrate.cluster.base import (
    BootstrapToken,
    ConfigMap,
    DisruptionBudget,
    EvictionOutcome,
    EvictionResult,
    Lease,
    Node,
    NodeHolds,
    ObjectRef,
    Pod,
    PodsHold,
    Taint,
)
from migrate.cluster.follow import RETRYABLE, Follower
from migrate.cluster.objects import (
    bootstrap_token_from,
    bootstrap_token_secret,
    configmap_from,
    event_body,
    lease_body,
    lease_from,
    node_from,
    pdb_from,
    pod_from,
)
from migrate.cluster.verbs import NodeAndPodVerbs
from migrate.errors import UserError

PAGE_SIZE = 500  # kubectl's --chunk-size default
_PDB_NAME = re.compile(r"The disruption budget (\S+) ")
T = TypeVar("T")


class KubeCluster(NodeAndPodVerbs):
    def __init__(self, kubeconfig: str | Path | None = None, context: str | None = None, *, in_cluster: bool = False,
                 clock: Clock | None = None, attempts: int = 6, backoff: float = 0.2, max_backoff: float = 5.0,
                 timeout: float = 30.0, seed: int | None = None):
        self.clock = clock or SystemClock()
        self.attempts, self.backoff, self.max_backoff, self.timeout = attempts, backoff, max_backoff, timeout
        self._jitter = random.Random(seed)
        cfg = client.Configuration()
        if kubeconfig is not None and Path(kubeconfig).exists() and not Path(kubeconfig).is_file():
            raise UserError("the kubeconfig is not a regular file", where=str(kubeconfig))  # a FIFO would block
        try:
            if in_cluster:
                config.load_incluster_config(client_configuration=cfg)
            else:
                config.load_kube_config(config_file=str(kubeconfig) if kubeconfig else None, context=context, client_configuration=cfg)
        except (ConfigException, OSError, yaml.YAMLError, TypeError, AttributeError, KeyError, ValueError) as exc:
            # a kubeconfig is input: malformed YAML or a wrong shape (clusters: 5) is said, not a traceback
            where = "in-cluster service account" if in_cluster else str(kubeconfig or "~/.kube/config")
            problem = str(exc) if isinstance(exc, (ConfigException, OSError)) else f"malformed kubeconfig ({type(exc).__name__})"
            raise UserError(f"cannot use this Kubernetes configuration: {' '.join(problem.split())[:300]}", where=where,
                            hint="pass --kubeconfig PATH (and --context NAME) for the cluster to migrate") from None
        cfg.retries = False  # our own loop retries, with backoff, on the clock we were given
        self.server = cfg.host
        self.api_client = client.ApiClient(cfg)
        self.core = client.CoreV1Api(self.api_client)
        self.apps = client.AppsV1Api(self.api_client)
        self.policy = client.PolicyV1Api(self.api_client)
        self.coordination = client.CoordinationV1Api(self.api_client)
        self.rbac = client.RbacAuthorizationV1Api(self.api_client)

    def close(self) -> None:
        self.api_client.close()

    # --- transport -----------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[..., Any], *args: Any, missing_ok: bool = False, gone_ok: bool = False,
              conflict_ok: bool = False, **kwargs: Any) -> Any:
        """One API call as JSON, retried on 5xx, 429 and broken connections with capped exponential backoff."""
        kwargs.setdefault("_preload_content", False)
        kwargs.setdefault("_request_timeout", self.timeout)
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                response = fn(*args, **kwargs)
                body = response.data
                return json.loads(body) if body else {}
            except ApiException as exc:
                if exc.status == 0:  # the client's wrapping of a TLS failure: no answer was ever received
                    raise self._unreachable(what, exc) from None
                if (exc.status == 404 and missing_ok) or (exc.status == 410 and gone_ok) or (
                        exc.status == 409 and conflict_ok):
                    return None
                if exc.status not in RETRYABLE or attempt == self.attempts:
                    raise self._user_error(what, exc) from None
                wait = _retry_after(exc) or delay
            except (urllib3.exceptions.HTTPError, ConnectionError, OSError) as exc:
                if attempt == self.attempts or _is_tls(exc):
                    raise self._unreachable(what, exc) from None
                wait = delay
            self.clock.sleep(min(wait, self.max_backoff) * (0.5 + self._jitter.random() / 2))
            delay = min(delay * 2, self.max_backoff)
        raise AssertionError("unreachable")

    def _unreachable(self, what: str, exc: Exception) -> UserError:
        """A connection or TLS failure as one sentence naming the server and the cause."""
        cause = _connection_cause(exc)
        if _is_tls(exc):
            return UserError(f"TLS with the Kubernetes API server at {self.server} failed: {cause}", where=what,
                             hint="check the kubeconfig's server URL (https vs http) and its certificate-authority(-data)")
        return UserError(f"cannot reach the Kubernetes API server at {self.server}: {cause}", where=what,
                         hint="check that the server is up and reachable, and the kubeconfig/context")

    def _user_error(self, what: str, exc: ApiException) -> UserError:
        message = _status_message(exc)
        if exc.status == 401:
            return UserError(f"the API server at {self.server} did not accept our credentials (401 Unauthorized)", where=what,
                             hint="refresh the kubeconfig credentials (token or client certificate may have expired)")
        if exc.status == 403:
            return UserError(f"forbidden by the API server at {self.server}: {message}", where=what,
                             hint="use a kubeconfig whose user may do this (cluster-admin for a migration)")
        if exc.status == 404:
            return UserError(f"not found on {self.server}: {message}", where=what, hint="check the name and namespace")
        return UserError(f"the API server at {self.server} refused: {message} (HTTP {exc.status})", where=what)

    def _list(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return self._list_versioned(what, fn, *args, **kwargs)[0]

    def _list_versioned(self, what: str, fn: Callable[..., Any], *args: Any,
                        **kwargs: Any) -> tuple[list[dict[str, Any]], str]:
        """Every item, page by page, and the list's resourceVersion (a watch starts there); an expired continue
        token restarts the list, as client-go's pager does."""
        items: list[dict[str, Any]] = []
        token = None
        while True:
            paging: dict[str, Any] = {"_continue": token} if token else {}
            page = self._call(what, fn, *args, limit=PAGE_SIZE, gone_ok=bool(token), **paging, **kwargs)
            if page is None:
                items, token = [], None  # 410 Gone: the continue token expired, start over as client-go's pager does
                continue
            items.extend(page.get("items") or [])
            meta = page.get("metadata") or {}
            token = meta.get("continue")
            if not token:
                return items, str(meta.get("resourceVersion") or "")

    def _follower(self, what: str, fn: Callable[..., Any], convert: Callable[[dict[str, Any]], T], *args: Any,
                  **kwargs: Any) -> Follower[T]:
        return Follower(lambda: self._list_versioned(what, fn, *args, **kwargs),
                        lambda **kw: fn(*args, **kwargs, **kw), convert, self.clock, self.timeout, self.backoff,
                        self.max_backoff, lambda exc: self._user_error(what, exc))

    # --- nodes ---------------------------------------------------------------------------------
    def list_nodes(self, label_selector: str | None = None) -> list[Node]:
        kwargs = {"label_selector": label_selector} if label_selector else {}
        return [node_from(o) for o in self._list("list nodes", self.core.list_node, **kwargs)]

    def get_node(self, name: str) -> Node | None:
        obj = self._call(f"node {name}", self.core.read_node, name, missing_ok=True)
        return node_from(obj) if obj else None

    def _patch_node(self, name: str, patch: dict[str, Any]) -> Node:
        return node_from(self._call(f"node {name}", self.core.patch_node, name, patch,
                                    _content_type="application/strategic-merge-patch+json"))

    def set_taints(self, name: str, taints: Sequence[Taint]) -> Node:
        return node_from(self._call(f"node {name}", self.core.patch_node, name, {"spec": {"taints": [t.to_api() for t in taints]}},
                                    _content_type="application/merge-patch+json"))

    def delete_node(self, name: str) -> bool:
        return self._call(f"node {name}", self.core.delete_node, name, missing_ok=True) is not None

    # --- pods ----------------------------------------------------------------------------------
    def list_pods(self, node_name: str | None = None, namespace: str | None = None, label_selector: str | None = None) -> list[Pod]:
        kwargs: dict[str, Any] = {}
        if node_name:
            kwargs["field_selector"] = f"spec.nodeName={node_name}"
        if label_selector:
            kwargs["label_selector"] = label_selector
        if namespace:
            objs = self._list(f"pods in {namespace}", self.core.list_namespaced_pod, namespace, **kwargs)
        else:
            objs = self._list("pods", self.core.list_pod_for_all_namespaces, **kwargs)
        return [pod_from(o) for o in objs]

    def get_pod(self, namespace: str, name: str) -> Pod | None:
        obj = self._call(f"pod {namespace}/{name}", self.core.read_namespaced_pod, name, namespace, missing_ok=True)
        return pod_from(obj) if obj else None

    def wait_pods(self, until: PodsHold, timeout: float, *, node_name: str | None = None,
                  namespace: str | None = None) -> list[Pod]:
        kwargs: dict[str, Any] = {"field_selector": f"spec.nodeName={node_name}"} if node_name else {}
        if namespace:
            follower = self._follower(f"pods in {namespace}", self.core.list_namespaced_pod, pod_from, namespace,
                                      **kwargs)
        else:
            follower = self._follower("pods", self.core.list_pod_for_all_namespaces, pod_from, **kwargs)
        return list(follower.until(until, timeout).objects.values())

    def wait_node(self, name: str, until: NodeHolds, timeout: float) -> Node | None:
        follower = self._follower(f"node {name}", self.core.list_node, node_from, field_selector=f"metadata.name={name}")
        seen = follower.until(lambda nodes: until(nodes[0] if nodes else None), timeout)
        return next(iter(seen.objects.values()), None)

    def evict_pod(self, namespace: str, name: str, grace_period_seconds: int | None = None, dry_run: bool = False) -> EvictionResult:
        """POST pods/eviction. 429 is an answer (the PDB says not now), returned at once for the drain to retry;
        a 5xx (but the 500 naming two budgets) or a dropped connection is retried here with backoff."""
        options: dict[str, Any] = {}
        if grace_period_seconds is not None and grace_period_seconds >= 0:
            options["gracePeriodSeconds"] = grace_period_seconds
        if dry_run:
            options["dryRun"] = ["All"]
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace},
                "deleteOptions": options}
        key = f"{namespace}/{name}"
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):  # a 5xx or a dropped connection is a blip, retried like any call
            try:
                return self._evict_once(key, name, namespace, body, last=attempt == self.attempts)
            except _Transient:
                self.clock.sleep(min(delay, self.max_backoff) * (0.5 + self._jitter.random() / 2))
                delay = min(delay * 2, self.max_backoff)
        raise AssertionError("unreachable")

    def _evict_once(self, key: str, name: str, namespace: str, body: dict[str, Any], last: bool) -> EvictionResult:
        try:
            self.core.create_namespaced_pod_eviction(name, namespace, body, _preload_content=False, _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status == 0:
                raise self._unreachable(f"evict pod {key}", exc) from None
            message = _status_message(exc)
            if exc.status in (500, 502, 503, 504) and "more than one PodDisruptionBudget" not in message and not last:
                raise _Transient() from None
            causes = " ".join(c.get("message", "") for c in ((_status_body(exc).get("details") or {}).get("causes") or []))
            match = _PDB_NAME.search(causes)
            if exc.status == 429:
                return EvictionResult(key, EvictionOutcome.BLOCKED_BY_PDB, match[1] if match else None, f"{message} {causes}".strip())
            if exc.status == 404:
                return EvictionResult(key, EvictionOutcome.NOT_FOUND, None, message)
            if exc.status == 500 and "more than one PodDisruptionBudget" in message:
                return EvictionResult(key, EvictionOutcome.MULTIPLE_PDBS, None, message)
            if exc.status in (401, 403) and "NamespaceTerminating" not in exc.body:
                raise self._user_error(f"evict pod {key}", exc) from None
            return EvictionResult(key, EvictionOutcome.REFUSED, None, message)
        except (urllib3.exceptions.HTTPError, ConnectionError, OSError) as exc:
            if not last and not _is_tls(exc):
                raise _Transient() from None
            raise self._unreachable(f"evict pod {key}", exc) from None
        return EvictionResult(key, EvictionOutcome.EVICTED)

    def delete_pod(self, namespace: str, name: str, grace_period_seconds: int | None = None) -> bool:
        kwargs: dict[str, Any] = {"grace_period_seconds": grace_period_seconds} if grace_period_seconds is not None else {}
        return self._call(f"pod {namespace}/{name}", self.core.delete_namespaced_pod, name, namespace, missing_ok=True, **kwargs) is not None

    def daemonset_exists(self, namespace: str, name: str) -> bool:
        return self._call(f"daemonset {namespace}/{name}", self.apps.read_namespaced_daemon_set, name, namespace, missing_ok=True) is not None

    # --- budgets, config, tokens, events -------------------------------------------------------
    def list_pdbs(self, namespace: str | None = None) -> list[DisruptionBudget]:
        if namespace:
            objs = self._list("poddisruptionbudgets", self.policy.list_namespaced_pod_disruption_budget, namespace)
        else:
            objs = self._list("poddisruptionbudgets", self.policy.list_pod_disruption_budget_for_all_namespaces)
        return [pdb_from(o) for o in objs]

    def get_configmap(self, namespace: str, name: str) -> ConfigMap | None:
        obj = self._call(f"configmap {namespace}/{name}", self.core.read_namespaced_config_map, name, namespace, missing_ok=True)
        return configmap_from(obj) if obj else None

    def create_bootstrap_token(self, token: BootstrapToken) -> None:
        self._call(f"secret kube-system/{token.secret_name}", self.core.create_namespaced_secret, "kube-system", bootstrap_token_secret(token))

    def get_bootstrap_token(self, token_id: str) -> BootstrapToken | None:
        obj = self._call(f"bootstrap token {token_id}", self.core.read_namespaced_secret, f"bootstrap-token-{token_id}", "kube-system", missing_ok=True)
        return bootstrap_token_from(obj) if obj else None

    def delete_bootstrap_token(self, token_id: str) -> bool:
        return self._call(f"bootstrap token {token_id}", self.core.delete_namespaced_secret, f"bootstrap-token-{token_id}",
                          "kube-system", missing_ok=True) is not None

    def record_event(self, namespace: str, involved: Node | Pod, reason: str, message: str, type_: str = "Normal") -> None:
        event = event_body(namespace, involved, reason, message, type_, self.clock.now())
        self._call(f"event for {event['involvedObject']['kind'].lower()} {involved.name}",
                   self.core.create_namespaced_event, namespace, event)

    # --- raw reads for snapshots ---------------------------------------------------------------
    # --- leases: the migration's lock ------------------------------------------------------------
    def get_lease(self, namespace: str, name: str) -> Lease | None:
        obj = self._call(f"lease {namespace}/{name}", self.coordination.read_namespaced_lease, name, namespace,
                         missing_ok=True)
        return lease_from(obj) if obj else None

    def create_lease(self, lease: Lease) -> Lease | None:
        obj = self._call(f"lease {lease.namespace}/{lease.name}", self.coordination.create_namespaced_lease,
                         lease.namespace, lease_body(lease), conflict_ok=True)
        return lease_from(obj) if obj else None

    def update_lease(self, lease: Lease) -> Lease | None:
        obj = self._call(f"lease {lease.namespace}/{lease.name}", self.coordination.replace_namespaced_lease,
                         lease.name, lease.namespace, lease_body(lease), conflict_ok=True, missing_ok=True)
        return lease_from(obj) if obj else None

    # --- whole objects, for prepare ------------------------------------------------------------
    def _verbs(self, ref: ObjectRef) -> tuple[Callable[..., Any], ...]:
        """The typed client's read, create, replace and delete for the kind, with the name/namespace bound."""
        api, suffix = {"ConfigMap": (self.core, "config_map"), "Secret": (self.core, "secret"),
                       "DaemonSet": (self.apps, "daemon_set"),
                       "ClusterRoleBinding": (self.rbac, "cluster_role_binding")}.get(ref.kind, (None, ""))
        if api is None:
            raise UserError(f"prepare cannot write a {ref.kind}", where=str(ref))
        if not ref.namespace:
            return (lambda **kw: getattr(api, f"read_{suffix}")(ref.name, **kw),
                    lambda body, **kw: getattr(api, f"create_{suffix}")(body, **kw),
                    lambda body, **kw: getattr(api, f"replace_{suffix}")(ref.name, body, **kw),
                    lambda **kw: getattr(api, f"delete_{suffix}")(ref.name, **kw))
        return (lambda **kw: getattr(api, f"read_namespaced_{suffix}")(ref.name, ref.namespace, **kw),
                lambda body, **kw: getattr(api, f"create_namespaced_{suffix}")(ref.namespace, body, **kw),
                lambda body, **kw: getattr(api, f"replace_namespaced_{suffix}")(ref.name, ref.namespace, body, **kw),
                lambda **kw: getattr(api, f"delete_namespaced_{suffix}")(ref.name, ref.namespace, **kw))

    def read_object(self, ref: ObjectRef) -> dict[str, Any] | None:
        obj: dict[str, Any] | None = self._call(str(ref), self._verbs(ref)[0], missing_ok=True)
        return obj

    def create_object(self, ref: ObjectRef, body: dict[str, Any]) -> dict[str, Any] | None:
        obj: dict[str, Any] | None = self._call(str(ref), self._verbs(ref)[1], body, conflict_ok=True)
        return obj

    def replace_object(self, ref: ObjectRef, body: dict[str, Any]) -> dict[str, Any] | None:
        obj: dict[str, Any] | None = self._call(str(ref), self._verbs(ref)[2], body, conflict_ok=True, missing_ok=True)
        return obj

    def delete_object(self, ref: ObjectRef) -> bool:
        # Background, as kubectl deletes: the object goes now, its pods after it (a recreated DaemonSet replaces them)
        return self._call(str(ref), self._verbs(ref)[3], body={"propagationPolicy": "Background"},
                          missing_ok=True) is not None

    def server_version(self) -> str:
        version: str = self._call("GET /version", client.VersionApi(self.api_client).get_code).get("gitVersion", "")
        return version

    def list_raw(self, group: str, version: str, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Every object of a type as JSON (kind and apiVersion filled in), through the generic client path."""
        base = f"/apis/{group}/{version}" if group else f"/api/{version}"
        path = f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"

        def fetch(limit: int, _continue: str | None = None, **kwargs: Any) -> Any:
            query = [("limit", limit)] + ([("continue", _continue)] if _continue else [])
            return self.api_client.call_api(*self.api_client.param_serialize("GET", path, query_params=query,
                                                                              header_params={"Accept": "application/json"}),
                                            _request_timeout=kwargs.get("_request_timeout"))

        return self._list(f"list {plural}", _RawCall(fetch))


class _Transient(Exception):
    """An eviction that met a 5xx or a broken connection: worth another try after a pause."""


class _RawCall:
    """Adapts api_client.call_api to the (kwargs -> response with .data) shape `_call` expects."""

    def __init__(self, fetch: Callable[..., Any]):
        self.fetch = fetch

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("_preload_content", None)
        response = self.fetch(**kwargs)
        response.read()
        if not 200 <= response.status < 300:
            raise ApiException(status=response.status, reason=response.reason, http_resp=response.response)
        return response


def _status_body(exc: ApiException) -> dict[str, Any]:
    try:
        body = json.loads(exc.body) if exc.body else {}
    except (ValueError, TypeError):
        return {}
    return body if isinstance(body, dict) else {}


def _status_message(exc: ApiException) -> str:
    return _status_body(exc).get("message") or f"{exc.status} {exc.reason}"


def _retry_after(exc: ApiException) -> float | None:
    value = (exc.headers or {}).get("Retry-After") if exc.headers else None
    try:
        return float(value) if value else None
    except ValueError:
        return None


_SSL_REASON = re.compile(r"\[SSL(?:: [A-Z_]+)?\] ([^()]+?)\s*(?:\(_ssl\.c|\)|'|$)")
_CONNECTION_REASON = re.compile(r"\[Errno -?\d+\] ([^()'\]]+)")


def _is_tls(exc: Exception) -> bool:
    return "SSL" in (str(getattr(exc, "reason", "") or "") + type(exc).__name__ + str(exc))


def _connection_cause(exc: Exception) -> str:
    """The innermost reason (`certificate verify failed: self-signed certificate`, `Connection refused`), not a repr."""
    text = str(getattr(exc, "reason", None) or exc)
    for pattern in (_SSL_REASON, _CONNECTION_REASON):
        if match := pattern.search(text):
            return match[1].strip()
    if isinstance(exc, (TimeoutError, urllib3.exceptions.TimeoutError)):
        return "timed out"
    return type(exc).__name__

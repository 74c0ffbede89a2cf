"""The twin's REST semantics: what each verb does to the store, independent of HTTP."""
# exercised by tests/cluster/twin/test_http.py

from __future__ import annotations

import random
from typing import Any

from migrate.clock import rfc3339
from migrate.cluster.twin import admission
from migrate.cluster.twin.decode import decode, decode_patched
from migrate.cluster.twin.patch import apply_patch
from migrate.cluster.twin.pdb import admit_eviction
from migrate.cluster.twin.resources import NAMESPACES, PODS, RESOURCES, SERVICES, ResourceType
from migrate.cluster.twin.selectors import FieldSelector, LabelSelector, parse_field_selector, parse_label_selector
from migrate.cluster.twin.services import ServiceAllocator
from migrate.cluster.twin.status import ApiError, bad_request, conflict, invalid, not_found
from migrate.cluster.twin.store import ListPage, Store, Watch, clone

NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what the API server draws generateName suffixes from
SUCCESS = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
ORPHAN, FOREGROUND = "orphan", "foregroundDeletion"  # the garbage collector's finalizers


class Api:
    def __init__(self, store: Store, seed: int = 0):
        self.store = store
        self.random = random.Random(seed)
        self.services = ServiceAllocator(store)

    def suffix(self, length: int = 5) -> str:
        return "".join(self.random.choice(NAME_ALPHABET) for _ in range(length))

    # --- reads ---------------------------------------------------------------------------------
    def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        return self.store.get(rt, namespace, name)

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 0,
        continue_token: str | None = None,
        resource_version: str | None = None,
        match: str | None = None,
    ) -> ListPage:
        """`resource_version` with `match` Exact reads history; any other non-zero one must not be ahead of the
        store (504 otherwise), and the list is served at the latest revision, as NotOlderThan allows."""
        labels, fields = _selectors(rt, label_selector, field_selector)
        if match == "Exact" and resource_version:
            return self.store.list_at(rt, namespace, labels, fields, resource_version)
        if resource_version and resource_version != "0" and not continue_token:
            self.store.revision_of(resource_version)
        return self.store.list(rt, namespace, labels, fields, limit, continue_token)

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        initial_events: bool = False,
    ) -> Watch:
        return self.store.watch(rt, namespace, *_selectors(rt, label_selector, field_selector), resource_version, initial_events)

    # --- writes --------------------------------------------------------------------------------
    def create(
        self, rt: ResourceType, namespace: str | None, body: dict[str, Any], dry_run: bool = False
    ) -> dict[str, Any]:
        obj = decode(rt, clone(body))
        meta = obj.setdefault("metadata", {})
        if rt.namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace or meta.get("namespace") or "default"
            if self.store.find(NAMESPACES, "", meta["namespace"]) is None:
                raise not_found("namespaces", meta["namespace"])
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + self.suffix()
        admission.validate(rt, obj)
        admission.default(rt, obj)
        if dry_run:
            return obj
        with self.store.lock:
            ns = self.store.find(NAMESPACES, "", meta.get("namespace", "")) if rt.namespaced else None
            if ns is not None and ns["metadata"].get("deletionTimestamp"):
                raise ApiError(
                    403,
                    "Forbidden",
                    f'{rt.qualified} "{meta["name"]}" is forbidden: unable to create new content in namespace {ns["metadata"]["name"]} because it is being terminated',
                    {
                        "name": meta["name"],
                        "kind": rt.plural,
                        "causes": [
                            {
                                "reason": "NamespaceTerminating",
                                "message": f"namespace {ns['metadata']['name']} is being terminated",
                                "field": "metadata.namespace",
                            }
                        ],
                    },
                )
            if rt is SERVICES:
                self.services.allocate(obj)
            return self.store.create(rt, obj, owned=True)  # obj: this request's own copy of the body

    def put(
        self, rt: ResourceType, namespace: str, name: str, body: Any, subresource: str | None = None,
        dry_run: bool = False,
    ) -> tuple[dict[str, Any], bool]:
        """PUT: (object, created?). Types whose strategy allows it (Leases, Services, Events) are created when
        missing, as the generic registry does (201)."""
        obj = decode(rt, clone(body))
        with self.store.lock:
            if subresource is None and rt.create_on_update and self.store.find(rt, namespace, name) is None:
                meta = obj.setdefault("metadata", {})
                if meta.get("name") and meta["name"] != name:
                    raise bad_request(
                        f"the name of the object ({meta['name']}) does not match the name on the URL ({name})")
                meta["name"] = name
                meta.pop("resourceVersion", None)
                return self.create(rt, namespace, obj, dry_run), True
            return self.replace(rt, namespace, name, obj, subresource, dry_run), False

    def replace(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: dict[str, Any],
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        obj = decode(rt, clone(body))
        meta = obj.get("metadata") or {}
        if meta.get("name") and meta["name"] != name:
            raise bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL ({name})")
        obj.setdefault("metadata", {})["name"] = name
        if rt.namespaced:
            obj["metadata"]["namespace"] = namespace
        if subresource is None:
            admission.validate(rt, obj)
            admission.default(rt, obj)
            if (current := self.store.find(rt, namespace, name)) is not None:
                admission.validate_update(rt, current, obj)
            if rt is SERVICES:
                with self.store.lock:
                    self.services.allocate(obj, self.store.find(rt, namespace, name))
        return self.store.update(rt, obj, status=subresource == "status", dry_run=dry_run)

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        patch: Any,
        content_type: str,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        with self.store.lock:
            current = self.store.get(rt, namespace, name)
            # the patch applies to the stored object, resourceVersion included: a patch that sets another
            # resourceVersion (a stale one) asks for optimistic concurrency and gets 409, as on a real server
            patched = decode_patched(rt, apply_patch(current, patch, content_type))
            patched.setdefault("metadata", {})
            return self.replace(rt, namespace, name, patched, subresource, dry_run)

    def delete(
        self, rt: ResourceType, namespace: str, name: str, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], bool]:
        options = options or {}
        pre = options.get("preconditions") or {}
        finalizer = _gc_finalizer(options)
        with self.store.lock:
            obj = self.store.get(rt, namespace, name)
            grace = self._grace(rt, obj, options.get("gracePeriodSeconds"))
            if options.get("dryRun"):
                return obj, grace == 0 and not finalizer
            result = self.store.delete(rt, namespace, name, grace, pre.get("uid"), pre.get("resourceVersion"),
                                       finalizer)
            if rt is NAMESPACES and result[0]:
                self._empty_namespace(name)
            return result

    def retire(self, rt: ResourceType, namespace: str, name: str) -> None:
        """A controller's delete: an object already gone is what it wanted."""
        if self.store.find(rt, namespace, name) is not None:
            self.delete(rt, namespace, name)

    def _grace(self, rt: ResourceType, obj: dict[str, Any], requested: int | None) -> int:
        """Only pods that a kubelet may be running get a graceful deletion; everything else goes at once."""
        if rt is not PODS:
            return 0
        if not obj["spec"].get("nodeName") or (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return 0
        grace = obj["spec"].get("terminationGracePeriodSeconds", 30) if requested is None else int(requested)
        return max(grace, 0)

    def _empty_namespace(self, namespace: str) -> None:
        # the namespace controller's job, done at once: everything inside goes, then the namespace
        for rt in RESOURCES:
            if rt.namespaced:
                for obj in list(self.store.objects(rt, namespace)):
                    self.store.remove(rt, namespace, obj["metadata"]["name"])
        self.store.remove(NAMESPACES, "", namespace)

    def evict(self, namespace: str, name: str, eviction: dict[str, Any], dry_run: bool = False) -> dict[str, Any]:
        """POST pods/{name}/eviction: a delete that the pod's PodDisruptionBudget must allow."""
        if (eviction.get("metadata") or {}).get("name", name) != name:
            raise bad_request("name in URL does not match name in Eviction object")
        options = eviction.get("deleteOptions") or {}
        with self.store.lock:
            pod = self.store.get(PODS, namespace, name)
            admit_eviction(self.store, pod, dry_run=dry_run or bool(options.get("dryRun")))
            if dry_run or options.get("dryRun"):
                return dict(SUCCESS)
            if not pod["metadata"].get("deletionTimestamp"):
                self._mark_disruption_target(pod)
            self.delete(PODS, namespace, name, options)
        return dict(SUCCESS)

    def _mark_disruption_target(self, pod: dict[str, Any]) -> None:
        status = dict(pod.get("status") or {})  # conditions is built afresh; the rest stays shared, never mutated
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "DisruptionTarget"]
        conditions.append(
            {
                "type": "DisruptionTarget",
                "status": "True",
                "reason": "EvictionByEvictionAPI",
                "message": "Eviction API: evicting",
                "lastTransitionTime": _now(self.store),
            }
        )
        status["conditions"] = conditions
        self.store.update(PODS, {**pod, "status": status}, status=True, owned=True)

    def bind(self, namespace: str, name: str, binding: dict[str, Any]) -> dict[str, Any]:
        """POST pods/{name}/binding, what a scheduler does."""
        target = (binding.get("target") or {}).get("name")
        if not target:
            raise bad_request("binding target node name is required")
        with self.store.lock:
            pod = self.store.get(PODS, namespace, name)
            if pod["spec"].get("nodeName"):
                raise conflict("pods", name, f'pod {name} is already assigned to node "{pod["spec"]["nodeName"]}"')
            if pod["metadata"].get("deletionTimestamp"):
                raise conflict("pods", name, f"pod {name} is being deleted, cannot be assigned to a host")
            status = dict(pod.get("status") or {})  # what changes is built afresh; the rest stays shared
            status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"] + [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": _now(self.store)}
            ]
            bound = {**pod, "metadata": dict(pod["metadata"]), "spec": {**pod["spec"], "nodeName": target},
                     "status": status}
            self.store.update(PODS, bound, force=True, whole=True, owned=True)
        return dict(SUCCESS)


def _gc_finalizer(options: dict[str, Any]) -> str | None:
    """The finalizer a propagation policy puts on the object for the garbage collector (Background: none)."""
    policy, orphan = options.get("propagationPolicy"), options.get("orphanDependents")
    if policy is not None and orphan is not None:
        raise invalid("DeleteOptions", "", [("propagationPolicy", "FieldValueInvalid", f'Invalid value: "{policy}": '
                                             "orphanDependents and deletionPropagation cannot be both set")],
                      "meta.k8s.io")
    if policy not in (None, "Orphan", "Foreground", "Background"):
        raise invalid("DeleteOptions", "", [("propagationPolicy", "FieldValueNotSupported", f'Unsupported value: '
                                             f'"{policy}": supported values: "Foreground", "Background", "Orphan", "nil"')],
                      "meta.k8s.io")
    if policy == "Orphan" or orphan is True:
        return ORPHAN
    return FOREGROUND if policy == "Foreground" else None


def _selectors(rt: ResourceType, label_selector: str | None, field_selector: str | None) -> tuple[LabelSelector, FieldSelector]:
    return parse_label_selector(label_selector), parse_field_selector(field_selector, rt.fields)


def _now(store: Store) -> str:
    return rfc3339(store.clock.now())

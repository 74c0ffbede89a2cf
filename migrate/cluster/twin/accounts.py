"""The service account controller's one visible act: every namespace gets a `default` ServiceAccount.

Pods name `default` unless told otherwise, and clients (the official e2e suite among them) wait for it
before creating pods. No tokens are minted: the twin mounts nothing.
"""
# exercised by tests/cluster/twin/test_services.py

from __future__ import annotations

from migrate.cluster.twin.controllers import Controller
from migrate.cluster.twin.index import ClusterIndex
from migrate.cluster.twin.resources import NAMESPACES, SERVICEACCOUNTS


class ServiceAccounts(Controller):
    watches = (NAMESPACES, SERVICEACCOUNTS)

    def reconcile(self, index: ClusterIndex) -> None:
        store, dirty = self.api.store, index.pass_dirty
        for ns in store.objects(NAMESPACES):
            name = ns["metadata"]["name"]
            if dirty is not None and "" not in dirty and name not in dirty:
                continue  # neither a new namespace (cluster-scoped) nor a write in this one
            if not ns["metadata"].get("deletionTimestamp") and store.find(SERVICEACCOUNTS, name, "default") is None:
                store.create(SERVICEACCOUNTS, {"apiVersion": "v1", "kind": "ServiceAccount",
                                               "metadata": {"name": "default", "namespace": name}})

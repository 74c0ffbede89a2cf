"""Just enough OpenAPI v3 for kubectl: PATCH operations that declare `fieldValidation`.

kubectl apply validates by asking the server (fieldValidation=Strict) when the OpenAPI v3 document says the
PATCH operation supports that parameter; otherwise it downloads the whole v2 schema to validate itself.
Schemas are left out: kubectl then computes strategic merge patches from its compiled-in types.
"""
# exercised by tests/cluster/test_kubectl.py

from __future__ import annotations

import hashlib
import json
from typing import Any

from migrate.cluster.twin.resources import GROUPS, ResourceType


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _gv_hash(group: str, version: str) -> str:
    return hashlib.sha256(json.dumps(document(group, version) or {}, sort_keys=True).encode()).hexdigest()[:32].upper()


def root() -> dict[str, Any]:
    paths = {}
    for group, types in GROUPS.items():
        version = types[0].version
        paths[_gv_path(group, version)] = {
            "serverRelativeURL": f"/openapi/v3/{_gv_path(group, version)}?hash={_gv_hash(group, version)}"
        }
    return {"paths": paths}


def _patch_operation(rt: ResourceType) -> dict[str, Any]:
    return {
        "operationId": f"patch{rt.kind}",
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "parameters": [
            {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
            for name in ("dryRun", "fieldManager", "fieldValidation", "force")
        ],
        "responses": {"200": {"description": "OK"}},
    }


def document(group: str, version: str) -> dict[str, Any] | None:
    types = [rt for rt in GROUPS.get(group, []) if rt.version == version]
    if not types:
        return None
    prefix = f"/{_gv_path(group, version)}"
    paths = {}
    for rt in types:
        scope = (
            f"{prefix}/namespaces/{{namespace}}/{rt.plural}/{{name}}"
            if rt.namespaced
            else f"{prefix}/{rt.plural}/{{name}}"
        )
        paths[scope] = {"patch": _patch_operation(rt)}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": paths,
        "components": {"schemas": {}},
    }

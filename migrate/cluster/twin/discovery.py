"""Discovery documents (`/api`, `/apis`, resource lists, `/version`) built from the resource table."""
# exercised by tests/cluster/twin/test_http.py and tests/cluster/test_kubectl.py

from __future__ import annotations

from typing import Any

from migrate.cluster.twin.resources import CRUD, GROUPS, ResourceType

_CLUSTER_VERBS = CRUD


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(name: str) -> dict[str, Any]:
    version = GROUPS[name][0].version
    gv = {"groupVersion": f"{name}/{version}", "version": version}
    return {"name": name, "versions": [gv], "preferredVersion": gv}


def api_group_list() -> dict[str, Any]:
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g) for g in GROUPS if g]}


def api_group(name: str) -> dict[str, Any] | None:
    if not name or name not in GROUPS:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name)}


def _entry(rt: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(CRUD),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    return entry


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    types = [rt for rt in GROUPS.get(group, []) if rt.version == version]
    if not types:
        return None
    resources = []
    for rt in types:
        resources.append(_entry(rt))
        for sub, kind, sub_group, sub_version, verbs in rt.subresources:
            item = {
                "name": f"{rt.plural}/{sub}",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": kind,
                "verbs": list(verbs),
            }
            if (sub_group, sub_version) != (rt.group, rt.version):
                item.update(group=sub_group, version=sub_version)  # kubectl drain finds policy/v1 Eviction this way
            resources.append(item)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def version_info(git_version: str) -> dict[str, Any]:
    major, minor = git_version.lstrip("v").split(".")[:2]
    return {
        "major": major,
        "minor": minor,
        "gitVersion": git_version,
        "gitCommit": "kubespray2talos-twin",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24",
        "compiler": "gc",
        "platform": "linux/amd64",
    }

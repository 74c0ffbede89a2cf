"""The cluster snapshot format: what `snapshot` captures and the twin loads. Never Secrets, never keys."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from migrate.atomic import SECRET_FILE_MODE, write_file
from migrate.bounds import check_json_nesting, read_bounded
from migrate.errors import UserError
from migrate.redact import looks_like_credential, names_a_secret, redact_text, secret_arguments

API_VERSION = "kubespray2talos.dev/v1alpha1"
KIND = "ClusterSnapshot"
# (group, version, plural) in load order: namespaces before what lives in them, owners before pods
RESOURCES: tuple[tuple[str, str, str], ...] = (
    ("", "v1", "namespaces"),
    ("", "v1", "nodes"),
    ("apps", "v1", "deployments"),
    ("apps", "v1", "replicasets"),
    ("apps", "v1", "statefulsets"),
    ("apps", "v1", "daemonsets"),
    ("batch", "v1", "jobs"),
    ("policy", "v1", "poddisruptionbudgets"),
    ("", "v1", "pods"),
    ("", "v1", "configmaps"),
    ("", "v1", "services"),  # the kubernetes and DNS ClusterIPs preflight checks; the selectors scheduling spreads by
)
# the kube-system ConfigMaps that say how the cluster was built
CONFIGMAPS = ("kubeadm-config", "kubelet-config", "kube-proxy")
_SECRET_LIKE = re.compile(r"(key|token|secret|password|passwd|credential|\.pem$|\.crt$)", re.IGNORECASE)
_VOLATILE_META = ("managedFields", "resourceVersion", "selfLink")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def qualified(group: str, plural: str) -> str:
    return f"{plural}.{group}" if group else plural


def clean(obj: dict[str, Any]) -> dict[str, Any]:
    """An object as worth keeping: no managedFields, resourceVersion or last-applied copy."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _VOLATILE_META}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return {**obj, "metadata": meta}


REDACTED = "<redacted by kubespray2talos snapshot>"


# the documents `diff --live` reads: a credential inside is redacted in place, the rest of the document kept
_CONFIG_DOCUMENTS = frozenset({"ClusterConfiguration", "ClusterStatus", "kubelet", "config.conf"})


def credential_entries(cm: dict[str, Any]) -> list[str]:
    """ConfigMap keys a snapshot must not keep: named like key material, holding a credential, or binary."""
    named = [k for k, v in (cm.get("data") or {}).items()
             if k not in _CONFIG_DOCUMENTS and (_SECRET_LIKE.search(k) or looks_like_credential(str(v)))]
    return named + sorted(cm.get("binaryData") or {})


def redacted_documents(cm: dict[str, Any]) -> list[str]:
    """Config documents kept with a credential inside them redacted (an extraArg's secret value)."""
    return [k for k, v in (cm.get("data") or {}).items() if k in _CONFIG_DOCUMENTS and redact_text(str(v)) != str(v)]


def scrub_configmap(cm: dict[str, Any]) -> dict[str, Any]:
    """Drop the entries `credential_entries` names, redact credentials inside config documents."""
    dropped = set(credential_entries(cm))
    out = {k: v for k, v in cm.items() if k != "binaryData"}
    out["data"] = {k: redact_text(v) if k in _CONFIG_DOCUMENTS and isinstance(v, str) else v
                   for k, v in (cm.get("data") or {}).items() if k not in dropped}
    return out


def redact_credentials(obj: Any, path: str = "") -> tuple[Any, list[str]]:
    """Any string in an object (a pod's env value, an annotation) that is a credential, replaced; with where."""
    if isinstance(obj, dict):
        if names_a_secret(obj) and isinstance(obj.get("value"), str) and obj["value"]:
            # an env var or an extraArg in name/value form: DB_PASSWORD=literal, oidc-client-secret=...
            return {**obj, "value": REDACTED}, [f"{path}.value" if path else "value"]
        pairs = [(k, redact_credentials(v, f"{path}.{k}" if path else k)) for k, v in obj.items()]
        return {k: v for k, (v, _) in pairs}, [w for _, (_, found) in pairs for w in found]
    if isinstance(obj, list):
        hidden = secret_arguments(obj)  # ["--password", "literal"]: the value is the next argument
        items = [(REDACTED, [f"{path}[{i}]"]) if i in hidden else redact_credentials(v, f"{path}[{i}]")
                 for i, v in enumerate(obj)]
        return [v for v, _ in items], [w for _, found in items for w in found]
    if isinstance(obj, str) and looks_like_credential(obj):
        return REDACTED, [path]
    if isinstance(obj, str) and (scrubbed := redact_text(obj)) != obj:
        return scrubbed, [path]
    return obj, []


def new_snapshot(objects: dict[str, list[dict[str, Any]]], **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "objects": {qualified(g, p): objects.get(qualified(g, p), []) for g, _, p in RESOURCES},
    }


def read_snapshot(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    try:
        text = read_bounded(path, limit=256 * 1024 * 1024)  # a 5,000-node cluster's snapshot is ~100 MB
        check_json_nesting(text, str(path))  # one JSON line is fine; deep nesting is not
        data = json.loads(text)
    except FileNotFoundError:
        raise UserError(
            "snapshot file not found", where=str(path), hint="capture one with `kubespray2talos snapshot --out FILE`"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise UserError(f"not a JSON snapshot: {exc}", where=str(path)) from None
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror}", where=str(path)) from None
    if not isinstance(data, dict) or data.get("kind") != KIND or not isinstance(data.get("objects"), dict):
        raise UserError(
            f"not a cluster snapshot (expected kind {KIND} with an `objects` map)",
            where=str(path),
            hint="capture one with `kubespray2talos snapshot --out FILE`",
        )
    _check_objects(data["objects"], str(path))
    return data


def _check_objects(objects: dict[str, Any], where: str) -> None:
    """Each object a mapping with a named metadata mapping, and spec/status mappings: the shape the twin loads."""
    for kind, items in objects.items():
        if not isinstance(items, list):
            raise UserError(f"objects.{kind} is not a list of objects", where=where)
        for i, obj in enumerate(items):
            at = f"objects.{kind}[{i}]"
            if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
                raise UserError(f"{at} is not an object with metadata", where=where)
            if not isinstance(obj["metadata"].get("name"), str) or not obj["metadata"]["name"]:
                raise UserError(f"{at}.metadata.name is not a name", where=where)
            for field in ("spec", "status", "data"):
                if field in obj and not isinstance(obj[field], dict):
                    raise UserError(f"{at}.{field} is not a mapping", where=where)


def write_snapshot(path: Path | str, snapshot: dict[str, Any]) -> None:
    # 0600: a cluster's shape (addresses, args, annotations) is for the operator, even with credentials scrubbed
    write_file(Path(path), json.dumps(snapshot, indent=1, sort_keys=True) + "\n", mode=SECRET_FILE_MODE)

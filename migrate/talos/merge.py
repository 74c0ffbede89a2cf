"""Talos machine-config documents: quote-safe loading and strategic-merge patching the way Talos does it.

Rules (talos pkg/machinery/config/configpatcher): maps merge, scalars override, lists append except the
fields Talos tags `merge:"replace"`; network interfaces merge by interface name or deviceSelector and
their vlans by vlanId; documents match on kind + apiVersion + name; `$patch: delete` removes a key, a
list item or a whole (non-v1alpha1) document; documents the base lacks are appended.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import yaml

from migrate.bounds import check_expansion, check_text_shape
from migrate.errors import UserError

PATCH_DIRECTIVE = "$patch"
DELETE = "delete"

# paths (map keys from the document root) whose lists or maps a patch replaces instead of merging
REPLACED_PATHS = frozenset(
    {
        ("cluster", "network", "podSubnets"),
        ("cluster", "network", "serviceSubnets"),
        ("cluster", "apiServer", "auditPolicy"),
    }
)


Identity = Callable[[dict[str, Any]], Any]  # a list item → the key that matches it across documents


def _interface_identity(item: dict[str, Any]) -> Any:
    if "interface" in item:
        return ("interface", item["interface"])
    if "deviceSelector" in item:
        return ("deviceSelector", repr(sorted(item["deviceSelector"].items())))
    return None


def _vlan_identity(item: dict[str, Any]) -> Any:
    return ("vlanId", item.get("vlanId")) if "vlanId" in item else None


# list paths whose items are matched by an identity key and merged, not appended
KEYED_LISTS = {
    ("machine", "network", "interfaces"): _interface_identity,
    ("machine", "network", "interfaces", "vlans"): _vlan_identity,
}


class GoYamlLoader(yaml.SafeLoader):
    """YAML as Talos (Go yaml.v3) reads it: only true/false are booleans, dates stay strings.

    PyYAML's YAML 1.1 would turn `auto: off` into False and `2024-01-01` into a date.
    """


GoYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
GoYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_documents(text: str, where: str = "<config>") -> list[dict[str, Any]]:
    """All non-empty documents of a (multi-document) Talos config, as plain dicts."""
    check_text_shape(text, where)  # a plan from a merge request is input: bounded before it is parsed
    try:
        docs = [d for d in yaml.load_all(text, Loader=GoYamlLoader) if d is not None]
        check_expansion(docs, where)
    except RecursionError:
        raise UserError("YAML nested too deep to read", where=where) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{where}:{mark.line + 1}" if mark else where
        raise UserError(f"not valid YAML: {getattr(exc, 'problem', exc)}", where=at) from None
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict):
            raise UserError(
                f"document {i + 1} is not a mapping", where=where, hint="a Talos config is YAML maps separated by ---"
            )
    return docs


def document_identity(doc: dict[str, Any]) -> tuple[str, str, str]:
    """kind + apiVersion + name; the v1alpha1 root document has no kind, only `version`."""
    if "kind" not in doc:
        return ("v1alpha1", doc.get("version", "v1alpha1"), "")
    return (str(doc["kind"]), str(doc.get("apiVersion", "")), str(doc.get("name", "")))


def apply_patch(base: list[dict[str, Any]], patch: list[dict[str, Any]], where: str = "<patch>") -> list[dict[str, Any]]:
    """Strategic-merge `patch` documents into `base` documents; returns new documents, inputs untouched."""
    result = [copy.deepcopy(d) for d in base]
    seen: set[tuple[str, str, str]] = set()
    for doc in patch:
        ident = document_identity(doc)
        if ident in seen:
            raise UserError(f"patch touches document {_describe(ident)} twice", where=where)
        seen.add(ident)
        index = next((i for i, d in enumerate(result) if document_identity(d) == ident), None)
        if _is_delete(doc):
            if ident[0] == "v1alpha1":
                raise UserError("the v1alpha1 document cannot be deleted", where=where)
            if index is not None:
                del result[index]
            continue
        if index is None:
            result.append(_strip_directives(copy.deepcopy(doc)))
        else:
            result[index] = merge_value(result[index], doc, ())
    return result


def merge_value(base: Any, patch: Any, path: tuple[str, ...]) -> Any:
    """Merge one patch value into one base value at `path` (map keys from the document root)."""
    if isinstance(patch, dict) and isinstance(base, dict) and path not in REPLACED_PATHS:
        merged = dict(base)
        for key, value in patch.items():
            if key == PATCH_DIRECTIVE:
                continue
            if _is_delete(value):
                merged.pop(key, None)
            elif key in merged:
                merged[key] = merge_value(merged[key], value, (*path, key))
            else:
                merged[key] = _strip_directives(copy.deepcopy(value))
        return merged
    if isinstance(patch, list) and isinstance(base, list) and path not in REPLACED_PATHS:
        identity = KEYED_LISTS.get(path)
        if identity is not None:
            return _merge_keyed(base, patch, path, identity)
        return [*copy.deepcopy(base), *(_strip_directives(copy.deepcopy(v)) for v in patch if not _is_delete(v))]
    return _strip_directives(copy.deepcopy(patch))


def _merge_keyed(base: list[Any], patch: list[Any], path: tuple[str, ...], identity: Identity) -> list[Any]:
    merged = copy.deepcopy(base)
    for item in patch:
        key = identity(item) if isinstance(item, dict) else None
        index = next(
            (i for i, b in enumerate(merged) if key is not None and isinstance(b, dict) and identity(b) == key), None
        )
        if index is None:
            if not _is_delete(item):
                merged.append(_strip_directives(copy.deepcopy(item)))
        elif _is_delete(item):
            del merged[index]
        else:
            merged[index] = merge_value(merged[index], item, path)
    return merged


def _is_delete(value: Any) -> bool:
    return isinstance(value, dict) and value.get(PATCH_DIRECTIVE) == DELETE


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if k != PATCH_DIRECTIVE and not _is_delete(v)}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value if not _is_delete(v)]
    return value


def _describe(ident: tuple[str, str, str]) -> str:
    kind, api, name = ident
    return f"{kind}/{api}" + (f" {name!r}" if name else "")

"""Refuse inventory files Ansible must never be handed: YAML whose anchors and aliases expand into more data
than any inventory holds (billion laughs), files that are huge, not regular (a FIFO), have absurdly long lines
(Ansible tries its quadratic INI parser on them) or nest brackets deep enough to crash a recursive parser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import yaml

from migrate.bounds import check_text_shape, read_bytes_bounded
from migrate.errors import UserError

# a real inventory's largest var file expands to thousands of nodes; a million means an attack or an accident
MAX_EXPANDED_NODES = 1_000_000


def check_expansion(path: Path) -> None:
    """Bound the file, then compose (never construct) the YAML and count what alias expansion would produce."""
    text = read_bytes_bounded(path).decode(errors="replace")
    check_text_shape(text, str(path))
    if path.suffix not in ("", ".yml", ".yaml", ".json") or "*" not in text or "&" not in text:
        return  # no aliases: nothing can explode
    try:
        documents: list[yaml.Node | None] = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except (yaml.YAMLError, RecursionError):
        return  # Ansible reports syntax errors itself, with the line
    sizes: dict[int, int] = {}
    for doc in documents:
        if doc is None:
            continue
        for key, value in doc.value if isinstance(doc, yaml.MappingNode) else [(None, doc)]:
            if _size(value, sizes) > MAX_EXPANDED_NODES:
                name = getattr(key, "value", "a value")
                raise UserError(
                    f"{name} expands to more than {MAX_EXPANDED_NODES:,} values through YAML aliases (an alias bomb)",
                    where=f"{path}:{value.start_mark.line + 1}",
                    hint="write the value out, or use an anchor without nesting aliases inside aliases",
                )


def _size(node: yaml.Node, sizes: dict[int, int]) -> int:
    key = id(node)
    if key in sizes:  # an alias is the same node object again: count it without walking it again
        return sizes[key]
    sizes[key] = 1  # guards against recursive anchors
    if isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total = 1 + sum(_size(k, sizes) + _size(v, sizes) for k, v in node.value)
    else:
        total = 1
    sizes[key] = min(total, MAX_EXPANDED_NODES * 10)
    return sizes[key]


def check_inventory_files(sources: list[Path]) -> None:
    """Every file Ansible may load for these sources: the inventory itself, group_vars, host_vars (symlinked
    directories followed, as Ansible follows them)."""
    for source in sources:
        check_expansion(source)
        root = source.parent
        for directory in ("group_vars", "host_vars"):
            for path in _files_below(root / directory):
                if path.suffix in ("", ".yml", ".yaml", ".json"):
                    check_expansion(path)


def check_kubespray_checkout(root: Path) -> None:
    """The YAML a --kubespray-dir checkout gives us (the defaults role), bounded like an inventory's."""
    for role in ("kubespray_defaults", "kubespray-defaults"):
        for part in ("defaults", "vars"):
            for path in _files_below(root / "roles" / role / part):
                if path.suffix in (".yml", ".yaml", ".json"):
                    check_expansion(path)


def _files_below(top: Path) -> Iterator[Path]:
    """Files under `top`, through symlinked directories, each real directory once (a link loop ends)."""
    if not top.is_dir():
        return
    seen: set[str] = set()
    for current, dirs, files in os.walk(top, followlinks=True):
        real = os.path.realpath(current)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        for name in sorted(files):
            yield Path(current, name)

"""Refuse YAML whose anchors and aliases expand into more data than any inventory holds (billion laughs)."""

from __future__ import annotations

from pathlib import Path

import yaml

from migrate.errors import UserError

# a real inventory's largest var file expands to thousands of nodes; a million means an attack or an accident
MAX_EXPANDED_NODES = 1_000_000


def check_expansion(path: Path) -> None:
    """Compose (never construct) the YAML and count what alias expansion would produce."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return
    if "*" not in text or "&" not in text:
        return  # no aliases: nothing can explode
    try:
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
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
    """Every YAML file Ansible may load for these sources: the inventory itself, group_vars, host_vars."""
    for source in sources:
        root = source.parent
        candidates = [source] + [p for d in ("group_vars", "host_vars") if (root / d).is_dir() for p in (root / d).rglob("*")]
        for path in candidates:
            if path.is_file() and path.suffix in ("", ".yml", ".yaml", ".json"):
                check_expansion(path)

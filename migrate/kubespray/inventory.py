"""Loading a Kubespray inventory with Ansible's own machinery (InventoryManager, VariableManager)."""
# exercised by tests/kubespray/test_load.py and tests/kubespray/test_errors.py

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from migrate.errors import UserError
from migrate.kubespray.inventory_dir import directory_inventory
from migrate.kubespray.yaml_guard import check_inventory_files

# what Kubespray calls its groups now, and what older releases called them (reference/kubespray.md §a)
LEGACY_GROUPS = {
    "kube-master": "kube_control_plane",
    "kube-node": "kube_node",
    "k8s-cluster": "k8s_cluster",
    "calico-rr": "calico_rr",
    "no-floating": "no_floating",
}
CONTROL_PLANE, WORKERS, ETCD, CLUSTER, CALICO_RR = "kube_control_plane", "kube_node", "etcd", "k8s_cluster", "calico_rr"

# how users name their inventory file: a directory holding one of these is taken for an inventory (hints, diff)
INVENTORY_NAMES = ("hosts.yaml", "hosts.yml", "inventory.ini", "hosts.ini", "hosts", "inventory.yaml", "inventory.yml", "inventory")


@dataclass(frozen=True)
class LoadedInventory:
    sources: tuple[Path, ...]
    groups: dict[str, tuple[str, ...]]  # Kubespray's group names -> hosts in inventory order
    host_vars: dict[str, dict[str, Any]]  # host -> its variables with Ansible's precedence applied, unrendered
    loader: Any  # the ansible DataLoader, for the Templar
    warnings: tuple[str, ...]
    host_groups: dict[str, tuple[str, ...]]  # host -> its groups, lowest precedence first
    legacy_names: bool = False  # written with kube-master & co, i.e. for Kubespray 2.15 or older
    declared_groups: tuple[str, ...] = ()  # groups the inventory itself gives hosts (not ones we derived)

    def host_line(self, host: str) -> str:
        """Where a host is declared: the first line of a source that starts with its name."""
        pattern = re.compile(rf"^\s*{re.escape(host)}(\s|:|$)")
        for source in self.sources:
            for number, line in enumerate(_lines(source), start=1):
                if pattern.match(line):
                    return f"{_short(str(source))}:{number}"
        return f"host {host}"

    def locate(self, name: str, host: str) -> str | None:
        """file:line of the highest-precedence definition of `name` for `host`, by reading the var files."""
        root = self.sources[0].resolve().parent
        files = [self.sources[0].resolve()]
        for group in ("all", *self.host_groups.get(host, ())):
            files += _var_files(root / "group_vars", group)
        files += _var_files(root / "host_vars", host)
        found = None
        pattern = re.compile(rf"^\s*{re.escape(name)}\s*[:=]")
        for path in files:
            for number, line in enumerate(_lines(path), start=1):
                if pattern.match(line):
                    found = f"{path.relative_to(root)}:{number}"
        return found


def _var_files(base: Path, name: str) -> list[Path]:
    """The files Ansible reads for group_vars/<name> or host_vars/<name>: the first of dir, .yml, .yaml, .json."""
    for candidate in (base / name, base / f"{name}.yml", base / f"{name}.yaml", base / f"{name}.json"):
        if candidate.is_dir():
            return sorted(p for p in candidate.rglob("*") if p.is_file() and not p.name.startswith(".")
                          and not p.name.endswith("~") and p.suffix in ("", ".yml", ".yaml", ".json"))
        if candidate.is_file():
            return [candidate]
    return []


@lru_cache(maxsize=512)
def _lines(path: Path) -> list[str]:
    """A file's lines, read once per load (origins look up many names in the same few files)."""
    try:
        return path.read_text(errors="replace").splitlines()
    except OSError:
        return []


def inventory_sources(path: Path, vault_password_file: Path | None = None) -> tuple[list[Path], list[str]]:
    """The inventory file(s) `ansible-playbook -i PATH` loads, with notes about the files it would skip."""
    path = Path(path)
    if not path.exists():
        raise UserError("inventory not found", where=str(path), hint="pass the inventory directory you deploy with, e.g. inventory/mycluster")
    if path.is_file():
        return [path], []
    from migrate.kubespray.ansible_runtime import ansible_loader

    found = directory_inventory(path, ansible_loader(), vault_password_file)
    notes = [f"not loaded, as ansible-playbook would not: {why}" for why in found.skipped]
    if not found.files and found.unreadable:
        return [found.unreadable[0]], []  # nothing else to read: loading it says what is wrong, with its line
    if not found.files:
        nested = _nested_inventories(path)
        raise UserError(
            "no inventory file Ansible can read in this directory"
            + (f" ({'; '.join(found.skipped[:3])})" if found.skipped else ""),
            where=str(path),
            hint=f"inventories below it: {', '.join(nested)}" if nested
            else "pass the inventory directory you deploy with, or the inventory file itself",
        )
    return list(found.files), notes


def _nested_inventories(directory: Path, depth: int = 3) -> list[str]:
    """Inventory directories a few levels down (a repository root was given), for the hint."""
    found = []
    for sub in sorted(directory.rglob("*")):
        if sub.is_dir() and len(sub.relative_to(directory).parts) <= depth and any((sub / n).is_file() for n in INVENTORY_NAMES):
            found.append(str(sub))
    return found[:5]


def load_inventory(paths: list[Path], vault_password_file: Path | None = None) -> LoadedInventory:
    """Parse the inventory (several paths: like repeated -i) and compute every host's variables as ansible-playbook would."""
    from migrate.kubespray.ansible_runtime import (
        activate_vault,
        ansible_loader,
        ansible_warnings_collected,
        group_vars_read_once,
        vault_secrets,
    )

    _lines.cache_clear()  # files may have changed since the last load in this process
    sources: list[Path] = []
    warnings: list[str] = []
    for path in paths:
        found, notes = inventory_sources(path, vault_password_file)
        sources += found
        warnings += notes
    check_inventory_files(sources)
    loader = ansible_loader()
    secrets = vault_secrets(Path(vault_password_file)) if vault_password_file is not None else None
    if secrets:
        loader.set_vault_secrets(secrets)
    activate_vault(secrets)

    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.vars.manager import VariableManager

    with ansible_warnings_collected() as notices, group_vars_read_once():
        try:
            inventory = InventoryManager(loader=loader, sources=[str(s) for s in sources])
            _refuse_hosts_named_like_groups(inventory, sources)
            declared = sorted(g for g, group in inventory.groups.items() if g not in ("all", "ungrouped") and group.get_hosts())
            warnings += _unmatched_group_vars(sources, set(inventory.groups))
            groups = _kubespray_groups(inventory)
            _add_dynamic_groups(inventory, groups)
            variables = VariableManager(loader=loader, inventory=inventory)
            kube_hosts = _cluster_hosts(groups)
            host_vars = {
                name: variables.get_vars(host=inventory.get_host(name), include_hostvars=False, _hosts=[], _hosts_all=[])
                for name in kube_hosts
            }
        except AnsibleError as exc:
            raise _explain(notices.failures[0] if notices.failures else exc, sources[0], vault_password_file) from None
    warnings += [f"Ansible: {w}" for w in dict.fromkeys(notices.warnings)]  # Ansible repeats some per pass
    host_groups = {h: tuple(g.name for g in sorted(inventory.get_host(h).get_groups(), key=lambda g: (g.depth, g.priority, g.name))
                            if g.name != "all") for h in host_vars}
    legacy = any(name in LEGACY_GROUPS for name in inventory.groups)
    return LoadedInventory(tuple(sources), groups, host_vars, loader, tuple(warnings), host_groups, legacy, tuple(declared))


_KNOWN_GROUPS = set(LEGACY_GROUPS) | set(LEGACY_GROUPS.values()) | {ETCD, "bastion"}


def _refuse_hosts_named_like_groups(inventory: Any, sources: list[Path]) -> None:
    """`[etcd]` followed by `kube_control_plane` declares a HOST of that name: almost always a missing `:children`."""
    for host in inventory.hosts.values():
        if host.name in _KNOWN_GROUPS and host.name != "bastion":
            parents = sorted(g.name for g in host.get_groups() if g.name not in ("all", "ungrouped"))
            where = next((f"{_short(str(s))}:{n}" for s in sources for n, line in enumerate(_lines(s), 1)
                          if line.strip() == host.name), _short(str(sources[0])))
            raise UserError(
                f"{host.name!r} is declared as a host in [{', '.join(parents) or 'all'}], but it is a Kubespray group name",
                where=where,
                hint=f"to put the group's hosts there, write [{parents[0] if parents else 'group'}:children]",
            )


def _unmatched_group_vars(sources: list[Path], groups: set[str]) -> list[str]:
    """group_vars entries Ansible will silently never apply, e.g. k8s-cluster/ in an inventory using k8s_cluster."""
    notes = []
    for root in {s.resolve().parent for s in sources}:
        base = root / "group_vars"
        if not base.is_dir():
            continue
        for entry in sorted(base.iterdir()):
            name = entry.name if entry.is_dir() else entry.stem
            if entry.name.startswith(".") or (entry.is_file() and entry.suffix not in ("", ".yml", ".yaml", ".json")):
                continue
            if name in groups or name in ("all", *LEGACY_GROUPS.values()):
                continue
            twin = LEGACY_GROUPS.get(name)
            why = f" (this inventory names that group {twin})" if twin else ""
            notes.append(f"group_vars/{entry.name} matches no group in the inventory, so Ansible never applies it{why}")
    return notes


def _kubespray_groups(inventory: Any) -> dict[str, tuple[str, ...]]:
    """Group membership under today's names: legacy names merged in, k8s_cluster computed as Kubespray 2.27+ does."""
    groups: dict[str, dict[str, None]] = {}  # dicts as ordered sets: inventory order, O(1) membership
    for name, group in inventory.groups.items():
        members = groups.setdefault(LEGACY_GROUPS.get(name, name), {})
        members.update((str(host.name), None) for host in group.get_hosts())
    cluster = groups.setdefault(CLUSTER, {})
    for g in (CONTROL_PLANE, WORKERS, CALICO_RR):
        cluster.update(dict.fromkeys(groups.get(g, {})))
    return {g: tuple(hosts) for g, hosts in groups.items()}


def _add_dynamic_groups(inventory: Any, groups: dict[str, tuple[str, ...]]) -> None:
    """Create the groups Kubespray's group_by plays create, so group_vars/k8s_cluster/ & co apply as in a real run."""
    for name in (CONTROL_PLANE, WORKERS, CLUSTER, CALICO_RR, ETCD):
        members = groups.get(name, ())
        if not members:
            continue
        if name not in inventory.groups:
            inventory.add_group(name)
        present = {h.name for h in inventory.groups[name].get_hosts()}
        for host in members:
            if host not in present:
                inventory.add_host(host, group=name)
    inventory.reconcile_inventory()


def _cluster_hosts(groups: dict[str, tuple[str, ...]]) -> list[str]:
    ordered: dict[str, None] = {}
    for g in (CONTROL_PLANE, ETCD, WORKERS, CLUSTER):
        ordered.update(dict.fromkeys(groups.get(g, ())))
    return list(ordered)


def _explain(exc: BaseException, source: Path, vault_password_file: Path | None) -> UserError:
    """Turn Ansible's exception into one message that names the file and line and says what to do."""
    text = _first_line(getattr(exc, "message", None) or str(exc))
    origin = _origin_of(exc)
    if "no vault secrets" in text.lower() or "decrypt" in text.lower():
        if vault_password_file is None:
            return UserError(
                "this inventory holds Ansible Vault encrypted data and no vault password was given",
                where=origin or str(source),
                hint="pass --vault-password-file FILE (the file you give ansible-playbook)",
            )
        return UserError(
            "the vault password does not decrypt this file",
            where=origin or str(source),
            hint=f"check that {vault_password_file} holds the password this inventory was encrypted with",
        )
    yaml_problem = _yaml_problem(exc)
    if yaml_problem is not None:
        text, origin = yaml_problem[0], yaml_problem[1] or origin
    text = text if yaml_problem else (_root_cause(exc) or text)
    if origin is None or ":" not in origin.rsplit("/", 1)[-1]:
        origin = _ini_line_of(source, text) or origin
    return UserError(f"Ansible cannot read the inventory: {text}", where=origin or str(source),
                     hint="fix that line so that `ansible-inventory -i <it> --list` accepts it")


def _yaml_problem(exc: BaseException | None) -> tuple[str, str | None] | None:
    """A YAML syntax error in full: the context (with its line) and the problem, at the problem's line."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
        if mark is not None and problem:
            context = getattr(exc, "context", None)
            context_mark = getattr(exc, "context_mark", None)
            where_context = f" (line {context_mark.line + 1})" if context_mark is not None else ""
            text = f"{context}{where_context}: {problem}" if context else str(problem)
            path = mark.name if mark.name and not mark.name.startswith("<") else None
            return "YAML syntax: " + " ".join(text.split()), (f"{_short(path)}:{mark.line + 1}" if path else None)
        exc = exc.__cause__ or exc.__context__
    return None


def _root_cause(exc: BaseException | None) -> str | None:
    """The innermost message in the chain: the plugin's reason, not 'failed to parse'."""
    message = None
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = getattr(exc, "message", None) or str(exc)
        if text and "failed to parse" not in text.lower():
            message = _first_line(str(text))
        exc = exc.__cause__ or exc.__context__
    return message


def _ini_line_of(source: Path, reason: str) -> str | None:
    """Ansible's INI errors carry no line number: find the line its own host-line parser rejects."""
    if source.suffix in (".yml", ".yaml", ".json") or not source.is_file():
        return None
    from ansible._internal._datatag._tags import Origin
    from ansible.errors import AnsibleError
    from ansible.plugins.inventory.ini import InventoryModule

    parser = InventoryModule()
    parser._origin = Origin(path=str(source.resolve()), line_num=0)  # the plugin tags keys with it
    section = "hosts"
    for number, line in enumerate(_lines(source), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith((";", "#")):
            continue
        if stripped.startswith("["):
            section = "vars" if stripped.rstrip("]").endswith(":vars") else ("children" if ":children" in stripped else "hosts")
            continue
        if section != "hosts":
            continue
        try:
            parser._parse_host_definition(stripped)
        except AnsibleError:
            return f"{_short(str(source))}:{number}"
        except Exception:
            continue
    return None


def _first_line(text: str) -> str:
    return " ".join(text.strip().split("\n")[0].split())


def _origin_of(exc: BaseException | None) -> str | None:
    """file:line of the offending input, from Ansible's own error (or the exception it wraps)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        obj = getattr(exc, "obj", None)
        origin = getattr(exc, "_origin", None) or _tag_origin(obj)
        if origin is not None and getattr(origin, "path", None):
            line = getattr(origin, "line_num", None)
            return f"{_short(origin.path)}:{line}" if line else _short(origin.path)
        exc = exc.__cause__ or exc.__context__
    return None


def _short(path: str) -> str:
    """A path relative to where the user stands, when that is shorter."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _tag_origin(obj: Any) -> Any:
    if obj is None:
        return None
    from ansible._internal._datatag._tags import Origin

    return obj if isinstance(obj, Origin) else Origin.get_tag(obj)

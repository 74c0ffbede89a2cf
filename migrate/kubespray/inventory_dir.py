"""The files `ansible-playbook -i DIR` loads from an inventory directory, and why it leaves the others out.

Ansible walks the directory in name order (sub-directories too), skips hidden names, group_vars/, host_vars/
and its ignored extensions (.md, .txt, .cfg, .orig, .retry, ...; an ansible.cfg may add its own), and tries
every other file with its inventory plugins: INI and YAML alike, whatever the file is called. A file no plugin
can parse is skipped with a warning, so it is skipped here too and said once, in our words.
"""
# exercised by tests/kubespray/test_inventory_dir.py

from __future__ import annotations

import configparser
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrate.kubespray.ansible_runtime import ansible_warnings_collected
from migrate.kubespray.yaml_guard import check_expansion

ANSIBLE_CFG = "ansible.cfg"
# what Kubespray keeps beside an inventory (generated tokens and kubeconfigs, kubeadm patches): never inventories
KUBESPRAY_DIRS = frozenset({"credentials", "artifacts", "patches"})
_ALWAYS_IGNORED = (r"^\.", r"^host_vars$", r"^group_vars$", r"^vars_plugins$")  # Ansible's IGNORED_ALWAYS
# a password script named like one is the vault's, never an inventory (Ansible would run it as one and warn)
_VAULT_PASSWORD_NAME = re.compile(r"vault.*pass|pass.*vault", re.IGNORECASE)


@dataclass(frozen=True)
class DirectoryInventory:
    files: tuple[Path, ...]  # in the order Ansible parses them
    skipped: tuple[str, ...]  # "name: why" for the files Ansible would try and could not read
    unreadable: tuple[Path, ...] = ()  # those of them a plugin was tried on, in order


def directory_inventory(directory: Path, loader: Any, vault_password_file: Path | None = None) -> DirectoryInventory:
    """The inventory files in `directory` as ansible-playbook would load them (`loader`: Ansible's DataLoader)."""
    settings = _ansible_cfg(directory)
    ignored = _ignored(settings)
    vault_files = {p.resolve() for p in (vault_password_file, _cfg_path(directory, settings, "vault_password_file"))
                   if p is not None}
    files: list[Path] = []
    skipped: list[str] = []
    failed: list[Path] = []
    _walk(directory, directory, ignored, vault_files, loader, files, skipped, failed)
    return DirectoryInventory(tuple(files), tuple(skipped), tuple(failed))


def _walk(root: Path, directory: Path, ignored: re.Pattern[str], vault_files: set[Path], loader: Any,
          files: list[Path], skipped: list[str], failed: list[Path]) -> None:
    for name in sorted(os.listdir(directory)):
        path = directory / name
        if ignored.search(name) or name == ANSIBLE_CFG:
            continue
        if path.is_dir():
            if name not in KUBESPRAY_DIRS:
                _walk(root, path, ignored, vault_files, loader, files, skipped, failed)
            continue
        if path.resolve() in vault_files or _VAULT_PASSWORD_NAME.search(name):
            continue  # the vault's password (file or script): read through --vault-password-file, never parsed
        shown = path.relative_to(root).as_posix()
        if _is_script(path):
            skipped.append(f"{shown}: a script; an inventory script is not run (save its output to a file and pass that)")
            continue
        check_expansion(path)  # bounded before any parser sees it: a hostile file must not crash the reader
        reason = unreadable(path, loader)
        if reason is None:
            files.append(path)
        else:
            skipped.append(f"{shown}: not an inventory Ansible can read ({reason})")
            failed.append(path)


def unreadable(path: Path, loader: Any) -> str | None:
    """Why none of Ansible's file inventory plugins (yaml, ini, toml) parses `path`; None when one does.
    A vault-encrypted file counts as readable: the load itself then says a password is needed."""
    return _parse(path, loader)[1]


def declares_hosts(path: Path, loader: Any) -> bool:
    """Whether `path` parses as an inventory with at least one host (any YAML mapping parses, as empty groups)."""
    hosts, reason = _parse(path, loader)
    return reason is None and hosts != 0


def _parse(path: Path, loader: Any) -> tuple[int | None, str | None]:
    """(hosts found, None) when a plugin parses `path` (hosts None: vault-encrypted, not counted), else (0, why)."""
    from ansible import constants as C
    from ansible.inventory.data import InventoryData
    from ansible.plugins.loader import inventory_loader

    reasons = []
    source = str(path.resolve())  # the plugins tag what they read with its origin, which must be absolute
    for name in C.INVENTORY_ENABLED:
        plugin = inventory_loader.get(name)
        if plugin is None or not plugin.verify_file(source):
            continue
        data = InventoryData()
        try:
            with ansible_warnings_collected():  # the real load reports them, once, in our words
                plugin.parse(data, loader, source, cache=False)
            return len(data.hosts), None
        except Exception as exc:  # noqa: BLE001 - Ansible's plugins raise anything; each reason is reported
            text = " ".join(str(getattr(exc, "message", None) or exc).split())
            if "vault" in text.lower() or "decrypt" in text.lower():
                return None, None
            reasons.append(f"{name}: {text[:160]}")
    return 0, "; ".join(reasons) or "no inventory plugin accepts it"


def _is_script(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(2) == b"#!"
    except OSError:
        return False


def _ansible_cfg(directory: Path) -> configparser.ConfigParser:
    """The ansible.cfg kept with the inventory (ansible-playbook reads the one where it runs: usually that one)."""
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";", "#"))
    for candidate in (directory / ANSIBLE_CFG, directory.parent / ANSIBLE_CFG):
        if candidate.is_file():
            try:
                parser.read(candidate, encoding="utf-8")
            except (configparser.Error, UnicodeDecodeError):
                return configparser.ConfigParser()
            parser.set("DEFAULT", "__dir__", str(candidate.parent))
            break
    return parser


def _cfg_value(settings: configparser.ConfigParser, *keys: tuple[str, str]) -> str | None:
    for section, key in keys:
        if settings.has_section(section) and settings.has_option(section, key):
            return settings.get(section, key)
    return None


def _cfg_path(directory: Path, settings: configparser.ConfigParser, key: str) -> Path | None:
    value = _cfg_value(settings, ("defaults", key))
    if not value:
        return None
    base = Path(settings.get("DEFAULT", "__dir__", fallback=str(directory)))
    return base / os.path.expanduser(value.strip())


def _ignored(settings: configparser.ConfigParser) -> re.Pattern[str]:
    """Ansible's IGNORED regex: always-ignored names, ignore patterns, ignored extensions (ansible.cfg's or the default)."""
    from ansible import constants as C

    extensions = _cfg_value(settings, ("defaults", "inventory_ignore_extensions"), ("inventory", "ignore_extensions"))
    patterns = _cfg_value(settings, ("defaults", "inventory_ignore_patterns"), ("inventory", "ignore_patterns"))
    ext_list = [e.strip() for e in extensions.split(",")] if extensions else list(C.INVENTORY_IGNORE_EXTS)
    pattern_list = [p.strip() for p in patterns.split(",")] if patterns else list(C.INVENTORY_IGNORE_PATTERNS)
    parts = [*_ALWAYS_IGNORED, *(p for p in pattern_list if p), *(f"{re.escape(e)}$" for e in ext_list if e)]
    return re.compile("|".join(parts))

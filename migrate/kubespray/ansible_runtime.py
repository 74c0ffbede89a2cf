"""Ansible configured the way this reader needs it: strict about unparsable inventories, quiet, plugins loaded once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from migrate.errors import UserError


@lru_cache(maxsize=1)
def _configure() -> None:
    from ansible import constants as C
    from ansible.plugins.loader import init_plugin_loader

    C.INVENTORY_ENABLED = ["yaml", "ini", "toml"]  # never execute an inventory script just to read it
    C.INVENTORY_UNPARSED_IS_FAILED = True
    C.INVENTORY_ANY_UNPARSED_IS_FAILED = True  # a file Ansible cannot parse is an error, not a warning
    C.DEPRECATION_WARNINGS = False
    C.LOCALHOST_WARNING = False
    C.TRANSFORM_INVALID_GROUP_CHARS = "ignore"  # kube-master & co are valid Kubespray names, not a problem to warn about
    init_plugin_loader()


def ansible_loader() -> Any:
    _configure()
    from ansible.parsing.dataloader import DataLoader

    return DataLoader()


def vault_secrets(password_file: Path) -> list[tuple[str, Any]]:
    from ansible.parsing.vault import VaultSecret

    try:
        password = Path(password_file).read_bytes().strip()
    except OSError as exc:
        raise UserError(f"cannot read the vault password file: {exc.strerror}", where=str(password_file)) from None
    if not password:
        raise UserError("the vault password file is empty", where=str(password_file))
    return [("default", VaultSecret(password))]


@contextmanager
def ansible_warnings_collected() -> Iterator[list[str]]:
    """Collect what Ansible would print as warnings, so they reach the user once, in our words' company."""
    from ansible.utils.display import Display

    display = Display()
    collected: list[str] = []
    original = display.warning
    display.warning = lambda msg, *a, **k: collected.append(" ".join(str(msg).split()))  # type: ignore[method-assign]
    try:
        yield collected
    finally:
        display.warning = original  # type: ignore[method-assign]

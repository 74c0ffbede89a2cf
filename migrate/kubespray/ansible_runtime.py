"""Ansible configured the way this reader needs it: strict about unparsable inventories, quiet, plugins loaded once."""
# exercised by tests/kubespray/test_load.py

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from migrate.errors import UserError
from migrate.redact import redact_text


@lru_cache(maxsize=1)
def _configure() -> None:
    from ansible import constants as C
    from ansible.plugins.loader import init_plugin_loader

    C.INVENTORY_ENABLED = ["yaml", "ini", "toml"]  # never execute an inventory script just to read it
    C.INVENTORY_UNPARSED_IS_FAILED = True
    C.INVENTORY_ANY_UNPARSED_IS_FAILED = True  # a file Ansible cannot parse is an error, not a warning
    C.DEPRECATION_WARNINGS = False
    C.INJECT_FACTS_AS_VARS = False  # no facts are gathered offline; cleaning the empty set costs 0.5 ms a host
    C.LOCALHOST_WARNING = False
    C.TRANSFORM_INVALID_GROUP_CHARS = "ignore"  # kube-master & co are valid Kubespray names, not a problem to warn about
    init_plugin_loader()


def ansible_loader() -> Any:
    _configure()
    from ansible.parsing.dataloader import DataLoader

    return DataLoader()


def activate_vault(secrets: list[tuple[str, Any]] | None) -> None:
    """Inline !vault values decrypt through a process-wide context, as ansible-playbook sets it at start-up;
    set per load here, so two inventories with different passwords can be read in one process."""
    from ansible.parsing.vault import VaultSecretsContext

    VaultSecretsContext._current = VaultSecretsContext(secrets) if secrets else None


def vault_secrets(password_file: Path) -> list[tuple[str, Any]]:
    """The vault password the way ansible-playbook gets it: an executable file is a script whose output is the
    password (its -client form is asked for the vault id), any other file holds it as text."""
    from ansible.errors import AnsibleError
    from ansible.parsing.vault import get_file_vault_secret

    path = Path(password_file)
    if not path.is_file():
        raise UserError("the vault password file is not a regular file" if path.exists()
                        else "the vault password file does not exist", where=str(path),
                        hint="pass the file you give ansible-playbook --vault-password-file")
    try:
        secret = get_file_vault_secret(filename=str(path), vault_id="default", loader=ansible_loader())
        secret.load()
    except AnsibleError as exc:
        text = " ".join(str(getattr(exc, "message", None) or exc).split())
        raise UserError(f"the vault password file gave no password: {redact_text(text)[:300]}", where=str(path),
                        hint="run the script by hand: it must print the password and exit 0") from None
    if not secret.bytes:
        raise UserError("the vault password file is empty", where=str(path))
    return [("default", secret)]


@dataclass
class AnsibleNotices:
    """What Ansible would have printed: plain warnings, and parse failures with their exceptions."""

    warnings: list[str] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)


@contextmanager
def ansible_warnings_collected() -> Iterator[AnsibleNotices]:
    """Collect what Ansible would print, so the user sees it once, in our words, with file and line."""
    from ansible.utils.display import Display

    display = Display()
    notices = AnsibleNotices()
    original = display.warning, display.error_as_warning
    display.warning = lambda msg, *a, **k: notices.warnings.append(" ".join(str(msg).split()))
    display.error_as_warning = lambda msg, exception, **k: notices.failures.append(exception)
    try:
        yield notices
    finally:
        display.warning, display.error_as_warning = original


@contextmanager
def group_vars_read_once() -> Iterator[None]:
    """Within one load, group_vars plugin results depend only on the groups: compute them once, not once per host.

    VariableManager asks the vars plugins for the same groups for every host (0.2 ms a call, three calls a host);
    files do not change during a load, so the answer for a set of groups is reused. Host entities pass through.
    """
    import ansible.vars.manager as manager
    from ansible.inventory.group import Group

    original = manager.get_vars_from_inventory_sources
    answers: dict[tuple[object, ...], Any] = {}

    def remembered(loader: Any, sources: Any, entities: Any, stage: Any) -> Any:
        if not all(isinstance(e, Group) for e in entities):
            return original(loader, sources, entities, stage)
        key = (tuple(sources), tuple(e.name for e in entities), stage)
        if key not in answers:
            answers[key] = original(loader, sources, entities, stage)
        return answers[key]

    manager.get_vars_from_inventory_sources = remembered
    try:
        yield
    finally:
        manager.get_vars_from_inventory_sources = original

"""Rendering Kubespray's Jinja with Ansible's own Templar, as Kubespray's era of Ansible did."""
# exercised by tests/kubespray/test_load.py and tests/kubespray/test_errors.py

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

# ansible.utils network filters that inventories of 2019-2023 call by their short names
_SHORT_FILTERS = (
    "ipaddr", "ipv4", "ipv6", "ipwrap", "ipmath", "ipsubnet", "next_nth_usable", "previous_nth_usable",
    "nthhost", "network_in_network", "network_in_usable", "reduce_on_network", "cidr_merge", "hwaddr",
    "macaddr", "ip4_hex", "slaac", "ipaddr_network", "usable_range",
)


# filters and tests that only compute: Jinja's own, ansible-core's (ansible.builtin) and ansible.utils' network ones.
# Anything else (community.sops.decrypt runs a binary named by its argument) is refused while reading an inventory.
_PURE_NAMESPACES = ("ansible.builtin.", "ansible.utils.")


@lru_cache(maxsize=1)
def _pure_names() -> dict[str, frozenset[str]]:
    import importlib

    from jinja2 import Environment

    plain = Environment()  # Jinja's own filters and tests: pure functions of their arguments
    filters, tests = set(plain.filters) | set(_SHORT_FILTERS), set(plain.tests)
    for module in ("core", "mathstuff", "urls", "urlsplit", "encryption"):
        filters |= set(importlib.import_module(f"ansible.plugins.filter.{module}").FilterModule().filters())
    for module in ("core", "files", "mathstuff", "uri"):
        tests |= set(importlib.import_module(f"ansible.plugins.test.{module}").TestModule().tests())
    return {"filter": frozenset(filters), "test": frozenset(tests)}


def is_pure(kind: str, name: str) -> bool:
    """True for a filter/test that only computes (no program run, no file written, no network)."""
    return name.startswith(_PURE_NAMESPACES) or name in _pure_names()[kind]


class NotPure(Exception):
    """A template calls a filter or test that is not known to be pure."""


# lookups that only read: anything else may write files (password) or run commands (pipe) on the operator's machine
SAFE_LOOKUPS = frozenset({"env", "file", "vars", "first_found", "ansible.builtin.env", "ansible.builtin.file",
                          "ansible.builtin.vars", "ansible.builtin.first_found"})


class Undefined(Exception):
    """A template refers to a variable nothing defines."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TemplateError(Exception):
    """A template Jinja cannot parse or evaluate."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@lru_cache(maxsize=1)
def _short_filter_functions() -> dict[str, Any]:
    from ansible.plugins.loader import filter_loader

    functions = {}
    for name in _SHORT_FILTERS:
        plugin = filter_loader.get(f"ansible.utils.{name}")
        if plugin is not None:
            functions[name] = plugin.j2_function
    return functions


class Renderer:
    """Renders values against one set of variables; nested references resolve lazily, as in a play."""

    def __init__(self, loader: Any, variables: dict[str, Any], files_under: Path | None = None):
        from ansible.template import Templar

        self._templar = Templar(loader=loader, variables=variables)
        environment = getattr(self._templar, "_engine", self._templar).environment
        for name, function in _short_filter_functions().items():
            environment.filters[name] = function
        environment.filters = _pure_only(environment.filters, "filter")
        environment.tests = _pure_only(environment.tests, "test")
        for name in ("lookup", "query", "q"):
            environment.globals[name] = _read_only(environment.globals[name], files_under)

    def render(self, value: Any) -> Any:
        from ansible.errors import AnsibleError, AnsibleUndefinedVariable

        try:
            with _time_limit(RENDER_SECONDS):
                return plain(self._templar.template(value))
        except _TooSlow:
            raise TemplateError(f"rendering took more than {RENDER_SECONDS} s (an expression that grows "
                                "exponentially?); write the value out") from None
        except AnsibleUndefinedVariable as exc:
            raise Undefined(_one_line(exc)) from None
        except AnsibleError as exc:
            refused = _refused_plugin(exc)
            raise TemplateError(refused or _one_line(exc)) from None


RENDER_SECONDS = 5  # one setting's Jinja; real ones render in milliseconds


class _TooSlow(BaseException):
    """Raised by the timer inside a render; a BaseException so that no `except Exception` in Jinja swallows it."""


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """SIGALRM-based limit on the main thread (where the CLI renders); no limit elsewhere."""
    if threading.current_thread() is not threading.main_thread() or signal.getitimer(signal.ITIMER_REAL)[0]:
        yield
        return

    def expired(_signum: int, _frame: Any) -> None:
        raise _TooSlow()

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _pure_only(plugins: Any, kind: str) -> Any:
    """The environment's filter/test mapping, answering only for pure plugins: others are 'not found' to Jinja."""
    from ansible._internal._templating._errors import AnsibleTemplatePluginNotFoundError

    class PureOnly(type(plugins)):  # type: ignore[misc]
        def __getitem__(self, key: str) -> Any:
            if not is_pure(kind, str(key)):
                raise AnsibleTemplatePluginNotFoundError(kind, f"{key} (refused: not known to be pure)")
            return super().__getitem__(key)

    plugins.__class__ = PureOnly
    return plugins


def _refused_plugin(exc: Exception) -> str | None:
    """Ansible's message for a refused filter/test, said as what it is."""
    import re

    text = " ".join(str(getattr(exc, "message", None) or exc).split())
    match = re.search(r"No (filter|test) named '([^']+)'", text) or re.search(r"(filter|test) plugin '([^' ]+) \(refused", text)
    if match and not is_pure(match.group(1), match.group(2)):
        return (f"{match.group(1)} '{match.group(2)}' is not run while reading an inventory: only filters and tests known "
                f"to be pure are (ansible.builtin, ansible.utils, Jinja's own); another one could run a program")
    return None


_FILE_LOOKUPS = frozenset({"file", "ansible.builtin.file"})


def _read_only(lookup: Any, files_under: Path | None) -> Any:
    """Reading an inventory must not write credentials files or run commands: only reading lookups run, and
    file lookups only read inside the inventory's directory (not ~/.kube/config into a CI log)."""

    def guarded(name: str, *args: Any, **kwargs: Any) -> Any:
        from ansible.errors import AnsibleError

        if str(name) not in SAFE_LOOKUPS:
            raise AnsibleError(f"lookup('{name}') is not run while reading an inventory (it can write files or run commands)")
        if str(name) in _FILE_LOOKUPS and files_under is not None:
            args = tuple(_inside(files_under, str(term), AnsibleError) for term in args)
        return lookup(name, *args, **kwargs)

    return guarded


def _inside(root: Path, term: str, error: type[Exception]) -> str:
    """The absolute path a file lookup reads, refused when it resolves outside `root`."""
    path = Path(term).expanduser()
    real = Path(os.path.realpath(path if path.is_absolute() else root / path))
    top = Path(os.path.realpath(root))
    if top not in real.parents:
        raise error(f"lookup('file', '{term}') is not run while reading an inventory: it reads only files inside "
                    f"the inventory directory {root}")
    return str(real)


def is_template(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(is_template(v) for v in value.values())
    if isinstance(value, list):
        return any(is_template(v) for v in value)
    return False


def plain(value: Any) -> Any:
    """Strip Ansible's tagged types so the value is ordinary Python data."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def _one_line(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return " ".join(str(text).split("\n")[0].split())

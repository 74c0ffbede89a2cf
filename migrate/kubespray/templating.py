"""Rendering Kubespray's Jinja with Ansible's own Templar, as Kubespray's era of Ansible did."""
# exercised by tests/kubespray/test_load.py and tests/kubespray/test_errors.py

from __future__ import annotations

from functools import lru_cache
from typing import Any

# ansible.utils network filters that inventories of 2019-2023 call by their short names
_SHORT_FILTERS = (
    "ipaddr", "ipv4", "ipv6", "ipwrap", "ipmath", "ipsubnet", "next_nth_usable", "previous_nth_usable",
    "nthhost", "network_in_network", "network_in_usable", "reduce_on_network", "cidr_merge", "hwaddr",
    "macaddr", "ip4_hex", "slaac", "ipaddr_network", "usable_range",
)


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

    def __init__(self, loader: Any, variables: dict[str, Any]):
        from ansible.template import Templar

        self._templar = Templar(loader=loader, variables=variables)
        environment = getattr(self._templar, "_engine", self._templar).environment
        for name, function in _short_filter_functions().items():
            environment.filters[name] = function
        for name in ("lookup", "query", "q"):
            environment.globals[name] = _read_only(environment.globals[name])

    def render(self, value: Any) -> Any:
        from ansible.errors import AnsibleError, AnsibleUndefinedVariable

        try:
            return plain(self._templar.template(value))
        except AnsibleUndefinedVariable as exc:
            raise Undefined(_one_line(exc)) from None
        except AnsibleError as exc:
            raise TemplateError(_one_line(exc)) from None


def _read_only(lookup: Any) -> Any:
    """Reading an inventory must not write credentials files or run commands: only reading lookups run."""

    def guarded(name: str, *args: Any, **kwargs: Any) -> Any:
        if str(name) not in SAFE_LOOKUPS:
            from ansible.errors import AnsibleError

            raise AnsibleError(f"lookup('{name}') is not run while reading an inventory (it can write files or run commands)")
        return lookup(name, *args, **kwargs)

    return guarded


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

"""Effective values of Kubespray variables, with where each came from.

Layers, lowest first, as Kubespray's plays see them: role defaults < the inventory (Ansible's own
precedence, computed by VariableManager) < kubespray-defaults role vars. Cluster-wide values are
rendered once, on the first control plane (where Kubespray renders kubeadm's config); host values per host.
"""
# exercised by tests/kubespray/test_load.py and tests/kubespray/test_errors.py

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrate.errors import UserError
from migrate.kubespray.defaults import KubesprayDefaults
from migrate.kubespray.inventory import LoadedInventory
from migrate.kubespray.settings import SECRET_SETTINGS
from migrate.kubespray.templating import Renderer, TemplateError, Undefined, is_template, plain
from migrate.redact import is_secret_name

UNDEFINED = "undefined"
_MISSING = object()


@dataclass(frozen=True)
class Setting:
    name: str
    value: Any
    origin: str  # "group_vars/k8s_cluster/k8s-cluster.yml:12", "Kubespray v2.27 default (...)", or "undefined"
    secret: bool = False
    area: str = ""

    @property
    def defined(self) -> bool:
        return self.origin != UNDEFINED


class Resolution:
    """The variables of one host, rendered on demand and remembered."""

    def __init__(self, inventory: LoadedInventory, defaults: KubesprayDefaults, host: str,
                 shared: HostTemplates | None = None):
        self.inventory = inventory
        self.defaults = defaults
        self.host = host
        self._inventory_vars = inventory.host_vars[host]
        self.variables = {**defaults.defaults, **self._inventory_vars, **defaults.role_vars}
        self._renderer: Renderer | None = None
        self._shared = shared
        self._cache: dict[str, Any] = {}
        self.warnings: list[str] = []
        self._root = inventory.sources[0].resolve().parent

    @property
    def files_under(self) -> Path:
        """Where file lookups may read: the inventory's directory."""
        return self._root

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:  # built lazily: most hosts only need literal values
            self._renderer = Renderer(self.inventory.loader, self.variables, self.files_under)
        return self._renderer

    def defined(self, name: str) -> bool:
        return name in self.variables

    def inventory_template_names(self) -> list[str]:
        """Variables the inventory itself sets to a Jinja expression (group_vars, host vars)."""
        return sorted(n for n, v in self._inventory_vars.items() if n in self.variables and is_template(v))

    def set_by_inventory(self, name: str) -> bool:
        return name in self._inventory_vars and name not in self.defaults.role_vars

    def raw(self, name: str) -> Any:
        return self.variables.get(name)

    def value(self, name: str, default: Any = None, *, needed: bool = True) -> Any:
        """The rendered value; an undefined reference is an error for a needed setting, else a warning."""
        if name in self._cache:
            return self._cache[name]
        raw = self.variables.get(name, _MISSING)
        if raw is _MISSING:
            return default
        if is_vaulted(raw) and not needed:
            return "<vaulted>"
        try:
            if self._shared is not None and is_template(raw) and name not in self._inventory_vars:
                value = self._shared.render(self, name, raw)
            else:
                value = self.renderer.render(raw) if is_template(raw) or is_vaulted(raw) else plain(raw)
        except (Undefined, TemplateError) as exc:
            if needed:
                if "rendering took more than" not in exc.message:  # never pay a slow render twice
                    self._blame_a_reference(name, raw)  # the variable the user wrote is a better culprit than a derived one
                raise self._template_problem(name, raw, exc) from None
            # Kubespray's own fact-based defaults are expected not to render offline, nor refused lookups (credentials)
            if name in self._inventory_vars and "is not run while reading" not in exc.message:
                self.warnings.append(f"{self.origin(name)}: {name} cannot be rendered ({exc.message}); the migration does not need it")
            value = default
        self._cache[name] = value
        return value

    def where(self, name: str) -> str:
        """origin() for an error message: file paths as the user can open them from where they stand."""
        origin = self.origin(name)
        head = origin.split(":")[0]
        if (self._root / head).is_file():
            return str(_from_cwd(self._root / head)) + origin[len(head):]
        return origin

    def _blame_a_reference(self, name: str, raw: Any) -> None:
        from migrate.kubespray.defaults import references

        for ref in sorted(references(raw)):
            if ref != name and self.defined(ref):
                self.value(ref)  # raises the inner variable's own error, if it has one

    def _template_problem(self, name: str, raw: Any, exc: Undefined | TemplateError) -> UserError:
        if "is not run while reading" in exc.message:
            return UserError(f"{name}: {exc.message}", where=self.where(name),
                             hint="give this setting a literal value in the inventory")
        if "vault" in exc.message.lower() or "decrypt" in exc.message.lower():
            return UserError(f"{name} is vault-encrypted and no (or a wrong) vault password was given",
                             where=self.where(name), hint="pass --vault-password-file FILE")
        kind = "refers to an undefined variable" if isinstance(exc, Undefined) else "has a Jinja error"
        return UserError(
            f"{name} {kind}: {exc.message}",
            where=self.where(name),
            hint="define the missing variable in group_vars, or give this setting a literal value"
            if isinstance(exc, Undefined)
            else "fix the expression so that Ansible can render it",
        )

    def origin(self, name: str) -> str:
        """Where the effective value of `name` was set."""
        if name in self.defaults.role_vars:
            return f"Kubespray {self.defaults.release.name} role vars (outrank the inventory)"
        if name in self._inventory_vars:
            return self._inventory_origin(name, self._inventory_vars[name])
        if name in self.defaults.defaults:
            return self.defaults.origin(name)
        return UNDEFINED

    def _inventory_origin(self, name: str, raw: Any) -> str:
        from ansible._internal._datatag._tags import Origin

        tag = Origin.get_tag(raw)
        # booleans and numbers carry no origin tag, and a mapping's tag is its first child's line: find the key's line
        if tag is None or not tag.path or isinstance(raw, (dict, list)):
            return self.inventory.locate(name, self.host) or f"inventory {self.inventory.sources[0].name}"
        path = Path(tag.path)
        try:
            path = path.relative_to(self._root)
        except ValueError:
            pass
        return f"{path}:{tag.line_num}" if tag.line_num else str(path)

    def setting(self, name: str, area: str) -> Setting:
        origin = self.origin(name)
        if origin == UNDEFINED:
            return Setting(name, None, origin, name in SECRET_SETTINGS, area)
        raw = self.raw(name)
        # secret by the list, by vault, or by a secret's name on a text value (kubeadm_token; not a boolean switch)
        secret = name in SECRET_SETTINGS or is_vaulted(raw) or (is_secret_name(name) and isinstance(raw, str) and raw != "")
        value = "<redacted>" if secret else self.value(name, needed=False)
        return Setting(name, value, origin, secret, area)


class HostTemplates:
    """Kubespray defaults that vary per host only through inventory_hostname, rendered once for all hosts.

    The template is rendered with two stand-in host names; when the results differ only by that name, the
    value for any host is the first result with its name put in. Anything else renders per host, as before.
    """

    _A, _B = "ks2t-host-a.invalid", "ks2t-host-b.invalid"

    def __init__(self) -> None:
        self._patterns: dict[tuple[str, Any], str | None] = {}

    def render(self, r: Resolution, name: str, raw: Any) -> Any:
        from migrate.kubespray.defaults import references

        refs = references(raw)
        if "inventory_hostname_short" in refs or any(not isinstance(r.variables.get(x), (str, int, bool, type(None)))
                                                     for x in refs - {"inventory_hostname"}):
            return r.renderer.render(raw)
        key = (name, tuple(sorted((x, repr(r.variables.get(x))) for x in refs - {"inventory_hostname"})))
        if key not in self._patterns:
            self._patterns[key] = self._pattern(r, raw)
        pattern = self._patterns[key]
        if pattern is None:
            return r.renderer.render(raw)
        return pattern.replace(self._A, r.host)

    def _pattern(self, r: Resolution, raw: Any) -> str | None:
        first = Renderer(r.inventory.loader, {**r.variables, "inventory_hostname": self._A}, r.files_under).render(raw)
        second = Renderer(r.inventory.loader, {**r.variables, "inventory_hostname": self._B}, r.files_under).render(raw)
        if isinstance(first, str) and isinstance(second, str) and first.replace(self._A, self._B) == second:
            return first
        return None


def _from_cwd(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def is_vaulted(raw: Any) -> bool:
    return type(raw).__name__ in ("EncryptedString", "AnsibleVaultEncryptedUnicode")


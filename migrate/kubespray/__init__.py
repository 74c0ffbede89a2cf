"""Reading a Kubespray inventory into the cluster's effective settings and a ClusterSpec.

    resolved = load_cluster("inventory/mycluster")
    resolved.spec       # ClusterSpec: the cluster as Kubespray deployed it
    resolved.settings   # every Kubespray variable we read: value and where it came from
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import version as installed_version
from pathlib import Path

from migrate.errors import UserError
from migrate.kubespray.defaults import KubesprayDefaults, bundled, from_checkout
from migrate.kubespray.inventory import LoadedInventory, load_inventory
from migrate.kubespray.model import build_spec, require_control_plane
from migrate.kubespray.releases import RELEASES, release_for_kube_version, release_named, upgrade_path
from migrate.kubespray.resolve import HostTemplates, Resolution, Setting, is_vaulted
from migrate.kubespray.retired import ansible_finding, ansible_range, retired_findings, retired_variables
from migrate.kubespray.settings import HOST_SETTINGS, SETTINGS
from migrate.kubespray.yaml_guard import check_kubespray_checkout
from migrate.mapping.finding import Finding
from migrate.spec import ClusterSpec

__all__ = ["ResolvedCluster", "Setting", "load_cluster"]


@dataclass(frozen=True)
class ResolvedCluster:
    spec: ClusterSpec
    settings: dict[str, Setting]
    release: str  # "v2.27"
    release_reason: str
    sources: tuple[Path, ...]
    groups: dict[str, tuple[str, ...]]
    hosts: dict[str, dict[str, object]]  # inventory host -> its host settings (ip, access_ip, ...) as written
    reference_host: str
    warnings: tuple[str, ...]
    # the first control plane's variables as the inventory wrote them (secrets included): in memory only,
    # for comparing secret settings by fingerprint; never printed, never part of equality
    inventory_vars: dict[str, object] = field(default_factory=dict, repr=False, compare=False)
    # what Kubespray's own checks would say of this inventory: renamed variables, its Ansible range
    findings: tuple[Finding, ...] = ()

    @property
    def kubespray_ansible(self) -> str | None:
        """The ansible-core range the release's playbooks assert (">=2.18.0,<2.19.0"), None when not known."""
        wanted = ansible_range(release_named(self.release))
        return str(wanted) if wanted else None

    def kubespray_upgrade(self, target: str) -> list[tuple[str, str]]:
        """The Kubespray releases that step the cluster's Kubernetes up to `target`'s minor, one minor each."""
        wanted = target.lstrip("v").split(".")
        return upgrade_path(self.spec.kubernetes_version, (int(wanted[0]), int(wanted[1])))


def load_cluster(
    inventory_path: str | Path | list[str | Path],
    kubespray_version: str | None = None,
    kubespray_dir: str | Path | None = None,
    vault_password_file: str | Path | None = None,
    observed_addresses: Mapping[str, str] | None = None,
) -> ResolvedCluster:
    """`observed_addresses`: host or node name -> the address it has at run time (facts, the Node's InternalIP),
    used where the inventory sets no ip, as Kubespray falls back to the host's default IPv4 address."""
    paths = [Path(p) for p in inventory_path] if isinstance(inventory_path, (list, tuple)) else [Path(inventory_path)]
    inventory = load_inventory(paths, Path(vault_password_file) if vault_password_file else None)
    reference = require_control_plane(inventory)
    defaults, reason = _choose_defaults(inventory, reference, kubespray_version, kubespray_dir)
    guessed = not (kubespray_version or kubespray_dir)
    shared = HostTemplates()
    cluster = Resolution(inventory, defaults, reference, shared)
    if vault_password_file:
        _check_inline_vault(cluster, Path(vault_password_file))
    hosts = {h: cluster if h == reference else Resolution(inventory, defaults, h, shared) for h in inventory.host_vars}
    spec = build_spec(inventory, cluster, hosts, observed_addresses)
    settings = {name: cluster.setting(name, area) for name, area in SETTINGS.items() if name not in HOST_SETTINGS}
    settings.update(_host_settings(hosts))
    _render_inventory_templates(cluster)
    warnings = list(inventory.warnings) + ([reason] if guessed else [])
    for r in hosts.values():
        warnings.extend(w for w in r.warnings if w not in warnings)
    effective = {name: setting.value for name, setting in settings.items()}
    reference_vars = inventory.host_vars[reference]
    retired = retired_variables(inventory.host_vars, defaults.release,
                                lambda name: cluster.origin(name) if name in reference_vars else "", effective)
    findings = retired_findings(retired, defaults.release)
    ansible = ansible_finding(defaults.release, installed_version("ansible-core"))
    return ResolvedCluster(
        spec=spec,
        settings=settings,
        release=defaults.release.label,
        release_reason=reason,
        sources=inventory.sources,
        groups=inventory.groups,
        hosts={h: {v: r.value(v, needed=False) for v in sorted(HOST_SETTINGS) if r.set_by_inventory(v)} for h, r in hosts.items()},
        reference_host=reference,
        warnings=tuple(warnings),
        inventory_vars=inventory.host_vars[reference],
        findings=tuple(findings) + ((ansible,) if ansible else ()),
    )


def _choose_defaults(inventory: LoadedInventory, reference: str, version: str | None, checkout: str | Path | None) -> tuple[KubesprayDefaults, str]:
    if version and checkout:
        raise UserError("give either --kubespray-version or --kubespray-dir, not both")
    if checkout:
        check_kubespray_checkout(Path(checkout))
        defaults = from_checkout(Path(checkout))
        return defaults, f"Kubespray {defaults.release.name} defaults read from {checkout}"
    if version:
        release = release_named(version)
        return bundled(release), f"Kubespray {release.label} (from --kubespray-version)"
    raw = inventory.host_vars[reference].get("kube_version")
    if (raw is None or "{{" in str(raw)) and inventory.legacy_names:
        oldest = RELEASES[0]
        return bundled(oldest), (f"no kube_version in the inventory and legacy group names (kube-master): assuming the oldest "
                                 f"known release {oldest.name}; pass --kubespray-version to be exact")
    release, reason = release_for_kube_version(str(raw) if raw is not None and "{{" not in str(raw) else "")
    return bundled(release), reason


def _host_settings(hosts: dict[str, Resolution]) -> dict[str, Setting]:
    """Host variables as one setting each: host -> value, for hosts whose inventory sets it."""
    out = {}
    for name in sorted(HOST_SETTINGS & set(SETTINGS)):
        values = {h: r.value(name, needed=False) for h, r in hosts.items() if r.set_by_inventory(name)}
        origin = "host variables" if values else "undefined"
        out[name] = Setting(name, values or None, origin, False, SETTINGS[name])
    return out


# variables Ansible itself provides to every play: a reference to one is not undefined
_MAGIC = frozenset({"inventory_hostname", "inventory_hostname_short", "inventory_dir", "inventory_file", "groups",
                    "group_names", "hostvars", "playbook_dir", "role_path", "ansible_facts", "omit", "item",
                    "lookup", "query", "q", "now", "undef", "range", "dict", "lipsum", "cycler", "joiner", "namespace"})


def _render_inventory_templates(cluster: Resolution) -> None:
    """Check the inventory's unused Jinja for undefined variables without rendering it: a value no setting needs
    is never run (its filters could run programs, its expression could take minutes)."""
    for name in cluster.inventory_template_names():
        if name in SETTINGS or name.startswith("ansible_"):
            continue
        missing = sorted(r for r in _names_read(cluster.raw(name)) if r not in _MAGIC and not cluster.defined(r)
                         and not r.startswith("ansible_"))
        if missing:
            cluster.warnings.append(f"{cluster.origin(name)}: {name} refers to undefined {', '.join(missing)}; "
                                    "the migration does not need it")


def _names_read(value: object) -> set[str]:
    """Variable names a Jinja value reads, from the parsed template alone (no filter needs to exist for this)."""
    from jinja2 import Environment, TemplateSyntaxError, nodes

    if isinstance(value, dict):
        return set().union(*(_names_read(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_names_read(v) for v in value)) if value else set()
    if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
        return set()
    try:
        tree = Environment().parse(value)
    except TemplateSyntaxError:
        return set()  # unused: its syntax is Ansible's business if a play ever renders it
    names = list(tree.find_all(nodes.Name))
    stored = {n.name for n in names if n.ctx == "store"}
    return {n.name for n in names if n.ctx == "load"} - stored


def _check_inline_vault(cluster: Resolution, password_file: Path) -> None:
    """A wrong password must not pass silently just because no setting needs the inline !vault values."""
    for name, raw in cluster.inventory.host_vars[cluster.host].items():
        if not is_vaulted(raw):
            continue
        try:
            cluster.renderer.render(raw)  # decrypts with the loader's vault secrets, as a play would
        except Exception:
            raise UserError(f"the vault password does not decrypt {name}", where=cluster.where(name),
                            hint=f"check that {password_file} holds the password this inventory was encrypted with") from None
        return  # one value decrypting proves the password

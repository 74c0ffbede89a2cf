"""Kubespray's own defaults per release: what a variable is when the inventory does not set it.

Each release's data lives in mappings/kubespray/vX.Y.yaml: the kubespray-defaults role's `defaults`
(lowest precedence) and `vars` (role vars, which outrank the inventory), cut down to the settings we read
and everything their Jinja refers to, plus the defaults of other roles that matter. The same extraction
reads a user's Kubespray checkout for `--kubespray-dir`. Regenerate the bundled files with
`python -m migrate.kubespray.defaults ../shared/kubespray/defaults mappings/kubespray`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, meta

from migrate.errors import UserError
from migrate.kubespray.releases import RELEASES, Release, defaults_dirs, release_named
from migrate.kubespray.settings import SETTINGS
from migrate.mapping.data import MAPPINGS_DIR

MAPPINGS = MAPPINGS_DIR / "kubespray"
_ROLE_DIRS = ("roles/kubespray_defaults", "roles/kubespray-defaults", "kubespray_defaults", "kubespray-defaults")
# values that need the download role's checksum tables: resolved to literals at extraction time
_CHECKSUMS = re.compile(r"_checksums\b")


@dataclass(frozen=True)
class KubesprayDefaults:
    release: Release
    defaults: dict[str, Any]  # role defaults: the inventory overrides them
    role_vars: dict[str, Any]  # role vars: they override the inventory
    source: str  # where they were read from, for provenance

    def origin(self, name: str) -> str:
        return f"Kubespray {self.release.label} default ({self.source})"


def bundled(release: Release) -> KubesprayDefaults:
    """The defaults shipped with this tool for a Kubespray release."""
    data = _load_bundled(release.name)
    defaults = {**other_role_defaults(release), **data["defaults"]}
    if release.patch:  # the minor's role, with what that patch release deployed by default, spelt as it spells them
        v = "v" if str(data["defaults"].get("kube_version", "v")).startswith("v") else ""  # 2.28+: no "v"
        defaults.update(kube_version=f"{v}{release.default_kube}", etcd_version=f"{v}{release.default_etcd}")
    return KubesprayDefaults(release, defaults, data["vars"], f"mappings/kubespray/{release.name}.yaml")


def _trusted(value: Any) -> Any:
    """Mark Kubespray's own Jinja as trusted templates, as Ansible does for role files it loads."""
    from ansible.template import trust_as_template

    if isinstance(value, str):
        return trust_as_template(value) if "{{" in value or "{%" in value else value
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    return value


def other_role_defaults(release: Release) -> dict[str, Any]:
    """Defaults of roles besides kubespray-defaults (control-plane, node, preinstall, containerd, CNIs)."""
    chosen: dict[str, Any] = {}
    for entry in _load_role_defaults():
        if "since" in entry and not release.at_least(entry["since"]):
            continue
        if "until" in entry and release.minor > release_named(entry["until"]).minor:
            continue
        chosen[entry["var"]] = entry["value"]
    return chosen


@lru_cache(maxsize=1)
def _load_role_defaults() -> list[dict[str, Any]]:
    with open(MAPPINGS / "role-defaults.yaml") as fh:
        documents: list[dict[str, Any]] = _trusted(yaml.load(fh, Loader=_TextLoader))
        return documents


@cache
def _load_bundled(name: str) -> dict[str, Any]:
    with open(MAPPINGS / f"{name}.yaml") as fh:
        defaults: dict[str, Any] = _trusted(yaml.load(fh, Loader=_TextLoader))
        return defaults


def from_checkout(kubespray_dir: Path) -> KubesprayDefaults:
    """Read the defaults straight from a Kubespray checkout (`--kubespray-dir`)."""
    root = Path(kubespray_dir)
    role = next((root / d for d in _ROLE_DIRS if (root / d / "defaults").is_dir()), None)
    if role is None:
        raise UserError(
            "not a Kubespray checkout: no roles/kubespray_defaults (or roles/kubespray-defaults) in it",
            where=str(root),
            hint="point --kubespray-dir at the directory that holds cluster.yml and roles/",
        )
    extracted = _trusted(extract(role))
    release = _release_of_checkout(root, extracted)
    defaults = {**other_role_defaults(release), **extracted["defaults"]}
    return KubesprayDefaults(release, defaults, extracted["vars"], str(role))


def _release_of_checkout(root: Path, extracted: dict[str, Any]) -> Release:
    try:
        tag = subprocess.run(
            ["git", "-C", str(root), "describe", "--tags", "--abbrev=0"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        tag = ""
    if tag:
        try:
            return release_named(tag)
        except UserError:
            pass
    from migrate.kubespray.releases import release_for_kube_version

    return release_for_kube_version(str(extracted["defaults"].get("kube_version", "")))[0]


def extract(role_dir: Path) -> dict[str, Any]:
    """The defaults and vars of a kubespray-defaults role, cut to what our settings need."""
    defaults = _read_role_part(role_dir / "defaults")
    role_vars = _read_role_part(role_dir / "vars")
    everything = {**defaults, **role_vars}
    _resolve_checksum_versions(defaults, role_vars)
    wanted = _closure(set(SETTINGS) | _ALWAYS, everything)
    return {
        "defaults": {k: defaults[k] for k in sorted(wanted) if k in defaults and k not in role_vars},
        "vars": {k: role_vars[k] for k in sorted(wanted) if k in role_vars},
    }


# variables the spec builder reads that are not settings of their own
_ALWAYS = {
    "kube_version",
    "kube_apiserver_ip",
    "kube_service_subnets",
    "kube_pods_subnets",
    "kubeadm_config_api_fqdn",
    "kube_apiserver_global_endpoint",
    "etcd_peer_url",
    "etcd_kubeadm_enabled",
    "kube_feature_gates",
    "kube_major_version",
}


def _read_role_part(part: Path) -> dict[str, Any]:
    files = [part / "main.yaml", part / "main.yml"] if not (part / "main").is_dir() else sorted((part / "main").glob("*.y*ml"))
    merged: dict[str, Any] = {}
    for f in files:
        if f.is_file():
            merged.update(yaml.load(f.read_text(), Loader=_TextLoader) or {})
    return merged


def _resolve_checksum_versions(defaults: dict[str, Any], role_vars: dict[str, Any]) -> None:
    """2.28+ derive kube_version from the checksum tables; keep the literal instead of the tables."""
    checksums = {**defaults, **role_vars}.get("kubelet_checksums")
    for table in (defaults, role_vars):
        for key, value in list(table.items()):
            if isinstance(value, str) and _CHECKSUMS.search(value):
                if key in ("kube_version", "kube_version_min_required") and isinstance(checksums, dict):
                    versions = list(checksums.get("amd64", {}))
                    table[key] = versions[0] if key == "kube_version" else versions[-1]
                else:
                    del table[key]


def _closure(names: set[str], everything: dict[str, Any]) -> set[str]:
    env = Environment()
    seen: set[str] = set()
    todo = [n for n in names if n in everything]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for ref in _references(env, everything[name]):
            if ref in everything and ref not in seen:
                todo.append(ref)
    return seen


def references(value: Any) -> set[str]:
    """The variable names a (possibly nested) Jinja value refers to."""
    if isinstance(value, str):
        return set(_string_references(str(value)))
    return _references(Environment(), value)


@lru_cache(maxsize=4096)
def _string_references(text: str) -> frozenset[str]:
    return frozenset(_references(Environment(), text))


def _references(env: Environment, value: Any) -> set[str]:
    if isinstance(value, str):
        if "{{" not in value and "{%" not in value:
            return set()
        try:
            return meta.find_undeclared_variables(env.parse(value))
        except Exception:  # a template plain Jinja cannot parse: Ansible will report it when rendered
            return set(re.findall(r"[a-z_][a-z0-9_]+", value))
    if isinstance(value, dict):
        return set().union(*(_references(env, v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_references(env, v) for v in value)) if value else set()
    return set()


class _TextLoader(yaml.SafeLoader):
    """YAML 1.1 as Ansible reads it, minus timestamps (keep versions and dates as text)."""


_TextLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _write_bundled(shared_defaults: Path, out: Path) -> None:
    """Regenerate mappings/kubespray/vX.Y.yaml from Kubespray's defaults role of each release."""
    for release in RELEASES:
        role = next(
            (p for p in shared_defaults.glob(f"{defaults_dirs(release)}/*") if p.name in ("kubespray_defaults", "kubespray-defaults")),
            None,
        )
        if role is None:
            print(f"skip {release.name}: no defaults role under {shared_defaults}", file=sys.stderr)
            continue
        data = extract(role)
        header = (
            f"# Kubespray {release.name} ({role.parent.name}) defaults that shape the running cluster, generated by\n"
            f"# `python -m migrate.kubespray.defaults`: kubespray-defaults `defaults` and role `vars`, cut to the\n"
            f"# settings in settings.yaml and what their Jinja refers to (other roles: role-defaults.yaml).\n"
        )
        text = header + yaml.safe_dump({"release": release.name, **data}, sort_keys=False, width=200)
        (out / f"{release.name}.yaml").write_text(text)
        print(f"wrote {out / (release.name + '.yaml')}: {len(data['defaults'])} defaults, {len(data['vars'])} vars")


if __name__ == "__main__":
    _write_bundled(Path(sys.argv[1]), Path(sys.argv[2]))

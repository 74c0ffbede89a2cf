"""`kubespray2talos inspect`: what the cluster really is, according to its Kubespray inventory."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import click
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from migrate import ui
from migrate.cli.options import inventory_options
from migrate.redact import REDACTED, redact
from migrate.spec import to_dict

# the settings a migration hinges on, in the order a reviewer reads them
KEY_SETTINGS = (
    "kube_version", "cluster_name", "dns_domain", "kube_service_addresses", "kube_pods_subnet", "kube_network_node_prefix",
    "skydns_server", "enable_nodelocaldns", "nodelocaldns_ip", "dns_mode", "kube_network_plugin", "kube_proxy_mode",
    "loadbalancer_apiserver", "apiserver_loadbalancer_domain_name", "kube_apiserver_port",
    "supplementary_addresses_in_ssl_keys", "etcd_deployment_type", "container_manager", "kube_encrypt_secret_data",
    "kube_encryption_algorithm", "kube_oidc_auth", "kubernetes_audit", "kube_feature_gates", "ntp_servers",
    "upstream_dns_servers", "http_proxy", "https_proxy",
)
# a host with neither ip nor an IP ansible_host: Kubespray takes its address from the host's facts
RUN_TIME = "from the host at run time"


@click.command()
@click.argument("inventory", type=click.Path(path_type=Path), nargs=-1, required=True)
@inventory_options
@click.option("--output", "-o", "fmt", type=click.Choice(["table", "json", "yaml"]), default="table", show_default=True)
@click.option("--all", "show_all", is_flag=True, help="List every setting read, not only the key ones.")
def inspect(inventory: tuple[Path, ...], kubespray_version: str | None, kubespray_dir: Path | None,
            vault_password_file: Path | None, fmt: str, show_all: bool) -> None:
    """Show the cluster's effective settings from its Kubespray INVENTORY.

    INVENTORY is the directory you deploy with (inventory/mycluster/) or its hosts.yaml / inventory.ini;
    give several, as with repeated `ansible-playbook -i`, when your hosts are split across files.
    Variables are resolved with Ansible's own precedence, layered over Kubespray's defaults for the
    release that built the cluster, and Jinja is rendered with Ansible's Templar. Every value shows
    where it came from: an inventory file and line, or a Kubespray default.

    \b
    Examples:
      kubespray2talos inspect inventory/mycluster
      kubespray2talos inspect inventory/mycluster --kubespray-version 2.24 --output json | jq .spec.network
      kubespray2talos inspect inventory/prod/hosts.yaml --vault-password-file ~/.vault-pass --all
    """
    from migrate.kubespray import load_cluster

    started = time.monotonic()
    with ui.err.status("reading the inventory with Ansible…"):
        resolved = load_cluster(list(inventory), kubespray_version, kubespray_dir, vault_password_file)
    for warning in resolved.warnings:
        ui.warn(warning)
    if fmt != "table":
        ui.emit(as_data(resolved), fmt)
        return
    _render_table(resolved, show_all)
    ui.note(f"{len(resolved.spec.nodes)} hosts, {sum(s.defined for s in resolved.settings.values())} settings "
            f"in {time.monotonic() - started:.1f}s")


def as_data(resolved: Any) -> dict[str, Any]:
    return {
        "inventory": [str(s) for s in resolved.sources],
        "kubespray_release": resolved.release,
        "kubespray_release_reason": resolved.release_reason,
        "reference_host": resolved.reference_host,
        "groups": {g: list(h) for g, h in resolved.groups.items() if g not in ("all", "ungrouped")},
        "spec": to_dict(resolved.spec),
        "settings": {
            name: {"value": s.value, "origin": s.origin, "area": s.area, **({"secret": True} if s.secret else {})}
            for name, s in sorted(resolved.settings.items()) if s.defined
        },
        "warnings": list(resolved.warnings),
    }


def _render_table(resolved: Any, show_all: bool) -> None:
    spec = resolved.spec
    ui.out.print(f"[bold]Cluster[/bold] {ui.escape(spec.name)}  Kubernetes {ui.escape(spec.kubernetes_version)}  "
                 f"(Kubespray {ui.escape(resolved.release)} defaults)")
    ui.out.print(ui.text(f"inventory: {', '.join(str(s) for s in resolved.sources)}"))
    ep = spec.control_plane.endpoint
    unknown = ep.kind == "first-control-plane" and not spec.control_planes[0].ip if spec.control_planes else False
    ui.out.print(ui.text(f"API endpoint: {redact(ep.url)} ({ep.kind}" + (f", its address {RUN_TIME})" if unknown else ")")))

    ui.out.print(_hosts_table(spec))
    ui.out.print()
    settings = Table(title="Settings" if show_all else "Key settings (--all for every one)", title_justify="left",
                     **_COMPACT)
    names = [n for n in (sorted(n for n, s in resolved.settings.items() if s.defined) if show_all else KEY_SETTINGS)
             if n in resolved.settings]
    full = {o: o for o in (resolved.settings[n].origin for n in names)}
    short = short_origins(list(full), resolved.release)
    longest = max((len(n) for n in names), default=0)
    # full file paths when they fit beside a 30-column value, else the shortest unambiguous file:line
    if longest + 30 + max((len(o) for o in full), default=0) + 4 <= ui.out.width:
        short = full
    from_width = max((len(o) for o in short.values()), default=0)
    room = max(12, ui.out.width - 22 - from_width - 4)  # a value keeps 22 columns beside its name
    if longest > room:  # a name is never split: at this width each value goes under its name, the full width
        ui.out.print(ui.text(settings.title or ""))
        for name in names:
            origin = short[resolved.settings[name].origin]
            ui.out.print(ui.text(name.ljust(ui.out.width - len(origin) - 1) + " ") + Text(ui.text(origin).plain, style="dim"))
            ui.out.print(Padding(_value(resolved.settings[name]), (0, 0, 0, 4)), overflow="fold")
        return
    settings.add_column("setting", overflow="fold", width=longest)
    # fixed widths: rich would otherwise widen the value to its longest word and squeeze file:line into "…"
    settings.add_column("value", overflow="fold", width=min(60, max(22, ui.out.width - longest - from_width - 4)))
    settings.add_column("from (file:line)", style="dim", no_wrap=True, min_width=from_width)
    for name in names:
        settings.add_row(name, _value(resolved.settings[name]), ui.text(short[resolved.settings[name].origin]))
    ui.out.print(settings)


def _value(s: Any) -> Text:
    return ((ui.text(REDACTED) if s.secret else _show(s.value)) if s.defined else ui.text("-"))


# no borders, two spaces between columns: at 80 columns the values keep the width instead of the lines
_COMPACT: dict[str, Any] = {"box": None, "padding": (0, 1), "pad_edge": False, "header_style": "bold underline"}


def _hosts_table(spec: Any) -> Table:
    """One row per host; access_ip and ansible_host only when some host's differs from its ip (80 columns)."""
    members = {m.node: m.name for m in spec.etcd.members}
    extra = [col for col in ("access_ip", "ansible_host")
             if any(getattr(n, col) and getattr(n, col) != n.ip for n in spec.nodes)]
    hosts = Table(title="Hosts", title_justify="left", **_COMPACT)
    for col in ("node", "roles", "ip", *extra, "etcd member"):
        hosts.add_column(col, no_wrap=col != "roles")
    for node in spec.nodes:
        values = [node.name, ", ".join(node.roles), node.ip or RUN_TIME, *(getattr(node, c) or "-" for c in extra),
                  members.get(node.name, "")]
        hosts.add_row(*(ui.text(v) for v in values))
    if not extra:
        hosts.caption, hosts.caption_justify = "(access_ip and ansible_host equal ip on every host)", "left"
    return hosts


def short_origins(origins: list[str], release: str) -> dict[str, str]:
    """Each origin as its shortest unambiguous file:line (`k8s-cluster.yml:12`, `all/all.yml:3` when two files
    share a name) and a release default as `Kubespray default`: the full paths are in `--output yaml`."""
    files = {o.rpartition(":")[0] for o in origins if re.fullmatch(r".+:\d+", o)}
    short: dict[str, str] = {}
    for origin in origins:
        path, _, line = origin.rpartition(":")
        if path not in files:
            short[origin] = "Kubespray default" if origin.startswith(f"Kubespray {release} default") else origin
            continue
        parts = path.split("/")
        for k in range(1, len(parts) + 1):
            tail = "/".join(parts[-k:])
            if sum(1 for f in files if f == tail or f.endswith("/" + tail)) == 1:
                break
        short[origin] = f"{tail}:{line}"
    return short


def _show(value: Any) -> Text:
    """A value as group_vars spell it, compact enough to wrap between items: `true`, `a, b`, `address: x, port: 1`."""
    return ui.text(_yaml_flow(redact(value)))


def _yaml_flow(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_flow(v) for v in value) + "]"
    return "null" if value is None else redact(str(value))

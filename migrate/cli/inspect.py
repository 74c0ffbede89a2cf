"""`kubespray2talos inspect`: what the cluster really is, according to its Kubespray inventory."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
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

    hosts = Table(title="Hosts", title_justify="left")
    for col in ("node", "roles", "ip", "access_ip", "ansible_host", "etcd member"):
        hosts.add_column(col)
    members = {m.node: m.name for m in spec.etcd.members}
    for node in spec.nodes:
        hosts.add_row(*(ui.text(v) for v in (node.name, ",".join(node.roles), node.ip or RUN_TIME, node.access_ip or "-",
                                             node.ansible_host or "-", members.get(node.name, ""))))
    ui.out.print(hosts)

    settings = Table(title="Settings" if show_all else "Key settings (--all for every one)", title_justify="left")
    settings.add_column("setting")
    settings.add_column("value", overflow="fold")
    settings.add_column("from", style="dim")
    names = sorted(n for n, s in resolved.settings.items() if s.defined) if show_all else KEY_SETTINGS
    for name in names:
        s = resolved.settings.get(name)
        if s is None:
            continue
        settings.add_row(name, (REDACTED if s.secret else _show(s.value)) if s.defined else "-", ui.text(s.origin))
    ui.out.print(settings)


def _show(value: Any) -> Text:
    if isinstance(value, (dict, list)):
        return ui.text(json.dumps(redact(value), separators=(", ", ": ")))
    return ui.text(redact(str(value)))

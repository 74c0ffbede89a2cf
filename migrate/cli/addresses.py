"""Node addresses the inventory does not hold: from gathered facts (as Kubespray takes them) or the live cluster."""
# exercised by tests/cli/test_plan_addresses.py

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from migrate.errors import UserError

F = TypeVar("F", bound=Callable[..., object])


def address_options(f: F) -> F:
    """plan's ways to learn the addresses of hosts that set no ip (Kubespray takes them from facts at run time)."""
    f = click.option("--context", "address_context", help="The kubeconfig context for --kubeconfig.")(f)
    f = click.option("--kubeconfig", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                     help="Read the address of hosts that set no ip from the live cluster (each Node's InternalIP).")(f)
    f = click.option("--gather-facts", is_flag=True,
                     help="Ask the hosts that set no ip for their address through Ansible, as Kubespray does "
                          "(the default route's IPv4 address).")(f)
    return f


def observed_addresses(inventory: tuple[Path, ...], gather_facts: bool, kubeconfig: Path | None, context: str | None,
                       vault_password_file: Path | None) -> dict[str, str]:
    """Inventory host or node name -> address; {} when neither source was asked for."""
    found: dict[str, str] = {}
    if kubeconfig is not None:
        found.update(_from_cluster(kubeconfig, context))
    if gather_facts:
        found.update(_from_facts(inventory, vault_password_file))  # what Kubespray itself used wins
    return found


def _from_cluster(kubeconfig: Path, context: str | None) -> dict[str, str]:
    from migrate.cluster.kube import KubeCluster

    nodes = KubeCluster(kubeconfig, context, attempts=2).list_nodes()
    return {n.name: n.internal_ip for n in nodes if n.internal_ip}


def _from_facts(inventory: tuple[Path, ...], vault_password_file: Path | None) -> dict[str, str]:
    from migrate.ansible import run_playbook

    if len(inventory) != 1:
        raise UserError("--gather-facts reads one inventory: give its directory (it loads every file in it)",
                        where=" ".join(str(p) for p in inventory))
    with tempfile.TemporaryDirectory(prefix="ks2t-facts-") as private:
        out = Path(private) / "addresses.json"
        run_playbook("gather_addresses.yml", inventory[0], extravars={"ks2t_out": str(out)},
                     vault_password_file=vault_password_file)
        data = json.loads(out.read_text()) if out.is_file() else {}
    return {str(host): str(address) for host, address in data.items() if address}

"""`kubespray2talos plan`: Talos machine configs for the cluster, a verdict for every setting, its own identity."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.table import Table

from migrate import ui
from migrate.atomic import check_output_dir
from migrate.cli.addresses import address_options, observed_addresses
from migrate.cli.options import inventory_options
from migrate.talos.plan import PlanRequest, PlanResult, plan_cluster
from migrate.talos.report import NOT_JOINABLE
from migrate.talos.versions import all_versions

TALOS_VERSIONS = ["auto", *(v.minor for v in all_versions())]  # one list: mappings/talos/versions.yaml
VERDICT_STYLE = {"kept": "green", "changed": "yellow", "dropped": "dim", "manual": "bold red"}


@click.command()
@click.argument("inventory", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "-O", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Plan directory to write (created 0700; replaced atomically).")
@click.option("--talos-version", default="auto", show_default=True, type=click.Choice(TALOS_VERSIONS),
              help="Talos minor to render for; auto = newest whose Kubernetes range holds the cluster's version.")
@click.option("--pki", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="The cluster's PKI (from fetch-pki): makes the Talos nodes joinable.")
@click.option("--secrets", "secrets_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Use this Talos secrets bundle (secrets.yaml) instead of importing or generating one.")
@click.option("--kubernetes-version", metavar="X.Y.Z",
              help="Preview the plan at the Kubernetes version the cluster will run after Kubespray upgrades "
                   "(an old cluster's way onto Talos); the plan then carries a blocker until the cluster runs it.")
@click.option("--force", is_flag=True,
              help="Replace DIR even if its secrets differ or it holds other files; the old DIR is kept as "
                   "DIR.previous (0700).")
@click.option("--output", "-o", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@inventory_options
@address_options
def plan(inventory: tuple[Path, ...], out: Path, talos_version: str, pki: Path | None, secrets_file: Path | None,
         kubernetes_version: str | None, force: bool, fmt: str, kubespray_version: str | None,
         kubespray_dir: Path | None, vault_password_file: Path | None, gather_facts: bool, kubeconfig: Path | None,
         address_context: str | None) -> None:
    """Write Talos configs that JOIN the running cluster, and a report with a verdict for every setting.

    Reads INVENTORY like `inspect` (several paths for a split inventory: hosts file, group files), then writes into DIR (--out): controlplane.yaml and worker.yaml
    (complete configs for the chosen Talos version), nodes/<host>.yaml (one patch per node: hostname,
    address, disk, labels, taints), secrets.yaml and talosconfig (0600), report.md and report.json.
    Every Kubespray setting read gets a verdict: kept, changed, dropped or manual (a person must act).

    Without --pki the plan gets fresh CAs and is NOT joinable to the existing cluster. Re-running reuses
    DIR/secrets.yaml, so the output is byte-identical. A DIR holding other secrets, or files a plan does not
    write, is refused unless --force, which keeps the old DIR as DIR.previous instead of deleting it.

    A host that sets no ip gets its address as Kubespray got it: --gather-facts asks the host through Ansible
    (its default route's address), --kubeconfig reads its Node's InternalIP; without either, such a host is a
    blocker in the report.

    Exit status: 0 plan written, nothing blocks it; 1 plan written but it has blocker findings (a person must
    act before applying it) or a document failed validation; 2 bad input, nothing written.

    \b
    Examples:
      kubespray2talos fetch-pki inventory/mycluster --out pki/
      kubespray2talos plan inventory/mycluster --pki pki/ --out plan/
      kubespray2talos plan inventory/mycluster --out plan/ --talos-version 1.12 --output json | jq .summary
      kubespray2talos plan inventory/split/hosts inventory/split/workers.yml --out plan/
      kubespray2talos plan inventory/old --out preview/ --kubernetes-version 1.29.10   # after Kubespray upgrades
      kubespray2talos plan inventory/mycluster --pki pki/ --out plan/ --gather-facts
      talosctl apply-config --insecure -n 10.0.10.11 --file plan/controlplane.yaml --config-patch @plan/nodes/cp1.yaml
    """
    started = time.monotonic()
    check_output_dir(out)  # before reading anything: `--out .`, a file as parent, no permission
    from migrate.kubespray import load_cluster  # ansible-core: imported only when a verb reads an inventory

    request = PlanRequest(inventory=inventory, out=out, talos_version=talos_version, pki=pki, secrets=secrets_file,
                          force=force, kubernetes_version=kubernetes_version)
    from migrate.ledger.plandir import enter_plan, kept_across_replan

    with ui.err.status("reading the inventory with Ansible…") as status, kept_across_replan(out, replacing=force):
        observed = observed_addresses(inventory, gather_facts, kubeconfig, address_context, vault_password_file)
        resolved = load_cluster(list(inventory), kubespray_version, kubespray_dir, vault_password_file, observed)
        result = plan_cluster(resolved, request, progress=lambda message: status.update(f"{message}…"))
    enter_plan(out, [(node["name"], node["role"]) for node in result.report["nodes"]])  # every host, `active`
    from migrate.migration import plan_file

    if not (out / plan_file.FILE).exists():  # an edited migration.yaml was carried over the re-plan, kept as it is
        plan_file.write(out, plan_file.default_plan(result.report, inventory=str(resolved.sources[0].resolve())))
    for warning in result.report["warnings"]:
        ui.warn(warning)
    if fmt == "json":
        ui.emit({"out": str(out), **result.report}, "json")
    else:
        _summary(result)
    if not result.joinable:
        ui.warn(NOT_JOINABLE)
    for problem in result.problems:
        ui.error(f"invalid output: {problem}")
    if result.previous is not None:
        ui.note(f"the directory it replaced is kept as {result.previous}/ (0700; its secrets.yaml included)")
    ui.note(f"plan written to {out}/ in {time.monotonic() - started:.1f}s (Talos {result.talos.minor})")
    if result.blockers:
        ui.error(f"{len(result.blockers)} blocker finding(s): do not apply this plan before they are resolved")
    if result.problems or result.blockers:
        raise SystemExit(1)


def _summary(result: PlanResult) -> None:
    s = result.report["summary"]
    table = Table(title=ui.text(f"{result.report['cluster']} → Talos {result.talos.minor}"), show_edge=False)
    for verdict in ("kept", "changed", "dropped", "manual"):
        table.add_column(verdict, justify="right", style=VERDICT_STYLE[verdict])
    table.add_row(*(str(s[v]) for v in ("kept", "changed", "dropped", "manual")))
    ui.out.print(table)
    ui.out.print(f"{s['settings']} settings read, {s['derived']} derived findings, {s['no_rule']} without a rule, "
                 f"{s['blockers']} blockers")
    manual = [f for f in result.findings if f.verdict == "manual"]
    if manual:
        ui.out.print("\n[bold]manual[/bold] (a person must act; details in report.md):")
        for f in sorted(manual, key=lambda f: (f.severity != "blocker", f.setting)):
            mark = "[red]blocker[/red] " if f.severity == "blocker" else ""
            ui.out.print(f"  • {mark}{ui.escape(f.setting)}: {ui.escape(_first_sentence(f.reason))}")


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + ("." if dot else "")



"""`kubespray2talos plan`: Talos machine configs for the cluster, a verdict for every setting, its own identity."""

from __future__ import annotations

import getpass
import os
import time
from pathlib import Path

import click
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from migrate import ui
from migrate.atomic import check_output_dir
from migrate.cli.addresses import address_options, observed_addresses
from migrate.cli.options import OldSpellings, inventory_options
from migrate.mapping.acceptance import from_option, read_accept_file
from migrate.mapping.finding import counted
from migrate.talos.plan import PlanRequest, PlanResult, plan_cluster
from migrate.talos.report import NOT_JOINABLE, grouped, not_used
from migrate.talos.versions import all_versions

TALOS_VERSIONS = ["auto", *(v.minor for v in all_versions())]  # one list: mappings/talos/versions.yaml
VERDICT_STYLE = {"kept": "green", "changed": "yellow", "dropped": "dim", "manual": "bold red"}


@click.command(cls=OldSpellings, old_spellings={"-O": "--out"})
@click.argument("inventory", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
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
@click.option("--accept", "accept_ids", multiple=True, metavar="BLOCKER-ID",
              help="Acknowledge a blocker you have read (its id is in the summary and report.md); repeatable.")
@click.option("--accept-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="YAML list of acknowledged blockers: id, who, why and optionally expires (YYYY-MM-DD).")
@click.option("--output", "-o", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@inventory_options
@address_options
def plan(inventory: tuple[Path, ...], out: Path, talos_version: str, pki: Path | None, secrets_file: Path | None,
         kubernetes_version: str | None, force: bool, accept_ids: tuple[str, ...], accept_file: Path | None,
         fmt: str, kubespray_version: str | None, kubespray_dir: Path | None, vault_password_file: Path | None,
         gather_facts: bool, kubeconfig: Path | None, address_context: str | None) -> None:
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

    A blocker (a person must act before applying the plan) has a stable id derived from what it is about, e.g.
    cluster-identity-dff485. Once someone has read it, acknowledge it with --accept ID or in an --accept-file
    (who, why, optional expiry): report.md then lists it as acknowledged, with who and why, and CI passes.

    Exit status: 0 plan written, no open blocker; 1 plan written but a blocker is not acknowledged (a person must
    act before applying it) or a document failed validation; 2 bad input, nothing written.

    \b
    Examples:
      kubespray2talos fetch-pki inventory/mycluster --out pki/
      kubespray2talos plan inventory/mycluster --pki pki/ --out plan/
      kubespray2talos plan inventory/mycluster --out plan/ --talos-version 1.12 --output json | jq .summary
      kubespray2talos plan inventory/split/hosts inventory/split/workers.yml --out plan/
      kubespray2talos plan inventory/old --out preview/ --kubernetes-version 1.29.10   # after Kubespray upgrades
      kubespray2talos plan inventory/mycluster --pki pki/ --out plan/ --gather-facts
      kubespray2talos plan inventory/mycluster --pki pki/ --out plan/ --accept-file accepted-blockers.yaml
      talosctl apply-config --insecure -n 10.0.10.11 --file plan/controlplane.yaml --config-patch @plan/nodes/cp1.yaml
    """
    started = time.monotonic()
    check_output_dir(out)  # before reading anything: `--out .`, a file as parent, no permission
    from migrate.kubespray import load_cluster  # ansible-core: imported only when a verb reads an inventory

    acceptances = [*(read_accept_file(accept_file) if accept_file else []), *from_option(accept_ids, _who())]
    request = PlanRequest(inventory=inventory, out=out, talos_version=talos_version, pki=pki, secrets=secrets_file,
                          force=force, kubernetes_version=kubernetes_version, acceptances=tuple(acceptances))
    from migrate.ledger.plandir import enter_plan, kept_across_replan

    with ui.err.status("reading the inventory with Ansible…") as status, kept_across_replan(out, replacing=force):
        observed = observed_addresses(inventory, gather_facts, kubeconfig, address_context, vault_password_file)
        resolved = load_cluster(list(inventory), kubespray_version, kubespray_dir, vault_password_file, observed)
        result = plan_cluster(resolved, request, progress=lambda message: status.update(f"{message}…"))
    enter_plan(out, [(node["name"], node["role"]) for node in result.report["nodes"]])  # every host, `active`
    from migrate.migration import plan_file

    if not (out / plan_file.FILE).exists():  # an edited migration.yaml was carried over the re-plan, kept as it is
        zones = {n.name: plan_file.failure_domain(n.labels) for n in resolved.spec.nodes}  # Kubespray's node_labels
        plan_file.write(out, plan_file.default_plan(result.report, inventory=str(resolved.sources[0].resolve()),
                                                    zones=zones))
    for warning in result.report["warnings"]:
        ui.warn(warning)
    if not result.joinable:
        ui.warn(NOT_JOINABLE)
    for problem in result.problems:
        ui.error(f"invalid output: {problem}")
    if result.previous is not None:
        ui.note(f"the directory it replaced is kept as {result.previous}/ (0700; its secrets.yaml included)")
    acknowledged = result.acknowledged
    for stale in acknowledged.unknown if acknowledged else []:
        ui.warn(f"{stale.where}: {stale.id} names no blocker of this plan (fixed already, or a typo?)")
    for gone in acknowledged.expired if acknowledged else []:
        ui.warn(f"{gone.where}: the acknowledgement of {gone.id} expired on {gone.expires}: it no longer counts")
    if fmt == "json":
        ui.emit({"out": str(out), **result.report}, "json")
        open_ids = [b["id"] for b in result.report["blockers"] if "acknowledged" not in b]
        ui.note(f"plan written to {out}/ (Talos {result.talos.minor}); "
                + (f"{counted(len(open_ids), 'open blocker')}: {', '.join(open_ids)}" if open_ids else "no open blocker"))
    else:
        _findings(result)
        _summary(result, out, time.monotonic() - started)
    open_blockers = result.report["summary"]["blockers_open"]
    validation_blockers = sum(1 for f in result.blockers if f.area == "validation")
    if open_blockers or len(result.problems) > validation_blockers:
        raise SystemExit(1)


def _who() -> str:
    """Who acknowledged on the command line: the CI's user name when there is one, else the login."""
    return os.environ.get("GITLAB_USER_LOGIN") or os.environ.get("GITHUB_ACTOR") or getpass.getuser()


def _findings(result: PlanResult) -> None:
    s = result.report["summary"]
    table = Table(title=ui.text(f"{result.report['cluster']} → Talos {result.talos.minor}"), show_edge=False)
    for verdict in ("kept", "changed", "dropped", "manual"):
        table.add_column(verdict, justify="right", style=VERDICT_STYLE[verdict])
    table.add_row(*(str(s[v]) for v in ("kept", "changed", "dropped", "manual")))
    ui.out.print(table)
    manual = [f for f in result.report["findings"] if f["verdict"] == "manual"]
    if manual:
        ui.out.print("\n[bold]manual[/bold] (a person must act; each step once, details in report.md):")
        steps = Table(box=None, show_header=False, padding=(0, 1, 0, 0))  # wrapped lines hang under their text
        steps.add_column("bullet", no_wrap=True)
        steps.add_column("step")
        for group in grouped(manual):
            first = group[0]
            step = Text("blocker ", style="red") if first["severity"] == "blocker" else Text()
            step.append(ui.text(f"{', '.join(f['setting'] for f in group)}: {_first_sentence(first['reason'])}"))
            steps.add_row("  •", step)
        ui.out.print(steps)


def _summary(result: PlanResult, out: Path, seconds: float) -> None:
    """The last thing a plan says: what was written, the counts, and the blockers by id."""
    s = result.report["summary"]
    unused = sum(1 for f in result.report["findings"] if not_used(f))
    nodes = len(result.report["nodes"])
    ui.out.print(f"\n[bold]plan written[/bold] to {ui.escape(out)}/ in {seconds:.1f}s: Talos {result.talos.minor} configs "
                 f"for {counted(nodes, 'node')} (controlplane.yaml, worker.yaml, {counted(nodes, 'node patch', 'node patches')}"
                 "), secrets.yaml, talosconfig, report.md")
    ui.out.print(f"  {s['settings']} settings read: {s['kept']} kept, {s['changed']} changed, {s['dropped'] - unused} dropped, "
                 f"{unused} not used by this cluster, {s['manual']} manual; {counted(s['derived'], 'derived finding')}"
                 + (f", {s['no_rule']} without a rule" if s["no_rule"] else ""))
    blockers = result.report["blockers"]
    if not blockers:
        ui.out.print("  no blockers: ready to review and apply")
        return
    ui.out.print(f"  {counted(len(blockers), 'blocker')}, {s['blockers_open']} open:")
    table = Table(box=None, show_header=False, padding=(0, 1))
    for column in ("state", "id", "setting"):
        table.add_column(column, no_wrap=column == "id")  # an id is copied whole, never split
    for b in blockers:
        ack = b.get("acknowledged")
        state = Text("open", style="red") if ack is None else Text("acknowledged", style="green")
        what = ui.text(b["setting"] + ("" if ack is None else f" (by {ack['who']}: {ack['why']})"))
        table.add_row(state, ui.text(b["id"]), what)
    ui.out.print(Padding(table, (0, 0, 0, 2)))
    if s["blockers_open"]:
        ui.out.print(f"not ready to apply: {counted(s['blockers_open'], 'open blocker')}. Read report.md, act, then "
                     "acknowledge each with --accept ID (or --accept-file).")


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + ("." if dot else "")

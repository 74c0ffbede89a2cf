"""migration.yaml: for each old host its role, its replacement, its wave and its hooks — written by `plan`,
edited by people, validated field by field before anything touches a cluster.

Control planes come first, one per wave (etcd and the API can lose one member at a time); workers follow in
waves of at most `max_unavailable` nodes (a count, or a percentage of the workers), never mixing failure domains:
the zone and rack labels the nodes carry (Kubespray's `node_labels`, or the live Node's labels).
"""
# exercised by tests/migration/test_plan_file.py

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from migrate.atomic import write_file
from migrate.errors import UserError

FILE = "migration.yaml"
STRATEGIES = ("surge", "in-place")  # surge: the replacement joins before the old node is cordoned
ROLES = ("controlplane", "worker")
_NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_DURATION = re.compile(r"^(\d+)(s|m|h)$")
_BUDGET = re.compile(r"^([1-9]\d*)(%?)$")
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")  # GA, then pre-1.17 beta
RACK_LABELS = ("topology.kubernetes.io/rack", "rack")  # no standard key: the spellings clusters use


BUILTIN = ("decommission",)  # playbooks shipped in migrate/playbooks/ a hook may name
KUBESPRAY = ("reset.yml", "remove-node.yml")  # a Kubespray checkout's own playbooks a decommission hook may run


@dataclass(frozen=True)
class Hook:
    """What a hook runs: a command (argv); a playbook through ansible-runner (the user's, one shipped with us, or
    a Kubespray checkout's reset.yml/remove-node.yml with that checkout's Ansible); or nothing (`manual`)."""

    command: tuple[str, ...] = ()
    playbook: str | None = None  # the user's playbook (relative to migration.yaml's directory)
    extravars: Mapping[str, Any] = field(default_factory=dict)
    builtin: str | None = None  # "decommission": migrate/playbooks/decommission.yml
    kubespray: str | None = None  # "reset.yml" | "remove-node.yml", in `directory`
    directory: str | None = None  # the Kubespray checkout
    ansible_playbook: str | None = None  # another Ansible's ansible-playbook (a Kubespray venv's)
    manual: bool = False  # a person retires the host, then `kubespray2talos mark`
    idempotent: bool = True  # false: a run that died while it ran does not run it again (a person checks the host)

    def to_dict(self) -> dict[str, Any] | str:
        if self.manual:
            return "manual"
        once = {} if self.idempotent else {"idempotent": False}
        if self.command:
            return {"command": list(self.command), **once}
        head: dict[str, Any] = ({"builtin": self.builtin} if self.builtin else {"playbook": self.playbook}
                                if self.playbook else {"kubespray": self.kubespray, "dir": self.directory})
        tail = {"ansible_playbook": self.ansible_playbook} if self.ansible_playbook else {}
        return {**head, **tail, **({"extravars": dict(self.extravars)} if self.extravars else {}), **once}


@dataclass(frozen=True)
class HostMove:
    host: str  # the old node's name
    role: str
    address: str | None
    wave: int
    replacement: str  # the Talos node's name (the host's own name for in-place)
    replacement_address: str | None = None
    provision: Hook | None = None
    decommission: Hook | None = None
    zone: str = ""  # the failure domain ("zone" or "zone/rack"): a worker wave never spans two

    @property
    def is_control_plane(self) -> bool:
        return self.role == "controlplane"


@dataclass(frozen=True)
class MigrationPlan:
    cluster: str
    strategy: str
    max_unavailable: int
    drain_timeout: float  # seconds
    hosts: tuple[HostMove, ...]
    inventory: str | None = None  # the Kubespray inventory playbook hooks and on-host etcdctl run with

    def inventory_path(self, plan_dir: Path) -> Path | None:
        """The inventory as a path, relative ones read from migration.yaml's directory."""
        return None if self.inventory is None else (Path(plan_dir) / self.inventory)

    def waves(self) -> list[list[HostMove]]:
        by_wave: dict[int, list[HostMove]] = {}
        for move in self.hosts:
            by_wave.setdefault(move.wave, []).append(move)
        return [by_wave[w] for w in sorted(by_wave)]

    def host(self, name: str) -> HostMove:
        for move in self.hosts:
            if move.host == name:
                return move
        raise UserError(f"no host {name!r} in {FILE}", hint=f"hosts: {', '.join(m.host for m in self.hosts)}")


def failure_domain(labels: Mapping[str, str]) -> str:
    """"zone", "zone/rack" or "" from a node's labels: the unit a wave stays inside, so a wave's drain never takes
    capacity out of two zones (or racks) at once."""
    zone = next((labels[k] for k in ZONE_LABELS if labels.get(k)), "")
    rack = next((labels[k] for k in RACK_LABELS if labels.get(k)), "")
    return f"{zone}/{rack}" if rack else zone


def default_plan(report: Mapping[str, Any], *, max_unavailable: int | str = 1, strategy: str = "surge",
                 zones: Mapping[str, str] | None = None, inventory: str | None = None,
                 budget_from: str = "max_unavailable") -> MigrationPlan:
    """From a plan's report.json: control planes one per wave, then workers by failure domain in waves of the
    budget. `zones`: node name -> failure_domain()."""
    nodes = list(report.get("nodes") or [])
    domain = {str(n["name"]): (zones or {}).get(n["name"], "") for n in nodes}
    cps = [n for n in nodes if n.get("role") == "controlplane"]
    workers = sorted((n for n in nodes if n.get("role") != "controlplane"), key=lambda n: (domain[n["name"]], n["name"]))
    budget = worker_budget(max_unavailable, len(workers), budget_from)
    moves = [_move(n, wave, strategy, domain[n["name"]]) for wave, n in enumerate(cps, start=1)]
    wave, zone, size = len(cps), None, budget
    for n in workers:
        here = domain[n["name"]]
        if size >= budget or here != zone:
            wave, zone, size = wave + 1, here, 0
        moves.append(_move(n, wave, strategy, here))
        size += 1
    return MigrationPlan(str(report.get("cluster") or ""), strategy, budget, 600.0, tuple(moves), inventory)


def worker_budget(value: Any, workers: int, where: str) -> int:
    """A budget as written (3, "3" or "10%") as a node count: a percentage of the workers rounded down, at least
    one (as a Deployment's maxUnavailable percentage rounds down, but a migration that moves nothing is none)."""
    match = _BUDGET.match(str(value).strip())  # True, 2.5 and "two" spell no count
    if match is None or (match.group(2) and int(match.group(1)) > 100):
        raise UserError(f"the worker budget must be at least 1 (nodes) or a percentage of the workers, not {value!r}",
                        where=where, hint="e.g. 3 (nodes drained together at most) or 10% (of the workers)")
    if not match.group(2):
        return int(match.group(1))
    return max(1, workers * int(match.group(1)) // 100)


def rewave(plan: MigrationPlan, budget: int | str, where: str = "--max-unavailable") -> MigrationPlan:
    """The same hosts in waves for another budget (`--max-unavailable`): control planes still one per wave, worker
    waves still inside their failure domains."""
    report = {"cluster": plan.cluster, "nodes": [{"name": m.host, "role": m.role, "ip": m.address} for m in plan.hosts]}
    regrouped = default_plan(report, max_unavailable=budget, zones={m.host: m.zone for m in plan.hosts},
                             budget_from=where)
    waves = {m.host: m.wave for m in regrouped.hosts}
    return dataclasses.replace(plan, max_unavailable=regrouped.max_unavailable,
                               hosts=tuple(dataclasses.replace(m, wave=waves[m.host]) for m in plan.hosts))


def _move(node: Mapping[str, Any], wave: int, strategy: str, zone: str) -> HostMove:
    name = str(node["name"])
    role = "controlplane" if node.get("role") == "controlplane" else "worker"
    if strategy == "in-place":  # the same machine, at the same address
        return HostMove(name, role, node.get("ip"), wave, name, node.get("ip"), zone=zone)
    return HostMove(name, role, node.get("ip"), wave, f"{name}-talos", zone=zone)


def to_yaml(plan: MigrationPlan) -> str:
    head = ("# kubespray2talos migration: one entry per old host. Edit the replacements (name/address of each new Talos\n"
            "# node) and hooks before `kubespray2talos migrate`; `--dry-run` shows what a run would do.\n")
    hosts = []
    for m in plan.hosts:
        entry: dict[str, Any] = {"host": m.host, "role": m.role, "address": m.address, "wave": m.wave,
                                 **({"zone": m.zone} if m.zone else {}),
                                 "replacement": {"name": m.replacement, "address": m.replacement_address}}
        for hook_name in ("provision", "decommission"):
            hook = getattr(m, hook_name)
            if hook is not None:
                entry[hook_name] = hook.to_dict()
        hosts.append(entry)
    body = {"cluster": plan.cluster, **({"inventory": plan.inventory} if plan.inventory else {}),
            "strategy": plan.strategy, "max_unavailable": plan.max_unavailable,
            "drain_timeout": f"{int(plan.drain_timeout)}s", "hosts": hosts}
    return head + yaml.safe_dump(body, sort_keys=False, width=120)


def write(plan_dir: Path, plan: MigrationPlan) -> Path:
    path = Path(plan_dir) / FILE
    write_file(path, to_yaml(plan), mode=0o644)
    return path


def load(plan_dir: Path) -> MigrationPlan:
    path = Path(plan_dir) / FILE
    if not path.is_file():
        raise UserError(f"no {FILE} in the plan directory", where=str(plan_dir),
                        hint="run `kubespray2talos plan` again: it writes migration.yaml beside the configs")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise UserError(f"not valid YAML: {getattr(exc, 'problem', exc)}",
                        where=f"{path}:{mark.line + 1}" if mark else str(path)) from None
    return parse(data, str(path))


def parse(data: Any, where: str) -> MigrationPlan:
    if not isinstance(data, Mapping):
        raise UserError("must be a mapping with cluster, strategy and hosts", where=where)
    strategy = _choice(data.get("strategy", "surge"), STRATEGIES, f"{where}: strategy")
    hosts = data.get("hosts")
    if not isinstance(hosts, Sequence) or isinstance(hosts, str) or not hosts:
        raise UserError("hosts must be a non-empty list", where=f"{where}: hosts")
    moves = tuple(_parse_move(h, f"{where}: hosts[{i}]", strategy) for i, h in enumerate(hosts))
    _check_whole(moves, where)
    budget = worker_budget(data.get("max_unavailable", 1), sum(not m.is_control_plane for m in moves),
                           f"{where}: max_unavailable")
    inventory = data.get("inventory")
    if inventory is not None and (not isinstance(inventory, str) or not inventory.strip()):
        raise UserError(f"inventory must be the path of the Kubespray inventory, not {inventory!r}",
                        where=f"{where}: inventory", hint="e.g. inventory: ../inventory/mycluster/hosts.yaml")
    return MigrationPlan(str(data.get("cluster") or ""), strategy, budget,
                         parse_duration(data.get("drain_timeout", "600s"), f"{where}: drain_timeout"), moves, inventory)


def _parse_move(entry: Any, where: str, strategy: str) -> HostMove:
    if not isinstance(entry, Mapping):
        raise UserError("each host must be a mapping (host, role, wave, replacement)", where=where)
    host = _node_name(entry.get("host"), f"{where}.host")
    role = _choice(entry.get("role"), ROLES, f"{where}.role")
    wave = entry.get("wave")
    if not isinstance(wave, int) or isinstance(wave, bool) or wave < 1:
        raise UserError(f"wave must be a whole number ≥ 1, not {wave!r}", where=f"{where}.wave")
    replacement = entry.get("replacement") or {}
    if not isinstance(replacement, Mapping):
        raise UserError("replacement must be a mapping with name and address", where=f"{where}.replacement")
    name = _node_name(replacement.get("name") or host, f"{where}.replacement.name")
    if strategy == "surge" and name == host:
        raise UserError("a surge replacement needs its own node name", where=f"{where}.replacement.name",
                        hint="name the new Talos node, or set strategy: in-place")
    same_machine = entry.get("address") if strategy == "in-place" else None  # in-place: the address stays
    zone = entry.get("zone") or ""
    if not isinstance(zone, str):
        raise UserError(f"zone must be the failure domain's name, not {zone!r}", where=f"{where}.zone",
                        hint="e.g. zone: eu-west-1a (or eu-west-1a/rack-3); it keeps --max-unavailable's waves inside it")
    return HostMove(host, role, entry.get("address"), wave, name, replacement.get("address") or same_machine,
                    _hook(entry.get("provision"), f"{where}.provision"),
                    _hook(entry.get("decommission"), f"{where}.decommission"), zone)


def _hook(value: Any, where: str) -> Hook | None:
    if value is None:
        return None
    if value == "manual":
        return Hook(manual=True)
    hook = _what_runs(value, where)
    once = value.get("idempotent", True)
    if not isinstance(once, bool):
        raise UserError(f"idempotent must be true or false, not {once!r}", where=f"{where}.idempotent",
                        hint="false when running the hook twice on a host would do harm: a run that died while it "
                        "ran then stops and asks you to check the host")
    return hook if once else dataclasses.replace(hook, idempotent=False)


def _what_runs(value: Any, where: str) -> Hook:
    if isinstance(value, Mapping) and "command" in value:
        command = value["command"]
        if not (isinstance(command, list) and command and all(isinstance(a, str) for a in command)):
            raise UserError("command must be a non-empty list of strings (argv)", where=f"{where}.command")
        return Hook(command=tuple(command))
    if not isinstance(value, Mapping) or sum(k in value for k in ("playbook", "builtin", "kubespray")) != 1:
        raise UserError("a hook is {command: [argv…]}, {playbook: PATH}, {builtin: decommission}, "
                        "{kubespray: reset.yml, dir: CHECKOUT} or manual", where=where)
    extravars = value.get("extravars") or {}
    if not isinstance(extravars, Mapping) or not all(isinstance(k, str) for k in extravars):
        raise UserError("extravars must be a mapping of variable names to values", where=f"{where}.extravars")
    ansible = _optional_path(value.get("ansible_playbook"), f"{where}.ansible_playbook")
    if "builtin" in value:
        if ansible is not None:
            raise UserError("a builtin playbook runs with kubespray2talos's own Ansible", where=f"{where}.ansible_playbook",
                            hint="drop ansible_playbook, or run your own copy as {playbook: PATH, ansible_playbook: …}")
        return Hook(builtin=_choice(value["builtin"], BUILTIN, f"{where}.builtin"), extravars=dict(extravars))
    if "kubespray" in value:
        directory = _optional_path(value.get("dir"), f"{where}.dir")
        if directory is None:
            raise UserError("a Kubespray hook needs dir: the Kubespray checkout the cluster was deployed with",
                            where=f"{where}.dir")
        return Hook(kubespray=_choice(value["kubespray"], KUBESPRAY, f"{where}.kubespray"), directory=directory,
                    ansible_playbook=ansible, extravars=dict(extravars))
    return Hook(playbook=_optional_path(value["playbook"], f"{where}.playbook"), ansible_playbook=ansible,
                extravars=dict(extravars))


def _optional_path(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"must be a path, not {value!r}", where=where)
    return value


def _check_whole(moves: tuple[HostMove, ...], where: str) -> None:
    seen: set[str] = set()
    for m in moves:
        if m.host in seen:
            raise UserError(f"host {m.host!r} is listed twice", where=f"{where}: hosts")
        seen.add(m.host)
    waves: dict[int, list[HostMove]] = {}
    for m in moves:
        waves.setdefault(m.wave, []).append(m)
    for wave, members in waves.items():
        if any(m.is_control_plane for m in members) and len(members) > 1:
            raise UserError(f"wave {wave} holds a control plane and {len(members) - 1} other host(s)",
                            where=f"{where}: hosts", hint="control planes move strictly one at a time: one per wave")
    last_cp = max((m.wave for m in moves if m.is_control_plane), default=0)
    early = [m.host for m in moves if not m.is_control_plane and m.wave < last_cp]
    if early:
        raise UserError(f"workers {', '.join(early)} move before the last control plane", where=f"{where}: hosts",
                        hint="control planes first: give workers wave numbers after every control plane's")


def parse_duration(value: Any, where: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    match = _DURATION.match(str(value).strip())
    if not match:
        raise UserError(f"not a duration: {value!r}", where=where, hint="write e.g. 300s, 10m or 1h")
    return float(int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)])


def _node_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _NODE_NAME.match(value):
        raise UserError(f"not a Kubernetes node name: {value!r}", where=where,
                        hint="lower-case letters, digits, '-' and '.', starting and ending with a letter or digit")
    return value


def _choice(value: Any, allowed: Sequence[str], where: str) -> str:
    if value not in allowed:
        raise UserError(f"{value!r} is not one of {', '.join(allowed)}", where=where)
    return str(value)

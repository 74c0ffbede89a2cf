"""The hands of a real run: the provision and decommission hooks of migration.yaml.

A hook is a command (the host in its environment: KS2T_HOST, KS2T_ROLE, KS2T_ADDRESS, KS2T_REPLACEMENT,
KS2T_REPLACEMENT_ADDRESS) or a playbook run through ansible-runner with migration.yaml's inventory and the same
KS2T_* values as extra vars: the user's own, the shipped decommission playbook (`builtin: decommission`, the
default decommission hook once migration.yaml names its inventory), or a Kubespray checkout's reset.yml or
remove-node.yml with the variables Kubespray expects, run with that checkout's own Ansible.

A wave's decommission hooks run side by side (`start_decommission`: each in a thread, its command or playbook a
child process of its own), awaited together by the run loop. A hook must be safe to run twice: a resumed run
repeats a hook whose outcome was never recorded, unless migration.yaml says `idempotent: false` (then the run
stops and asks a person to look at the host first). Without a
provision hook the replacement is started by hand and the run waits for it to be Ready; without a decommission
hook (or with `manual`) the host stays `removed` until `kubespray2talos mark … decommissioned`.
"""
# exercised by tests/migration/test_hands.py

from __future__ import annotations

import dataclasses
import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from migrate.ansible import PlaybookResult, run_playbook
from migrate.errors import UserError
from migrate.migration.plan_file import Hook, HostMove
from migrate.migration.running import InThread, Running

HOOK_TIMEOUT = 3600.0
DECOMMISSION = Hook(builtin="decommission")
BY_HAND: Mapping[str, Any] = {"by_hand": True, "decommission": "no hook: retire the host, then `kubespray2talos mark`"}


class HookHands:
    def __init__(self, timeout: float = HOOK_TIMEOUT, *, plan_dir: Path | None = None, inventory: Path | None = None,
                 vault_password_file: Path | None = None, progress: Callable[[str], None] | None = None) -> None:
        """`plan_dir`: where relative hook paths start (migration.yaml's directory); `inventory`: what playbook
        hooks run against (migration.yaml's `inventory`)."""
        self.timeout, self.plan_dir, self.inventory = timeout, plan_dir or Path.cwd(), inventory
        self.vault_password_file, self.progress = vault_password_file, progress

    def provision(self, move: HostMove) -> Mapping[str, Any]:
        if move.provision is None or move.provision.manual:
            return {"provision": "by hand: waiting for the replacement to be Ready"}
        return self._run(move.provision, move, "provision")

    def decommission(self, move: HostMove) -> Mapping[str, Any]:
        """Its own hook, else the shipped playbook once migration.yaml names the inventory, else a person's job."""
        hook = move.decommission or (DECOMMISSION if self.inventory is not None else None)
        if hook is None or hook.manual:
            return BY_HAND
        return self._run(hook, move, "decommission")

    def start_decommission(self, move: HostMove) -> Running:
        """`decommission` in a thread of its own, so the wave's hooks run together."""
        return InThread(lambda: self.decommission(move), name=f"decommission {move.host}")

    def _run(self, hook: Hook, move: HostMove, what: str) -> Mapping[str, Any]:
        if hook.command:
            return self._command(hook, move, what)
        if self.inventory is None:
            raise UserError(f"{what} hook: a playbook needs the inventory", where=f"host {move.host}",
                            hint="name it in migration.yaml: inventory: PATH (Kubespray's hosts.yaml)")
        values = _values(move)
        if hook.builtin:
            result = self._playbook(f"{hook.builtin}.yml", {**hook.extravars, **values}, what, move)
            report = (result.artifacts.get("ks2t_decommission") or {}).get(move.host)
            if report is None:
                raise UserError(f"{what}: the playbook did not run on {move.host}", where=f"host {move.host}",
                                hint="is the host in the inventory under this name?")
            return {"playbook": hook.builtin, "report": report, "stats": _stats(result)}
        if hook.kubespray:
            return self._kubespray(hook, move, values, what)
        playbook = self.plan_dir / str(hook.playbook)
        result = self._playbook(playbook, {**hook.extravars, **values}, what, move, _ansible(hook, self.plan_dir))
        return {"playbook": str(playbook), "stats": _stats(result), "artifacts": result.artifacts}

    def _kubespray(self, hook: Hook, move: HostMove, values: dict[str, Any], what: str) -> Mapping[str, Any]:
        """reset.yml limited to the host (it targets the whole cluster otherwise); remove-node.yml with node=HOST.
        Both without their "type yes" prompt: skip_confirmation (2.17+), reset_confirmation/delete_nodes_confirmation
        (older releases' prompt variables)."""
        checkout = self.plan_dir / str(hook.directory)
        if not (checkout / str(hook.kubespray)).is_file():
            raise UserError(f"{what} hook: no {hook.kubespray} in the Kubespray checkout", where=str(checkout))
        if hook.kubespray == "reset.yml":
            kubespray_vars: dict[str, Any] = {"skip_confirmation": True, "reset_confirmation": "yes"}
            limit: str | None = move.host
        else:
            kubespray_vars = {"node": move.host, "skip_confirmation": True, "delete_nodes_confirmation": "yes",
                              "reset_nodes": True}
            limit = None
        result = self._playbook(checkout / str(hook.kubespray), {**kubespray_vars, **hook.extravars, **values}, what,
                                move, _ansible(hook, self.plan_dir), limit=limit, config=checkout / "ansible.cfg")
        return {"kubespray": str(checkout / str(hook.kubespray)), "limit": limit, "stats": _stats(result)}

    def _playbook(self, playbook: str | Path, extravars: dict[str, Any], what: str, move: HostMove,
                  ansible_playbook: Path | None = None, *, limit: str | None = None,
                  config: Path | None = None) -> PlaybookResult:
        try:
            return run_playbook(playbook, self.inventory or Path("."), extravars=extravars, limit=limit,
                                vault_password_file=self.vault_password_file, progress=self.progress,
                                ansible_playbook=ansible_playbook, ansible_config=config)
        except UserError as exc:
            raise UserError(f"{what} hook: {exc.message}", where=exc.where or f"host {move.host}",
                            hint=exc.hint) from None

    def _command(self, hook: Hook, move: HostMove, what: str) -> Mapping[str, Any]:
        env = {**os.environ, **_values(move)}
        try:
            run = subprocess.run(list(hook.command), env=env, capture_output=True, text=True, timeout=self.timeout,
                                 check=False)
        except FileNotFoundError:
            raise UserError(f"{what} hook: {hook.command[0]} not found", where=f"host {move.host}") from None
        except subprocess.TimeoutExpired:
            raise UserError(f"{what} hook ran longer than {self.timeout:.0f}s", where=f"host {move.host}") from None
        if run.returncode != 0:
            tail = (run.stderr or run.stdout).strip().splitlines()[-1:] or [""]
            raise UserError(f"{what} hook failed with exit code {run.returncode}: {tail[0]}", where=f"host {move.host}")
        return {"hook": list(hook.command), "exit_code": 0}


def _values(move: HostMove) -> dict[str, str]:
    return {"KS2T_HOST": move.host, "KS2T_ROLE": move.role, "KS2T_ADDRESS": move.address or "",
            "KS2T_REPLACEMENT": move.replacement, "KS2T_REPLACEMENT_ADDRESS": move.replacement_address or ""}


def _ansible(hook: Hook, plan_dir: Path) -> Path | None:
    return None if hook.ansible_playbook is None else plan_dir / hook.ansible_playbook


def _stats(result: PlaybookResult) -> dict[str, dict[str, int]]:
    return {host: dataclasses.asdict(s) for host, s in result.stats.items()}

"""The hands of a real run: the provision and decommission hooks of migration.yaml, run as commands.

A hook gets the host in its environment (KS2T_HOST, KS2T_ROLE, KS2T_ADDRESS, KS2T_REPLACEMENT,
KS2T_REPLACEMENT_ADDRESS) and must be safe to run twice: a resumed run repeats a hook whose outcome was never
recorded. Without a provision hook the replacement is started by hand and the run waits for it to be Ready;
without a decommission hook the host stays `removed` until `kubespray2talos mark … decommissioned`.
"""
# exercised by tests/migration/test_hands.py

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from typing import Any

from migrate.errors import UserError
from migrate.migration.plan_file import Hook, HostMove

HOOK_TIMEOUT = 3600.0


class HookHands:
    def __init__(self, timeout: float = HOOK_TIMEOUT) -> None:
        self.timeout = timeout

    def provision(self, move: HostMove) -> Mapping[str, Any]:
        if move.provision is None:
            return {"provision": "by hand: waiting for the replacement to be Ready"}
        return self._run(move.provision, move, "provision")

    def decommission(self, move: HostMove) -> Mapping[str, Any]:
        if move.decommission is None:
            return {"by_hand": True, "decommission": "no hook: retire the host, then `kubespray2talos mark`"}
        return self._run(move.decommission, move, "decommission")

    def _run(self, hook: Hook, move: HostMove, what: str) -> Mapping[str, Any]:
        if hook.playbook:
            raise UserError(f"{what} hook: playbook hooks are not run by this version", where=f"host {move.host}",
                            hint=f"use a command hook: [ansible-playbook, -i, INVENTORY, {hook.playbook}]")
        env = {**os.environ, "KS2T_HOST": move.host, "KS2T_ROLE": move.role, "KS2T_ADDRESS": move.address or "",
               "KS2T_REPLACEMENT": move.replacement, "KS2T_REPLACEMENT_ADDRESS": move.replacement_address or ""}
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

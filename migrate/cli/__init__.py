"""The `kubespray2talos` command. Each verb lives in its own module, imported only when used."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import click

from migrate import __version__, ui
from migrate.atomic import Interrupted, raise_on_sigterm
from migrate.errors import UserError
from migrate.redact import redact_text

# verb -> "module:function"; lazy so `--help` and one verb never pay for the others' imports
VERBS = {
    "inspect": "migrate.cli.inspect:inspect",
    "plan": "migrate.cli.plan:plan",
    "fetch-pki": "migrate.cli.fetch_pki:fetch_pki",
    "diff": "migrate.cli.diff:diff",
    "snapshot": "migrate.cli.snapshot:snapshot",
    "twin": "migrate.cli.twin:twin",
    # the migration half: listed once here so each lands without touching this table again
    "preflight": "migrate.cli.preflight:preflight",
    "prepare": "migrate.cli.prepare:prepare",
    "migrate": "migrate.cli.migrate:migrate",
    "rehearse": "migrate.cli.rehearse:rehearse",
    "etcd": "migrate.cli.etcd:etcd",
    "status": "migrate.cli.status:status",
    "report": "migrate.cli.report:report",
    "mark": "migrate.cli.mark:mark",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [v for v in VERBS if _module_exists(VERBS[v])]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = VERBS.get(name)
        if target is None or not _module_exists(target):
            return None
        module, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command


def _module_exists(target: str) -> bool:
    return importlib.util.find_spec(target.split(":")[0]) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="kubespray2talos")
def cli() -> None:
    """Move a Kubespray-built Kubernetes cluster onto Talos Linux, node by node.

    \b
    The usual sequence:
      kubespray2talos inspect inventory/mycluster      # what the cluster really is
      kubespray2talos fetch-pki inventory/mycluster --out pki/
      kubespray2talos plan inventory/mycluster --pki pki/ --out plan/
      kubespray2talos diff inventory/mycluster plan/   # review what changes
    """


def main() -> None:
    raise_on_sigterm()
    try:
        rc = cli.main(standalone_mode=False)
    except UserError as exc:
        ui.error(str(exc))
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:  # click turns Ctrl-C (and our SIGTERM) into Abort
        cause = exc.__cause__
        ui.error(f"stopped by {cause}" if isinstance(cause, Interrupted) else "interrupted")
        sys.exit(cause.exit_code if isinstance(cause, Interrupted) else 130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM as Interrupted: cleanups ran on the way here
        ui.error("interrupted" if not isinstance(exc, Interrupted) else f"stopped by {exc}")
        sys.exit(exc.exit_code if isinstance(exc, Interrupted) else 130)
    except Exception as exc:  # a bug, not bad input: say so briefly; the traceback is one variable away
        if os.environ.get("KS2T_DEBUG"):
            raise
        ui.error(f"internal error (a bug in kubespray2talos, please report it): {type(exc).__name__}: {redact_text(str(exc))}\n"
                 "  rerun with KS2T_DEBUG=1 to see the traceback")
        sys.exit(70)
    sys.exit(rc if isinstance(rc, int) else 0)

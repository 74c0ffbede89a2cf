"""Click options that several verbs share, declared once so their names and help read the same everywhere."""
# exercised by tests/cli/test_inspect.py, tests/cli/test_plan.py and tests/cli/test_diff.py

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])


def inventory_options(f: F) -> F:
    """The options every verb that reads an inventory shares."""
    f = click.option("--vault-password-file", type=click.Path(dir_okay=False, path_type=Path),
                     help="File holding the Ansible Vault password, as for ansible-playbook.")(f)
    f = click.option("--kubespray-dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Your Kubespray checkout: read its defaults directly (most exact).")(f)
    f = click.option("--kubespray-version", metavar="X.Y",
                     help="Kubespray release the cluster was deployed with (default: inferred from kube_version).")(f)
    return f

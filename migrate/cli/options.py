"""Click options that several verbs share, declared once so their names and help read the same everywhere."""
# exercised by tests/cli/test_inspect.py, tests/cli/test_plan.py and tests/cli/test_diff.py

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from migrate import ui

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


class OldSpellings(click.Command):
    """A verb whose options were renamed: the old spelling still works for one release, with a warning on stderr,
    and --help says so. `old_spellings` maps an old option to its new one; a (new, test) pair renames only values
    the test accepts, so `-o FILE` can move to --out while `-o json` is the format."""

    def __init__(self, *args: Any, old_spellings: dict[str, str | tuple[str, Callable[[str], bool]]], **kwargs: Any):
        self.old_spellings = {old: (new, None) if isinstance(new, str) else new for old, new in old_spellings.items()}
        names = ", ".join(f"{old}{'' if test is None else ' with a file name'} (now {new})"
                          for old, (new, test) in self.old_spellings.items())
        epilog = f"Deprecated spellings, still accepted until the next release with a warning: {names}."
        kwargs["epilog"] = f"{kwargs['epilog']}\n\n{epilog}" if kwargs.get("epilog") else epilog
        super().__init__(*args, **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, self.modern(args))

    def modern(self, args: list[str]) -> list[str]:
        """The arguments with every old spelling replaced by the new one (each said once on stderr)."""
        result: list[str] = []
        rest = iter(args)
        for arg in rest:
            if arg == "--":
                return [*result, arg, *rest]
            old, value = self._split(arg)
            if old is None:
                result.append(arg)
                continue
            new, applies = self.old_spellings[old]
            if value is None:
                value = next(rest, None)
                if value is None:
                    result.append(arg)  # click says the option needs a value
                    continue
            if applies is not None and not applies(value):
                result += [old, value]
                continue
            ui.warn(f"{old} is deprecated and will be removed in the next release: use {new} {value}")
            result += [new, value]
        return result

    def _split(self, arg: str) -> tuple[str | None, str | None]:
        """(old option, its attached value) for `-O DIR`, `-ODIR`, `--format=md`; (None, None) for anything else."""
        for old in self.old_spellings:
            if arg == old:
                return old, None
            if old.startswith("--") and arg.startswith(old + "="):
                return old, arg[len(old) + 1:]
            if not old.startswith("--") and arg.startswith(old) and len(arg) > len(old):
                return old, arg[len(old):]
        return None, None


def max_unavailable_option(f: F) -> F:
    """The worker budget of a run, overriding migration.yaml's: a count or a percentage of the workers."""
    return click.option("--max-unavailable", metavar="N|N%",
                        help="Workers drained together at most, or a percentage of the workers (rounded down, at "
                        "least 1); overrides migration.yaml and regroups the waves inside their zones.")(f)

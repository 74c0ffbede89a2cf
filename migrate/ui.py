"""Terminal output: results on stdout, messages on stderr, secrets redacted (migrate.redact) on the way out;
values are printed as text, never as markup or terminal control sequences."""
# exercised by tests/cli/test_inspect.py and tests/cli/test_plan.py (what the verbs print to a terminal)

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

import yaml
from rich.console import Console
from rich.markup import escape as _markup_escape
from rich.text import Text

from migrate.redact import REDACTED, redact

__all__ = ["REDACTED", "dump", "emit", "err", "error", "escape", "note", "out", "text", "warn"]

# ESC sequences and other C0/C1 controls (bar tab and newline): an inventory value must not drive the terminal
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_control(value: str) -> str:
    return _CONTROL.sub("", value)


class _Console(Console):
    """A console whose strings never carry raw control sequences: rich's own styling is added after this."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(strip_control(text), **kwargs)


# a terminal or an explicit COLUMNS sets the width (tables wrap their text columns between words to fit it);
# pipes and CI logs without COLUMNS get a wide fixed width, so tables are not cut to rich's 80 columns
out = _Console(highlight=False, width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160)
err = _Console(stderr=True, highlight=False, soft_wrap=True)


def text(value: Any) -> Text:
    """A value from an inventory, a plan or a cluster as literal text: never markup, never control sequences."""
    return Text(strip_control(str(value)))


def escape(value: Any) -> str:
    """A value made safe to embed in a markup string (`[/]` stays text)."""
    return _markup_escape(strip_control(str(value)))


def dump(data: Any, fmt: str) -> str:
    """Serialize redacted plain data as json or yaml."""
    clean = redact(data)
    if fmt == "json":
        return json.dumps(clean, indent=2, sort_keys=False, default=str) + "\n"
    return yaml.dump(clean, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False, width=120)


class _PlainDumper(yaml.SafeDumper):
    """Safe YAML that writes str/int subclasses (Ansible's tagged values) as the plain types they are."""


_PlainDumper.add_multi_representer(str, lambda d, v: d.represent_str(str(v)))
_PlainDumper.add_multi_representer(int, lambda d, v: d.represent_int(int(v)))


def emit(data: Any, fmt: str) -> None:
    sys.stdout.write(dump(data, fmt))


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {escape(message)}", markup=True, highlight=False)


def note(message: str) -> None:
    err.print(f"[dim]note:[/dim] {escape(message)}", markup=True, highlight=False)


def error(message: str) -> None:
    err.print(f"[bold red]error:[/bold red] {escape(message)}", markup=True, highlight=False)

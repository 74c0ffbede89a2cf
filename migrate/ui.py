"""Terminal output: results on stdout, messages on stderr, secrets redacted on the way out."""
# exercised by tests/cli/test_inspect.py and tests/cli/test_plan.py (what the verbs print to a terminal)

from __future__ import annotations

import json
import re
import sys
from typing import Any

import yaml
from rich.console import Console

# pipes and CI logs get a wide fixed width, so tables are not cut to 80 columns
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)

REDACTED = "<redacted>"
# key names whose values are secret material wherever they appear
_SECRET_KEY = re.compile(
    r"(^|_|-|\.)(key|token|secret|password|passwd|auth|identitytoken|private|credentials?)$"
    r"|encrypt_token|encryptionsecret|bootstrap_token|secret_data_b64",
    re.IGNORECASE,
)
# keys that end in "key" but hold no secret
_NOT_SECRET = {"key_name", "service_account_key_file_public", "public_key", "key_file", "ca_key_file"}
_PEM_PRIVATE = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL)


def is_secret_key(name: str) -> bool:
    return name.lower() not in _NOT_SECRET and bool(_SECRET_KEY.search(name))


def redact(data: Any) -> Any:
    """A copy of plain data with every secret-named value and PEM private key replaced."""
    if isinstance(data, dict):
        return {k: (REDACTED if is_secret_key(str(k)) and _holds_secret(v) else redact(v)) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [redact(v) for v in data]
    if isinstance(data, str):
        return _PEM_PRIVATE.sub(REDACTED, data)
    return data


def _holds_secret(value: Any) -> bool:
    """Flags and empty values are not secret material, whatever their key is called."""
    return not isinstance(value, (bool, int, float)) and value not in (None, "", {}, [])


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
    err.print(f"[yellow]warning:[/yellow] {message}", markup=True, highlight=False)


def note(message: str) -> None:
    err.print(f"[dim]note:[/dim] {message}", markup=True, highlight=False)


def error(message: str) -> None:
    err.print(f"[bold red]error:[/bold red] {_escape(message)}", markup=True, highlight=False)


def _escape(text: str) -> str:
    return text.replace("[", r"\[")

"""Bounds on what the tool reads from files it does not trust (inventories, plan directories, PKI copies).

Stdlib only. Every limit is far above any real input and says which limit was hit: a file too large or
not a regular file (a FIFO would block forever), a line too long (Ansible's INI parser is quadratic on
one), brackets nested too deep (parsers recurse), or YAML aliases that expand past any real inventory.
Tested by tests/hostile/test_exhaustion.py.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

from migrate.errors import UserError

MAX_FILE_BYTES = 16 * 1024 * 1024  # the largest real inventory file is a few hundred KiB
MAX_LINE_CHARS = 64 * 1024
MAX_NESTING = 200  # brackets and braces: real YAML/JSON nests a dozen deep
MAX_EXPANDED_VALUES = 1_000_000  # a real inventory's largest var file expands to thousands


def read_bounded(path: Path, *, limit: int = MAX_FILE_BYTES, encoding: str | None = "utf-8") -> str:
    """A regular file's text, refused when it is not a regular file or is larger than `limit`
    (UnicodeDecodeError and OSError are left to the caller, who knows what the file should be)."""
    return read_bytes_bounded(path, limit=limit).decode(encoding or "utf-8")


def read_bytes_bounded(path: Path, *, limit: int = MAX_FILE_BYTES) -> bytes:
    """A regular file's bytes; opened non-blocking so a FIFO or device is refused instead of waited on."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # OSError (missing, no permission) is the caller's to explain
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UserError("not a regular file (a FIFO, socket or device is never read)", where=str(path),
                            hint="pass the file itself")
        if info.st_size > limit:
            raise UserError(f"file is {info.st_size:,} bytes, over the {limit:,}-byte limit for this input",
                            where=str(path))
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise UserError(f"file grew past the {limit:,}-byte limit while it was read", where=str(path))
    return data


def check_inside(root: Path, paths: list[Path]) -> None:
    """Refuse files that resolve outside `root`: a symlink in a plan directory from a merge request must not make
    the tool read (and print in a diff) the operator's own files, such as ~/.kube/config."""
    top = Path(os.path.realpath(root))
    for path in paths:
        real = Path(os.path.realpath(path))
        if real != top and top not in real.parents:
            raise UserError("is a link to a file outside the directory being read", where=str(path),
                            hint="a plan directory holds its own files; replace the link with the file")


def check_text_shape(text: str, where: str, *, max_line: int = MAX_LINE_CHARS, max_nesting: int = MAX_NESTING) -> None:
    """Refuse text with a line longer than `max_line` or brackets nested deeper than `max_nesting`."""
    indents: list[int] = []  # YAML block nesting: the open indentation levels
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > max_line:
            raise UserError(f"line {number} is {len(line):,} characters long, over the {max_line:,} limit",
                            where=where, hint="an inventory or config line is never this long: check the file")
        body = line.lstrip(" ")
        if not body or body.startswith("#"):
            continue
        indent = len(line) - len(body)
        while indents and indents[-1] >= indent:
            indents.pop()
        indents.append(indent)
        dashes = len(body) - len(body.lstrip("- "))  # "- - - x": sequences nested on one line
        if len(indents) + dashes // 2 > max_nesting:
            raise UserError(f"values nested more than {max_nesting} deep", where=f"{where}:{number}",
                            hint="real YAML/JSON nests a few levels; flatten the value")
    depth, line_no, quote = 0, 1, ""
    for char in text:
        if char == "\n":
            line_no += 1
            quote = ""  # YAML and JSON quotes do not span lines in practice; never let one blind the count
        elif quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > max_nesting:
                raise UserError(f"brackets nested more than {max_nesting} deep", where=f"{where}:{line_no}",
                                hint="real YAML/JSON nests a few levels; flatten the value")
        elif char in "]}":
            depth = max(0, depth - 1)


_NOT_BRACKET_OR_QUOTE = bytes(c for c in range(256) if c not in b'"[]{}')
_QUOTED = re.compile(rb'"[^"]*"')
_INNERMOST = re.compile(rb"\[\]|\{\}")


def check_json_nesting(text: str, where: str, *, max_nesting: int = MAX_NESTING) -> None:
    """Refuse JSON nested deeper than `max_nesting`, at C speed (a 100 MB snapshot is one JSON line): escapes,
    everything but quotes and brackets, and then the strings go; each pass that drops the innermost empty pairs
    peels one level. (Dropping two adjacent quotes keeps every other quote's place, opening or closing.)"""
    unescaped = text.encode(errors="surrogatepass").replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = unescaped.translate(None, _NOT_BRACKET_OR_QUOTE)
    brackets, depth = _QUOTED.sub(b"", kept.replace(b'""', b"")), 0
    while brackets:
        peeled = _INNERMOST.sub(b"", brackets)
        if len(peeled) == len(brackets):  # unbalanced, so not JSON: the slower scan judges it as it judges any text
            check_text_shape(text, where, max_line=len(text) + 1, max_nesting=max_nesting)
            return
        brackets, depth = peeled, depth + 1
        if depth > max_nesting:
            check_text_shape(text, where, max_line=len(text) + 1, max_nesting=max_nesting)  # names the line
            raise UserError(f"brackets nested more than {max_nesting} deep", where=where,
                            hint="real YAML/JSON nests a few levels; flatten the value")


def check_expansion(data: Any, where: str, *, limit: int = MAX_EXPANDED_VALUES) -> None:
    """Refuse parsed data that would expand into more than `limit` values when walked (YAML alias bombs:
    an alias is the same object again, so sizes are memoized by identity and the walk stays linear)."""
    sizes: dict[int, int] = {}

    def size(value: Any, depth: int) -> int:
        if not isinstance(value, (dict, list, tuple)):
            return 1
        key = id(value)
        if key in sizes:
            return sizes[key]
        if depth > MAX_NESTING:
            raise UserError(f"values nested more than {MAX_NESTING} deep", where=where)
        sizes[key] = 1  # a recursive structure counts once
        children = [*value.keys(), *value.values()] if isinstance(value, dict) else list(value)
        total = 1
        for child in children:
            total += size(child, depth + 1)
            if total > limit:
                break
        sizes[key] = min(total, limit + 1)
        return sizes[key]

    if size(data, 0) > limit:
        raise UserError(f"expands to more than {limit:,} values through YAML aliases (an alias bomb)", where=where,
                        hint="write the value out, or use an anchor without nesting aliases inside aliases")

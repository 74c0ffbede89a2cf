"""Errors meant for people: one clear message, exit code 2, never a traceback."""
# exercised by tests/kubespray/test_errors.py

from __future__ import annotations


class UserError(Exception):
    """Bad input or a refused action. `where` names the file, line, host or field; `hint` says what to do."""

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text}\n  hint: {self.hint}" if self.hint else text

"""Running the playbooks shipped in `migrate/playbooks/` through ansible-runner; progress goes to a callback."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrate.atomic import Interrupted
from migrate.errors import UserError
from migrate.redact import redact_text

PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"
# runner stats keys -> our names ("dark" is Ansible's word for unreachable)
_STATS = {"ok": "ok", "changed": "changed", "failures": "failed", "dark": "unreachable", "skipped": "skipped"}


@dataclass(frozen=True)
class HostStats:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class TaskFailure:
    host: str
    task: str
    message: str
    unreachable: bool = False

    def __str__(self) -> str:
        what = "unreachable" if self.unreachable else "failed"
        return f"{self.host}: task {self.task!r} {what}: {self.message}"


@dataclass(frozen=True)
class PlaybookResult:
    rc: int
    stats: dict[str, HostStats] = field(default_factory=dict)  # host -> counts, for every host the play ran on
    failures: tuple[TaskFailure, ...] = ()
    artifacts: dict[str, Any] = field(default_factory=dict)  # what the playbook handed back with set_stats

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.failures


def run_playbook(
    name: str | Path,
    inventory: Path | str,
    *,
    extravars: dict[str, Any] | None = None,
    vault_password_file: Path | str | None = None,
    progress: Callable[[str], None] | None = None,
    check: bool = True,
    limit: str | None = None,
    check_mode: bool = False,
    ansible_playbook: Path | None = None,
    ansible_config: Path | None = None,
) -> PlaybookResult:
    """Run a playbook against the user's inventory; with `check`, a failure is a UserError.

    `name`: a `str` names a playbook shipped in `migrate/playbooks/`; a `Path` is the user's own (a hook, or a
    Kubespray checkout's reset.yml). `check_mode` is ansible-playbook's --check. `ansible_playbook`: another
    Ansible's ansible-playbook (a Kubespray checkout's venv: each release asserts its own ansible-core range);
    `ansible_config`: that checkout's ansible.cfg (its roles_path, library and settings), when it has one.
    """
    import ansible_runner  # heavy: only paid by the verbs that run Ansible

    playbook = _playbook(name)
    cmdline = [f"--limit {shlex.quote(limit)}"] if limit else []
    if check_mode:
        cmdline.append("--check")
    if vault_password_file is not None:
        if not Path(vault_password_file).is_file():
            raise UserError(
                "vault password file not found",
                where=str(vault_password_file),
                hint="pass the file you give ansible-playbook",
            )
        cmdline.append(f"--vault-password-file {shlex.quote(str(Path(vault_password_file).resolve()))}")
    events = _EventLog(progress or _silent)
    with tempfile.TemporaryDirectory(prefix="ks2t-ansible-") as private, _cancel_on_signals() as cancelled:
        (Path(private) / "env").mkdir(mode=0o700)
        (Path(private) / "env" / "settings").write_text("pexpect_timeout: 0.2\n")  # how often cancel is asked
        if extravars:
            cmdline.append(f"-e @{shlex.quote(_write_unsafe_extravars(Path(private), extravars))}")
        runner = ansible_runner.run(
            private_data_dir=private,
            playbook=str(playbook),
            inventory=str(Path(inventory).resolve()),
            cmdline=" ".join(cmdline) or None,
            envvars={**_environment(private, ansible_playbook),
                     **({"ANSIBLE_CONFIG": str(ansible_config.resolve())} if ansible_config and ansible_config.is_file() else {})},
            event_handler=events,
            cancel_callback=cancelled.is_set,  # runner then SIGKILLs ansible-playbook's whole process group
            quiet=True,
        )
        result = PlaybookResult(runner.rc, events.stats, tuple(events.failures), events.artifacts)
        if check and not result.ok and not cancelled.is_set():  # cancelled: Interrupted is raised on the way out
            raise _explain(result, runner.stdout.read() if runner.rc and not events.failures else "")
    return result


def _playbook(name: str | Path) -> Path:
    if isinstance(name, Path):
        if not name.is_file():
            raise UserError("playbook not found", where=str(name), hint="give the path of a playbook file")
        return name.resolve()
    if not (PLAYBOOKS / name).is_file():
        raise UserError(f"no playbook named {name!r} ships with kubespray2talos", where=str(PLAYBOOKS))
    return PLAYBOOKS / name


def _write_unsafe_extravars(private: Path, extravars: dict[str, Any]) -> str:
    """Extra vars as data: every string tagged !unsafe, so Ansible never renders a path like 'x/{{ lookup(...) }}'."""
    path = private / "ks2t-extravars.yml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("".join(f"{json.dumps(str(k))}: {_unsafe(v)}\n" for k, v in extravars.items()))
    return str(path)


def _unsafe(value: Any) -> str:
    """A YAML flow value with every string marked !unsafe (JSON strings are valid YAML scalars)."""
    if isinstance(value, str):
        return f"!unsafe {json.dumps(value)}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_unsafe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_unsafe(v) for v in value) + "]"
    return json.dumps(value)


@contextmanager
def _cancel_on_signals() -> Iterator[threading.Event]:
    """While a playbook runs, SIGINT/SIGTERM ask the runner to kill it (a raise inside pexpect would orphan it);
    once it is gone, the signal is raised as Interrupted so every cleanup on the way out runs."""
    cancelled = threading.Event()
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield cancelled
        return

    def handler(signum: int, _frame: Any) -> None:
        received.append(signum)
        cancelled.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield cancelled
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    if received:
        raise Interrupted(received[0])


class _EventLog:
    """ansible-runner event handler: reports progress, remembers failures and the final stats."""

    def __init__(self, progress: Callable[[str], None]):
        self.progress = progress
        self.failures: list[TaskFailure] = []
        self.stats: dict[str, HostStats] = {}
        self.artifacts: dict[str, Any] = {}

    def __call__(self, event: dict[str, Any]) -> bool:
        kind, data = event.get("event", ""), event.get("event_data") or {}
        if kind == "playbook_on_play_start":
            self.progress(f"play: {data.get('play', '')}")
        elif kind == "playbook_on_task_start":
            self.progress(f"  task: {data.get('task', '')}")
        elif kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
            self.failures.append(
                TaskFailure(
                    data.get("host", "?"),
                    data.get("task", "?"),
                    _message(data.get("res")),
                    kind.endswith("unreachable"),
                )
            )
        elif kind == "playbook_on_stats":
            hosts = {h for key in _STATS for h in (data.get(key) or {})}
            self.stats = {
                h: HostStats(**{ours: int((data.get(theirs) or {}).get(h, 0)) for theirs, ours in _STATS.items()})
                for h in sorted(hosts)
            }
            self.artifacts = dict(data.get("artifact_data") or {})
        return True


_CONNECT_PREFIX = re.compile(r"^(Task failed: )?(Failed to connect to the host via \w+: )?")


def _message(res: Any) -> str:
    """The one line a person needs from a failed task's result; PEM private keys redacted on the way."""
    if not isinstance(res, dict):
        return "no details"
    failed_items = [r for r in res.get("results") or [] if isinstance(r, dict) and (r.get("failed") or r.get("unreachable"))]
    if failed_items:  # a loop: the first failed item says what went wrong, "All items completed" does not
        res = failed_items[0]
    text = res.get("msg") or res.get("stderr") or res.get("reason") or "no details"
    text = _CONNECT_PREFIX.sub("", str(text))  # ansible-core's framing; the reason is what follows
    return redact_text(str(text)).strip().splitlines()[0][:300] if str(text).strip() else "no details"


def _explain(result: PlaybookResult, output: str) -> UserError:
    if result.failures:
        first = result.failures[0]
        more = f" (and {len(result.failures) - 1} more failure(s))" if len(result.failures) > 1 else ""
        hint = (
            "fix that host's ansible_host in the inventory (or DNS): this machine cannot resolve the name"
            if "could not resolve hostname" in first.message.lower()
            else "check SSH access and the inventory address of that host"
            if first.unreachable
            else "fix what the task reports, then run the command again"
        )
        what = "unreachable" if first.unreachable else "failed"  # the host is said once, as `where`
        return UserError(f"task {first.task!r} {what}: {first.message}{more}", where=first.host, hint=hint)
    last = next((line for line in reversed(output.splitlines()) if line.strip()), "no output")
    if "vault" in last.lower():
        return UserError(
            f"Ansible could not read the inventory: {redact_text(last)[:300]}",
            hint="the inventory holds vault-encrypted values: pass --vault-password-file with the file you give ansible-playbook",
        )
    return UserError(
        f"ansible-playbook exited with {result.rc}: {redact_text(last)[:300]}",
        hint="run with the same inventory through ansible-playbook to see all output",
    )


def _environment(private: str, ansible_playbook: Path | None = None) -> dict[str, str]:
    # the ansible-playbook beside our interpreter first: a venv's ansible, whatever the caller's PATH says;
    # or the one asked for (a Kubespray checkout's venv), with its siblings (ansible-galaxy, its python) first
    first = Path(sys.executable).parent
    if ansible_playbook is not None:
        if ansible_playbook.name != "ansible-playbook" or not os.access(ansible_playbook, os.X_OK):
            raise UserError("not an executable ansible-playbook", where=str(ansible_playbook),
                            hint="point at the ansible-playbook of the venv your Kubespray checkout runs with")
        first = ansible_playbook.absolute().parent
    path = os.pathsep.join([str(first), os.environ.get("PATH", os.defpath)])
    wrapper = _playbook_that_dies_with_us(Path(private), path)
    return {
        "PATH": os.pathsep.join([str(wrapper), path]) if wrapper else path,
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        # every file Ansible writes stays in the private dir, removed after the run: nothing in ~/.ansible or /tmp
        "ANSIBLE_LOCAL_TEMP": f"{private}/tmp",
        "ANSIBLE_REMOTE_TEMP": f"{private}/remote-tmp",
        "ANSIBLE_HOME": f"{private}/ansible-home",
        "ANSIBLE_NOCOLOR": "1",
    }


_WRAPPER = """#!{python}
# ansible-playbook, asked to die with kubespray2talos (PR_SET_PDEATHSIG): a SIGKILL of the tool leaves no orphan
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
if os.getppid() != {parent}:
    sys.exit("kubespray2talos is gone")
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
"""


def _playbook_that_dies_with_us(private: Path, path: str) -> Path | None:
    """A bin directory whose ansible-playbook execs the real one after tying its life to ours (Linux only)."""
    real = shutil.which("ansible-playbook", path=path)
    if real is None or not sys.platform.startswith("linux"):
        return None
    bin_dir = private / "bin"
    bin_dir.mkdir(mode=0o700)
    script = bin_dir / "ansible-playbook"
    script.write_text(_WRAPPER.format(python=sys.executable, parent=os.getpid(), real=real))
    script.chmod(0o700)
    return bin_dir


def _silent(line: str) -> None:
    """No progress callback: the caller renders nothing (library code never prints)."""

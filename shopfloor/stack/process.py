"""Process and health helpers shared by the local-stack servers.

Servers are started detached (own session, output to a log file) so that they outlive the command
that started them and so that no Python ``Popen`` object has to be kept around to reap them. They are
found again through pid files; a pid only counts as ours when its command line names our config, so
a recycled pid is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class StackError(RuntimeError):
    """A server of the local stack could not be started, checked or stopped."""


def is_root() -> bool:
    return os.geteuid() == 0


def spawn_detached(argv: Sequence[str], log_path: Path, *, cwd: Path | None = None) -> int:
    """Start ``argv`` in a new session with stdout and stderr appended to ``log_path``; return its pid.

    A short-lived ``sh`` starts the server in the background and exits, so the server is re-parented
    away from us and never becomes our zombie.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    script = '"$@" >>"$SHOPFLOOR_LOG" 2>&1 </dev/null & echo $!'
    result = subprocess.run(
        ["setsid", "sh", "-c", script, "sh", *argv],
        cwd=cwd,
        env={**os.environ, "SHOPFLOOR_LOG": str(log_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout.strip())


def _proc_stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name sits in parentheses and may contain spaces; fields after it are plain.
    return raw[raw.rindex(")") + 2 :].split()


def pid_alive(pid: int, marker: str | None = None) -> bool:
    """True when ``pid`` runs (zombies count as dead) and, if given, its command line has ``marker``."""
    stat = _proc_stat(pid)
    if stat is None or stat[0] in ("Z", "X"):
        return False
    if marker is None:
        return True
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return marker in cmdline


def read_pid(path: Path) -> int | None:
    """First line of a pid file (also PostgreSQL's postmaster.pid), or None."""
    try:
        first = path.read_text().splitlines()[0].strip()
    except (OSError, IndexError):
        return None
    return int(first) if first.isdigit() else None


def _reap(pid: int) -> None:
    # Only matters when the server happens to be our own child (e.g. started by pg_ctl in-process).
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def terminate(pid: int, *, marker: str, timeout: float, sig: signal.Signals = signal.SIGTERM) -> None:
    """Stop ``pid`` with ``sig``, then SIGKILL its process group after ``timeout`` seconds."""
    if not pid_alive(pid, marker):
        return
    stat = _proc_stat(pid)
    pgid = int(stat[3]) if stat else pid
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    if wait_until(lambda: _gone(pid), timeout):
        return
    kill(pid, marker=marker, pgid=pgid)


def kill(pid: int, *, marker: str, pgid: int | None = None) -> None:
    """SIGKILL ``pid`` (and its process group, when that group is not ours) and wait for it to go."""
    if not pid_alive(pid, marker):
        return
    if pgid is None:
        stat = _proc_stat(pid)
        pgid = int(stat[3]) if stat else pid
    # Children first: PostgreSQL's backends sit in process groups of their own.
    for child in [*children(pid), pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    if pgid not in (os.getpgrp(), 0, 1):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    if not wait_until(lambda: _gone(pid), 10.0):
        raise StackError(f"process {pid} survived SIGKILL")


def children(pid: int) -> list[int]:
    """Pids whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))) is not None and stat[1] == str(pid):
            found.append(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    # Once signalled, wait for the pid itself: an exiting process's command line reads empty
    # before the process is gone, so the marker check would end the wait too early.
    _reap(pid)
    return not pid_alive(pid)


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A loopback port nobody listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct free loopback ports (all held at once, so the kernel cannot repeat one)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def chown_tree(path: Path, user: str) -> None:
    """Give ``path`` and everything below it to ``user`` (used when running as root)."""
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


def check_traversable(path: Path, user: str) -> None:
    """Fail clearly when ``user`` could not reach ``path`` (e.g. pytest's mode-700 tmp dirs)."""
    entry = pwd.getpwnam(user)
    for parent in [path, *path.parents]:
        if not parent.exists():
            continue
        st = parent.stat()
        if st.st_uid == entry.pw_uid:
            allowed = bool(st.st_mode & 0o100)
        elif st.st_gid == entry.pw_gid:
            allowed = bool(st.st_mode & 0o010)
        else:
            allowed = bool(st.st_mode & 0o001)
        if not allowed:
            raise StackError(
                f"{parent} (mode {oct(st.st_mode & 0o777)}) is not traversable by user {user!r}; "
                f"use a state directory whose parents are mode 755"
            )


def reap(marker: str, timeout: float = 30.0) -> list[int]:
    """Stop every process whose command line contains ``marker`` (e.g. a test run's state root).

    The safety net of ``infra/test.sh``: whatever a killed test session left running under its own
    directory goes, and nothing else. Returns the pids that were found.
    """
    own = {os.getpid(), os.getppid()}
    found = [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and int(entry.name) not in own and pid_alive(int(entry.name), marker)
    ]
    for pid in found:
        terminate(pid, marker=marker, timeout=timeout)
    return found

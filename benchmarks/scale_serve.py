"""The scale benchmark's serve part: first start, restart, edit lag, memory; wrk against nginx."""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from scale_bench import WORKERS, Bench
from scale_floors import list_stat_floor
from scale_processes import (
    POLL,
    SETTLE_LIMIT,
    fetch,
    free_port,
    log_tail,
    poll_until,
    say,
    tree_rss_mb,
    wait_settled,
)

START_LIMIT = 900.0  # seconds a server may take to answer its first 200
EDIT_LIMIT = 60.0  # seconds an edit may take to show in the served feed


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


FRONT = ("/feed.xml", "/atom.xml", "/feed.json", "/")


def oldest_article_path(bench: Bench) -> str:
    """The page of the oldest article (file number 0): among the last a first start renders."""
    name = min(path.name for path in bench.feedsvc.articles.iterdir())
    return f"/articles/{name.split('_')[1].removesuffix('.txt').lower()}/"


def first_start(bench: Bench) -> bytes | None:
    """One start with an empty cache: the first 200 of /feed.xml, then of all four front
    paths, the 503s they gave after that, the time until an article page is served on
    every worker, and the workers' peak memory. Returns the served feed (None: failed)."""
    results = bench.results
    bench.trash.move(bench.feedsvc.cache)
    proc, port, ready = start_feedsvc(bench)
    try:
        if ready is None:
            results.fail("start_cold", "no 200", "feedsvc serve never answered 200")
            results.notes.append(log_tail(bench.log))
            return None
        results.add("start_cold", ready)
        start = time.perf_counter() - ready
        front = poll_until(
            lambda: all(fetch(port, path).status == 200 for path in FRONT), start, 60, proc
        )
        if front is not None:
            results.add("start_cold_front", front)
        page, refused, served, since = oldest_article_path(bench), 0, 0, 0.0
        while served < 2 * WORKERS and time.perf_counter() - start < START_LIMIT:
            refused += sum(fetch(port, path).status != 200 for path in FRONT)
            if fetch(port, page).status != 200:
                served = 0
            elif served == 0:  # served from here on, on new connections (any worker)
                served, since = 1, time.perf_counter() - start
            else:
                served += 1
            time.sleep(POLL)
        results.add("start_cold_refused", refused)
        if served >= 2 * WORKERS:
            results.add("start_cold_complete", since)
        wait_settled(proc.pid)  # let every worker finish (and write any cache) before stopping
        results.add("rss_cold_worker", tree_rss_mb(proc.pid, "VmHWM")[1])
        return served_feed(port)
    finally:
        bench.services.stop(proc)


def bench_serve(bench: Bench) -> None:
    results = bench.results
    feed = None
    for index in range(bench.repeat):
        say(f"{bench.size:,}: serve: first start (cold cache) {index + 1}/{bench.repeat}")
        feed = first_start(bench)
        if feed is None:
            return
    assert feed is not None
    results.notes.append(f"served /feed.xml: {len(feed):,} bytes, given to nginx")
    if "--cache-dir" not in bench.feedsvc.serve_flags:
        results.notes.append("feedsvc serve --help lists no --cache-dir: cache location not set")
    nginx = start_nginx(bench, feed)
    try:
        for index in range(bench.repeat):
            say(f"{bench.size:,}: serve {index + 1}/{bench.repeat}: list-and-stat floor")
            floor = list_stat_floor(bench)
            say(f"{bench.size:,}: serve {index + 1}/{bench.repeat}: restart")
            if not serve_once(bench):
                return
            if floor:
                results.pair("restart_list_stat", "restart", "list_stat")
                results.pair("edit_lag_list_stat", "edit_lag", "list_stat")
            results.pair("start_cold_restart", "start_cold", "restart")
            if nginx is not None:
                wrk_pair(bench, nginx[1], "nginx")
                results.pair("ratio_200", "feedsvc_200", "nginx_200")
                results.pair("ratio_304", "feedsvc_304", "nginx_304")
    finally:
        if nginx is not None:
            bench.services.stop(nginx[0])

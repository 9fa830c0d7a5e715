"""The scale benchmark's build part: cold builds against the floors, a build after one edit."""

from __future__ import annotations

import multiprocessing
import sys
import time
from pathlib import Path

from scale_bench import Bench
from scale_floors import FLOOR, floor_with_bytes, list_stat_floor, tree_counts, write_manifest
from scale_processes import log_tail, run_timed, say

BUILD_LIMIT = 3600.0  # seconds a feedsvc build may take
MARKER = ".feedsvc-build"  # the manifest a build leaves in its output: each file's ETag


def bench_build(bench: Bench) -> None:
    out, manifest = bench.root / "public", bench.root / "manifest.txt"
    (bench.root / "floor.py").write_text(FLOOR, encoding="utf-8")
    jobs = "--jobs" in bench.feedsvc.build_flags
    for index in range(bench.repeat):
        step = f"{bench.size:,}: build {index + 1}/{bench.repeat}"
        if not cold_build(bench, step, out, manifest if index == 0 else None):
            return
        io_floor(bench, step, out, manifest, index == 0)
        byte_floor(bench, step, out)
        if jobs:
            parallel_build(bench, step, out, bench.root / "public-jobs")
        if incremental_build(bench, step, out):
            say(f"{step}: list-and-stat floor")
            if list_stat_floor(bench):
                bench.results.pair("incremental_list_stat", "incremental", "list_stat")
    if "--cache-dir" in bench.feedsvc.build_flags:
        bench.results.notes.append("parse cache: --cache-dir, moved aside before each cold build")
    else:
        bench.results.notes.append(
            "feedsvc build --help lists no --cache-dir: no parse cache to clear"
        )


def cold_build(
    bench: Bench, step: str, out: Path, manifest: Path | None, jobs: int = 1, key: str = "cold"
) -> bool:
    """A cold build in ``jobs`` processes into ``out`` (listed into ``manifest`` if given),
    timed as ``key``; False if it failed."""
    results = bench.results
    say(f"{step}: cold, --jobs {jobs}")
    bench.trash.move(out)
    bench.trash.move(bench.feedsvc.cache)
    command = bench.feedsvc.build(out, jobs)
    cold = run_timed(command, cwd=bench.root, log=bench.log, limit=BUILD_LIMIT)
    if not cold.ok:
        results.fail(key, "failed", f"cold build failed ({cold}); see the log tail below")
        results.notes.append(log_tail(bench.log))
        return False
    results.add(key, cold.wall)
    results.add(f"{key}_rss", cold.peak_rss_mb)
    if manifest is not None:
        write_manifest(out, manifest)
        results.add("feed_kb", (out / "feed.xml").stat().st_size / 1024)
    return True


def io_floor(bench: Bench, step: str, out: Path, manifest: Path, first: bool) -> None:
    """The I/O floor, paired with the cold build; the first run notes what both wrote."""
    results, floor_out = bench.results, bench.root / "floor"
    say(f"{step}: I/O floor")
    bench.trash.move(floor_out)
    floor_cmd = [sys.executable, str(bench.root / "floor.py"), str(bench.feedsvc.articles)]
    floor = run_timed(
        [*floor_cmd, str(floor_out), str(manifest)], cwd=bench.root, log=bench.log, limit=600
    )
    if not floor.ok:
        results.fail("floor", "failed", f"I/O floor failed ({floor})")
        return
    results.add("floor", floor.wall)
    results.pair("cold_floor", "cold", "floor")
    if first:
        results.notes.append(
            f"files, folders written: feedsvc {tree_counts(out)}, "
            f"I/O floor {tree_counts(floor_out)}"
        )


def byte_floor(bench: Bench, step: str, out: Path) -> None:
    """The floor writing the cold build's own files, paired with the cold build."""
    say(f"{step}: I/O floor with feedsvc's bytes")
    bytes_out = bench.root / "floor-bytes"
    bench.trash.move(bytes_out)
    copied = floor_with_bytes(bench, out, bytes_out)
    if copied is None:
        bench.results.fail("floor_bytes", "failed", "I/O floor with feedsvc's bytes failed")
        return
    bench.results.add("floor_bytes", copied)
    bench.results.pair("cold_floor_bytes", "cold", "floor_bytes")


def parallel_build(bench: Bench, step: str, reference: Path, out: Path) -> None:
    """A cold build in two processes, paired with the byte floor; its output must be the
    one-process build's (the same manifest: every resource's signature, ETag and size).
    The CPU probe just before it says how much of two cores was free."""
    bench.results.add("cpu_probe", cpu_probe())
    if not cold_build(bench, step, out, None, 2, "cold_jobs2"):
        return
    bench.results.pair("cold_jobs2_floor_bytes", "cold_jobs2", "floor_bytes")
    bench.results.pair("jobs2_speedup", "cold", "cold_jobs2")
    if (out / MARKER).read_bytes() != (reference / MARKER).read_bytes():
        bench.results.fail("cold_jobs2", "differs", "--jobs 2 wrote another site than --jobs 1")


def incremental_build(bench: Bench, step: str, out: Path) -> bool:
    """Edit the newest article and build again into ``out``; False if the build failed."""
    say(f"{step}: incremental")
    bench.edit()
    again = run_timed(bench.feedsvc.build(out), cwd=bench.root, log=bench.log, limit=BUILD_LIMIT)
    if not again.ok:
        bench.results.fail("incremental", "failed", f"incremental build failed ({again})")
        return False
    bench.results.add("incremental", again.wall)
    bench.results.add("incremental_rss", again.peak_rss_mb)
    return True


def _spin(rounds: int) -> None:
    total = 0
    for number in range(rounds):
        total += number


def cpu_probe(rounds: int = 3_000_000) -> float:
    """Return how many times as fast two busy loops ran in two processes as in one after
    the other: about 2 with two cores free, 1 when other work holds one of them."""
    start = time.perf_counter()
    _spin(rounds)
    _spin(rounds)
    alone = time.perf_counter() - start
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_spin, args=(rounds,)) for _ in range(2)]
    start = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return alone / (time.perf_counter() - start)

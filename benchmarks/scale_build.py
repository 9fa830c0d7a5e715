"""The scale benchmark's build part: cold builds against the floors, a build after one edit."""

from __future__ import annotations

import sys

from scale_bench import Bench
from scale_floors import FLOOR, floor_with_bytes, tree_counts, write_manifest
from scale_processes import log_tail, run_timed, say

BUILD_LIMIT = 3600.0  # seconds a feedsvc build may take


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

"""Scale benchmark: feedsvc at 1,000 to 100,000 articles, next to an I/O floor, nginx,
Pelican and Hugo.

Run by hand, never as a timed test (see benchmarks/README.md):

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/scale.py --sizes 1000,10000 --repeat 3

For each size it generates synthetic articles in the seed format, then measures, each
command in a fresh subprocess with its wall time and peak RSS: a cold full ``feedsvc
build`` against a plain read-and-write loop (the I/O floor) and that loop writing
feedsvc's own files with their bytes (timed inside, without interpreter start), an
incremental build after one edit and a server restart with a warm parse cache, each
against a process that lists the articles and stats each (the list-and-stat floor), the lag
until an edit is served, server memory, ``wrk`` against ``feedsvc serve`` and nginx (200
and 304), and Pelican and Hugo building the same corpus. It prints one table per size
(median, min, max, target, pass/fail), keeps every sample in a JSON file (rewritten after
each size) and ends with a log-log chart of build time against the number of articles
(``--chart``; ``--chart-from`` draws it again from the JSON without measuring).
Everything listens on 127.0.0.1 and every process it started is stopped at the end, on
error and on Ctrl-C.

This file only wires the parts, each a module beside it: ``scale_build``, ``scale_serve``
(feedsvc serve, wrk, nginx) and ``scale_peers`` (Pelican, Hugo) measure; ``scale_corpus``
generates the articles; ``scale_floors`` holds the plain loops a build is measured
against; ``scale_bench`` one size's folders and command lines; ``scale_processes`` timed
runs, servers, /proc and HTTP; ``scale_results`` the metrics, table and JSON file;
``scale_chart`` the chart.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scale_bench import Bench, Feedsvc, Trash, help_flags
from scale_build import bench_build
from scale_chart import has_matplotlib, report_chart
from scale_corpus import generate
from scale_peers import bench_peers
from scale_processes import Services, say
from scale_results import Results, format_table, machine_info, read_results, write_results
from scale_serve import bench_serve

PARTS = ("build", "serve", "peers")


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
        "--source",
        type=Path,
        help="measure the feedsvc of this source tree (a checkout of another revision, "
        "say the one before a change) instead of the installed one",
    )
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
    if args.source is not None:
        if not (args.source / "feedsvc" / "__init__.py").is_file():
            print(f"scale.py: --source: {args.source} holds no feedsvc package", file=sys.stderr)
            return 2
        # Every feedsvc command runs as "python -m feedsvc": this tree comes first.
        os.environ["PYTHONPATH"] = str(args.source.resolve())
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
        "source": str(args.source or "installed"),
        "machine": machine_info(),
    }
    write_results(args.json, header, [])  # an unwritable path fails now, not after an hour
    print(f"scale.py: sizes {args.sizes}, repeat {args.repeat}, parts {','.join(args.only)}")
    print(f"feedsvc: {header['source']}")
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

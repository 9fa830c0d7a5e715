"""The scale benchmark's results: the metrics, each size's samples, its table, the JSON file."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scale_processes import say


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
    Metric("cold", "feedsvc build, cold, --jobs 1 (s)"),
    Metric("cold_rss", "  peak RSS (MB)", digits=0),
    Metric("cold_jobs2", "feedsvc build, cold, --jobs 2 (s)"),
    Metric("cold_jobs2_rss", "  peak RSS, largest process (MB)", digits=0),
    Metric("jobs2_speedup", "  --jobs 1 / --jobs 2", digits=2),
    Metric("cpu_probe", "  CPU probe: 2 busy processes / 1 (2: both cores free)", digits=2),
    Metric("floor", "I/O floor (s)"),
    Metric("cold_floor", "cold build --jobs 1 / I/O floor", "<= 1.5", lambda v: v <= 1.5, 3),
    Metric("floor_bytes", "I/O floor with feedsvc's bytes, loop (s)"),
    Metric("cold_floor_bytes", "cold --jobs 1 / floor with its bytes", digits=3),
    Metric(
        "cold_jobs2_floor_bytes",
        "cold --jobs 2 / floor with its bytes",
        "<= 2",
        lambda v: v <= 2,
        3,
    ),
    Metric("incremental", "feedsvc build after one edit (s)", "< 2", lambda v: v < 2),
    Metric("incremental_rss", "  peak RSS (MB)", digits=0),
    Metric("list_stat", "list-and-stat floor (s)", digits=3),
    Metric("incremental_list_stat", "build after one edit / list-and-stat floor", digits=1),
    Metric("start_cold", "serve: first start, first 200 of /feed.xml (s)"),
    Metric("start_cold_front", "  first 200 of /feed.xml, /atom.xml, /feed.json, / (s)"),
    Metric("start_cold_refused", "  non-200 answers for those after that", "0", lambda v: v == 0),
    Metric("start_cold_complete", "  article pages served on every worker (s)"),
    Metric("rss_cold_worker", "  largest worker, peak (MB)", "< 250", lambda v: v < 250, 0),
    Metric("restart", "serve: restart, first 200, warm (s)", "< 3", lambda v: v < 3),
    Metric("restart_list_stat", "  restart / list-and-stat floor", digits=1),
    Metric("start_cold_restart", "first start / restart", "<= 2", lambda v: v <= 2),
    Metric("edit_lag", "serve: edit visible in /feed.xml (s)", "< 1", lambda v: v < 1),
    Metric("edit_lag_list_stat", "  edit lag / list-and-stat floor", digits=1),
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


def describe_machine() -> str:
    versions = []
    for name in ("feedsvc", "granian", "pelican", "markdown", "hugo"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions.append(f"{name} {version(name)}")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average {load}; " + ", ".join(versions)

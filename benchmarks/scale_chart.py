"""The scale benchmark's chart: build and start times against the number of articles,
log-log, as PNG."""

from __future__ import annotations

import importlib.util
import os
import statistics
from pathlib import Path
from typing import Any

from scale_results import Results

# The charted metrics, drawn in this order: (metric key, legend label, colour, marker).
CHART_LINES = (
    ("cold", "feedsvc build, cold, --jobs 1", "tab:blue", "o"),
    ("cold_jobs2", "feedsvc build, cold, --jobs 2", "tab:purple", "h"),
    ("incremental", "feedsvc build after one edit", "tab:cyan", "s"),
    ("floor", "I/O floor (read and write each file)", "tab:gray", "v"),
    ("floor_bytes", "I/O floor with feedsvc's bytes", "tab:brown", "x"),
    ("list_stat", "list-and-stat floor (list the folder, stat each file)", "tab:olive", "P"),
    ("start_cold", "serve: first start, first 200 (cold cache)", "tab:red", "*"),
    ("restart", "serve: restart, first 200 (warm cache)", "tab:pink", "h"),
    ("pelican", "Pelican, cold", "tab:orange", "^"),
    ("hugo", "Hugo, cold", "tab:green", "D"),
)


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
    return f"Build and start times against archive size, {cores} cores ({cpu})\n" + "; ".join(
        details
    )


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
    axes.set_ylabel("seconds")
    axes.set_title(title, fontsize=10)
    axes.grid(True, which="major", alpha=0.4)
    axes.grid(True, which="minor", axis="y", alpha=0.15)


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

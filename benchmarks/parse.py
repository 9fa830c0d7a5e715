"""Article loading benchmark: reading, decoding and parsing one file, against a baseline.

Run by hand, never as a timed test:

    .venv/bin/python benchmarks/parse.py
    .venv/bin/python benchmarks/parse.py --folder /path/to/articles --files 5000 --repeat 7

It times, in one process, each step ``repository.load_corpus`` takes for a file it has
not seen (no parse cache), over the first ``--files`` article files of ``--folder`` in
name order, or over that many articles benchmarks/scale.py generates (seed format,
about 3.5 KB each, accents and typographic quotes) in a temporary folder:

- read: ``repository.read_article_bytes`` (open, checks, read; the page cache is warm);
- decode: ``repository.decode_article`` of those bytes (UTF-8, the XML 1.0 check);
- parse: ``articles.parse_article`` of that text;
- load: ``repository.load_article``, the three together.

The baseline is the same functions as ``--baseline`` (a git revision) has them, loaded
from git into this process beside the working tree's. Every file is first checked to give
the same article, warnings and error with both. It prints the median of ``--repeat`` runs
in microseconds per file, the ratio baseline / current, and what loading 100,000 such
files would take at that rate. The folder is only read.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import scale_corpus  # noqa: E402
from common import seconds  # noqa: E402

from feedsvc import articles, repository  # noqa: E402
from feedsvc.config import Settings  # noqa: E402
from feedsvc.errors import ArticleError  # noqa: E402

BASELINE = "5689a93"  # the last revision before the read, decode and parse speed-ups
SITE_ARTICLES = 100_000
STEPS = ("read", "decode", "parse", "load")


def load_baseline(revision: str) -> tuple[types.ModuleType, types.ModuleType]:
    """Return feedsvc's articles and repository modules as ``revision`` has them.

    The baseline repository module imports the baseline articles module; everything
    else (errors, config, cache) is shared with the working tree.
    """
    modules = []
    saved = sys.modules["feedsvc.articles"]
    try:
        for name in ("articles", "repository"):
            shown = subprocess.run(
                ["git", "-C", str(HERE.parent), "show", f"{revision}:feedsvc/{name}.py"],
                capture_output=True,
                text=True,
            )
            if shown.returncode:
                raise SystemExit(f"no baseline (--no-baseline to time without): {shown.stderr}")
            source = shown.stdout
            module = types.ModuleType(f"baseline_{name}")
            # dataclasses looks the defining module up in sys.modules.
            sys.modules[module.__name__] = module
            exec(compile(source, f"{revision}:feedsvc/{name}.py", "exec"), module.__dict__)
            if name == "articles":
                sys.modules["feedsvc.articles"] = module
            modules.append(module)
    finally:
        sys.modules["feedsvc.articles"] = saved
    return modules[0], modules[1]


def outcome(load: Callable[[Path, Path, Settings], tuple[Any, list[Any]]], path: Path,
            root: Path, settings: Settings) -> object:  # fmt: skip
    """Return what one load gave, comparable across the two versions' classes."""
    try:
        article, warnings = load(path, root, settings)
    except ArticleError as exc:
        return ("error", exc.path, exc.reason)
    return (dataclasses.astuple(article), [dataclasses.astuple(w) for w in warnings])


def check(
    paths: Sequence[Path], root: Path, settings: Settings, baseline: types.ModuleType
) -> None:
    for path in paths:
        current = outcome(repository.load_article, path, root, settings)
        before = outcome(baseline.load_article, path, root, settings)
        if current != before:
            raise SystemExit(f"{path}: loads differently from the baseline:\n{current}\n{before}")


def step_runs(
    module: types.ModuleType,
    parser: types.ModuleType,
    paths: Sequence[Path],
    root: Path,
    settings: Settings,
) -> dict[str, Callable[[], None]]:
    """Return a run of each step over every file with ``module`` and ``parser``'s functions.

    Each step gets the previous step's output, made beforehand; a file that fails a
    step is left out of the later ones.
    """
    limit, zone, chrome = settings.max_file_bytes, settings.zone, settings.chrome_lines
    read, decode = module.read_article_bytes, module.decode_article
    parse, load = parser.parse_article, module.load_article
    data, texts = [], []
    for path in paths:
        try:
            blob = read(path, root, limit)
            data.append((path, blob))
            texts.append((path.name, decode(path, blob)[0]))
        except ArticleError:
            continue

    def read_all() -> None:
        for path in paths:
            try:
                read(path, root, limit)
            except ArticleError:
                pass

    def decode_all() -> None:
        for path, blob in data:
            try:
                decode(path, blob)
            except ArticleError:
                pass

    def parse_all() -> None:
        for name, text in texts:
            try:
                parse(name, text, zone, chrome)
            except ArticleError:
                pass

    def load_all() -> None:
        for path in paths:
            try:
                load(path, root, settings)
            except ArticleError:
                pass

    return {"read": read_all, "decode": decode_all, "parse": parse_all, "load": load_all}


def measure(folder: Path, count: int, repeat: int, revision: str | None) -> None:
    settings = Settings(articles=folder)
    root = folder.resolve()
    paths = repository.list_article_files(folder)[:count]
    if not paths:
        raise SystemExit(f"{folder}: no article files")
    size = sum(path.stat().st_size for path in paths) // len(paths)
    current = step_runs(repository, articles, paths, root, settings)
    baseline = None
    if revision is not None:
        old_articles, old_repository = load_baseline(revision)
        check(paths, root, settings, old_repository)
        baseline = step_runs(old_repository, old_articles, paths, root, settings)
    current["load"]()  # the page cache holds every file before the first timed run
    print(f"{len(paths)} files of {folder}, {size:,} bytes on average; median of {repeat} runs")
    if baseline is None:
        print(f"{'':8} {'µs/file':>10}")
    else:
        print(f"{'':8} {f'{revision} µs/file':>18} {'current µs/file':>16} {'ratio':>6}")
    totals = {}
    for step in STEPS:
        fast = seconds(current[step], repeat) / len(paths) * 1e6
        if baseline is None:
            print(f"{step:8} {fast:10.1f}")
            totals[step] = (fast, fast)
            continue
        slow = seconds(baseline[step], repeat) / len(paths) * 1e6
        print(f"{step:8} {slow:18.1f} {fast:16.1f} {slow / fast:6.2f}")
        totals[step] = (slow, fast)
    slow, fast = totals["load"]
    seconds_per = SITE_ARTICLES / 1e6
    if baseline is None:
        print(f"{SITE_ARTICLES:,} files: load {fast * seconds_per:.2f} s")
    else:
        print(f"{SITE_ARTICLES:,} files: load {slow * seconds_per:.2f} s with {revision}, "
              f"{fast * seconds_per:.2f} s now")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--folder", type=Path, help="articles to read (generated: none given)")
    parser.add_argument("--files", type=int, default=2000, help="files, first by name (2000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs, median taken (5)")
    parser.add_argument("--baseline", default=BASELINE, help=f"git revision ({BASELINE})")
    parser.add_argument("--no-baseline", action="store_true", help="time the current code only")
    args = parser.parse_args(argv)
    if args.files < 1:
        parser.error("--files must be 1 or more")
    revision = None if args.no_baseline else args.baseline
    if args.folder is not None:
        measure(args.folder, args.files, args.repeat, revision)
        return
    with tempfile.TemporaryDirectory(prefix="feedsvc-parse-") as work:
        folder = Path(work) / "articles"
        scale_corpus.generate(folder, args.files)
        measure(folder, args.files, args.repeat, revision)


if __name__ == "__main__":
    main()

"""Feed serialization benchmark: feedgen entry by entry against the compiled entries.

Run by hand, never as a timed test:

    .venv/bin/python benchmarks/feeds.py
    .venv/bin/python benchmarks/feeds.py --documents 100 --repeat 7

It parses the articles benchmarks/scale.py generates (seed format, about 3.5 KB each,
accents and typographic quotes) and writes RFC 5005 archive documents of 50 entries
with each path, in one process:

- feedgen: ``feeds._feedgen_rss`` / ``_feedgen_atom``, the reference path;
- compiled: ``build_rss`` / ``build_atom`` over every archive of one kind, so no document
  follows one of the same articles;
- compiled, build order: RSS then Atom of each archive, as ``site.render_site`` writes
  them (the Atom document reuses the RSS document's escaped texts); feedgen, which
  shares nothing between the two, is given the mean of its two rows there.

Every compiled document is first checked to equal feedgen's bytes. It prints the median
of ``--repeat`` runs in microseconds per entry and milliseconds per document, the ratio
feedgen / compiled, and what the 4,000 archive documents of 100,000 articles would take
at that rate.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from common import generated_articles, seconds  # noqa: E402

from feedsvc import feeds  # noqa: E402
from feedsvc.articles import Article  # noqa: E402
from feedsvc.config import Settings  # noqa: E402
from feedsvc.feeds import FeedPage, archive_chunks, build_atom, build_rss  # noqa: E402

ENTRIES = 50  # per archive document: the default item_limit
SITE_ARCHIVES = 2000  # 100,000 articles: 2,000 archives, each as RSS and as Atom

Documents = list[tuple[Sequence[Article], FeedPage]]
Writer = Callable[[Sequence[Article], Settings, FeedPage], bytes]


def make_documents(count: int, settings: Settings) -> Documents:
    """Return ``count`` archive documents of ENTRIES parsed articles each, with their pages.

    The articles are scale.py's: its text generator and seed, four a day.
    """
    newest_first = generated_articles(count * ENTRIES + ENTRIES, settings.zone)
    chunks = archive_chunks(newest_first, ENTRIES)  # the newest ENTRIES stay in feed.xml
    return [(chunk, FeedPage(n, len(chunks))) for n, chunk in enumerate(chunks, start=1)]


def one_kind(write: Writer, settings: Settings, documents: Documents) -> Callable[[], None]:
    def run() -> None:
        for chunk, page in documents:
            write(chunk, settings, page)

    return run


def build_order(settings: Settings, documents: Documents) -> Callable[[], None]:
    def run() -> None:
        for chunk, page in documents:
            build_rss(chunk, settings, page)
            build_atom(chunk, settings, page)

    return run


def check(settings: Settings, documents: Documents) -> None:
    for chunk, page in documents:
        if build_rss(chunk, settings, page) != feeds._feedgen_rss(chunk, settings, page):
            raise SystemExit(f"RSS archive {page.number} differs from feedgen's")
        if build_atom(chunk, settings, page) != feeds._feedgen_atom(chunk, settings, page):
            raise SystemExit(f"Atom archive {page.number} differs from feedgen's")


def print_row(label: str, slow: float, fast: float) -> None:
    """Print µs per entry and ms per document of feedgen (``slow``) and compiled (``fast``)."""
    per_document = [f"{figure * ENTRIES / 1000:9.2f}" for figure in (slow, fast)]
    print(f"{label:28} {slow:9.1f} {fast:9.1f} {' '.join(per_document)} {slow / fast:6.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--documents", type=int, default=40, help="archives per kind (40)")
    parser.add_argument("--repeat", type=int, default=5, help="runs, median taken (5)")
    args = parser.parse_args(argv)
    if args.documents < 2:
        # With one archive every document would follow one of the same articles.
        parser.error("--documents must be 2 or more")
    settings = Settings(title="Example News", base_url="https://news.example.org/")
    documents = make_documents(args.documents, settings)
    entries = len(documents) * ENTRIES
    size = sum(len(build_rss(c, settings, p)) for c, p in documents) // len(documents)
    check(settings, documents)
    print(f"{len(documents)} archive documents of {ENTRIES} entries per kind, "
          f"RSS document {size / 1000:.0f} KB; median of {args.repeat} runs")  # fmt: skip
    print(f"{'':28} {'µs/entry':^19} {'ms/document':^19}")
    print(f"{'':28} {'feedgen':>9} {'compiled':>9} {'feedgen':>9} {'compiled':>9} {'ratio':>6}")
    rows = []
    for kind, reference, compiled in (
        ("RSS", feeds._feedgen_rss, build_rss),
        ("Atom", feeds._feedgen_atom, build_atom),
    ):
        slow = seconds(one_kind(reference, settings, documents), args.repeat) / entries * 1e6
        fast = seconds(one_kind(compiled, settings, documents), args.repeat) / entries * 1e6
        rows.append((slow, fast))
        print_row(f"{kind} archives", slow, fast)
    slow = sum(s for s, _ in rows) / 2
    fast = seconds(build_order(settings, documents), args.repeat) / (2 * entries) * 1e6
    print_row("RSS then Atom (build order)", slow, fast)
    total = 2 * SITE_ARCHIVES * ENTRIES / 1e6
    print(f"4,000 archive documents of 100,000 articles: feedgen {slow * total:.1f} s, "
          f"compiled {fast * total:.1f} s (feed documents only)")  # fmt: skip


if __name__ == "__main__":
    main()

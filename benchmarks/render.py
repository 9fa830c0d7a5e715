"""HTML page rendering benchmark: Jinja page by page against the compiled templates.

Run by hand, never as a timed test:

    .venv/bin/python benchmarks/render.py
    .venv/bin/python benchmarks/render.py --articles 5000 --repeat 7

It parses the articles benchmarks/scale.py generates (seed format, about 3.5 KB each,
accents and typographic quotes) and renders, in one process, every article page and
every index page (20 rows, the default page size) of them with each path:

- Jinja: ``pages._jinja_article_page`` / ``_jinja_index_page``, the reference path
  (with ``pages._ENV``, whose auto_reload is off: with it on, as before the compiled
  pages, a stat of each template file adds about 7 µs per page);
- compiled: ``render_article_page`` / ``render_index_page``.

Every compiled page is first checked to equal Jinja's bytes (which also compiles the
templates, so that is not timed). It prints the median of ``--repeat`` runs in
microseconds per page (and per index row), the ratio Jinja / compiled, and what the
100,000 article pages and 5,000 index pages of 100,000 articles would take at that rate.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from common import generated_articles, seconds  # noqa: E402

from feedsvc import pages  # noqa: E402
from feedsvc.articles import Article  # noqa: E402
from feedsvc.config import Settings  # noqa: E402
from feedsvc.pages import IndexPage, render_article_page, render_index_page  # noqa: E402

SITE_ARTICLES = 100_000

Index = list[tuple[Sequence[Article], IndexPage]]


def make_articles(count: int, settings: Settings) -> list[Article]:
    """Return ``count`` parsed articles, newest first (see ``common.generated_articles``)."""
    return generated_articles(count, settings.zone)


def index_pages(articles: Sequence[Article], size: int) -> Index:
    count = max(1, -(-len(articles) // size))
    return [(articles[(n - 1) * size : n * size], IndexPage(n, count)) for n in range(1, count + 1)]


def article_run(
    render: Callable[[Article, Settings], bytes], articles: Sequence[Article], settings: Settings
) -> Callable[[], None]:
    def run() -> None:
        for article in articles:
            render(article, settings)

    return run


def index_run(
    render: Callable[[Sequence[Article], Settings, IndexPage], bytes],
    index: Index,
    settings: Settings,
) -> Callable[[], None]:
    def run() -> None:
        for rows, page in index:
            render(rows, settings, page)

    return run


def check(articles: Sequence[Article], index: Index, settings: Settings) -> None:
    for article in articles:
        if render_article_page(article, settings) != pages._jinja_article_page(article, settings):
            raise SystemExit(f"article page {article.id} differs from Jinja's")
    for rows, page in index:
        if render_index_page(rows, settings, page) != pages._jinja_index_page(rows, settings, page):
            raise SystemExit(f"index page {page.number} differs from Jinja's")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--articles", type=int, default=2000, help="articles (2000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs, median taken (5)")
    args = parser.parse_args(argv)
    settings = Settings(title="Example News", base_url="https://news.example.org/")
    articles = make_articles(args.articles, settings)
    index = index_pages(articles, settings.page_size)
    check(articles, index, settings)
    size = sum(len(render_article_page(a, settings)) for a in articles) // len(articles)
    print(f"{len(articles)} articles, article page {size / 1000:.1f} KB; {len(index)} index "
          f"pages of {settings.page_size} rows; median of {args.repeat} runs")  # fmt: skip
    print(f"{'':24} {'Jinja µs':>10} {'compiled µs':>12} {'ratio':>6}")
    runs = {
        "article page": (
            article_run(pages._jinja_article_page, articles, settings),
            article_run(render_article_page, articles, settings),
            len(articles),
        ),
        "index page": (
            index_run(pages._jinja_index_page, index, settings),
            index_run(render_index_page, index, settings),
            len(index),
        ),
    }
    site_pages = {"article page": SITE_ARTICLES, "index page": SITE_ARTICLES // settings.page_size}
    totals = []
    for name, (slow_run, fast_run, count) in runs.items():
        slow = seconds(slow_run, args.repeat) / count * 1e6
        fast = seconds(fast_run, args.repeat) / count * 1e6
        print(f"{name:24} {slow:10.1f} {fast:12.1f} {slow / fast:6.1f}")
        if name == "index page":
            rows = settings.page_size
            print(f"{'  per index row':24} {slow / rows:10.2f} {fast / rows:12.2f}")
        totals.append((name, site_pages[name], slow, fast))
    print(f"{SITE_ARTICLES:,} articles:")
    for name, count, slow, fast in totals:
        print(f"  {count:,} {name}s: Jinja {slow * count / 1e6:.2f} s, "
              f"compiled {fast * count / 1e6:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()

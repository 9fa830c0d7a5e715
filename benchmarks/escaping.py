"""Escaping and date formatting: feedsvc's own against the library functions it could call.

Run by hand, never as a timed test:

    .venv/bin/python benchmarks/escaping.py
    .venv/bin/python benchmarks/escaping.py --articles 2000 --repeat 7

feedsvc keeps two small hand-written functions where a library has one
(``escaping.html_escape_all``, ``feeds.rfc2822``); this script shows what each saves, on
the texts and dates of the articles benchmarks/scale.py generates (accents, typographic
quotes):

- HTML escaping of an article's texts, as Jinja's autoescape does: ``markupsafe.escape``
  per text against ``escaping.html_escape_all``;
- the RSS date: ``email.utils.format_datetime`` against ``feeds.rfc2822``.

Each pair is first checked to give the same result. It prints microseconds per article
(median of ``--repeat`` runs) and the ratio library / feedsvc.
"""

from __future__ import annotations

import argparse
import email.utils
import functools
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import markupsafe  # noqa: E402
from common import generated_articles, seconds  # noqa: E402

from feedsvc.articles import Article  # noqa: E402
from feedsvc.config import Settings  # noqa: E402
from feedsvc.escaping import html_escape_all  # noqa: E402
from feedsvc.feeds import rfc2822  # noqa: E402


def texts(article: Article) -> list[str]:
    return [article.title, article.standfirst, *article.paragraphs]


def markupsafe_all(articles: list[Article]) -> list[list[bytes]]:
    return [[str(markupsafe.escape(text)).encode() for text in texts(a)] for a in articles]


def feedsvc_html(articles: list[Article]) -> list[list[bytes]]:
    return [html_escape_all(texts(a)) for a in articles]


def email_dates(articles: list[Article]) -> list[str]:
    return [email.utils.format_datetime(a.published) for a in articles]


def feedsvc_dates(articles: list[Article]) -> list[str]:
    return [rfc2822(a.published) for a in articles]


Pair = tuple[str, Callable[[list[Article]], object], Callable[[list[Article]], object]]
PAIRS: list[Pair] = [
    ("HTML escaping (markupsafe)", markupsafe_all, feedsvc_html),
    ("RSS dates (email.utils)", email_dates, feedsvc_dates),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    articles = generated_articles(args.articles, Settings().zone)
    print(f"{args.articles} articles; median of {args.repeat} runs, µs per article")
    print(f"{'':34} {'library':>9} {'feedsvc':>9} {'ratio':>6}")
    for name, library, own in PAIRS:
        if library(articles) != own(articles):
            raise SystemExit(f"{name}: the two differ")
        slow = seconds(functools.partial(library, articles), args.repeat)
        fast = seconds(functools.partial(own, articles), args.repeat)
        per = 1e6 / args.articles
        print(f"{name:34} {slow * per:9.2f} {fast * per:9.2f} {slow / fast:6.1f}")


if __name__ == "__main__":
    main()

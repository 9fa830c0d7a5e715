"""The URL scheme: the site path of every article page, index page, feed and archive.

Site paths have no leading slash (``articles/<id>/``, ``feed.xml``, ``""`` for the front
page): ``Settings.url`` joins them to ``base_url``. The server's routes, the static build's
file names and the hosting files are all derived from these functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from feedsvc.articles import Summary

FEED_PATHS = {"rss": "feed.xml", "atom": "atom.xml", "json": "feed.json"}
NOT_FOUND_FILE = "404.html"
SITEMAP_PATH = "sitemap.xml"  # the sitemap, or past its URL limit the sitemap index
ROBOTS_PATH = "robots.txt"
# Paths readers and people try, answered 301 to the canonical resource (by site path),
# by feedsvc serve and by the static hosting files alike.
REDIRECTS = {
    "/rss": "feed.xml",
    "/rss.xml": "feed.xml",
    "/feed": "feed.xml",
    "/index.xml": "feed.xml",
    "/atom": "atom.xml",
    "/page/1/": "",
}


def article_path(article: Summary) -> str:
    """Return the site path of an article's page."""
    return f"articles/{article.slug}/"


def archive_path(kind: str, number: int) -> str:
    """Return the site path of archive document ``number`` (from 1, the oldest)."""
    return f"archive/{number}/{FEED_PATHS[kind]}"


def sitemap_part_path(number: int) -> str:
    """Return the site path of sitemap part ``number`` (from 1) of a sitemap index."""
    return f"sitemap-{number}.xml"


def index_path(number: int) -> str:
    """Return the site path of index page ``number``: ``""`` for the first, ``page/N/`` after."""
    return "" if number == 1 else f"page/{number}/"


def index_page_count(articles: int, page_size: int) -> int:
    """Return how many index pages list ``articles`` articles: at least one, even empty."""
    return max(1, -(-articles // page_size))


def file_path(url_path: str) -> str:
    """Return the relative file name a URL path is written to: ``/a/`` -> ``a/index.html``."""
    relative = url_path.lstrip("/")
    return relative + "index.html" if relative.endswith("/") or not relative else relative


@dataclass(frozen=True, slots=True)
class IndexPage:
    """One page of the index: its number (from 1), the page count and the neighbours' paths."""

    number: int
    count: int

    @property
    def path(self) -> str:
        return index_path(self.number)

    @property
    def newer_path(self) -> str | None:
        return index_path(self.number - 1) if self.number > 1 else None

    @property
    def older_path(self) -> str | None:
        return index_path(self.number + 1) if self.number < self.count else None

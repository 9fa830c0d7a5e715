"""RSS 2.0, Atom 1.0 and JSON Feed 1.1 documents as bytes. The only module that uses feedgen.

Entry ids are ``urn:uuid:`` UUIDs (version 5) of the article id: they depend on
nothing but the file name's id, so they survive edits, re-dating, a new title
and a move of the site to another base URL.
"""

from __future__ import annotations

import html
import json
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from feedgen.feed import FeedGenerator

from feedsvc import __version__
from feedsvc.articles import Article
from feedsvc.config import Settings

ARTICLE_NAMESPACE = uuid.UUID("6f1d3b52-8c1e-5b7a-9a55-0f2c3c1e7a10")
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
# Atom needs an <updated> even for a feed with no entries; a fixed instant keeps
# such a feed byte-identical across builds.
EMPTY_FEED_TIME = datetime(1970, 1, 1, tzinfo=UTC)
FEED_PATHS = {"rss": "feed.xml", "atom": "atom.xml", "json": "feed.json"}
# feedgen formats RSS dates by switching the process-wide locale to C and back;
# two builds at once could leave it switched, so builds take turns.
_FEEDGEN_LOCK = threading.Lock()


def entry_id(article: Article) -> str:
    """Return the id an article has in every feed, forever."""
    return f"urn:uuid:{uuid.uuid5(ARTICLE_NAMESPACE, article.id)}"


def article_path(article: Article) -> str:
    """Return the site path of an article's page."""
    return f"articles/{article.slug}/"


def content_html(article: Article) -> str:
    """Return the article's paragraphs as escaped HTML."""
    return "".join(f"<p>{html.escape(text)}</p>" for text in article.paragraphs)


def feed_updated(articles: Sequence[Article]) -> datetime:
    """Return the feed's update time: the newest article's, never the build time."""
    return max((a.updated for a in articles), default=EMPTY_FEED_TIME)


def _generator(articles: Sequence[Article], settings: Settings, kind: str) -> Any:
    fg = FeedGenerator()
    fg.id(settings.url(FEED_PATHS["atom"]))
    fg.title(settings.title)
    fg.subtitle(settings.description)
    fg.author({"name": settings.author})
    fg.language(settings.language)
    mime = "application/rss+xml" if kind == "rss" else "application/atom+xml"
    fg.link(href=settings.url(FEED_PATHS[kind]), rel="self", type=mime)
    # feedgen takes the RSS <channel><link> from the last link set: the home page.
    fg.link(href=settings.base_url, rel="alternate", type="text/html")
    fg.generator("feedsvc", version=__version__)
    fg.updated(feed_updated(articles))
    fg.ttl(settings.max_age // 60)
    for article in articles:
        fe = fg.add_entry(order="append")
        fe.id(entry_id(article))
        fe.guid(entry_id(article), permalink=False)
        fe.title(article.title)
        fe.link(href=settings.url(article_path(article)), rel="alternate", type="text/html")
        fe.published(article.published)
        fe.updated(article.updated)
        if article.standfirst:
            # Readers take RSS <description> as HTML (feedparser drops "<facts>" from plain
            # text), so the plain-text standfirst goes in escaped, as html in Atom too.
            fe.summary(html.escape(article.standfirst), type="html")
        fe.content(content_html(article), type="html")
    return fg


def build_rss(articles: Sequence[Article], settings: Settings) -> bytes:
    """Return the RSS 2.0 document of ``articles`` (newest first, already limited)."""
    with _FEEDGEN_LOCK:
        return bytes(_generator(articles, settings, "rss").rss_str(pretty=True))


def build_atom(articles: Sequence[Article], settings: Settings) -> bytes:
    """Return the Atom 1.0 (RFC 4287) document of ``articles``."""
    with _FEEDGEN_LOCK:
        return bytes(_generator(articles, settings, "atom").atom_str(pretty=True))


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def build_json(articles: Sequence[Article], settings: Settings) -> bytes:
    """Return the JSON Feed 1.1 document of ``articles``."""
    items = []
    for article in articles:
        item: dict[str, object] = {
            "id": entry_id(article),
            "url": settings.url(article_path(article)),
            "title": article.title,
            "content_html": content_html(article),
            "date_published": _rfc3339(article.published),
            "date_modified": _rfc3339(article.updated),
        }
        if article.standfirst:
            item["summary"] = article.standfirst
        items.append(item)
    document = {
        "version": JSON_FEED_VERSION,
        "title": settings.title,
        "home_page_url": settings.base_url,
        "feed_url": settings.url(FEED_PATHS["json"]),
        "description": settings.description,
        "language": settings.language,
        "authors": [{"name": settings.author}],
        "items": items,
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")

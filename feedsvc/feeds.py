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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feedsvc import __version__
from feedsvc.articles import Article, Summary
from feedsvc.config import Settings

ARTICLE_NAMESPACE = uuid.UUID("6f1d3b52-8c1e-5b7a-9a55-0f2c3c1e7a10")
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
# Atom needs an <updated> even for a feed with no entries; a fixed instant keeps
# such a feed byte-identical across builds.
EMPTY_FEED_TIME = datetime(1970, 1, 1, tzinfo=UTC)
FEED_PATHS = {"rss": "feed.xml", "atom": "atom.xml", "json": "feed.json"}
ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005
SYNDICATION_NS = "http://purl.org/rss/1.0/modules/syndication/"
# feedgen formats RSS dates by switching the process-wide locale to C and back;
# two serializations at once could leave it switched, so they take turns.
_FEEDGEN_LOCK = threading.Lock()
S = TypeVar("S", bound=Summary)


def entry_id(article: Article) -> str:
    """Return the id an article has in every feed, forever."""
    return entry_id_of(article.id)


def entry_id_of(article_id: str) -> str:
    """Return the feed entry id of the article with file-name id ``article_id``."""
    return f"urn:uuid:{uuid.uuid5(ARTICLE_NAMESPACE, article_id)}"


def article_path(article: Summary) -> str:
    """Return the site path of an article's page."""
    return f"articles/{article.slug}/"


def content_html(article: Article) -> str:
    """Return the article's paragraphs as escaped HTML."""
    return "".join(f"<p>{html.escape(text)}</p>" for text in article.paragraphs)


def feed_updated(articles: Sequence[Summary]) -> datetime:
    """Return the feed's update time: the newest article's, never the build time."""
    return max((a.updated for a in articles), default=EMPTY_FEED_TIME)


def archive_path(kind: str, number: int) -> str:
    """Return the site path of archive document ``number`` (from 1, the oldest)."""
    return f"archive/{number}/{FEED_PATHS[kind]}"


def archive_chunks(articles: Sequence[S], limit: int) -> list[Sequence[S]]:
    """Split the articles the subscription feed leaves out into RFC 5005 archives.

    ``articles`` are newest first. Archive k holds the articles at positions
    (k-1)*limit to k*limit-1 counted from the oldest, so its entries never change
    while older articles stay as they are; only full archives exist, and together
    with the subscription feed (the newest ``limit``) they hold every article.
    Returns the archives oldest first, each newest first inside.
    """
    oldest_first = list(reversed(articles))
    count = -(-(len(articles) - limit) // limit) if len(articles) > limit else 0
    return [tuple(reversed(oldest_first[(k - 1) * limit : k * limit])) for k in range(1, count + 1)]


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One RSS or Atom document: the subscription feed (``number`` 0) or an archive."""

    number: int = 0
    archives: int = 0  # how many archives exist

    def path(self, kind: str) -> str:
        return FEED_PATHS[kind] if self.number == 0 else archive_path(kind, self.number)

    def links(self, kind: str) -> list[tuple[str, str]]:
        """Return the RFC 5005 ``(rel, path)`` links of this document."""
        if self.number == 0:
            return [("prev-archive", archive_path(kind, self.archives))] if self.archives else []
        links = [("current", FEED_PATHS[kind])]
        if self.number > 1:
            links.append(("prev-archive", archive_path(kind, self.number - 1)))
        if self.number < self.archives:
            links.append(("next-archive", archive_path(kind, self.number + 1)))
        return links


def poll_interval(max_age: int) -> tuple[str, int]:
    """Return ``sy:updatePeriod`` and ``sy:updateFrequency`` for a polling interval in seconds.

    Settings make ``max_age`` whole minutes dividing a day, so the pair states exactly
    the interval of ``Cache-Control: max-age`` and RSS ``<ttl>``.
    """
    if 3600 % max_age == 0:
        return "hourly", 3600 // max_age
    return "daily", 86400 // max_age


class _Extras(BaseExtension):  # type: ignore[misc]
    """atom:link elements feedgen leaves out of RSS, and the RFC 5005 archive marker."""

    def __init__(self) -> None:
        self.links: list[tuple[str, str]] = []
        self.archive = False

    def extend_ns(self) -> dict[str, str]:
        return {"fh": HISTORY_NS} if self.archive else {}

    def _add(self, parent: Any, after: Any, link_tag: str) -> None:
        # SubElement takes the parent's prefixes; the new elements then move to just
        # after ``after``, beside the links feedgen wrote.
        extras = [etree.SubElement(parent, link_tag, href=h, rel=r) for r, h in self.links]
        if self.archive:
            extras.append(etree.SubElement(parent, f"{{{HISTORY_NS}}}archive"))
        position = list(parent).index(after) + 1
        for offset, element in enumerate(extras):
            parent.insert(position + offset, element)

    def extend_rss(self, feed: Any) -> Any:
        channel = feed[0]
        atom_link = f"{{{ATOM_NS}}}link"
        self._add(channel, channel.find(atom_link), atom_link)
        return feed

    def extend_atom(self, feed: Any) -> Any:
        # feedgen writes Atom elements without a namespace under a default-namespace root.
        self._add(feed, feed.findall("link")[-1], "link")
        return feed


class _Poll(BaseExtension):  # type: ignore[misc]
    """The RSS syndication module (feedgen's own misspells its elements as UpdatePeriod)."""

    def __init__(self) -> None:
        self.period, self.frequency = "daily", 1

    def extend_ns(self) -> dict[str, str]:
        return {"sy": SYNDICATION_NS}

    def extend_rss(self, feed: Any) -> Any:
        channel = feed[0]
        etree.SubElement(channel, f"{{{SYNDICATION_NS}}}updatePeriod").text = self.period
        etree.SubElement(channel, f"{{{SYNDICATION_NS}}}updateFrequency").text = str(self.frequency)
        return feed


class _EntryFields(NamedTuple):
    """What feedgen is given for one entry (summary and content are HTML; "" for none)."""

    id: str
    title: str
    link: str
    published: datetime
    updated: datetime
    summary: str
    content: str


def _entry_fields(article: Article, settings: Settings) -> _EntryFields:
    # Readers take RSS <description> as HTML (feedparser drops "<facts>" from plain
    # text), so the plain-text standfirst goes in escaped, as html in Atom too.
    summary = html.escape(article.standfirst) if article.standfirst else ""
    return _EntryFields(
        entry_id(article),
        article.title,
        settings.url(article_path(article)),
        article.published,
        article.updated,
        summary,
        content_html(article),
    )


def _add_entry(fg: Any, fields: _EntryFields) -> None:
    fe = fg.add_entry(order="append")
    fe.id(fields.id)
    fe.guid(fields.id, permalink=False)
    fe.title(fields.title)
    fe.link(href=fields.link, rel="alternate", type="text/html")
    fe.published(fields.published)
    fe.updated(fields.updated)
    if fields.summary:
        fe.summary(fields.summary, type="html")
    fe.content(fields.content, type="html")


def _frame(settings: Settings, kind: str, page: FeedPage, updated: datetime) -> Any:
    """Return a FeedGenerator holding everything of a document but its entries."""
    fg = FeedGenerator()
    fg.register_extension("extras", _Extras, BaseEntryExtension)
    fg.register_extension("poll", _Poll, BaseEntryExtension, atom=False, rss=True)
    fg.id(settings.url(page.path("atom")))
    fg.title(settings.title if page.number == 0 else f"{settings.title} (archive {page.number})")
    fg.subtitle(settings.description)
    fg.author({"name": settings.author})
    fg.language(settings.language)
    mime = "application/rss+xml" if kind == "rss" else "application/atom+xml"
    fg.link(href=settings.url(page.path(kind)), rel="self", type=mime)
    # feedgen takes the RSS <channel><link> from the last link set: the home page.
    fg.link(href=settings.base_url, rel="alternate", type="text/html")
    # WebSub hubs (section 4) announce the subscription feed only: archives never change.
    hubs = [("hub", hub) for hub in settings.hubs] if page.number == 0 else []
    fg.extras.links = hubs + [(rel, settings.url(path)) for rel, path in page.links(kind)]
    fg.extras.archive = page.number > 0
    fg.generator("feedsvc", version=__version__)
    fg.updated(updated)
    fg.ttl(settings.max_age // 60)
    fg.poll.period, fg.poll.frequency = poll_interval(settings.max_age)
    return fg


def _serialize(fg: Any, kind: str) -> bytes:
    with _FEEDGEN_LOCK:
        if kind == "rss":
            return bytes(fg.rss_str(pretty=True))
        return bytes(fg.atom_str(pretty=True))


def _feedgen_document(
    articles: Sequence[Article], settings: Settings, kind: str, page: FeedPage
) -> bytes:
    """Return the document as feedgen writes it, entry by entry: the reference output."""
    fg = _frame(settings, kind, page, feed_updated(articles))
    for article in articles:
        _add_entry(fg, _entry_fields(article, settings))
    return _serialize(fg, kind)


def _feedgen_rss(
    articles: Sequence[Article], settings: Settings, page: FeedPage = FeedPage()
) -> bytes:
    return _feedgen_document(articles, settings, "rss", page)


def _feedgen_atom(
    articles: Sequence[Article], settings: Settings, page: FeedPage = FeedPage()
) -> bytes:
    return _feedgen_document(articles, settings, "atom", page)


def build_rss(
    articles: Sequence[Article], settings: Settings, page: FeedPage = FeedPage()
) -> bytes:
    """Return the RSS 2.0 document of ``articles`` (newest first, already limited)."""
    return _feedgen_rss(articles, settings, page)


def build_atom(
    articles: Sequence[Article], settings: Settings, page: FeedPage = FeedPage()
) -> bytes:
    """Return the Atom 1.0 (RFC 4287) document of ``articles``."""
    return _feedgen_atom(articles, settings, page)


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
    }
    if settings.hubs:
        document["hubs"] = [{"type": "WebSub", "url": hub} for hub in settings.hubs]
    document["items"] = items
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")

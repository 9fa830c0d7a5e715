"""RSS 2.0 and Atom 1.0 documents as bytes (JSON Feed 1.1: jsonfeed.py). The only module
that uses feedgen.

What an entry carries is ``entries.Entry``; what a document carries besides its entries
is ``Frame``. ``FeedgenWriter`` gives both to feedgen: the reference output. The RSS and
Atom documents a site publishes are the same bytes, from templates compiled out of
feedgen's own output (feedtemplates.py); ``_feedgen_rss`` and ``_feedgen_atom`` write
them with feedgen alone.
"""

from __future__ import annotations

import functools
import html
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, NamedTuple, TypeVar

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feedsvc import __version__
from feedsvc.articles import Article, Summary
from feedsvc.config import Settings
from feedsvc.entries import Entry, entry_of
from feedsvc.feedtemplates import SHAPE, text_values, write_document
from feedsvc.urls import FEED_PATHS, archive_path

# Atom needs an <updated> even for a feed with no entries; a fixed instant keeps
# such a feed byte-identical across builds.
EMPTY_FEED_TIME = datetime(1970, 1, 1, tzinfo=UTC)
ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005
SYNDICATION_NS = "http://purl.org/rss/1.0/modules/syndication/"
# RSS 2.0 <image>: "a GIF, JPEG or PNG image" (the W3C validator flags SVG and ICO).
RSS_IMAGE_TYPES = frozenset({"image/png", "image/gif", "image/jpeg"})
# feedgen formats RSS dates by switching the process-wide locale to C and back;
# two serializations at once could leave it switched, so they take turns.
_FEEDGEN_LOCK = threading.Lock()
S = TypeVar("S", bound=Summary)


def feed_updated(articles: Sequence[Summary]) -> datetime:
    """Return the feed's update time: the newest article's, never the build time."""
    return max((a.updated for a in articles), default=EMPTY_FEED_TIME)


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


class Frame(NamedTuple):
    """What a document carries besides the settings and its entries."""

    id: str
    title: str
    link: str  # the document's own URL
    rels: Annotated[tuple[str, ...], SHAPE]  # WebSub hubs, then the RFC 5005 links
    hrefs: tuple[str, ...]  # the URL of each of ``rels``
    archive: bool
    updated: datetime


def frame_of(settings: Settings, kind: str, page: FeedPage, updated: datetime) -> Frame:
    """Return the frame of document ``page`` of a kind."""
    # WebSub hubs (section 4) announce the subscription feed only: archives never change.
    hubs = tuple(("hub", hub) for hub in settings.hubs) if page.number == 0 else ()
    links = hubs + tuple((rel, settings.url(path)) for rel, path in page.links(kind))
    return Frame(
        id=settings.url(page.path("atom")),
        title=settings.title if page.number == 0 else f"{settings.title} (archive {page.number})",
        link=settings.url(page.path(kind)),
        rels=tuple(rel for rel, _ in links),
        hrefs=tuple(href for _, href in links),
        archive=page.number > 0,
        updated=updated,
    )


def add_entry(fg: Any, entry: Entry) -> None:
    """Give feedgen one entry: the one place an Entry field becomes RSS and Atom markup."""
    fe = fg.add_entry(order="append")
    fe.id(entry.id)
    fe.guid(entry.id, permalink=False)
    fe.title(entry.title)
    fe.link(href=entry.link, rel="alternate", type="text/html")
    fe.published(entry.published)
    fe.updated(entry.updated)
    if entry.summary:
        # Readers take RSS <description> as HTML (feedparser drops "<facts>" from plain
        # text), so the plain-text standfirst goes in escaped, as html in Atom too.
        fe.summary(html.escape(entry.summary), type="html")
    if entry.content:  # an article without paragraphs: no empty element (see json_item)
        fe.content(entry.content, type="html")


def _generator(settings: Settings, kind: str, frame: Frame) -> Any:
    """Return a FeedGenerator holding everything of a document but its entries."""
    fg = FeedGenerator()
    fg.register_extension("extras", _Extras, BaseEntryExtension)
    fg.register_extension("poll", _Poll, BaseEntryExtension, atom=False, rss=True)
    fg.id(frame.id)
    fg.title(frame.title)
    fg.subtitle(settings.description)
    fg.author({"name": settings.author})
    fg.language(settings.language)
    home = {"href": settings.base_url, "rel": "alternate", "type": "text/html"}
    # RSS: feedgen takes <channel><link> from the last link set, the home page. Atom: the
    # home page first, as clients that take the first <link> whatever its rel
    # (@extractus/feed-extractor) read it as the site's address.
    own = {"href": frame.link, "rel": "self", "type": f"application/{kind}+xml"}
    fg.link([own, home] if kind == "rss" else [home, own])
    fg.extras.links = list(zip(frame.rels, frame.hrefs, strict=True))
    fg.extras.archive = frame.archive
    fg.generator("feedsvc", version=__version__)
    if settings.icon is not None:
        # Atom <icon> and <logo>, RSS <image>: what readers show beside the entries.
        icon = settings.url(settings.icon.path)
        if kind == "atom":  # feedgen's logo() is RSS's <image> too, whatever its type
            fg.icon(icon)
            fg.logo(icon)
        elif settings.icon.media_type in RSS_IMAGE_TYPES:  # else RSS has no <image>
            fg.image(url=icon, title=frame.title, link=settings.base_url)
    fg.updated(frame.updated)
    fg.ttl(settings.max_age // 60)
    fg.poll.period, fg.poll.frequency = poll_interval(settings.max_age)
    return fg


@dataclass(frozen=True, slots=True)
class FeedgenWriter:
    """RSS or Atom documents of one site, as feedgen writes them (feedtemplates.Writer)."""

    settings: Settings
    kind: str  # "rss" or "atom"

    def __str__(self) -> str:
        return f"{self.kind} feeds"

    @property
    def entry_tag(self) -> bytes:
        return b"item" if self.kind == "rss" else b"entry"

    @property
    def entry_type(self) -> type[Entry]:
        return Entry

    def document(self, frame: Frame, entries: Sequence[Entry]) -> bytes:
        fg = _generator(self.settings, self.kind, frame)
        for entry in entries:
            add_entry(fg, entry)
        with _FEEDGEN_LOCK:
            if self.kind == "rss":
                return bytes(fg.rss_str(pretty=True))
            return bytes(fg.atom_str(pretty=True))

    def date(self, moment: datetime) -> str:
        return rfc2822(moment) if self.kind == "rss" else moment.isoformat()

    def empty_frame(self) -> Frame:
        return frame_of(self.settings, self.kind, FeedPage(), EMPTY_FEED_TIME)


def _feedgen_document(
    articles: Sequence[Article],
    settings: Settings,
    kind: str,
    page: FeedPage,
    updated: datetime | None = None,
) -> bytes:
    """Return the document as feedgen writes it, entry by entry: the reference output."""
    frame = frame_of(settings, kind, page, updated or feed_updated(articles))
    return FeedgenWriter(settings, kind).document(
        frame, [entry_of(article, settings) for article in articles]
    )


def _feedgen_rss(
    articles: Sequence[Article], settings: Settings, page: FeedPage = FeedPage()
) -> bytes:
    return _feedgen_document(articles, settings, "rss", page)


def _feedgen_atom(
    articles: Sequence[Article], settings: Settings, page: FeedPage = FeedPage()
) -> bytes:
    return _feedgen_document(articles, settings, "atom", page)


def build_documents(
    articles: Sequence[Article],
    settings: Settings,
    page: FeedPage,
    kinds: Sequence[str],
    updated: datetime | None = None,
) -> list[bytes]:
    """Return document ``page`` of ``articles`` (newest first, already limited) in each kind.

    ``updated`` is the document's own update time (Atom ``<updated>``, RSS
    ``lastBuildDate``): by default its newest entry's; a subscription feed's is the
    site's (``site.site_updated``: any article's change, deletions included).
    Byte for byte what feedgen writes (``_feedgen_document``); the entries' texts are
    escaped once for all kinds. Raises ValueError for text XML cannot carry, as lxml does.
    """
    entries = [entry_of(article, settings) for article in articles]
    texts = [text_values(entry) for entry in entries]
    updated = updated or feed_updated(articles)
    return [
        write_document(
            FeedgenWriter(settings, kind), frame_of(settings, kind, page, updated), entries, texts
        )
        for kind in kinds
    ]


def build_rss(
    articles: Sequence[Article], settings: Settings, page: FeedPage = FeedPage()
) -> bytes:
    """Return the RSS 2.0 document of ``articles`` (newest first, already limited)."""
    return build_documents(articles, settings, page, ("rss",))[0]


def build_atom(
    articles: Sequence[Article], settings: Settings, page: FeedPage = FeedPage()
) -> bytes:
    """Return the Atom 1.0 (RFC 4287) document of ``articles``, as feedgen writes it."""
    return build_documents(articles, settings, page, ("atom",))[0]


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # fmt: skip
_TWO_DIGITS = tuple(f"{n:02d}" for n in range(100))


def rfc2822(moment: datetime) -> str:
    """Return feedgen's RSS date: strftime("%a, %d %b %Y %H:%M:%S %z") in the C locale.

    feedgen switches the process locale to C for it; with English names written here the
    locale never matters. Hand-written rather than email.utils.format_datetime, which
    pads years before 1000 and drops an offset's seconds unlike strftime, and takes
    about four times as long (benchmarks/escaping.py).
    """
    # C libraries differ in padding years before 1000; strftime pads as feedgen's does.
    year = moment.year if moment.year >= 1000 else moment.strftime("%Y")
    two, zone = _TWO_DIGITS, _utc_offset(moment.utcoffset())
    return (
        f"{_WEEKDAYS[moment.weekday()]}, {two[moment.day]} {_MONTHS[moment.month - 1]} {year} "
        f"{two[moment.hour]}:{two[moment.minute]}:{two[moment.second]} {zone}"
    )


@functools.lru_cache(maxsize=256)
def _utc_offset(offset: timedelta | None) -> str:
    """Return strftime's %z: +HHMM, with seconds and microseconds if the offset has them."""
    if offset is None:
        return ""
    sign = "-" if offset < timedelta(0) else "+"
    offset = abs(offset)  # under a day: all in .seconds and .microseconds
    minutes, seconds = divmod(offset.seconds, 60)
    text = f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
    if offset.microseconds:
        return f"{text}{seconds:02d}.{offset.microseconds:06d}"
    return f"{text}{seconds:02d}" if seconds else text

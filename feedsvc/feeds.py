"""RSS 2.0, Atom 1.0 and JSON Feed 1.1 documents as bytes. The only module that uses feedgen.

Entry ids are ``urn:uuid:`` UUIDs (version 5) of the article id: they depend on
nothing but the file name's id, so they survive edits, re-dating, a new title
and a move of the site to another base URL.

feedgen writes each RSS and Atom entry and each document frame (all but the entries)
only once per settings and shape, with sentinel values; articles and documents fill
copies of them (see "Compiled documents"). ``_feedgen_rss`` and ``_feedgen_atom`` write
documents entry by entry with feedgen: the output the compiled ones must equal byte for
byte.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import operator
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
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
_UUID_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def entry_id(article: Article) -> str:
    """Return the id an article has in every feed, forever."""
    return entry_id_of(article.id)


def entry_id_of(article_id: str) -> str:
    """Return the feed entry id of the article with file-name id ``article_id``.

    That is ``uuid.uuid5(ARTICLE_NAMESPACE, article_id)`` (RFC 4122 section 4.3) as a URN,
    spelled out without UUID objects, which take two thirds of the time.
    """
    digest = hashlib.sha1(ARTICLE_NAMESPACE.bytes + article_id.encode()).hexdigest()
    # Version 5 in the 13th digit; the variant's two top bits, 10, in the 17th.
    variant = _UUID_VARIANT[digest[16]]
    return (
        f"urn:uuid:{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-"
        f"{variant}{digest[17:20]}-{digest[20:32]}"
    )


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


class _FrameFields(NamedTuple):
    """What feedgen is given for a document besides the settings and the entries."""

    id: str
    title: str
    link: str  # the document's own URL
    links: tuple[tuple[str, str], ...]  # (rel, URL): WebSub hubs, then the RFC 5005 links
    archive: bool
    updated: datetime


def _frame_fields(settings: Settings, kind: str, page: FeedPage, updated: datetime) -> _FrameFields:
    """Return what feedgen is given for the frame of document ``page`` of a kind."""
    # WebSub hubs (section 4) announce the subscription feed only: archives never change.
    hubs = tuple(("hub", hub) for hub in settings.hubs) if page.number == 0 else ()
    return _FrameFields(
        id=settings.url(page.path("atom")),
        title=settings.title if page.number == 0 else f"{settings.title} (archive {page.number})",
        link=settings.url(page.path(kind)),
        links=hubs + tuple((rel, settings.url(path)) for rel, path in page.links(kind)),
        archive=page.number > 0,
        updated=updated,
    )


def _frame(settings: Settings, kind: str, fields: _FrameFields) -> Any:
    """Return a FeedGenerator holding everything of a document but its entries."""
    fg = FeedGenerator()
    fg.register_extension("extras", _Extras, BaseEntryExtension)
    fg.register_extension("poll", _Poll, BaseEntryExtension, atom=False, rss=True)
    fg.id(fields.id)
    fg.title(fields.title)
    fg.subtitle(settings.description)
    fg.author({"name": settings.author})
    fg.language(settings.language)
    mime = "application/rss+xml" if kind == "rss" else "application/atom+xml"
    fg.link(href=fields.link, rel="self", type=mime)
    # feedgen takes the RSS <channel><link> from the last link set: the home page.
    fg.link(href=settings.base_url, rel="alternate", type="text/html")
    fg.extras.links = list(fields.links)
    fg.extras.archive = fields.archive
    fg.generator("feedsvc", version=__version__)
    fg.updated(fields.updated)
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
    fg = _frame(settings, kind, _frame_fields(settings, kind, page, feed_updated(articles)))
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
    """Return the RSS 2.0 document of ``articles`` (newest first, already limited).

    Byte for byte what feedgen writes (``_feedgen_rss``). Raises ValueError for text
    XML cannot carry, as lxml does.
    """
    return _build(articles, settings, "rss", page)


def build_atom(
    articles: Sequence[Article], settings: Settings, page: FeedPage = FeedPage()
) -> bytes:
    """Return the Atom 1.0 (RFC 4287) document of ``articles``, as feedgen writes it."""
    return _build(articles, settings, "atom", page)


# --- Compiled documents -----------------------------------------------------------------------
# feedgen costs tens of microseconds an entry and about fifty a frame (what a document holds
# besides its entries), most of a cold build of a large site: every article sits in an RSS
# and an Atom archive. So feedgen writes, once per settings and kind, documents whose values
# are sentinels: one with one entry per entry shape, one without entries per frame shape.
# Cut at the sentinels, they are templates whose slots take each article's and document's
# values, escaped as lxml escapes them. A template is used only once it has written a probe
# of awkward text as feedgen does.

_ENTRY_TAGS = {"rss": b"item", "atom": b"entry"}
# Private-use characters around a slot name. Entry slots are filled by position, so text
# holding these characters is no trouble; a settings text holding a frame slot's sentinel
# makes a slot too many, which the frame's probe finds.
_SLOT = re.compile("\ue000([a-z0-9]+)\ue001")
_SENTINEL_PUBLISHED = datetime(2001, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=7, minutes=8)))
_SENTINEL_UPDATED = datetime(2002, 3, 4, 5, 6, 7, tzinfo=timezone(-timedelta(hours=9, minutes=10)))
_PROBE_TEXT = "Fish & <b>chips</b> \"x\" 'y' ]]> 100% \t\r\n caf\u00e9 \U0001f4f0 \ue000id\ue001"
_PROBE_TIME = datetime(999, 12, 31, 23, 59, 58, 7, timezone(timedelta(seconds=-5415)))
# An entry's values: its _Texts, then its dates. "link@" is the link escaped for an attribute.
_ENTRY_VALUES = ("id", "title", "link", "link@", "summary", "content", "published", "updated")
# Which of title, standfirst and paragraphs are there: feedgen leaves out an element or
# writes it empty for an empty one, which changes the entry's markup.
_Shape = tuple[bool, bool, bool]
# Whether a document is an archive, and the rel of each of its links (hubs, RFC 5005).
_FrameShape = tuple[bool, tuple[str, ...]]
# Maps the control characters lxml refuses (all but tab, line feed and carriage return)
# to a non-ASCII byte and every other byte to NUL: bytes.isascii() then finds them fast.
_CONTROLS = bytes(0x80 if c < 0x20 and c not in b"\t\n\r" else 0 for c in range(256))
_PARAGRAPH_BREAK = b"&lt;/p&gt;&lt;p&gt;"
_NOT_XML = (
    "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters"
)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # fmt: skip
_TWO_DIGITS = tuple(f"{n:02d}" for n in range(100))


@dataclass(frozen=True, slots=True)
class _Template:
    """An entry or a frame: its bytes at the even places of ``pieces``, b"" at its slots'."""

    pieces: tuple[bytes, ...]
    slots: tuple[str, ...]
    pick: Callable[[Sequence[bytes]], Sequence[bytes]]  # the slots' values of all values

    def fill(self, parts: list[bytes], values: Sequence[bytes]) -> None:
        """Append the filled markup to ``parts``, values by reference (no copy per entry)."""
        filled = list(self.pieces)
        filled[1::2] = self.pick(values)
        parts += filled


@dataclass(frozen=True, slots=True)
class _Skeleton:
    """The compiled entries and frames of one settings and kind by shape (None: feedgen's)."""

    settings: Settings
    kind: str
    tail: bytes  # what follows the last entry: the closing tags
    templates: dict[_Shape, _Template | None]
    frames: dict[_FrameShape, _Template | None]

    def template(self, shape: _Shape) -> _Template | None:
        try:
            return self.templates[shape]
        except KeyError:
            template = _compile_entry(self.settings, self.kind, shape)
            self.templates[shape] = template
            return template

    def frame(self, shape: _FrameShape) -> _Template | None:
        try:
            return self.frames[shape]
        except KeyError:
            frame = _compile_frame(self.settings, self.kind, shape, self.tail)
            self.frames[shape] = frame
            return frame


class _Texts(NamedTuple):
    """An article's entry text as XML text, the same in both formats."""

    id: bytes
    title: bytes
    link: bytes
    link_attribute: bytes
    summary: bytes
    content: bytes


def _build(articles: Sequence[Article], settings: Settings, kind: str, page: FeedPage) -> bytes:
    # Where feedgen does not write what the templates expect, it writes the whole document.
    skeleton = _skeleton(settings, kind)
    if skeleton is None:
        return _feedgen_document(articles, settings, kind, page)
    shapes = [_shape(article) for article in articles]
    templates = {}
    for shape in set(shapes):
        template = skeleton.template(shape)
        if template is None:
            return _feedgen_document(articles, settings, kind, page)
        templates[shape] = template
    fields = _frame_fields(settings, kind, page, feed_updated(articles))
    date = _rfc2822 if kind == "rss" else datetime.isoformat
    parts: list[bytes] = []
    frame = skeleton.frame(_frame_shape(fields))
    if frame is not None:
        frame.fill(parts, _frame_values(fields, date))
    else:  # feedgen's frame, without entries
        head = _head(_serialize(_frame(settings, kind, fields), kind), skeleton.tail)
        if head is None:
            return _feedgen_document(articles, settings, kind, page)
        parts.append(head)
    all_texts = _entry_texts(articles, settings)
    for article, shape, texts in zip(articles, shapes, all_texts, strict=True):
        templates[shape].fill(parts, _entry_values(article, texts, date))
    parts.append(skeleton.tail)
    return b"".join(parts)


def _shape(article: Article) -> _Shape:
    return bool(article.title), bool(article.standfirst), bool(article.paragraphs)


def _frame_shape(fields: _FrameFields) -> _FrameShape:
    return fields.archive, tuple(rel for rel, _ in fields.links)


@functools.lru_cache(maxsize=32)
def _skeleton(settings: Settings, kind: str) -> _Skeleton | None:
    """Return the compiled entries of a settings and kind, None if entries cannot be cut out."""
    empty = _frame_fields(settings, kind, FeedPage(), EMPTY_FEED_TIME)
    fg = _frame(settings, kind, empty)
    _add_entry(fg, _sentinel_fields((True, True, True)))
    cut = _cut(_serialize(fg, kind), kind)
    if cut is None or cut[0] + cut[2] != _serialize(_frame(settings, kind, empty), kind):
        return None
    return _Skeleton(settings, kind, cut[2], {}, {})


def _cut(document: bytes, kind: str) -> tuple[bytes, bytes, bytes] | None:
    """Split a document with one entry into what precedes it, the entry and what follows it."""
    tag = _ENTRY_TAGS[kind]
    # Markup characters in text are escaped, so "<item>" is the entry's start tag.
    start = document.find(b"<" + tag + b">")
    end = document.find(b"</" + tag + b">\n", start)
    if start < 0 or end < 0:
        return None
    start = document.rfind(b"\n", 0, start) + 1  # from the start of its line
    end += len(tag) + 4
    return document[:start], document[start:end], document[end:]


def _head(document: bytes, tail: bytes) -> bytes | None:
    """Return a document without entries up to where entries go; None if it lacks ``tail``."""
    return document[: len(document) - len(tail)] if document.endswith(tail) else None


def _slots(markup: str) -> tuple[list[str], list[str]]:
    """Return the text of ``markup`` around its slots, and the slots' names.

    A slot after an unclosed "<" is an attribute value (values hold no "<" or ">"): its
    name gets an "@".
    """
    pieces = _SLOT.split(markup)
    literals, slots = pieces[::2], pieces[1::2]
    for index, name in enumerate(slots):
        before = "".join(literals[: index + 1])
        if before.rfind("<") > before.rfind(">"):
            slots[index] = name + "@"
    return literals, slots


def _template(literals: list[str], slots: list[str], order: Sequence[str]) -> _Template:
    """Return the template of the markup ``_slots`` cut, filled from values in ``order``."""
    pieces: list[bytes] = []
    for literal in literals[:-1]:
        pieces += (literal.encode(), b"")
    pieces.append(literals[-1].encode())
    return _Template(tuple(pieces), tuple(slots), _picker([order.index(n) for n in slots]))


def _picker(indices: list[int]) -> Callable[[Sequence[bytes]], Sequence[bytes]]:
    """Return a function giving the values at ``indices`` of a sequence, as a sequence."""
    if len(indices) > 1:
        return operator.itemgetter(*indices)  # for one index it gives a value, not a tuple
    return lambda values: [values[index] for index in indices]


def _sentinel_fields(shape: _Shape) -> _EntryFields:
    title, summary, content = shape
    return _EntryFields(
        id="\ue000id\ue001",
        title="\ue000title\ue001" if title else "",
        link="\ue000link\ue001",
        published=_SENTINEL_PUBLISHED,
        updated=_SENTINEL_UPDATED,
        summary="\ue000summary\ue001" if summary else "",
        content="\ue000content\ue001" if content else "",
    )


def _compile_entry(settings: Settings, kind: str, shape: _Shape) -> _Template | None:
    """Return the template of an entry shape; None if it does not give feedgen's bytes.

    Raises ValueError where feedgen refuses the shape (an Atom entry without a title).
    """
    fg = _frame(settings, kind, _frame_fields(settings, kind, FeedPage(), EMPTY_FEED_TIME))
    _add_entry(fg, _sentinel_fields(shape))
    cut = _cut(_serialize(fg, kind), kind)
    if cut is None:
        return None
    entry = cut[1].decode()
    date = _rfc2822 if kind == "rss" else datetime.isoformat
    for name, moment in (("published", _SENTINEL_PUBLISHED), ("updated", _SENTINEL_UPDATED)):
        entry = entry.replace(date(moment), f"\ue000{name}\ue001")
    literals, slots = _slots(entry)
    if not set(slots) <= set(_ENTRY_VALUES):
        return None
    template = _template(literals, slots, _ENTRY_VALUES)
    return template if _probe_passes(template, settings, kind, shape) else None


def _probe_passes(template: _Template, settings: Settings, kind: str, shape: _Shape) -> bool:
    """Tell whether the template writes an article of awkward text as feedgen does."""
    title, standfirst, paragraphs = shape
    probe = Article(
        id="0123456789abcdef",
        source="probe.txt",
        title=_PROBE_TEXT if title else "",
        published=_PROBE_TIME,
        standfirst=_PROBE_TEXT if standfirst else "",
        paragraphs=(_PROBE_TEXT, "]]>") if paragraphs else (),
    )
    date = _rfc2822 if kind == "rss" else datetime.isoformat
    filled: list[bytes] = []
    template.fill(filled, _entry_values(probe, _texts(probe, settings), date))
    cut = _cut(_feedgen_document([probe], settings, kind, FeedPage()), kind)
    return cut is not None and b"".join(filled) == cut[1]


def _compile_frame(
    settings: Settings, kind: str, shape: _FrameShape, tail: bytes
) -> _Template | None:
    """Return the template of a frame shape; None if it does not give feedgen's bytes."""
    archive, rels = shape

    def fields(text: Callable[[str], str], updated: datetime) -> _FrameFields:
        links = tuple((rel, text(f"href{index}")) for index, rel in enumerate(rels))
        return _FrameFields(text("id"), text("title"), text("self"), links, archive, updated)

    def head(fields: _FrameFields) -> bytes | None:
        return _head(_serialize(_frame(settings, kind, fields), kind), tail)

    sentinels = head(fields(lambda name: f"\ue000{name}\ue001", _SENTINEL_UPDATED))
    if sentinels is None:
        return None
    date = _rfc2822 if kind == "rss" else datetime.isoformat
    markup = sentinels.decode().replace(date(_SENTINEL_UPDATED), "\ue000updated\ue001")
    literals, slots = _slots(markup)
    names = _frame_value_names(len(rels))
    if not set(slots) <= set(names):
        return None
    template = _template(literals, slots, names)
    probe = fields(lambda name: _PROBE_TEXT + name, _PROBE_TIME)
    filled: list[bytes] = []
    template.fill(filled, _frame_values(probe, date))
    return template if b"".join(filled) == head(probe) else None


def _frame_value_names(links: int) -> tuple[str, ...]:
    texts = ("id", "title", "self", *(f"href{index}" for index in range(links)))
    return ("updated", *texts, *(f"{name}@" for name in texts))


def _frame_values(fields: _FrameFields, date: Callable[[datetime], str]) -> list[bytes]:
    """Return the values of a frame's slots in the order ``_frame_value_names`` gives."""
    texts = [_xml_text(text) for text in (fields.id, fields.title, fields.link)]
    texts += (_xml_text(href) for _, href in fields.links)
    return [date(fields.updated).encode(), *texts, *map(_xml_attribute, texts)]


# The entry texts of the last document written, with its articles and what else they
# depend on (base URL, id namespace): site.py writes each archive as RSS, then as Atom,
# from the same articles, and the second document reuses the texts of the first
# (escaping them is most of the work). Equal articles count as the same: Corpus.full
# gives a new, equal object at each call for an article the load moved off a date tie.
_last_texts: tuple[tuple[str, uuid.UUID], tuple[Article, ...], list[_Texts]] = (
    ("", ARTICLE_NAMESPACE),
    (),
    [],
)


def _entry_texts(articles: Sequence[Article], settings: Settings) -> list[_Texts]:
    global _last_texts
    key, previous, texts = _last_texts  # read once: another thread may replace it
    if (
        key != (settings.base_url, ARTICLE_NAMESPACE)
        or len(previous) != len(articles)
        or any(a is not b and a != b for a, b in zip(previous, articles, strict=True))
    ):
        texts = [_texts(article, settings) for article in articles]
        _last_texts = ((settings.base_url, ARTICLE_NAMESPACE), tuple(articles), texts)
    return texts


def _texts(article: Article, settings: Settings) -> _Texts:
    link = _xml_text(settings.url(article_path(article)))
    return _Texts(
        entry_id(article).encode(),  # "urn:uuid:" and hex digits: nothing to escape
        _xml_text(article.title),
        link,
        _xml_attribute(link),
        _summary_xml(article.standfirst),
        _content_xml(article.paragraphs),
    )


def _entry_values(
    article: Article, texts: _Texts, date: Callable[[datetime], str]
) -> tuple[bytes, ...]:
    """Return an article's values in the order of ``_ENTRY_VALUES``."""
    published = date(article.published).encode()
    updated = article.updated
    if updated is article.published:
        return (*texts, published, published)
    return (*texts, published, date(updated).encode())


def _xml_text(text: str) -> bytes:
    """Return ``text`` escaped as lxml (libxml2) escapes element text, in UTF-8.

    Attribute values get the same and ``"``, tab and line feed as references
    (``_xml_attribute``). lxml writes non-ASCII characters and ``]]>`` as they are (``>``
    escaped), and feedgen writes content without CDATA unless given type "CDATA".
    Raises ValueError for text lxml refuses, as lxml does.
    """
    data = text.encode()  # a lone surrogate raises UnicodeEncodeError, as in lxml
    data = data.replace(b"&", b"&amp;").replace(b"<", b"&lt;").replace(b">", b"&gt;")
    return _checked(data.replace(b"\r", b"&#13;"), text)


def _xml_attribute(text: bytes) -> bytes:
    """Return XML text (``_xml_text``) as lxml escapes it in an attribute value."""
    return text.replace(b'"', b"&quot;").replace(b"\t", b"&#9;").replace(b"\n", b"&#10;")


def _html_in_xml(text: str) -> bytes:
    """Return ``html.escape(text)`` escaped as XML text, in one pass over its UTF-8."""
    data = text.encode()
    data = data.replace(b"&", b"&amp;amp;").replace(b"<", b"&amp;lt;").replace(b">", b"&amp;gt;")
    data = data.replace(b'"', b"&amp;quot;").replace(b"'", b"&amp;#x27;")
    return data.replace(b"\r", b"&#13;")


def _summary_xml(standfirst: str) -> bytes:
    return _checked(_html_in_xml(standfirst), standfirst)


def _content_xml(paragraphs: tuple[str, ...]) -> bytes:
    """Return ``content_html`` escaped as XML text, without building the HTML first."""
    if not paragraphs:
        return b""
    # NUL, which valid text never holds, stands for the "</p><p>" between paragraphs;
    # the growth in length tells whether a paragraph held one too.
    text = "\x00".join(paragraphs)
    escaped = _html_in_xml(text)
    data = escaped.replace(b"\x00", _PARAGRAPH_BREAK)
    if len(data) - len(escaped) != (len(paragraphs) - 1) * (len(_PARAGRAPH_BREAK) - 1):
        raise ValueError(_NOT_XML)
    return b"".join((b"&lt;p&gt;", _checked(data, text), b"&lt;/p&gt;"))


def _checked(data: bytes, text: str) -> bytes:
    """Return ``data``, escaped ``text``; raise ValueError if ``text`` holds what lxml refuses."""
    # Escaping adds no control characters: those left in ``data`` were in ``text``.
    if not data.translate(_CONTROLS).isascii() or "\ufffe" in text or "\uffff" in text:
        raise ValueError(_NOT_XML)
    return data


def _rfc2822(moment: datetime) -> str:
    """Return feedgen's RSS date: strftime("%a, %d %b %Y %H:%M:%S %z") in the C locale.

    feedgen switches the process locale to C for it; with English names written here the
    locale never matters.
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

"""Built feeds read back: RSS, Atom and JSON Feed documents as a Feed of Entries, with
the problems each spec's requirements show on the way (pure: bytes in).

Nothing here touches the network: lxml is told not to fetch or expand anything a
document refers to. checks.py checks whole documents and folders on top of ``read_feed``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
JSON_FEED_VERSIONS = ("https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1")
# RFC 3339 section 5.6, with the upper-case T and Z that RFC 4287 section 3.3 requires.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
_IRI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# lxml has no type information: its elements are Any, and stay inside this module.
Element = Any


class NotWellFormed(ValueError):
    """A document that is not well-formed XML or valid UTF-8 JSON; ``reason`` says where."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Entry:
    """What comparing feeds needs of an entry (an RSS item): position from 1, id, link, dates."""

    position: int
    id: str | None
    link: str | None
    published: datetime | None
    updated: datetime | None

    @property
    def name(self) -> str:
        """The id, else the link, else the position: how a reader would tell the entry apart."""
        return self.id or self.link or f"#{self.position}"

    @property
    def date(self) -> datetime | None:
        """The date feeds are ordered by: published, else updated."""
        return self.published or self.updated


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed document read by ``read_feed``: its kind, self link, entries and problems."""

    kind: str
    self_link: str | None
    entries: tuple[Entry, ...]
    problems: tuple[str, ...]


def is_absolute_url(value: str) -> bool:
    """Tell whether ``value`` is an absolute http(s) URL with a host and no white space."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and value.split() == [value]


def parse_rfc822(value: str) -> datetime:
    """Parse an RFC 822 date (RSS 2.0) that names its zone; raise ValueError saying why not."""
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        raise ValueError(
            "is not an RFC 822 date such as 'Tue, 31 Oct 2023 00:00:00 +0000'"
        ) from None
    if moment.tzinfo is None:  # no zone, or -0000, which RFC 2822 says means "unknown"
        raise ValueError("has no time zone; RFC 822 dates need one, e.g. +0000")
    day, comma, _ = value.strip().partition(",")
    if comma and day.strip() != _DAYS[moment.weekday()]:
        raise ValueError(f"says {day.strip()} but that day is a {_DAYS[moment.weekday()]}")
    return moment


def parse_rfc3339(value: str) -> datetime:
    """Parse an RFC 3339 date-time (Atom, JSON Feed); raise ValueError saying why not."""
    if not _RFC3339.fullmatch(value):
        raise ValueError("is not an RFC 3339 date-time such as 2023-10-31T00:00:00Z")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a real date and time") from None


class _Findings:
    """Collects the problems of one document while it is read."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, reason: str) -> None:
        self.problems.append(reason)

    def url(self, value: str | None, where: str) -> None:
        if value is not None and not is_absolute_url(value):
            self.add(f"{where} {value!r} is not an absolute http(s) URL")

    def iri(self, value: str | None, where: str) -> None:
        if value and not _IRI_SCHEME.fullmatch(value):
            self.add(f"{where} {value!r} is not an absolute IRI such as urn:uuid:...")

    def date(self, value: str | None, where: str, rfc822: bool) -> datetime | None:
        if value is None:
            return None
        try:
            return parse_rfc822(value) if rfc822 else parse_rfc3339(value)
        except ValueError as exc:
            self.add(f"{where} {value!r} {exc}")
            return None

    def feed(self, kind: str, self_link: str | None, entries: list[Entry]) -> Feed:
        noun = "entry" if kind == "atom" else "item"
        first: dict[str, int] = {}
        for entry in entries:
            if entry.id is None:
                continue
            if entry.id in first:
                self.add(
                    f"{noun} {entry.position} repeats the id {entry.id} of {noun} {first[entry.id]}"
                )
            first.setdefault(entry.id, entry.position)
        return Feed(kind, self_link, tuple(entries), tuple(self.problems))


def _parse_xml(data: bytes) -> Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise NotWellFormed(f"not well-formed XML: {exc}") from None


def _text(parent: Element, tag: str) -> str | None:
    child = parent.find(tag)
    return None if child is None else "".join(str(t) for t in child.itertext()).strip()


def _where(noun: str, position: int, ident: str | None) -> str:
    return f"{noun} {position}" + (f" ({ident})" if ident else "")


def _atom_links(parent: Element, where: str, found: _Findings) -> str | None:
    """Check every atom:link of ``parent``; return the href of its self link."""
    selves = []
    for link in parent.findall(ATOM + "link"):
        href, rel = link.get("href"), link.get("rel", "alternate")
        if href is None:
            found.add(f'{where} has a <link rel="{rel}"> without href')
            continue
        found.url(str(href), f'{where} <link rel="{rel}">')
        if rel == "self":
            selves.append(str(href))
    if len(selves) > 1:
        found.add(f"{where} has {len(selves)} self links; one is expected")
    return selves[0] if selves else None


def _read_rss(rss: Element) -> Feed:
    found = _Findings()
    if rss.get("version") != "2.0":
        found.add(f"<rss> version is {rss.get('version')!r}, not '2.0'")
    channels = rss.findall("channel")
    if len(channels) != 1:
        found.add(f"<rss> needs exactly one <channel>, has {len(channels)}")
        if not channels:
            return found.feed("rss", None, [])
    channel = channels[0]
    for tag in ("title", "link", "description"):
        if channel.find(tag) is None:
            found.add(f"<channel> has no <{tag}>, which RSS 2.0 requires")
    if _text(channel, "title") == "":
        found.add("<channel><title> is empty")
    found.url(_text(channel, "link"), "<channel><link>")
    found.url(_text(channel, "docs"), "<channel><docs>")
    for tag in ("url", "link"):
        found.url(_text(channel, f"image/{tag}"), f"<image><{tag}>")
    for tag in ("pubDate", "lastBuildDate"):
        found.date(_text(channel, tag), f"<channel><{tag}>", rfc822=True)
    self_link = _atom_links(channel, "<channel>", found)
    entries = [_read_item(item, n, found) for n, item in enumerate(channel.findall("item"), 1)]
    return found.feed("rss", self_link, entries)


def _read_item(item: Element, position: int, found: _Findings) -> Entry:
    guid_element = item.find("guid")
    guid = _text(item, "guid") or None
    where = _where("item", position, guid)
    if not _text(item, "title") and not _text(item, "description"):
        found.add(f"{where} has neither <title> nor <description>; RSS 2.0 requires one")
    if guid is None:
        # Not required by RSS 2.0, but without it readers key on the link or title,
        # and an edit of either shows the item again as new.
        found.add(f"{where} has no <guid>")
    elif guid_element.get("isPermaLink", "true") != "false":
        found.url(guid, f'{where} <guid isPermaLink="true">')
    link = _text(item, "link")
    found.url(link, f"{where} <link>")
    found.url(_text(item, "comments"), f"{where} <comments>")
    for tag in ("enclosure", "source"):
        element = item.find(tag)
        if element is not None:
            found.url(str(element.get("url", "")), f"{where} <{tag}> url")
    published = found.date(_text(item, "pubDate"), f"{where} <pubDate>", rfc822=True)
    return Entry(position, guid, link, published, None)


def _one(parent: Element, tag: str, where: str, found: _Findings) -> str | None:
    count = len(parent.findall(ATOM + tag))
    if count != 1:
        found.add(f"{where} needs exactly one <{tag}>, has {count} (RFC 4287)")
    return _text(parent, ATOM + tag)


def _authors(parent: Element, where: str, found: _Findings) -> bool:
    authors = parent.findall(ATOM + "author")
    for author in authors:
        if not _text(author, ATOM + "name"):
            found.add(f"{where} has an <author> without <name> (RFC 4287 3.2)")
        found.url(_text(author, ATOM + "uri"), f"{where} <author><uri>")
    return bool(authors)


def _read_atom(feed: Element) -> Feed:
    found = _Findings()
    found.iri(_one(feed, "id", "<feed>", found), "<feed><id>")
    _one(feed, "title", "<feed>", found)
    found.date(_one(feed, "updated", "<feed>", found), "<feed><updated>", rfc822=False)
    feed_author = _authors(feed, "<feed>", found)
    for tag in ("icon", "logo"):
        found.url(_text(feed, ATOM + tag), f"<feed><{tag}>")
    self_link = _atom_links(feed, "<feed>", found)
    entries = []
    for position, entry in enumerate(feed.findall(ATOM + "entry"), 1):
        ident = _text(entry, ATOM + "id") or None
        where = _where("entry", position, ident)
        _one(entry, "id", where, found)
        found.iri(ident, f"{where} <id>")
        _one(entry, "title", where, found)
        updated = found.date(_one(entry, "updated", where, found), f"{where} <updated>", False)
        published = found.date(_text(entry, ATOM + "published"), f"{where} <published>", False)
        if not _authors(entry, where, found) and not feed_author:
            found.add(f"{where} has no <author>, and neither has the feed (RFC 4287 4.1.1)")
        _atom_links(entry, where, found)
        alternates = [
            str(link.get("href"))
            for link in entry.findall(ATOM + "link")
            if link.get("rel", "alternate") == "alternate" and link.get("href") is not None
        ]
        content = entry.find(ATOM + "content")
        if content is None and not alternates:
            found.add(f'{where} has neither <content> nor <link rel="alternate"> (RFC 4287 4.1.1)')
        elif content is not None and content.get("src") is not None:
            found.url(str(content.get("src")), f"{where} <content src>")
        link = alternates[0] if alternates else None
        entries.append(Entry(position, ident, link, published, updated))
    return found.feed("atom", self_link, entries)


def _string(mapping: Mapping[str, object], key: str, where: str, found: _Findings) -> str | None:
    value = mapping.get(key)
    if value is not None and not isinstance(value, str):
        found.add(f"{where} is not a string")
        return None
    return value


def _objects(value: object, where: str, found: _Findings) -> list[dict[str, object]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        found.add(f"{where} is not a list of objects")
        return []
    return value


def _urls(mapping: Mapping[str, object], keys: Iterable[str], where: str, found: _Findings) -> None:
    for key in keys:
        found.url(_string(mapping, key, f"{where}{key}", found), f"{where}{key}")


def _read_json(document: dict[str, object]) -> Feed:
    found = _Findings()
    if document.get("version") not in JSON_FEED_VERSIONS:
        found.add(f"version {document.get('version')!r} is not {JSON_FEED_VERSIONS[-1]}")
    title = _string(document, "title", "title", found)
    if not title or not title.strip():
        found.add("has no title, which JSON Feed requires")
    _urls(document, ("home_page_url", "feed_url", "icon", "favicon", "next_url"), "", found)
    for n, author in enumerate(_objects(document.get("authors"), "authors", found), 1):
        _urls(author, ("url", "avatar"), f"authors[{n}].", found)
    for n, hub in enumerate(_objects(document.get("hubs"), "hubs", found), 1):
        _urls(hub, ("url",), f"hubs[{n}].", found)
    items = document.get("items")
    if not isinstance(items, list):
        found.add("has no items list, which JSON Feed requires")
        items = []
    entries = []
    for position, item in enumerate(items, 1):
        if not isinstance(item, dict):
            found.add(f"item {position} is not an object")
            continue
        ident = item.get("id") if isinstance(item.get("id"), str) else None
        where = _where("item", position, ident)
        if not ident:
            found.add(f"{where} has no id string, which JSON Feed 1.1 requires")
        if not any(isinstance(item.get(key), str) for key in ("content_html", "content_text")):
            found.add(f"{where} has neither content_html nor content_text")
        _urls(item, ("url", "external_url", "image", "banner_image"), f"{where} ", found)
        for n, attachment in enumerate(_objects(item.get("attachments"), where, found), 1):
            _urls(attachment, ("url",), f"{where} attachments[{n}].", found)
        dates = [
            found.date(_string(item, key, f"{where} {key}", found), f"{where} {key}", False)
            for key in ("date_published", "date_modified")
        ]
        link = item.get("url") if isinstance(item.get("url"), str) else None
        entries.append(Entry(position, ident or None, link, dates[0], dates[1]))
    feed_url = document.get("feed_url")
    return found.feed("json", feed_url if isinstance(feed_url, str) else None, entries)


def read_feed(data: bytes, name: str) -> Feed | None:
    """Read one feed document; ``name`` ending in ``.json`` means JSON, anything else XML.

    Returns the Feed with the problems found in it, or None when the document is
    well-formed but not RSS, Atom or JSON Feed (a sitemap, say). Raises NotWellFormed.
    """
    if name.endswith(".json"):
        try:
            document: object = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise NotWellFormed(f"not valid UTF-8 JSON: {exc}") from None
        if not isinstance(document, dict) or not str(document.get("version", "")).startswith(
            "https://jsonfeed.org/version/"
        ):
            return None
        return _read_json(document)
    root = _parse_xml(data)
    if root.tag == "rss":
        return _read_rss(root)
    if root.tag == ATOM + "feed":
        return _read_atom(root)
    return None

"""What a feed entry carries: the one definition every feed format follows.

``Entry`` lists the values of an article's entry and ``entry_of`` fills them. feeds.py
hands them to feedgen (``add_entry``) and to the JSON Feed item (``JSON_ITEM``), and the
compiled documents (feedtemplates.py) take their slots from ``Entry``'s field types, so a
field added here reaches RSS, Atom and JSON Feed or stops the build with an error.

Entry ids are ``urn:uuid:`` UUIDs (version 5) of the article id: they depend on nothing
but the file name's id, so they survive edits, re-dating, a new title and a move of the
site to another base URL.
"""

from __future__ import annotations

import hashlib
import html
import uuid
from datetime import datetime
from typing import Annotated, NamedTuple

from feedsvc.articles import Article, Summary
from feedsvc.config import Settings
from feedsvc.urls import article_path

ARTICLE_NAMESPACE = uuid.UUID("6f1d3b52-8c1e-5b7a-9a55-0f2c3c1e7a10")
# Marks a plain-text field that RSS and Atom carry as escaped HTML (type="html").
AS_HTML = "html"
_UUID_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


class Entry(NamedTuple):
    """One article's entry, in every feed format.

    Field types the compiled documents know: ``str`` (text; "" for none),
    ``Annotated[str, AS_HTML]``, ``datetime`` and ``tuple[str, ...]`` (a list-valued
    field, one element per value). ``summary`` is plain text; ``content`` is HTML.
    """

    id: str
    title: str
    link: str
    published: datetime
    updated: datetime
    summary: Annotated[str, AS_HTML]
    content: str


# The JSON Feed 1.1 item member of each Entry field, and whether an empty value is left out.
JSON_ITEM: dict[str, tuple[str, bool]] = {
    "id": ("id", False),
    "link": ("url", False),
    "title": ("title", False),
    "content": ("content_html", True),
    "published": ("date_published", False),
    "updated": ("date_modified", False),
    "summary": ("summary", True),
}


def entry_of(article: Article, settings: Settings) -> Entry:
    """Return the entry of ``article`` in the site of ``settings``."""
    return Entry(
        entry_id(article),
        article.title,
        settings.url(article_path(article)),
        article.published,
        article.updated,
        # An entry of a title alone is summarized by its title: readers and the W3C
        # validator expect some text besides it (RFC 4287 section 4.1.1.1).
        article.standfirst or ("" if article.paragraphs else article.title),
        content_html(article),
    )


def entry_id(article: Summary) -> str:
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


def content_html(article: Article) -> str:
    """Return the article's paragraphs as escaped HTML."""
    return "".join(f"<p>{html.escape(text)}</p>" for text in article.paragraphs)

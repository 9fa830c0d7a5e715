"""What pages say of an article besides its text: its dates as shown, and what link
previews and search engines read, its schema.org ``NewsArticle`` as JSON-LD, with the
values the feeds carry. Pure."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime

import markupsafe

from feedsvc.articles import Article
from feedsvc.config import Settings
from feedsvc.urls import article_path

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip
SCHEMA_CONTEXT = "https://schema.org"
# Inside <script> the HTML parser ends the element at "</script" and never decodes
# character references, so JSON-LD is escaped as JSON, not as HTML (OWASP, Rails'
# json_escape): "<", ">" and "&" as \u escapes, which a JSON parser reads back as they were.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def iso(moment: datetime) -> str:
    """Return an instant as pages, JSON Feed and the metadata write it (RFC 3339, seconds)."""
    return moment.isoformat(timespec="seconds")


def human_date(moment: datetime) -> str:
    """Return a date such as ``Tuesday, October 31, 2023``, whatever the process locale."""
    return f"{_DAYS[moment.weekday()]}, {_MONTHS[moment.month - 1]} {moment.day}, {moment.year}"


def news_article(article: Article, settings: Settings) -> dict[str, object]:
    """Return the schema.org NewsArticle of ``article``: the feeds' title, standfirst,
    dates and URL, published by the site."""
    url = settings.url(article_path(article))
    publisher: dict[str, object] = {
        "@type": "Organization",
        "name": settings.title,
        "url": settings.base_url,
    }
    document: dict[str, object] = {
        "@context": SCHEMA_CONTEXT,
        "@type": "NewsArticle",
        "headline": article.title,
    }
    if article.standfirst:
        document["description"] = article.standfirst
    document |= {
        "datePublished": (published := iso(article.published)),
        "dateModified": published if article.updated is article.published else iso(article.updated),
        "url": url,
        "mainEntityOfPage": url,
        "publisher": publisher,
    }
    if settings.icon is not None:
        icon = settings.url(settings.icon.path)
        publisher["logo"] = {"@type": "ImageObject", "url": icon}
        document["image"] = icon
    return document


def json_ld(article: Article, settings: Settings) -> str:
    """Return ``news_article`` as JSON that can stand as it is inside a <script> element.

    Written member by member, the site's members encoded once per settings: half the
    time of encoding the whole dict; tests/test_metadata.py checks both give one text.
    """
    url = _string(settings.url(article_path(article)))
    published = iso(article.published)
    modified = published if article.updated is article.published else iso(article.updated)
    parts = [_HEAD, _string(article.title)]
    if article.standfirst:
        parts += (',"description":', _string(article.standfirst))
    parts += (
        f',"datePublished":"{published}","dateModified":"{modified}"',
        f',"url":{url},"mainEntityOfPage":{url}',
        _site_members(settings),
    )
    return _script_safe("".join(parts))


_HEAD = f'{{"@context":"{SCHEMA_CONTEXT}","@type":"NewsArticle","headline":'
_string = json.encoder.encode_basestring  # a JSON string, non-ASCII kept as it is


@functools.lru_cache(maxsize=16)
def _site_members(settings: Settings) -> str:
    """The members of ``news_article`` after ``mainEntityOfPage``, and its closing brace."""
    dummy = Article(id="0" * 16, source="", published=datetime(2000, 1, 1, tzinfo=UTC))
    document = news_article(dummy, settings)
    members = list(document)
    tail = {name: document[name] for name in members[members.index("mainEntityOfPage") + 1 :]}
    return "," + _ENCODER.encode(tail)[1:]


def _script_safe(text: str) -> str:
    # Three replaces take a fifth of the time of one str.translate.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def script_json_ld(article: Article, settings: Settings) -> markupsafe.Markup:
    """``json_ld`` for a Jinja template: shown as it is, as it is already escaped."""
    return markupsafe.Markup(json_ld(article, settings))

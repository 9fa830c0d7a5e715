"""JSON Feed 1.1 documents as bytes: each ``entries.Entry`` field under its ``JSON_ITEM``
member, the feed's own members from the settings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from feedsvc.articles import Article
from feedsvc.config import Settings
from feedsvc.entries import JSON_ITEM, Entry, entry_of
from feedsvc.urls import FEED_PATHS

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def json_item(entry: Entry) -> dict[str, object]:
    """Return the JSON Feed item of ``entry``, each field under its ``JSON_ITEM`` member.

    JSON Feed requires ``content_html`` or ``content_text``: an article without
    paragraphs, which has no content in RSS and Atom, carries its summary (its standfirst,
    or its title) as ``content_text``. Raises TypeError for an Entry field that has no
    member: none is ever left out.
    """
    missing = set(entry._fields) - JSON_ITEM.keys()
    if missing:
        raise TypeError(f"Entry fields without a JSON Feed member in JSON_ITEM: {sorted(missing)}")
    item: dict[str, object] = {}
    for name, (member, optional) in JSON_ITEM.items():
        value = getattr(entry, name)
        if optional and not value:
            continue
        if isinstance(value, datetime):
            item[member] = _rfc3339(value)
        else:
            item[member] = list(value) if isinstance(value, tuple) else value
    if not entry.content:
        item["content_text"] = entry.summary
    return item


def build_json(articles: Sequence[Article], settings: Settings) -> bytes:
    """Return the JSON Feed 1.1 document of ``articles``."""
    document = {
        "version": JSON_FEED_VERSION,
        "title": settings.title,
        "home_page_url": settings.base_url,
        "feed_url": settings.url(FEED_PATHS["json"]),
        "description": settings.description,
        "language": settings.language,
        "authors": [{"name": settings.author}],
    }
    if settings.icon is not None:
        document["icon"] = document["favicon"] = settings.url(settings.icon.path)
    if settings.hubs:
        document["hubs"] = [{"type": "WebSub", "url": hub} for hub in settings.hubs]
    document["items"] = [json_item(entry_of(article, settings)) for article in articles]
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")

"""check --built on small hand-written documents: each problem and the exact reason printed.

``check_document`` is what ``feedsvc check --built`` runs on every file, without the path;
these documents are minimal valid feeds with one defect each, so a test runs in microseconds.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedsvc.checks import check_built, check_document, read_feed
from feedsvc.config import Settings

SITE = "https://n.example/"
RSS = (
    '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
    f"<title>T</title><link>{SITE}</link><description>D</description>"
    f'<atom:link rel="self" href="{SITE}feed.xml"/>'
    f"<item><title>A</title><link>{SITE}a/</link>"
    '<guid isPermaLink="false">urn:uuid:1</guid>'
    "<pubDate>Wed, 22 Nov 2023 00:00:05 +0000</pubDate></item>"
    "</channel></rss>"
)
ATOM = (
    '<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:uuid:f</id><title>T</title>'
    "<updated>2023-11-22T00:00:05Z</updated><author><name>N</name></author>"
    f'<link rel="self" href="{SITE}atom.xml"/>'
    "<entry><id>urn:uuid:1</id><title>A</title><updated>2023-11-22T00:00:05Z</updated>"
    f'<link href="{SITE}a/"/></entry></feed>'
)
ITEM = "item 1 (urn:uuid:1)"
ENTRY = "entry 1 (urn:uuid:1)"


def not_url(where: str, value: str) -> str:
    return f"{where} {value!r} is not an absolute http(s) URL"


def check_rss(old: str, new: str) -> list[str]:
    assert old in RSS, old
    return check_document("feed.xml", RSS.replace(old, new, 1).encode(), SITE + "feed.xml")


def check_atom(old: str, new: str) -> list[str]:
    assert old in ATOM, old
    return check_document("atom.xml", ATOM.replace(old, new, 1).encode(), SITE + "atom.xml")


def json_feed(**changes: object) -> dict[str, object]:
    item: dict[str, object] = {
        "id": "urn:uuid:1",
        "url": SITE + "a/",
        "content_html": "<p>A</p>",
        "date_published": "2023-11-22T00:00:05Z",
    }
    document: dict[str, object] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "T",
        "home_page_url": SITE,
        "feed_url": SITE + "feed.json",
        "items": [item],
    }
    for key, value in changes.items():
        target = item if key.startswith("item_") else document
        key = key.removeprefix("item_")
        if value is None:
            del target[key]
        else:
            target[key] = value
    return document


def check_json(**changes: object) -> list[str]:
    data = json.dumps(json_feed(**changes)).encode()
    return check_document("feed.json", data, SITE + "feed.json")


def test_the_minimal_documents_pass() -> None:
    assert check_rss("", "") == []
    assert check_atom("", "") == []
    assert check_json() == []


# --- RSS 2.0 ------------------------------------------------------------------------------------

CHANNEL_END = "<item>"
ITEM_END = "</item>"
RSS_DEFECTS: dict[str, tuple[str, str, list[str]]] = {
    "docs": (CHANNEL_END, "<docs>/rss</docs><item>", [not_url("<channel><docs>", "/rss")]),
    "image-url": (
        CHANNEL_END, f"<image><url>logo.png</url><link>{SITE}</link></image><item>",
        [not_url("<image><url>", "logo.png")],
    ),
    "image-link": (
        CHANNEL_END, f"<image><url>{SITE}logo.png</url><link>/</link></image><item>",
        [not_url("<image><link>", "/")],
    ),
    "channel-dates": (
        CHANNEL_END,
        "<pubDate>Wed, 22 Nov 2023 00:00:05 +0000</pubDate><lastBuildDate>today</lastBuildDate>"
        "<item>",
        ["<channel><lastBuildDate> 'today' is not an RFC 822 date such as"
         " 'Tue, 31 Oct 2023 00:00:00 +0000'"],
    ),
    "channel-pubdate": (
        CHANNEL_END, "<pubDate>Wed, 22 Nov 2023 00:00:05</pubDate><item>",
        ["<channel><pubDate> 'Wed, 22 Nov 2023 00:00:05' has no time zone; RFC 822 dates need"
         " one, e.g. +0000"],
    ),
    "empty-channel-title": ("<title>T</title>", "<title> </title>", ["<channel><title> is empty"]),
    "no-channel-title": (
        "<title>T</title>", "", ["<channel> has no <title>, which RSS 2.0 requires"]
    ),
    "old-version": (' version="2.0"', ' version="0.91"', ["<rss> version is '0.91', not '2.0'"]),
    "http-link": (f"<link>{SITE}a/</link>", "<link>http://n.example/a/</link>", []),
    "scheme-relative-link": (
        f"<link>{SITE}a/</link>", "<link>//n.example/a/</link>",
        [not_url(f"{ITEM} <link>", "//n.example/a/")],
    ),
    "ftp-link": (
        f"<link>{SITE}a/</link>", "<link>ftp://n.example/a/</link>",
        [not_url(f"{ITEM} <link>", "ftp://n.example/a/")],
    ),
    "unparseable-link": (
        f"<link>{SITE}a/</link>", "<link>https://[::1/</link>",
        [not_url(f"{ITEM} <link>", "https://[::1/")],
    ),
    "no-version": (
        ' version="2.0"', "", ["<rss> version is None, not '2.0'"]
    ),
    "permalink-guid": (
        '<guid isPermaLink="false">urn:uuid:1</guid>', "<guid>a/</guid>",
        [not_url('item 1 (a/) <guid isPermaLink="true">', "a/")],
    ),
    "explicit-permalink-guid": (
        'isPermaLink="false"', 'isPermaLink="true"',
        [not_url(f'{ITEM} <guid isPermaLink="true">', "urn:uuid:1")],
    ),
    "no-guid": (
        '<guid isPermaLink="false">urn:uuid:1</guid>', "", ["item 1 has no <guid>"]
    ),
    "empty-guid": (
        '<guid isPermaLink="false">urn:uuid:1</guid>', '<guid isPermaLink="false"> </guid>',
        ["item 1 has no <guid>"],
    ),
    "item-link": (f"<link>{SITE}a/</link>", "<link>a/</link>", [not_url(f"{ITEM} <link>", "a/")]),
    "comments": (
        ITEM_END, "<comments>#c</comments></item>", [not_url(f"{ITEM} <comments>", "#c")]
    ),
    "enclosure": (
        ITEM_END, '<enclosure url="a.mp3" length="1" type="audio/mpeg"/></item>',
        [not_url(f"{ITEM} <enclosure> url", "a.mp3")],
    ),
    "enclosure-without-url": (
        ITEM_END, '<enclosure length="1" type="audio/mpeg"/></item>',
        [not_url(f"{ITEM} <enclosure> url", "")],
    ),
    "source": (
        ITEM_END, '<source url="rss.xml">Elsewhere</source></item>',
        [not_url(f"{ITEM} <source> url", "rss.xml")],
    ),
    "item-pubdate-weekday": (
        "Wed, 22 Nov", "Mon, 22 Nov",
        [f"{ITEM} <pubDate> 'Mon, 22 Nov 2023 00:00:05 +0000' says Mon but that day is a Wed"],
    ),
    "neither-title-nor-description": (
        "<title>A</title>", "<title> </title>",
        [f"{ITEM} has neither <title> nor <description>; RSS 2.0 requires one"],
    ),
    "only-a-description": ("<title>A</title>", "<description>A</description>", []),
    "only-a-title": ("", "", []),
    "link-without-href": (
        '<atom:link rel="self"', '<atom:link rel="hub"/><atom:link rel="self"',
        ['<channel> has a <link rel="hub"> without href'],
    ),
    "link-without-rel-or-href": (
        '<atom:link rel="self"', '<atom:link/><atom:link rel="self"',
        ['<channel> has a <link rel="alternate"> without href'],
    ),
    "relative-hub-link": (
        '<atom:link rel="self"', '<atom:link rel="hub" href="/hub"/><atom:link rel="self"',
        [not_url('<channel> <link rel="hub">', "/hub")],
    ),
    "two-self-links": (
        '<atom:link rel="self"',
        f'<atom:link rel="self" href="{SITE}feed.xml"/><atom:link rel="self"',
        ["<channel> has 2 self links; one is expected"],
    ),
    "first-self-link-counts": (
        '<atom:link rel="self"',
        f'<atom:link rel="self" href="{SITE}rss.xml"/><atom:link rel="self"',
        ["<channel> has 2 self links; one is expected",
         f"self link {SITE}rss.xml is not {SITE}feed.xml (base_url + path)"],
    ),
    "two-channels": (
        "</channel></rss>", "</channel><channel/></rss>",
        ["<rss> needs exactly one <channel>, has 2"],
    ),
    "no-channel": (
        RSS[RSS.index("<channel>"):RSS.index("</rss>")], "",
        ["<rss> needs exactly one <channel>, has 0", 'has no self link (<atom:link rel="self">)'],
    ),
    "repeated-guid": (
        "</channel>",
        '<item><title>B</title><guid isPermaLink="false">urn:uuid:1</guid></item></channel>',
        ["item 2 repeats the id urn:uuid:1 of item 1"],
    ),
}  # fmt: skip


@pytest.mark.parametrize(("old", "new", "reasons"), RSS_DEFECTS.values(), ids=RSS_DEFECTS.keys())
def test_rss_problems(old: str, new: str, reasons: list[str]) -> None:
    assert check_rss(old, new) == reasons


# --- Atom ---------------------------------------------------------------------------------------

ATOM_DEFECTS: dict[str, tuple[str, str, list[str]]] = {
    "author-uri": (
        "<name>N</name>", "<name>N</name><uri>me</uri>", [not_url("<feed> <author><uri>", "me")]
    ),
    "author-without-name": (
        "<name>N</name>", "<email>n@n.example</email>",
        ["<feed> has an <author> without <name> (RFC 4287 3.2)"],
    ),
    "entry-author-uri": (
        "<title>A</title>", "<title>A</title><author><name>M</name><uri>/m</uri></author>",
        [not_url(f"{ENTRY} <author><uri>", "/m")],
    ),
    "no-author-anywhere": (
        "<author><name>N</name></author>", "",
        [f"{ENTRY} has no <author>, and neither has the feed (RFC 4287 4.1.1)"],
    ),
    "entry-author-only": (
        ATOM,
        ATOM.replace("<author><name>N</name></author>", "").replace(
            "<title>A</title>", "<title>A</title><author><name>M</name></author>"
        ),
        [],
    ),
    "icon": ("<entry>", "<icon>i.png</icon><entry>", [not_url("<feed><icon>", "i.png")]),
    "logo": ("<entry>", "<logo>l.png</logo><entry>", [not_url("<feed><logo>", "l.png")]),
    "two-feed-ids": (
        "<title>T</title>", "<id>urn:uuid:g</id><title>T</title>",
        ["<feed> needs exactly one <id>, has 2 (RFC 4287)"],
    ),
    "feed-id-not-an-iri": (
        "<id>urn:uuid:f</id>", "<id>f</id>",
        ["<feed><id> 'f' is not an absolute IRI such as urn:uuid:..."],
    ),
    "no-feed-title": (
        "<title>T</title>", "", ["<feed> needs exactly one <title>, has 0 (RFC 4287)"]
    ),
    "feed-updated": (
        "<updated>2023-11-22T00:00:05Z</updated><author>", "<updated>2023</updated><author>",
        ["<feed><updated> '2023' is not an RFC 3339 date-time such as 2023-10-31T00:00:00Z"],
    ),
    "entry-published": (
        "</entry>", "<published>2023-02-30T00:00:00Z</published></entry>",
        [f"{ENTRY} <published> '2023-02-30T00:00:00Z' is not a real date and time"],
    ),
    "entry-without-id": (
        "<id>urn:uuid:1</id>", "", ["entry 1 needs exactly one <id>, has 0 (RFC 4287)"]
    ),
    "only-content": (
        f'<link href="{SITE}a/"/>', '<content type="html">&lt;p&gt;A&lt;/p&gt;</content>', []
    ),
    "content-src": (
        f'<link href="{SITE}a/"/>', '<content src="a.html" type="text/html"/>',
        [not_url(f"{ENTRY} <content src>", "a.html")],
    ),
    "content-src-with-alternate": (
        "</entry>", '<content src="a.html" type="text/html"/></entry>',
        [not_url(f"{ENTRY} <content src>", "a.html")],
    ),
    "only-a-related-link": (
        f'<link href="{SITE}a/"/>', f'<link rel="related" href="{SITE}a/"/>',
        [f'{ENTRY} has neither <content> nor <link rel="alternate"> (RFC 4287 4.1.1)'],
    ),
    "alternate-link-without-href": (
        f'<link href="{SITE}a/"/>', '<link rel="alternate"/>',
        [f'{ENTRY} has a <link rel="alternate"> without href',
         f'{ENTRY} has neither <content> nor <link rel="alternate"> (RFC 4287 4.1.1)'],
    ),
    "relative-alternate": (
        f'<link href="{SITE}a/"/>', '<link href="a/"/>',
        [not_url(f'{ENTRY} <link rel="alternate">', "a/")],
    ),
    "repeated-id": (
        "</feed>",
        "<entry><id>urn:uuid:1</id><title>B</title><updated>2023-11-22T00:00:05Z</updated>"
        f'<link href="{SITE}b/"/></entry></feed>',
        ["entry 2 repeats the id urn:uuid:1 of entry 1"],
    ),
    "two-feed-updated": (
        "<author>", "<updated>2023-11-22T00:00:05Z</updated><author>",
        ["<feed> needs exactly one <updated>, has 2 (RFC 4287)"],
    ),
    "feed-link-without-href": (
        "<entry>", "<link/><entry>", ['<feed> has a <link rel="alternate"> without href'],
    ),
    "entry-id-not-an-iri": (
        "<id>urn:uuid:1</id>", "<id>4c4d</id>",
        ["entry 1 (4c4d) <id> '4c4d' is not an absolute IRI such as urn:uuid:..."],
    ),
    "entry-without-title": (
        "<title>A</title>", "", [f"{ENTRY} needs exactly one <title>, has 0 (RFC 4287)"]
    ),
    "entry-without-updated": (
        "<title>A</title><updated>2023-11-22T00:00:05Z</updated>", "<title>A</title>",
        [f"{ENTRY} needs exactly one <updated>, has 0 (RFC 4287)"],
    ),
    "entry-updated-not-rfc3339": (
        "<title>A</title><updated>2023-11-22T00:00:05Z</updated>",
        "<title>A</title><updated>2023-11-22</updated>",
        [f"{ENTRY} <updated> '2023-11-22' is not an RFC 3339 date-time such as"
         " 2023-10-31T00:00:00Z"],
    ),
    "no-self-link": (f'<link rel="self" href="{SITE}atom.xml"/>', "",
                     ['has no self link (<link rel="self">)']),
}  # fmt: skip


@pytest.mark.parametrize(("old", "new", "reasons"), ATOM_DEFECTS.values(), ids=ATOM_DEFECTS.keys())
def test_atom_problems(old: str, new: str, reasons: list[str]) -> None:
    assert check_atom(old, new) == reasons


# --- JSON Feed ----------------------------------------------------------------------------------

JSON_DEFECTS: dict[str, tuple[dict[str, object], list[str]]] = {
    "home-page-url": ({"home_page_url": "/"}, [not_url("home_page_url", "/")]),
    "icon": ({"icon": "i.png"}, [not_url("icon", "i.png")]),
    "favicon": ({"favicon": "f.ico"}, [not_url("favicon", "f.ico")]),
    "next-url": ({"next_url": "2.json"}, [not_url("next_url", "2.json")]),
    "icon-not-a-string": ({"icon": 1}, ["icon is not a string"]),
    "feed-url": (
        {"feed_url": "feed.json"},
        [not_url("feed_url", "feed.json"), f"self link feed.json is not {SITE}feed.json"
         " (base_url + path)"],
    ),
    "feed-url-not-a-string": (
        {"feed_url": 1}, ["feed_url is not a string", "has no self link (feed_url)"]
    ),
    "authors": (
        {"authors": [{"name": "N", "url": "me", "avatar": "a.png"}]},
        [not_url("authors[1].url", "me"), not_url("authors[1].avatar", "a.png")],
    ),
    "second-author": (
        {"authors": [{"name": "N"}, {"url": "me"}]}, [not_url("authors[2].url", "me")]
    ),
    "authors-not-a-list": ({"authors": {"name": "N"}}, ["authors is not a list of objects"]),
    "authors-not-objects": ({"authors": ["N"]}, ["authors is not a list of objects"]),
    "hubs": (
        {"hubs": [{"type": "WebSub", "url": "/hub"}]}, [not_url("hubs[1].url", "/hub")]
    ),
    "hubs-not-a-list": ({"hubs": "https://hub.example/"}, ["hubs is not a list of objects"]),
    "version-1": ({"version": "https://jsonfeed.org/version/1"}, []),
    "version-9": (
        {"version": "https://jsonfeed.org/version/9"},
        ["version 'https://jsonfeed.org/version/9' is not https://jsonfeed.org/version/1.1"],
    ),
    "title-not-a-string": (
        {"title": 5}, ["title is not a string", "has no title, which JSON Feed requires"]
    ),
    "blank-title": ({"title": " "}, ["has no title, which JSON Feed requires"]),
    "no-items": ({"items": None}, ["has no items list, which JSON Feed requires"]),
    "items-not-a-list": ({"items": {}}, ["has no items list, which JSON Feed requires"]),
    "item-not-an-object": ({"items": [1, "x"]}, ["item 1 is not an object",
                                                 "item 2 is not an object"]),
    "item-url": ({"item_url": "a/"}, [not_url(f"{ITEM} url", "a/")]),
    "item-external-url": ({"item_external_url": "e/"}, [not_url(f"{ITEM} external_url", "e/")]),
    "item-image": ({"item_image": "i.png"}, [not_url(f"{ITEM} image", "i.png")]),
    "item-banner-image": (
        {"item_banner_image": "b.png"}, [not_url(f"{ITEM} banner_image", "b.png")]
    ),
    "item-url-not-a-string": ({"item_url": 3}, [f"{ITEM} url is not a string"]),
    "attachments": (
        {"item_attachments": [{"url": f"{SITE}a.mp3"}, {"url": "b.mp3"}]},
        [not_url(f"{ITEM} attachments[2].url", "b.mp3")],
    ),
    "attachments-not-a-list": ({"item_attachments": 3}, [f"{ITEM} is not a list of objects"]),
    "item-numeric-id": ({"item_id": 7}, ["item 1 has no id string, which JSON Feed 1.1 requires"]),
    "item-empty-id": ({"item_id": ""}, ["item 1 has no id string, which JSON Feed 1.1 requires"]),
    "item-content-text-only": ({"item_content_html": None, "item_content_text": "A"}, []),
    "item-content-not-a-string": (
        {"item_content_html": 1}, [f"{ITEM} has neither content_html nor content_text"]
    ),
    "item-date-not-a-string": (
        {"item_date_published": 20231122}, [f"{ITEM} date_published is not a string"]
    ),
    "item-date-modified": (
        {"item_date_modified": "2023-11-22"},
        [f"{ITEM} date_modified '2023-11-22' is not an RFC 3339 date-time such as"
         " 2023-10-31T00:00:00Z"],
    ),
    "repeated-id": (
        {"items": [{"id": "u", "content_text": "A"}, {"id": "u", "content_text": "B"}]},
        ["item 2 repeats the id u of item 1"],
    ),
}  # fmt: skip


@pytest.mark.parametrize(("changes", "reasons"), JSON_DEFECTS.values(), ids=JSON_DEFECTS.keys())
def test_json_feed_problems(changes: dict[str, object], reasons: list[str]) -> None:
    assert check_json(**changes) == reasons


def test_json_dates_are_told_apart() -> None:
    data = json.dumps(json_feed(item_date_modified="2023-11-23T00:00:05+01:00")).encode()
    feed = read_feed(data, "feed.json")
    assert feed is not None
    (entry,) = feed.entries
    assert entry.published == datetime(2023, 11, 22, 0, 0, 5, tzinfo=UTC)
    assert entry.updated is not None and entry.updated.isoformat() == "2023-11-23T00:00:05+01:00"
    assert (entry.id, entry.link, feed.self_link) == ("urn:uuid:1", SITE + "a/", SITE + "feed.json")


# --- Documents that are not feeds, or not well-formed ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "reasons"),
    [
        ("sitemap.xml", b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>', []),
        ("feed.xml", b"<urlset/>", ["is not an RSS 2.0 feed"]),
        ("atom.xml", b"<html/>", ["is not an Atom feed"]),
        ("feed.json", b'{"version": 1.1}', ["is not a JSON Feed"]),
        ("feed.json", b"[]", ["is not a JSON Feed"]),
        ("data.json", b'{"version": "https://example.org/"}', []),
        ("other.json", b"\xff", []),
    ],
    ids=["sitemap", "not-rss", "not-atom", "numeric-version", "list", "other-json", "bad-utf8"],
)
def test_documents_that_are_not_feeds(name: str, data: bytes, reasons: list[str]) -> None:
    if data == b"\xff":
        assert check_document(name, data, SITE + name)[0].startswith("not valid UTF-8 JSON: ")
        return
    assert check_document(name, data, SITE + name) == reasons


def test_a_feed_under_another_name_is_checked_too() -> None:
    data = RSS.replace(f"<link>{SITE}a/</link>", "<link>a/</link>").encode()
    assert check_document("archive/1/feed.xml", data, SITE + "archive/1/feed.xml") == [
        not_url(f"{ITEM} <link>", "a/"),
        f"self link {SITE}feed.xml is not {SITE}archive/1/feed.xml (base_url + path)",
    ]


def test_entities_are_never_expanded() -> None:
    # An internal entity, and the "billion laughs" nesting of them, stays a reference.
    laughs = "".join(f'<!ENTITY l{n} "&l{n - 1};&l{n - 1};">' for n in range(1, 12))
    data = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "{SITE}">{laughs}]>'
        + RSS.replace(f"<link>{SITE}</link>", "<link>&l0;</link><docs>&l11;</docs>")
    ).encode()
    assert check_document("feed.xml", data, SITE + "feed.xml") == [
        not_url("<channel><link>", "&l0;"),
        not_url("<channel><docs>", "&l11;"),
    ]


def test_an_external_dtd_is_not_loaded(tmp_path: Path) -> None:
    # Loaded, it would give <rss> its version and define the entity: neither happens.
    dtd = tmp_path / "feed.dtd"
    dtd.write_text(f'<!ENTITY home "{SITE}"><!ATTLIST rss version CDATA "2.0">')
    data = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{dtd.as_uri()}">'
        + RSS.replace(' version="2.0"', "").replace(f"<link>{SITE}</link>", "<link>&home;</link>")
    ).encode()
    assert check_document("feed.xml", data, SITE + "feed.xml") == [
        "<rss> version is None, not '2.0'",
        not_url("<channel><link>", "&home;"),
    ]


# --- What comparing feeds reads of them ---------------------------------------------------------


@pytest.mark.parametrize(
    "day", range(20, 27), ids=["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
)
def test_rss_dates_on_every_day_of_the_week(day: int) -> None:
    name = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[day - 20]
    date = f"{name}, {day} Nov 2023 00:00:05 +0000"
    assert check_rss("Wed, 22 Nov 2023 00:00:05 +0000", date) == []
    feed = read_feed(RSS.replace("Wed, 22 Nov 2023 00:00:05 +0000", date).encode(), "feed.xml")
    assert feed is not None
    assert feed.entries[0].published == datetime(2023, 11, day, 0, 0, 5, tzinfo=UTC)


def test_atom_entries_as_read_for_comparing() -> None:
    data = ATOM.replace(
        f'<link href="{SITE}a/"/>',
        f'<link rel="related" href="{SITE}r/"/><link rel="alternate" href="{SITE}a/"/>'
        f'<link href="{SITE}a2/"/><published>2023-11-21T00:00:05+01:00</published>',
    ).encode()
    feed = read_feed(data, "atom.xml")
    assert feed is not None
    assert (feed.kind, feed.self_link, feed.problems) == ("atom", SITE + "atom.xml", ())
    (entry,) = feed.entries
    assert (entry.position, entry.id, entry.link) == (1, "urn:uuid:1", SITE + "a/")
    assert entry.published is not None and entry.updated is not None
    assert entry.published.isoformat() == "2023-11-21T00:00:05+01:00"
    assert entry.updated == datetime(2023, 11, 22, 0, 0, 5, tzinfo=UTC)


def test_rss_items_as_read_for_comparing() -> None:
    # Text split by a comment is read whole: the guid below equals the first one.
    second = '<item><title>B</title><guid isPermaLink="false">urn:<!-- x -->uuid:1</guid></item>'
    data = RSS.replace("</channel>", second + "</channel>").encode()
    feed = read_feed(data, "feed.xml")
    assert feed is not None
    first, again = feed.entries
    assert (first.position, first.id, first.link, first.updated) == (
        1,
        "urn:uuid:1",
        SITE + "a/",
        None,
    )
    assert (again.position, again.id, again.link, again.published) == (2, "urn:uuid:1", None, None)
    assert feed.problems == ("item 2 repeats the id urn:uuid:1 of item 1",)


def test_a_repeated_id_names_the_first_entry_that_had_it() -> None:
    items = [{"content_text": "A"}] + [{"id": "u", "content_text": c} for c in "BCD"]
    assert check_json(items=items) == [
        "item 1 has no id string, which JSON Feed 1.1 requires",
        "item 3 repeats the id u of item 2",
        "item 4 repeats the id u of item 2",
    ]


def test_json_nested_too_deep_is_not_well_formed() -> None:
    data = b"[" * 100_000 + b"]" * 100_000
    (reason,) = check_document("feed.json", data, SITE + "feed.json")
    assert reason.startswith("not valid UTF-8 JSON: ")


def test_check_built_reads_every_visible_document_of_the_folder(tmp_path: Path) -> None:
    settings = Settings(base_url=SITE)
    files = {
        "feed.xml": RSS.encode(),
        "atom.xml": ATOM.encode(),
        "feed.json": json.dumps(json_feed()).encode(),
        "sitemap.xml": b"<urlset/>",
        "data.json": b"[1]",
        "style.css": b"not a document",
        ".hidden/feed.xml": b"<rss",
        "archive/.old.xml": b"<rss",
    }
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(data)
    (tmp_path / "folder.xml").mkdir()
    assert check_built(tmp_path, settings) == []
    (tmp_path / "archive" / "1.xml").write_bytes(RSS.encode())
    (tmp_path / "archive" / "2.json").write_bytes(b"{")
    assert check_built(tmp_path, settings) == [
        f"{tmp_path}/archive/1.xml: self link {SITE}feed.xml is not {SITE}archive/1.xml"
        " (base_url + path)",
        f"{tmp_path}/archive/2.json: not valid UTF-8 JSON: Expecting property name enclosed in"
        " double quotes: line 1 column 2 (char 1)",
    ]
    (tmp_path / "atom.xml").unlink()
    assert (
        check_built(tmp_path, settings)[0]
        == f"{tmp_path}/atom.xml: missing; feedsvc build writes it"
    )
    assert check_built(tmp_path / "feed.xml", settings) == [
        f"{tmp_path}/feed.xml: not a folder of built output"
    ]


def test_json_ids_and_urls_that_are_not_strings_are_read_as_missing() -> None:
    data = json.dumps(json_feed(item_id=7, item_url=3)).encode()
    feed = read_feed(data, "feed.json")
    assert feed is not None
    (entry,) = feed.entries
    assert (entry.id, entry.link, entry.name) == (None, None, "#1")


def test_a_feed_of_the_wrong_kind_says_so_first() -> None:
    data = ATOM.replace("<entry>", "<icon>i.png</icon><entry>").encode()
    assert check_document("feed.xml", data, SITE + "feed.xml") == [
        "is an Atom feed, not an RSS 2.0 feed",
        not_url("<feed><icon>", "i.png"),
        f"self link {SITE}atom.xml is not {SITE}feed.xml (base_url + path)",
    ]

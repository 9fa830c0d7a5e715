"""RSS, Atom and JSON Feed output, parsed with feedparser, lxml and json: fields, not substrings."""

from __future__ import annotations

import dataclasses
import json
import locale
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import lxml.etree
import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedsvc import __version__
from feedsvc.articles import Article, clean_text
from feedsvc.config import Settings
from feedsvc.entries import entry_id
from feedsvc.feeds import build_atom, build_rss
from feedsvc.jsonfeed import build_json
from feedsvc.repository import Corpus, load_corpus
from feedsvc.site import Site, render_site
from tests.conftest import BASE_URL, SAMPLE_ARTICLES

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
}
Builder = Callable[[tuple[Article, ...], Settings], bytes]


def make_article(
    number: int,
    published: datetime,
    title: str | None = None,
    standfirst: str = "The standfirst",
    paragraphs: tuple[str, ...] = ("First paragraph.", "Second paragraph."),
) -> Article:
    return Article(
        id=f"{number:016x}",
        source=f"{number:03d}_{number:016x}.txt",
        title=title if title is not None else f"Article {number}",
        standfirst=standfirst,
        paragraphs=paragraphs,
        published=published,
    )


def newest_first(*articles: Article) -> tuple[Article, ...]:
    return tuple(sorted(articles, key=lambda a: a.published, reverse=True))


def xml(body: bytes) -> Any:
    return lxml.etree.fromstring(body)


def paragraphs_of(content: str) -> list[str]:
    """Return the text of each <p> of an HTML fragment."""
    root = lxml.html.fragment_fromstring(content, create_parent="div")
    assert [child.tag for child in root] == ["p"] * len(root)
    return [p.text_content() for p in root]


def html_text(fragment: str) -> str:
    """Return the text a reader shows for an HTML fragment."""
    text: str = lxml.html.fragment_fromstring(fragment, create_parent="div").text_content()
    return text


def atom_text(element: Any) -> str:
    """Return the text a reader shows for an Atom text construct, by its ``type``."""
    text: str = element.text or ""
    return text if element.get("type", "text") == "text" else html_text(text)


def reader_text(detail: Any) -> str:
    """Return the text a reader shows for a feedparser ``*_detail``, by its declared type."""
    value: str = detail.value
    return value if detail.type == "text/plain" else html_text(value)


def parsed_feed(body: bytes) -> Any:
    document = feedparser.parse(body)
    assert document.bozo == 0, document.get("bozo_exception")
    return document


# Five articles, given in no particular order, with zones and a same-day pair.
ARTICLES = (
    make_article(1, datetime(2023, 10, 30, tzinfo=UTC)),
    make_article(2, datetime(2023, 11, 1, 8, 0, tzinfo=timezone(timedelta(hours=1)))),
    make_article(3, datetime(2023, 10, 31, 0, 0, 3, tzinfo=ZoneInfo("America/New_York"))),
    make_article(4, datetime(2023, 11, 1, 9, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))),
    make_article(5, datetime(2023, 10, 31, 0, 0, 5, tzinfo=ZoneInfo("America/New_York"))),
)
ORDER = newest_first(*ARTICLES)  # 2, 4, 5, 3, 1


@pytest.fixture
def site(settings: Settings) -> Site:
    return render_site(Corpus(ORDER, ()), settings)


# --- The sample articles ----------------------------------------------------------------------


@pytest.mark.parametrize(("path", "version"), [("/feed.xml", "rss20"), ("/atom.xml", "atom10")])
def test_sample_feeds_parse_cleanly(settings: Settings, path: str, version: str) -> None:
    corpus = load_corpus(settings)
    document = parsed_feed(render_site(corpus, settings).resources[path].content())
    assert document.version == version
    assert len(document.entries) == min(len(corpus.articles), settings.item_limit) > 0
    for entry, article in zip(document.entries, corpus.full_articles(corpus.articles), strict=True):
        assert entry.published_parsed is not None
        assert entry.id == entry_id(article)
        assert entry.title == article.title
        assert entry.link == f"{BASE_URL}articles/{article.slug}/"
        assert entry.content[0].value
        assert reader_text(entry.summary_detail) == article.standfirst


def test_sample_json_feed_has_every_article(settings: Settings) -> None:
    corpus = load_corpus(settings)
    document = json.loads(render_site(corpus, settings).resources["/feed.json"].content())
    assert [item["id"] for item in document["items"]] == [entry_id(a) for a in corpus.articles]
    assert all(item["content_html"] for item in document["items"])


# --- Order and limit --------------------------------------------------------------------------


def test_entries_are_newest_first_in_every_format(site: Site) -> None:
    expected = [entry_id(article) for article in ORDER]
    assert [a.id for a in ORDER] == [f"{n:016x}" for n in (2, 4, 5, 3, 1)]
    rss = xml(site.resources["/feed.xml"].content())
    assert rss.xpath("/rss/channel/item/guid/text()") == expected
    atom = xml(site.resources["/atom.xml"].content())
    assert atom.xpath("/atom:feed/atom:entry/atom:id/text()", namespaces=NS) == expected
    items = json.loads(site.resources["/feed.json"].content())["items"]
    assert [item["id"] for item in items] == expected


def test_feeds_follow_the_repository_order(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "ordered"
    folder.mkdir()
    dates = {3: "2023-10-31", 1: "2023-10-30", 2: "2023-11-01", 4: "2023-10-31"}
    for number, date in dates.items():
        name = f"{number:03d}_{number:016x}.txt"
        (folder / name).write_text(f"{date}\n\nArticle {number}\nStandfirst\n\nBody.\n")
    settings = dataclasses.replace(settings, articles=folder)
    document = parsed_feed(
        render_site(load_corpus(settings), settings).resources["/atom.xml"].content()
    )
    assert [entry.title for entry in document.entries] == [
        "Article 2", "Article 4", "Article 3", "Article 1"
    ]  # fmt: skip


def test_item_limit_keeps_the_newest(settings: Settings) -> None:
    site = render_site(Corpus(ORDER, ()), dataclasses.replace(settings, item_limit=2))
    expected = [entry_id(article) for article in ORDER[:2]]
    assert [e.id for e in parsed_feed(site.resources["/feed.xml"].content()).entries] == expected
    assert [e.id for e in parsed_feed(site.resources["/atom.xml"].content()).entries] == expected
    items = json.loads(site.resources["/feed.json"].content())["items"]
    assert [item["id"] for item in items] == expected
    # Every article keeps its page; only the feeds are limited.
    assert {f"/articles/{a.slug}/" for a in ORDER} <= set(site.resources)


# --- Ids and links ----------------------------------------------------------------------------


def test_ids_are_version_5_uuid_urns_and_distinct(site: Site) -> None:
    ids = [entry.id for entry in parsed_feed(site.resources["/atom.xml"].content()).entries]
    assert len(set(ids)) == len(ORDER)
    for value in ids:
        assert value.startswith("urn:uuid:")
        assert uuid.UUID(value.removeprefix("urn:uuid:")).version == 5


def test_rss_guid_is_not_a_permalink(site: Site) -> None:
    rss = xml(site.resources["/feed.xml"].content())
    assert set(rss.xpath("/rss/channel/item/guid/@isPermaLink")) == {"false"}


def test_id_of_the_seed_never_changes() -> None:
    # Readers key entries on it: a new value would show every article as new.
    seed = make_article(0, datetime(2023, 10, 31, tzinfo=UTC))
    seed = dataclasses.replace(seed, id="cab78a8f5eee25a1")
    assert entry_id(seed) == "urn:uuid:257b3e9b-f2b7-5a36-9fb5-86eeb7427e60"


@pytest.mark.parametrize("build", [build_rss, build_atom, build_json], ids=["rss", "atom", "json"])
def test_ids_survive_edits_and_a_new_base_url(settings: Settings, build: Builder) -> None:
    original = make_article(7, datetime(2023, 10, 31, tzinfo=UTC))
    edited = dataclasses.replace(
        original,
        title="A new title",
        standfirst="A new standfirst",
        paragraphs=("Rewritten.",),
        published=datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=-3))),
    )
    moved = dataclasses.replace(settings, base_url="https://elsewhere.example.com/blog/")

    def ids(body: bytes) -> list[str]:
        if build is build_json:
            return [item["id"] for item in json.loads(body)["items"]]
        return [entry.id for entry in parsed_feed(body).entries]

    assert ids(build((original,), settings)) == ids(build((edited,), moved)) == [entry_id(original)]


def test_links_are_absolute_under_the_base_url(settings: Settings) -> None:
    base = "https://example.org/news/"
    site = render_site(Corpus(ORDER, ()), dataclasses.replace(settings, base_url=base))
    pages = [f"{base}articles/{article.slug}/" for article in ORDER]

    rss = xml(site.resources["/feed.xml"].content())
    assert rss.xpath("/rss/channel/link/text()") == [base]
    assert rss.xpath("/rss/channel/item/link/text()") == pages
    assert rss.xpath("/rss/channel/atom:link[@rel='self']/@href", namespaces=NS) == [
        base + "feed.xml"
    ]
    assert rss.xpath("/rss/channel/atom:link[@rel='self']/@type", namespaces=NS) == [
        "application/rss+xml"
    ]

    atom = xml(site.resources["/atom.xml"].content())
    assert atom.xpath("/atom:feed/atom:link[@rel='self']/@href", namespaces=NS) == [
        base + "atom.xml"
    ]
    assert atom.xpath("/atom:feed/atom:link[@rel='alternate']/@href", namespaces=NS) == [base]
    assert atom.xpath("/atom:feed/atom:entry/atom:link/@href", namespaces=NS) == pages

    document = json.loads(site.resources["/feed.json"].content())
    assert document["home_page_url"] == base
    assert document["feed_url"] == base + "feed.json"
    assert [item["url"] for item in document["items"]] == pages


# --- Dates ------------------------------------------------------------------------------------


def test_feed_updated_is_the_newest_entry_not_now(site: Site) -> None:
    newest = ORDER[0].updated
    rss = xml(site.resources["/feed.xml"].content())
    (last_build,) = rss.xpath("/rss/channel/lastBuildDate/text()")
    assert parsedate_to_datetime(last_build) == newest
    atom = xml(site.resources["/atom.xml"].content())
    (updated,) = atom.xpath("/atom:feed/atom:updated/text()", namespaces=NS)
    assert datetime.fromisoformat(updated) == newest
    for path in ("/feed.xml", "/atom.xml", "/feed.json", "/"):
        assert site.resources[path].last_modified == newest


def test_old_articles_give_an_old_feed_date(settings: Settings) -> None:
    article = make_article(1, datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC))
    document = parsed_feed(build_atom((article,), settings))
    assert document.feed.updated_parsed[:6] == (2001, 2, 3, 4, 5, 6)
    document = parsed_feed(build_rss((article,), settings))
    assert parsedate_to_datetime(document.feed.updated) == article.published


def test_empty_corpus_gives_valid_fixed_feeds(settings: Settings) -> None:
    first = render_site(Corpus((), ()), settings)
    second = render_site(Corpus((), ()), settings)
    for path in ("/feed.xml", "/atom.xml"):
        assert parsed_feed(first.resources[path].content()).entries == []
        assert first.resources[path].body == second.resources[path].content()
    (updated,) = xml(first.resources["/atom.xml"].content()).xpath(
        "/atom:feed/atom:updated/text()", namespaces=NS
    )
    assert datetime.fromisoformat(updated) == datetime(1970, 1, 1, tzinfo=UTC)
    assert json.loads(first.resources["/feed.json"].content())["items"] == []


@pytest.mark.parametrize(
    ("published", "rfc822", "rfc3339"),
    [
        (
            datetime(2023, 10, 31, 14, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            "Tue, 31 Oct 2023 14:30:00 +0530",
            "2023-10-31T14:30:00+05:30",
        ),
        (
            datetime(2023, 10, 31, 0, 0, 3, tzinfo=ZoneInfo("America/New_York")),
            "Tue, 31 Oct 2023 00:00:03 -0400",
            "2023-10-31T00:00:03-04:00",
        ),
        (
            datetime(2023, 12, 1, 23, 59, 59, tzinfo=UTC),
            "Fri, 01 Dec 2023 23:59:59 +0000",
            "2023-12-01T23:59:59+00:00",
        ),
    ],
    ids=["half-hour-offset", "named-zone-dst", "utc"],
)
def test_dates_keep_their_zone(
    settings: Settings, published: datetime, rfc822: str, rfc3339: str
) -> None:
    article = make_article(1, published)
    rss = xml(build_rss((article,), settings))
    assert rss.xpath("/rss/channel/item/pubDate/text()") == [rfc822]
    assert rss.xpath("/rss/channel/lastBuildDate/text()") == [rfc822]
    atom = xml(build_atom((article,), settings))
    assert atom.xpath("/atom:feed/atom:entry/atom:published/text()", namespaces=NS) == [rfc3339]
    assert atom.xpath("/atom:feed/atom:entry/atom:updated/text()", namespaces=NS) == [rfc3339]
    (item,) = json.loads(build_json((article,), settings))["items"]
    assert (item["date_published"], item["date_modified"]) == (rfc3339, rfc3339)
    # And readers agree on the instant.
    utc = published.astimezone(UTC).timetuple()[:6]
    assert parsed_feed(build_rss((article,), settings)).entries[0].published_parsed[:6] == utc
    assert parsed_feed(build_atom((article,), settings)).entries[0].updated_parsed[:6] == utc


# --- Text and escaping ------------------------------------------------------------------------

NASTY = {
    "less-than": "x < y and <b>not bold</b>",
    "ampersand": "Fish & Chips &amp; &#x41; &nbsp;",
    "quotes": "He said \"hi\" and 'bye'",
    "cdata-end": "Ends ]]> here ]]>",
    "script": "<script>alert(1)</script>",
    "comment": "<!-- not a comment --> <![CDATA[ not cdata ]]>",
    "non-ascii": "Kim Jong-un\u2019s visit \u2014 \u65b0\u805e \U0001f4f0",
}


@pytest.mark.parametrize("text", NASTY.values(), ids=NASTY.keys())
def test_text_round_trips_in_rss(settings: Settings, text: str) -> None:
    article = make_article(1, datetime(2023, 10, 31, tzinfo=UTC), text, text, (text, "Two"))
    body = build_rss((article,), settings)
    (item,) = xml(body).xpath("/rss/channel/item")
    assert item.findtext("title") == text
    # Readers take <description> as HTML: the plain-text standfirst must show as itself.
    assert html_text(item.findtext("description")) == text
    assert paragraphs_of(item.findtext("content:encoded", namespaces=NS)) == [text, "Two"]
    entry = parsed_feed(body).entries[0]
    assert entry.title == text
    assert reader_text(entry.summary_detail) == text
    assert paragraphs_of(entry.content[0].value) == [text, "Two"]


@pytest.mark.parametrize("text", NASTY.values(), ids=NASTY.keys())
def test_text_round_trips_in_atom(settings: Settings, text: str) -> None:
    article = make_article(1, datetime(2023, 10, 31, tzinfo=UTC), text, text, (text, "Two"))
    body = build_atom((article,), settings)
    document = parsed_feed(body)
    assert document.entries[0].title == text  # type="text": readers show it as is
    assert reader_text(document.entries[0].summary_detail) == text
    (entry,) = xml(body).xpath("/atom:feed/atom:entry", namespaces=NS)
    assert entry.findtext("atom:title", namespaces=NS) == text
    assert atom_text(entry.find("atom:summary", namespaces=NS)) == text
    content = entry.find("atom:content", namespaces=NS)
    assert content.get("type") == "html"
    assert paragraphs_of(content.text) == [text, "Two"]


@pytest.mark.parametrize("text", NASTY.values(), ids=NASTY.keys())
def test_text_round_trips_in_json(settings: Settings, text: str) -> None:
    article = make_article(1, datetime(2023, 10, 31, tzinfo=UTC), text, text, (text, "Two"))
    (item,) = json.loads(build_json((article,), settings))["items"]
    assert (item["title"], item["summary"]) == (text, text)
    assert paragraphs_of(item["content_html"]) == [text, "Two"]


def test_markup_in_paragraphs_never_becomes_elements(settings: Settings) -> None:
    article = make_article(1, datetime(2023, 10, 31, tzinfo=UTC), paragraphs=(NASTY["script"],))
    (item,) = json.loads(build_json((article,), settings))["items"]
    root = lxml.html.fragment_fromstring(item["content_html"], create_parent="div")
    assert root.xpath("//script") == []
    assert root.xpath("//b") == []


# --- Feed-level fields ------------------------------------------------------------------------


def test_json_feed_required_fields(site: Site) -> None:
    resource = site.resources["/feed.json"]
    assert resource.media_type == "application/feed+json; charset=utf-8"
    document = json.loads(resource.content())
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["title"] == "Example News"
    assert document["home_page_url"] == BASE_URL
    assert document["feed_url"] == BASE_URL + "feed.json"
    assert document["language"] == "en"
    assert document["authors"] == [{"name": "Example Newsroom"}]
    for item, article in zip(document["items"], ORDER, strict=True):
        assert isinstance(item["id"], str) and item["id"]
        assert item["content_html"] == "<p>First paragraph.</p><p>Second paragraph.</p>"
        assert item["summary"] == article.standfirst
        assert datetime.fromisoformat(item["date_published"]) == article.published


def test_rss_channel_fields(settings: Settings, site: Site) -> None:
    document = parsed_feed(site.resources["/feed.xml"].content())
    assert document.version == "rss20"
    assert document.feed.title == "Example News"
    assert document.feed.subtitle == "News from the example"
    assert document.feed.language == "en"
    assert document.feed.generator == "feedsvc"
    channel = xml(site.resources["/feed.xml"].content()).find("channel")
    assert channel.findtext("ttl") == "5"
    assert channel.findtext("generator") == "feedsvc"


def test_atom_feed_fields(site: Site) -> None:
    document = parsed_feed(site.resources["/atom.xml"].content())
    assert document.version == "atom10"
    assert document.feed.title == "Example News"
    assert document.feed.id == BASE_URL + "atom.xml"
    assert document.feed.author == "Example Newsroom"
    assert document.feed.generator_detail == {"name": "feedsvc", "version": __version__}
    root = xml(site.resources["/atom.xml"].content())
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    for entry in document.entries:
        assert entry.summary == "The standfirst"
        assert entry.content[0].type == "text/html"


@pytest.mark.parametrize(("max_age", "ttl"), [(60, "1"), (300, "5"), (3600, "60")])
def test_rss_ttl_is_max_age_in_minutes(settings: Settings, max_age: int, ttl: str) -> None:
    body = build_rss(ORDER, dataclasses.replace(settings, max_age=max_age))
    assert xml(body).find("channel").findtext("ttl") == ttl


# --- Determinism ------------------------------------------------------------------------------

OTHER_LOCALES = ("de_DE.UTF-8", "fr_FR.UTF-8", "tr_TR.UTF-8", "ja_JP.UTF-8", "en_US.UTF-8",
                 "C.UTF-8", "C.utf8")  # fmt: skip


@pytest.fixture
def other_locale() -> Iterator[str]:
    """Switch LC_ALL to a locale other than C (restored afterwards); skip if none exists."""
    saved = locale.setlocale(locale.LC_ALL)
    for name in OTHER_LOCALES:
        try:
            locale.setlocale(locale.LC_ALL, name)
        except locale.Error:
            continue
        locale.setlocale(locale.LC_ALL, saved)
        yield name
        locale.setlocale(locale.LC_ALL, saved)
        return
    pytest.skip("no locale other than C is installed")


def copy_articles(target: Path, reverse: bool, mtime: int) -> Path:
    """Copy the sample articles plus same-day ones into ``target`` in a chosen order."""
    target.mkdir()
    sources = sorted(SAMPLE_ARTICLES.glob("*.txt"))
    extra = {
        f"{n:03d}_{n:016x}.txt": f"2023-10-31\n\nSame day {n}\nS\n\nP & <q>.\n" for n in (7, 3)
    }
    extra["unnumbered.txt"] = "Tue, 31 Oct 2023 00:00:00 +0000\n\nUnnumbered\nS\n\nP.\n"
    items = [(p.name, p.read_bytes()) for p in sources] + [
        (name, text.encode()) for name, text in extra.items()
    ]
    for name, data in reversed(items) if reverse else items:
        (target / name).write_bytes(data)
        os.utime(target / name, (mtime, mtime))
    return target


def render(settings: Settings, folder: Path) -> Site:
    settings = dataclasses.replace(settings, articles=folder)
    return render_site(load_corpus(settings), settings)


def test_build_is_byte_identical_whatever_tz_locale_mtime_or_order(
    settings: Settings,
    tmp_path: Path,
    set_tz: Callable[[str], None],
    other_locale: str,
) -> None:
    set_tz("UTC")
    locale.setlocale(locale.LC_ALL, "C")
    first = render(settings, copy_articles(tmp_path / "one", reverse=False, mtime=1_000_000_000))
    set_tz("Pacific/Kiritimati")
    switched = locale.setlocale(locale.LC_ALL, other_locale)
    second = render(settings, copy_articles(tmp_path / "two", reverse=True, mtime=1_700_000_000))
    set_tz("America/St_Johns")
    third = render(settings, copy_articles(tmp_path / "three", reverse=True, mtime=0))

    assert len(first.resources) >= 5
    for other in (second, third):
        assert other.resources.keys() == first.resources.keys()
        for path, resource in first.resources.items():
            assert other.resources[path] == resource, path
        assert other.not_found == first.not_found
    # feedgen switches the process locale while it formats dates; it must switch back.
    assert locale.setlocale(locale.LC_ALL) == switched


def test_build_twice_gives_the_same_bytes(settings: Settings) -> None:
    first = render_site(load_corpus(settings), settings)
    second = render_site(load_corpus(settings), settings)
    assert first == second
    for resource in first.resources.values():
        assert resource.etag.startswith('"') and resource.etag.endswith('"')


# --- Properties -------------------------------------------------------------------------------


def _line() -> st.SearchStrategy[str]:
    # Any text the repository can hand over: cleaned of what XML forbids, one line, trimmed.
    return (
        st.text(max_size=60)
        .map(lambda s: clean_text(s)[0].replace("\r", " ").replace("\n", " ").strip())
        .filter(bool)
    )


@settings(max_examples=150, deadline=None)
@given(
    titles=st.lists(_line(), min_size=1, max_size=3),
    standfirst=_line(),
    paragraphs=st.lists(_line(), min_size=1, max_size=3).map(tuple),
)
def test_any_text_gives_well_formed_feeds(
    titles: list[str], standfirst: str, paragraphs: tuple[str, ...]
) -> None:
    config = Settings(title="Property", base_url=BASE_URL)
    start = datetime(2023, 10, 31, tzinfo=UTC)
    articles = tuple(
        make_article(n, start - timedelta(hours=n), title, standfirst, paragraphs)
        for n, title in enumerate(titles)
    )
    ids = [entry_id(article) for article in articles]
    # Exact text is checked with lxml: feedparser "repairs" text that looks like UTF-8
    # read as Latin-1 (a title "\u00c2\u00a1" comes back as "\u00a1"), whoever wrote it.
    rss = build_rss(articles, config)
    assert [entry.id for entry in parsed_feed(rss).entries] == ids
    assert [item.findtext("title") for item in xml(rss).iter("item")] == titles
    atom = build_atom(articles, config)
    assert [entry.id for entry in parsed_feed(atom).entries] == ids
    assert xml(atom).xpath("atom:entry/atom:title/text()", namespaces=NS) == titles
    for entry in xml(atom).iterfind("atom:entry", namespaces=NS):
        assert atom_text(entry.find("atom:summary", namespaces=NS)) == standfirst
        assert paragraphs_of(entry.findtext("atom:content", namespaces=NS)) == list(paragraphs)
    items = json.loads(build_json(articles, config))["items"]
    assert [item["title"] for item in items] == titles


# An article of a title alone (or a title and a standfirst): no empty element anywhere.
BODILESS = {
    "title only": ("", ()),
    "title and standfirst": ("The standfirst", ()),
}


@pytest.mark.parametrize(("standfirst", "paragraphs"), BODILESS.values(), ids=BODILESS.keys())
def test_an_article_without_paragraphs_has_no_empty_element(
    standfirst: str, paragraphs: tuple[str, ...]
) -> None:
    settings = Settings(base_url=BASE_URL)
    article = make_article(
        1, datetime(2024, 1, 1, tzinfo=UTC), "Only a title", standfirst, paragraphs
    )
    rss, atom = build_rss((article,), settings), build_atom((article,), settings)
    for body in (rss, atom):
        empty = [
            el.tag for el in xml(body).iter() if len(el) == 0 and not el.attrib and not el.text
        ]
        assert empty == [], body.decode()
    item = xml(rss).find("channel/item")
    assert item.find("title").text == "Only a title"
    assert item.find("content:encoded", NS) is None
    # The summary: the standfirst, or the title when there is none.
    summary = standfirst or "Only a title"
    assert [el.text for el in item.findall("description")] == [summary]
    entry = xml(atom).find("atom:entry", NS)
    assert entry.find("atom:content", NS) is None
    assert entry.find("atom:summary", NS).text == summary
    # RFC 4287 4.1.2: no content, so an alternate link (rel absent means "alternate").
    links = [link.get("rel", "alternate") for link in entry.findall("atom:link", NS)]
    assert "alternate" in links
    (json_item,) = json.loads(build_json((article,), settings))["items"]
    assert "content_html" not in json_item
    assert json_item["content_text"] == summary
    for body in (rss, atom):
        parsed = feedparser.parse(body)
        assert not parsed.bozo and parsed.entries[0].title == "Only a title"


def test_an_edited_article_carries_its_edit_time_apart_from_its_date() -> None:
    settings = Settings(base_url=BASE_URL)
    published = datetime(2024, 1, 1, 9, tzinfo=UTC)
    edited = datetime(2024, 1, 3, 17, 30, tzinfo=timezone(timedelta(hours=2)))
    article = dataclasses.replace(make_article(1, published), edited=edited)
    other = make_article(2, datetime(2024, 1, 2, tzinfo=UTC))
    articles = (other, article)
    atom = xml(build_atom(articles, settings))
    entry = atom.findall("atom:entry", NS)[1]
    assert entry.find("atom:published", NS).text == "2024-01-01T09:00:00+00:00"
    assert entry.find("atom:updated", NS).text == "2024-01-03T17:30:00+02:00"
    # The feed's update time is the newest change, not the newest article's date.
    assert atom.find("atom:updated", NS).text == "2024-01-03T17:30:00+02:00"
    rss = xml(build_rss(articles, settings))
    assert parsedate_to_datetime(rss.find("channel/lastBuildDate").text) == edited
    item = json.loads(build_json(articles, settings))["items"][1]
    assert (item["date_published"], item["date_modified"]) == (
        "2024-01-01T09:00:00+00:00",
        "2024-01-03T17:30:00+02:00",
    )
    unedited = json.loads(build_json((other,), settings))["items"][0]
    assert unedited["date_modified"] == unedited["date_published"]

"""The compiled RSS and Atom entries give byte for byte what feedgen writes entry by entry."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import lxml.etree
import pytest
from dateutil.tz import tzoffset
from feedgen.util import formatRFC2822
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedsvc import feeds
from feedsvc.articles import Article
from feedsvc.config import Settings
from feedsvc.entries import ARTICLE_NAMESPACE, entry_id_of, entry_of
from feedsvc.escaping import xml_text
from feedsvc.feeds import FeedPage, build_atom, build_rss
from feedsvc.feedtemplates import _sentinel_date, entry_template, frame_template, shape_of

Build = Callable[[list[Article], Settings, FeedPage], bytes]
BUILDS: dict[str, tuple[Build, Build]] = {
    "rss": (build_rss, feeds._feedgen_rss),
    "atom": (build_atom, feeds._feedgen_atom),
}
SETTINGS = {
    "plain": Settings(),
    "markup": Settings(
        title='News <b>&amp;</b> "views" ]]> caf\u00e9 \ue000title\ue001',
        description="Fish & chips <i>daily</i> 100%s",
        author="D\u00e9sir\u00e9e & <co>",
        language="fr-CA",
        base_url="https://news.example.org/",
        max_age=3600,
    ),
    "path-and-hubs": Settings(
        title="Example News",
        base_url="https://example.org/news/sub/",
        hubs=("https://hub.example.org/", "https://other.example.net/hub?x=1&y=2"),
        max_age=7200,
    ),
    # Not a URL config.py lets through, but whatever the links hold comes out as lxml's.
    "odd-base-url": Settings(base_url='https://ex\u00e4mple.org/a&b"c\t%d/<x>/'),
}
ZONES = (
    UTC,
    ZoneInfo("Europe/Paris"),
    ZoneInfo("America/St_Johns"),
    ZoneInfo("Asia/Kathmandu"),
    ZoneInfo("Pacific/Kiritimati"),
    timezone(timedelta(hours=-3, minutes=-30)),
    timezone(timedelta(hours=5, minutes=45, seconds=30)),
    timezone(-timedelta(seconds=1, microseconds=5)),
    tzoffset(None, 3600),
    tzoffset("LMT", -(4 * 3600 + 56 * 60 + 2)),
)
# Text that escaping, CDATA, the sentinels, %-formatting or the paragraph joins could trip on.
AWKWARD = ("<", ">", "&", '"', "'", "]]>", "]]", "&amp;", "<![CDATA[", "%", "%s", "%%",
           "\t", "\n", "\r", "\r\n", "\x85", "\u2028", "\u00e9", "\U0001f4f0", "\ufeff",
           "\ue000", "\ue001", "\ue000title\ue001", "\ue000content\ue001", "\ue000link\ue001",
           "&lt;/p&gt;&lt;p&gt;", "<p>", " ")  # fmt: skip
# What lxml refuses: control characters but tab, line feed and carriage return, surrogates,
# U+FFFE and U+FFFF.
NOT_XML = "".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r") + "\ufffe\uffff"


def xml_chars() -> st.SearchStrategy[str]:
    return st.characters(codec="utf-8", exclude_characters=NOT_XML)  # no surrogates


def text(min_size: int = 0) -> st.SearchStrategy[str]:
    pieces = st.one_of(st.sampled_from(AWKWARD), st.text(xml_chars(), min_size=1, max_size=8))
    return st.lists(pieces, min_size=min_size, max_size=6).map("".join)


def moments() -> st.SearchStrategy[datetime]:
    # The range parse_date keeps dates in, offsets of every kind articles may carry.
    return st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.one_of(st.sampled_from(ZONES), st.timezones()),
    )


@st.composite
def articles(draw: st.DrawFn, min_title: int = 1) -> Article:
    number = draw(st.integers(0, 2**64 - 1))
    return Article(
        id=f"{number:016x}",
        source=f"{number % 1000:03d}_{number:016x}.txt",
        title=draw(text(min_size=min_title)),
        standfirst=draw(st.one_of(st.just(""), text())),
        paragraphs=tuple(draw(st.lists(text(), max_size=4))),
        published=draw(moments()),
    )


@st.composite
def pages(draw: st.DrawFn) -> FeedPage:
    archives = draw(st.integers(0, 4))
    number = draw(st.integers(0, archives))
    return FeedPage(number, archives)


def assert_same(kind: str, entries: list[Article], config: Settings, page: FeedPage) -> bytes:
    fast, reference = BUILDS[kind]
    expected = reference(entries, config, page)
    assert fast(entries, config, page) == expected
    return expected


# --- Byte for byte ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entries=st.lists(articles(), max_size=5),
    name=st.sampled_from(sorted(SETTINGS)),
    page=pages(),
)
def test_any_articles_give_feedgens_bytes(
    entries: list[Article], name: str, page: FeedPage
) -> None:
    for kind in ("rss", "atom"):
        assert_same(kind, entries, SETTINGS[name], page)


@settings(max_examples=100, deadline=None)
@given(entries=st.lists(articles(min_title=0), min_size=1, max_size=3))
def test_empty_titles_as_feedgen_has_them(entries: list[Article]) -> None:
    # RSS leaves an empty title out but needs a title or a description (the summary or the
    # content); Atom requires a title. Where feedgen refuses an entry, both paths do.
    # (The parser never gives an article without a title: such a file is a problem.)
    rss_ok = all(a.title or a.standfirst or a.paragraphs for a in entries)
    for kind, ok in (("rss", rss_ok), ("atom", all(a.title for a in entries))):
        if ok:
            assert_same(kind, entries, SETTINGS["plain"], FeedPage())
            continue
        reference, fast = BUILDS[kind][1], BUILDS[kind][0]
        with pytest.raises(ValueError, match="Required fields not set"):
            reference(entries, SETTINGS["plain"], FeedPage())
        with pytest.raises(ValueError, match="Required fields not set"):
            fast(entries, SETTINGS["plain"], FeedPage())


def make_article(number: int, published: datetime, **fields: object) -> Article:
    values: dict[str, object] = {
        "title": f"Article {number} \u2014 caf\u00e9 & <b>bar</b>",
        "standfirst": "A standfirst with \u201cquotes\u201d & ]]>",
        "paragraphs": ("First <p>aragraph.", "Second & last ]]> one."),
    }
    values.update(fields)
    return Article(
        id=f"{number:016x}",
        source=f"{number:03d}_{number:016x}.txt",
        published=published,
        **values,  # type: ignore[arg-type]
    )


SHAPES: dict[str, dict[str, object]] = {
    "full": {},
    "no-standfirst": {"standfirst": ""},
    "no-paragraphs": {"paragraphs": ()},
    "bare": {"standfirst": "", "paragraphs": ()},
    "empty-paragraph": {"paragraphs": ("",)},
}


@pytest.mark.parametrize("kind", ["rss", "atom"])
@pytest.mark.parametrize("name", sorted(SETTINGS))
@pytest.mark.parametrize("count", [0, 1, 50])
def test_documents_of_zero_one_and_fifty_entries(kind: str, name: str, count: int) -> None:
    start = datetime(2024, 3, 31, 1, 59, 59, tzinfo=ZoneInfo("Europe/Paris"))
    shapes = list(SHAPES.values())
    entries = [
        make_article(n, start - timedelta(hours=7 * n), **shapes[n % len(shapes)])
        for n in range(count)
    ]
    for page in (FeedPage(), FeedPage(0, 3), FeedPage(1, 3), FeedPage(2, 3), FeedPage(3, 3)):
        body = assert_same(kind, entries, SETTINGS[name], page)
        tag = "item" if kind == "rss" else "{http://www.w3.org/2005/Atom}entry"
        assert len(list(lxml.etree.fromstring(body).iter(tag))) == count


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_every_shape_is_compiled(kind: str, shape: dict[str, object]) -> None:
    # A shape whose template failed its probe would silently fall back to feedgen.
    for config in SETTINGS.values():
        article = make_article(1, datetime(2024, 1, 1, tzinfo=UTC), **shape)
        writer = feeds.FeedgenWriter(config, kind)
        assert entry_template(writer, shape_of(entry_of(article, config))) is not None


def test_the_rss_and_atom_of_the_same_articles() -> None:
    # Both kinds of an archive are written from one escaping of the entries' texts.
    start = datetime(2024, 1, 1, tzinfo=UTC)
    entries = [make_article(n, start - timedelta(days=n)) for n in range(3)]
    for config in SETTINGS.values():
        for page in (FeedPage(), FeedPage(1, 2)):
            rss, atom = feeds.build_documents(entries, config, page, ("rss", "atom"))
            assert rss == feeds._feedgen_rss(entries, config, page)
            assert atom == feeds._feedgen_atom(entries, config, page)


# --- Document frames --------------------------------------------------------------------------
# Settings text lands in the frame: the frame's own sentinels and the sentinel dates there
# must leave the output feedgen's (the frame is then feedgen's, not compiled).
SENTINEL_DATES = (feeds.rfc2822(_sentinel_date(0)), _sentinel_date(0).isoformat())
FRAME_AWKWARD = (*AWKWARD, *SENTINEL_DATES, "\ue000id\ue001", "\ue000link\ue001",
                 "\ue000hrefs.0\ue001", "\ue000hrefs.1\ue001", "\ue000updated\ue001")  # fmt: skip


def settings_text(min_size: int = 0) -> st.SearchStrategy[str]:
    pieces = st.one_of(st.sampled_from(FRAME_AWKWARD), st.text(xml_chars(), min_size=1, max_size=8))
    return st.lists(pieces, min_size=min_size, max_size=4).map("".join)


@st.composite
def site_settings(draw: st.DrawFn) -> Settings:
    return Settings(
        title=draw(settings_text(min_size=1)),
        description=draw(settings_text(min_size=1)),
        author=draw(settings_text(min_size=1)),
        language=draw(st.one_of(st.just("en"), settings_text(min_size=1))),
        base_url=draw(st.one_of(st.just("https://example.org/"), settings_text(min_size=1))),
        hubs=tuple(draw(st.lists(settings_text(min_size=1), max_size=3))),
        max_age=draw(st.sampled_from([60, 300, 3600, 7200, 86400])),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entries=st.lists(articles(), max_size=2),
    config=site_settings(),
    page=pages(),
    updated=moments(),
)
def test_any_settings_and_page_give_feedgens_frame(
    entries: list[Article], config: Settings, page: FeedPage, updated: datetime
) -> None:
    # Without entries, the feed's time is fixed; one entry of a given date sets it.
    dated = [Article(id="00000000000000ff", source="x.txt", title="t", published=updated)]
    for kind in ("rss", "atom"):
        assert_same(kind, entries, config, page)
        assert_same(kind, dated, config, page)


FRAMES = [FeedPage(), *(FeedPage(n, 1) for n in (0, 1)), *(FeedPage(n, 3) for n in (1, 2, 3))]


@pytest.mark.parametrize("kind", ["rss", "atom"])
@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_every_frame_shape_is_compiled(kind: str, name: str) -> None:
    # A frame whose template failed its probe would silently fall back to feedgen.
    config = SETTINGS[name]
    writer = feeds.FeedgenWriter(config, kind)
    for page in FRAMES:
        frame = feeds.frame_of(config, kind, page, datetime(2024, 1, 1, tzinfo=UTC))
        assert frame_template(writer, feeds.Frame, shape_of(frame)) is not None


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_a_frame_sentinel_in_the_settings_leaves_feedgens_frame(kind: str) -> None:
    config = Settings(
        title="News \ue000title\ue001",
        description="\ue000title\ue001 and \ue000hrefs.0\ue001",
        author=" ".join(SENTINEL_DATES),
        base_url="https://example.org/\ue000link\ue001/",
        hubs=("https://hub.example.org/\ue000hrefs.1\ue001",),
    )
    entries = [make_article(1, datetime(2024, 1, 1, tzinfo=UTC))]
    for page in FRAMES:
        assert_same(kind, entries, config, page)
    frame = feeds.frame_of(config, kind, FeedPage(1, 3), feeds.EMPTY_FEED_TIME)
    assert frame_template(feeds.FeedgenWriter(config, kind), feeds.Frame, shape_of(frame)) is None


# --- Text that XML cannot carry ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rss", "atom"])
@pytest.mark.parametrize("bad", ["\x00", "\x08", "\x0b", "\x1f", "\ufffe", "\uffff", "\ud800"])
@pytest.mark.parametrize("field", ["title", "standfirst", "paragraph", "second paragraph"])
def test_text_xml_cannot_carry_is_refused_as_lxml_refuses_it(
    kind: str, bad: str, field: str
) -> None:
    places: dict[str, dict[str, object]] = {
        "title": {"title": f"a{bad}b"},
        "standfirst": {"standfirst": f"a{bad}b"},
        "paragraph": {"paragraphs": (f"a{bad}b",)},
        "second paragraph": {"paragraphs": ("one", f"a{bad}b", "three")},
    }
    fields = places[field]
    entries = [make_article(1, datetime(2024, 1, 1, tzinfo=UTC), **fields)]
    fast, reference = BUILDS[kind]
    with pytest.raises(ValueError) as expected:
        reference(entries, SETTINGS["plain"], FeedPage())
    with pytest.raises(expected.type):
        fast(entries, SETTINGS["plain"], FeedPage())


# --- The pieces -------------------------------------------------------------------------------


def valid_characters() -> str:
    return "".join(
        chr(c) for c in range(0x110000) if not (0xD800 <= c < 0xE000 or chr(c) in NOT_XML)
    )


def test_text_is_escaped_as_lxml_escapes_it_for_every_character() -> None:
    everything = valid_characters()
    element = lxml.etree.Element("x")
    element.text = everything
    written = lxml.etree.tostring(element, encoding="UTF-8")
    assert written == b"<x>" + xml_text(everything) + b"</x>"


def test_attributes_are_escaped_as_lxml_escapes_them() -> None:
    # Every ASCII character and a sample of others, in an Atom entry link's href.
    odd = "".join(chr(c) for c in range(0x20, 0x80)) + "\t\n\r \x85\u00e9\u2028\ue000\U0001f4f0"
    config = Settings(base_url=f"https://example.org/{odd}/")
    entries = [make_article(1, datetime(2024, 1, 1, tzinfo=UTC))]
    body = assert_same("atom", entries, config, FeedPage())
    links = lxml.etree.fromstring(body).findall("{http://www.w3.org/2005/Atom}entry/*")
    assert [link.get("href") for link in links if link.get("href")] == [
        config.url("articles/0000000000000001/")
    ]


@settings(max_examples=500, deadline=None)
@given(moment=moments())
def test_rss_dates_are_feedgens(moment: datetime) -> None:
    assert feeds.rfc2822(moment) == formatRFC2822(moment)


@pytest.mark.parametrize("year", [1, 9, 10, 999, 1000, 2024, 9999])
def test_rss_dates_of_any_year(year: int) -> None:
    moment = datetime(year, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=-1)))
    assert feeds.rfc2822(moment) == formatRFC2822(moment)


@pytest.mark.parametrize(
    "zone", [*ZONES, timezone(timedelta(microseconds=1))], ids=lambda zone: repr(zone)
)
def test_rss_dates_in_every_kind_of_zone(zone: tzinfo) -> None:
    moment = datetime(2024, 10, 27, 1, 30, 59, 999999, tzinfo=zone)
    assert feeds.rfc2822(moment) == formatRFC2822(moment)


@settings(max_examples=300, deadline=None)
@given(article_id=st.text())
def test_entry_ids_are_uuid5(article_id: str) -> None:
    try:
        expected = f"urn:uuid:{uuid.uuid5(ARTICLE_NAMESPACE, article_id)}"
    except UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            entry_id_of(article_id)
        return
    assert entry_id_of(article_id) == expected

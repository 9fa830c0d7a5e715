"""The compiled pages equal Jinja's rendering of the same templates, byte for byte."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import markupsafe
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedsvc import pages
from feedsvc.articles import Article
from feedsvc.config import Settings
from feedsvc.escaping import html_escape
from feedsvc.pages import IndexPage, render_article_page, render_index_page, render_index_pages
from feedsvc.repository import load_corpus
from tests.conftest import BASE_URL

# Markup, the sentinel marks' private-use area, NUL (the escaper's joint), "%" (the
# compiled templates' slot sign), and text outside the Basic Multilingual Plane. No lone
# surrogates: articles never hold one, and UTF-8 has none (test_surrogates_fail_alike).
TRICKY = "<>&\"'\ue000\ue001\uf8ff\x00%s%%{}é€😀 \n"
_TEXT = st.text(st.one_of(st.sampled_from(TRICKY), st.characters(codec="utf-8")), max_size=40)
_ZONES = st.sampled_from(
    [UTC, ZoneInfo("Europe/Paris"), timezone(timedelta(hours=-3, minutes=-30))]
)


def _label(name: str, text: str) -> str:
    """A sentinel as the compiled pages spell one, then ``text``."""
    return f"\ue000{name}\ue000{text}"


_FIELD = st.one_of(_TEXT, st.just(""), _TEXT.map(lambda text: _label("title", text)))


@st.composite
def _articles(draw: st.DrawFn, count: st.SearchStrategy[int]) -> list[Article]:
    start = datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)
    return [
        Article(
            id=draw(st.one_of(st.just(f"{n:016x}"), _TEXT)),
            source=f"{n:03d}_{n:016x}.txt",
            published=draw(st.datetimes(timezones=_ZONES)) if n % 2 else start - timedelta(hours=n),
            title=draw(_FIELD),
            standfirst=draw(_FIELD),
            paragraphs=tuple(draw(st.lists(_FIELD, max_size=6))),
            # Some edited, some not: the page shows an "Updated" line for the first.
            edited=draw(st.one_of(st.none(), st.datetimes(timezones=_ZONES))),
        )
        for n in range(draw(count))
    ]


_SETTINGS = st.builds(
    Settings,
    title=st.one_of(st.just("Example News"), _TEXT, _TEXT.map(lambda t: _label("slug", t))),
    description=st.one_of(st.just("News from the example"), _TEXT),
    base_url=st.sampled_from([BASE_URL, "http://127.0.0.1:8000/", "https://h.example/a%20b/&x/"]),
    language=st.sampled_from(["en", "fr-CA", '"><']),
    page_size=st.integers(min_value=1, max_value=4),
)


@settings(max_examples=300, deadline=None)
@given(articles=_articles(st.just(1)), config=_SETTINGS)
def test_article_pages_equal_jinja(articles: list[Article], config: Settings) -> None:
    (article,) = articles
    assert render_article_page(article, config) == pages._jinja_article_page(article, config)


@settings(max_examples=200, deadline=None)
@given(articles=_articles(st.integers(min_value=0, max_value=13)), config=_SETTINGS)
def test_index_pages_equal_jinja(articles: list[Article], config: Settings) -> None:
    rendered = list(render_index_pages(articles, config))
    size = config.page_size
    assert len(rendered) == max(1, -(-len(articles) // size))
    for number, (path, body) in enumerate(rendered, start=1):
        page = IndexPage(number, len(rendered))
        rows = articles[(number - 1) * size : number * size]
        assert path == page.path
        assert body == pages._jinja_index_page(rows, config, page)
        assert render_index_page(rows, config, page) == body


@given(text=st.one_of(_TEXT, st.text(st.characters(codec="utf-8"))))
def test_escaping_is_markupsafes(text: str) -> None:
    assert html_escape(text) == str(markupsafe.escape(text)).encode()


def test_surrogates_fail_alike() -> None:
    article = _example("\ud800", "", ())
    with pytest.raises(UnicodeEncodeError):
        pages._jinja_article_page(article, Settings())
    with pytest.raises(UnicodeEncodeError):
        render_article_page(article, Settings())
    with pytest.raises(UnicodeEncodeError):
        render_index_page([article], Settings(), IndexPage(1, 1))


def _example(title: str, standfirst: str, paragraphs: tuple[str, ...]) -> Article:
    published = datetime(2023, 10, 31, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))
    return Article(
        "00000000000000aa", "x.txt", published, title=title, standfirst=standfirst,
        paragraphs=paragraphs,
    )  # fmt: skip


CASES = {
    "plain": _example("Title", "Standfirst", ("One.", "Two.")),
    "markup": _example("<b>\"T\"</b> & 't'", "<i>s</i>", ("1 < 2 & 3 > 2", '"q"', "'a'")),
    "no standfirst": _example("Title", "", ("One.",)),
    "no paragraphs": _example("Title", "Standfirst", ()),
    "no title": _example("", "", ()),
    "edited": dataclasses.replace(
        _example("Title", "Standfirst", ("One.",)),
        edited=datetime(2024, 1, 2, 8, 0, tzinfo=ZoneInfo("Asia/Tokyo")),
    ),
    "sentinels": _example("\ue000title\ue000", "\ue000p1\ue000", ("\ue000p0\ue000", "\ue000")),
    "nul": _example("a\0b", "\0", ("\0", "x\0y", "")),
}
SETTINGS = {
    "default": Settings(),
    "markup title": Settings(title='<News> & "Co" \'s', description="<b>d</b>", base_url=BASE_URL),
    "sentinel title": Settings(title="".join(map(chr, range(0xE000, 0xE040))), base_url=BASE_URL),
    "base path": Settings(base_url="https://example.org/news/site/", page_size=2),
}


@pytest.mark.parametrize("config", SETTINGS.values(), ids=SETTINGS.keys())
@pytest.mark.parametrize("article", CASES.values(), ids=CASES.keys())
def test_article_cases(article: Article, config: Settings) -> None:
    assert render_article_page(article, config) == pages._jinja_article_page(article, config)


@pytest.mark.parametrize("config", SETTINGS.values(), ids=SETTINGS.keys())
@pytest.mark.parametrize("size", [1, 2, 3, 20])
def test_index_cases(config: Settings, size: int) -> None:
    """First, second, middle and last pages, single-page indexes and rows of every case."""
    config = dataclasses.replace(config, page_size=size)
    articles = [*CASES.values(), *CASES.values()]
    count = -(-len(articles) // size)
    for number in range(1, count + 1):
        page = IndexPage(number, count)
        rows = articles[(number - 1) * size : number * size]
        assert render_index_page(rows, config, page) == pages._jinja_index_page(rows, config, page)


def test_empty_index(settings: Settings) -> None:
    page = IndexPage(1, 1)
    assert render_index_page([], settings, page) == pages._jinja_index_page([], settings, page)
    assert b"No articles yet." in render_index_page([], settings, page)


def test_sample_articles(settings: Settings) -> None:
    corpus = load_corpus(settings)
    articles = corpus.full_articles(corpus.articles)
    for article in articles:
        assert render_article_page(article, settings) == pages._jinja_article_page(
            article, settings
        )
    config = dataclasses.replace(settings, page_size=2)
    for number, (_, body) in enumerate(render_index_pages(articles, config), start=1):
        page = IndexPage(number, -(-len(articles) // 2))
        assert body == pages._jinja_index_page(articles[2 * number - 2 : 2 * number], config, page)


def test_templates_are_not_checked_for_changes() -> None:
    # A stat of each template file per page otherwise; the templates ship with the package.
    assert pages._ENV.auto_reload is False

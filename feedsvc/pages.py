"""HTML pages (the paginated index, one page per article, 404) from autoescaped Jinja templates."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files

import jinja2

from feedsvc.articles import Article
from feedsvc.config import Settings
from feedsvc.feeds import article_path

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip
STYLE = files("feedsvc").joinpath("templates/style.css").read_text("utf-8")
# The only inline content pages carry; the Content-Security-Policy allows it by hash.
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode("ascii")
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("feedsvc", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True, slots=True)
class IndexPage:
    """One page of the index: its number (from 1), the page count and the neighbours' paths."""

    number: int
    count: int

    @property
    def path(self) -> str:
        return index_path(self.number)

    @property
    def newer_path(self) -> str | None:
        return index_path(self.number - 1) if self.number > 1 else None

    @property
    def older_path(self) -> str | None:
        return index_path(self.number + 1) if self.number < self.count else None


def index_path(number: int) -> str:
    """Return the site path of index page ``number``: ``""`` for the first, ``page/N/`` after."""
    return "" if number == 1 else f"page/{number}/"


def human_date(moment: datetime) -> str:
    """Return a date such as ``Tuesday, October 31, 2023``, whatever the process locale."""
    return f"{_DAYS[moment.weekday()]}, {_MONTHS[moment.month - 1]} {moment.day}, {moment.year}"


def _render(template: str, settings: Settings, **context: object) -> bytes:
    text = _ENV.get_template(template).render(
        settings=settings,
        url=settings.url,
        article_path=article_path,
        iso=lambda moment: moment.isoformat(timespec="seconds"),
        human=human_date,
        style=STYLE,
        **context,
    )
    return text.encode("utf-8")


def render_index_pages(
    articles: Sequence[Article], settings: Settings
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(path, html)`` for every index page, newest articles on the first."""
    size = settings.page_size
    count = max(1, -(-len(articles) // size))
    for number in range(1, count + 1):
        page = IndexPage(number, count)
        yield (
            page.path,
            render_index_page(articles[(number - 1) * size : number * size], settings, page),
        )


def render_index_page(articles: Sequence[Article], settings: Settings, page: IndexPage) -> bytes:
    """Return the HTML of one index page listing ``articles``."""
    return _render("index.html", settings, articles=articles, page=page)


def render_article_page(article: Article, settings: Settings) -> bytes:
    """Return the HTML page of one article."""
    return _render("article.html", settings, article=article)


def render_not_found(settings: Settings) -> bytes:
    """Return the HTML page for an unknown address."""
    return _render("not_found.html", settings)

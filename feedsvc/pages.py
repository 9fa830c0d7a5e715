"""HTML pages (the paginated index, one page per article, 404) from autoescaped Jinja templates.

Jinja renders each template once per settings and case with a labelled sentinel in every
field a page fills in (``_probe``). Split at the sentinels, that output gives literal bytes
and slots (``_Skeleton``), which each page fills with its values escaped as Jinja would
(the JSON-LD, metadata.py, comes escaped for its <script>): several times faster than
Jinja, and the templates stay the one source of the markup. What the compiled pages assume
of the templates: a condition on an article tests the truthiness of its title, standfirst
or paragraphs; one on an index page, whether the page is the first or the last; a loop
body does not depend on the loop position; fields are shown whole (no filters).
tests/test_templates.py compares every case with Jinja's own rendering.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import logging
import operator
import typing
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import NamedTuple, TypeVar

import jinja2
import markupsafe

from feedsvc.articles import Article
from feedsvc.config import Settings
from feedsvc.escaping import html_escape_all
from feedsvc.metadata import human_date as human_date  # re-exported
from feedsvc.metadata import iso as _iso
from feedsvc.metadata import json_ld, script_json_ld
from feedsvc.urls import IndexPage as IndexPage  # re-exported: pages are rendered by it
from feedsvc.urls import article_path, index_page_count

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
    auto_reload=False,  # the templates ship with the package: no stat per get_template
)
log = logging.getLogger("feedsvc")
_MARKS = range(0xE000, 0xF900)  # the private-use area: sentinel marks
Label = Callable[[str], str]


def _render_text(template: str, settings: Settings, context: Mapping[str, object]) -> str:
    """Render with Jinja; ``context`` adds values and may replace ``iso`` and ``human``."""
    base = {"settings": settings, "url": settings.url, "article_path": article_path}
    return _ENV.get_template(template).render(
        {**base, "iso": _iso, "human": human_date, "style": STYLE, **context}
    )


def _render(template: str, settings: Settings, **context: object) -> bytes:
    return _render_text(template, settings, context).encode("utf-8")


def _jinja_article_page(article: Article, settings: Settings) -> bytes:
    """Jinja's rendering of an article page: what render_article_page must equal."""
    return _render(
        "article.html", settings, article=article, json_ld=script_json_ld(article, settings)
    )


def _jinja_index_page(articles: Sequence[Article], settings: Settings, page: IndexPage) -> bytes:
    """Jinja's rendering of an index page: what render_index_page must equal."""
    return _render("index.html", settings, articles=articles, page=page)


# Which of title and standfirst an article has, and whether it was edited: what templates
# test of an article, each case compiled once.
Case = tuple[bool, bool, bool]
# The fields a compiled template has slots for, in the order of the values filling them.
_ARTICLE_FIELDS = (
    "slug",
    "title",
    "standfirst",
    "iso",
    "human",
    "updated",
    "updated_human",
    "paragraphs",
    "json_ld",
)
_PAGE_FIELDS = ("number", "count", "path", "newer_path", "older_path")


@dataclass(frozen=True, slots=True)
class _Skeleton:
    """A compiled template: literal bytes with ``%s`` at each slot, and what fills them."""

    template: bytes
    pick: Callable[[Sequence[bytes]], tuple[bytes, ...]]

    def fill(self, values: Sequence[bytes]) -> bytes:
        """Return the text with ``values`` (in _ARTICLE_FIELDS or _PAGE_FIELDS order) in."""
        return self.template % self.pick(values)


def _skeleton(pieces: Sequence[str], order: tuple[str, ...]) -> _Skeleton:
    """Compile literals and field names, alternately (the first and last a literal)."""
    unknown = set(pieces[1::2]) - set(order)
    if unknown:
        raise RuntimeError(f"the templates show {sorted(unknown)}, which have no slots")
    at = [order.index(field) for field in pieces[1::2]]
    if len(at) > 1:
        pick: Callable[[Sequence[bytes]], tuple[bytes, ...]] = operator.itemgetter(*at)
    else:
        pick = lambda values: tuple(values[n] for n in at)  # noqa: E731
    literals = (piece.encode().replace(b"%", b"%%") for piece in pieces[0::2])
    return _Skeleton(b"%s".join(literals), pick)


def _probe(
    template: str, settings: Settings, context: Callable[[Label], dict[str, object]]
) -> list[str]:
    """Render ``template`` with a sentinel in each field; return literals and field names.

    ``context`` gives the template's values with ``label(field)`` in each field. The
    sentinels' mark is a private-use character missing from a rendering with plain
    placeholders, so whatever the settings hold, it marks the fields only.
    """
    plain = _render_text(template, settings, context(lambda field: "x"))
    mark = next(chr(code) for code in _MARKS if chr(code) not in plain)
    labelled = context(lambda field: f"{mark}{field}{mark}")
    return _render_text(template, settings, labelled).split(mark)


class _Moment(NamedTuple):
    """A probe article's date: what ``iso`` and ``human`` show of it."""

    iso: str
    human: str


@dataclass(frozen=True, slots=True)
class _ArticleProbe:
    """Stands in for an article: a label in each field, or "" for an empty one."""

    slug: str
    title: str
    standfirst: str
    published: _Moment
    updated: _Moment
    paragraphs: tuple[str, ...] | None  # None in index rows, which show no paragraphs


class _Number(int):
    """A page number that compares as itself and shows as a label (markupsafe's __html__)."""

    label = ""

    def __html__(self) -> str:
        return self.label


@dataclass(frozen=True, slots=True)
class _PageProbe:
    """Stands in for an IndexPage: the first or not, the last or not."""

    number: _Number
    count: _Number
    path: str
    newer_path: str | None
    older_path: str | None


def _article_probe(label: Label, case: Case, paragraphs: int | None) -> _ArticleProbe:
    title, standfirst, edited = case
    published = _Moment(label("iso"), label("human"))
    return _ArticleProbe(
        slug=label("slug"),
        title=label("title") if title else "",
        standfirst=label("standfirst") if standfirst else "",
        published=published,
        # Not edited: the very date it was published, which templates compare it with.
        updated=_Moment(label("updated"), label("updated_human")) if edited else published,
        paragraphs=None if paragraphs is None else tuple(label(f"p{n}") for n in range(paragraphs)),
    )


def _number(value: int, label: str) -> _Number:
    number = _Number(value)
    number.label = label
    return number


def _page_probe(label: Label, first: bool, last: bool) -> _PageProbe:
    number = 1 if first else 2
    return _PageProbe(
        number=_number(number, label("number")),
        count=_number(number if last else number + 1, label("count")),
        path="" if first else label("path"),
        newer_path=None if first else label("newer_path"),
        older_path=None if last else label("older_path"),
    )


def _probe_context(**probes: object) -> dict[str, object]:
    # The probes' dates are _Moments, shown through these instead of _iso and human_date.
    return {"iso": operator.attrgetter("iso"), "human": operator.attrgetter("human"), **probes}


def _case(article: Article) -> Case:
    return bool(article.title), bool(article.standfirst), article.updated != article.published


def _values(article: Article, escaped: Iterator[bytes]) -> tuple[bytes, ...]:
    """Return the fields of ``article`` but paragraphs as the templates show them, in
    _ARTICLE_FIELDS order; ``escaped`` gives its slug, title and standfirst escaped."""
    published = article.published
    # The dates are digits, letters, "-", ":", "+", "," and spaces: nothing to escape.
    updated = article.updated
    date = (
        _iso(published).encode(),
        human_date(published).encode(),
        _iso(updated).encode(),
        human_date(updated).encode(),
    )
    return next(escaped), next(escaped), next(escaped), *date


def _texts(article: Article) -> tuple[str, str, str]:
    return article.slug, article.title, article.standfirst


def _article_skeleton(settings: Settings, case: Case, paragraphs: bool) -> tuple[_Skeleton, bytes]:
    """Return the compiled article page of one case, and the markup between two paragraphs.

    Two probe paragraphs give that markup; the slot of the paragraphs spans both.
    """

    def context(label: Label) -> dict[str, object]:
        probe = _article_probe(label, case, 2 if paragraphs else 0)
        return _probe_context(article=probe, json_ld=markupsafe.Markup(label("json_ld")))

    pieces = _probe("article.html", settings, context)
    if not paragraphs:
        return _skeleton(pieces, _ARTICLE_FIELDS), b""
    fields = pieces[1::2]
    at = 2 * fields.index("p0") + 1
    if fields.count("p0") != 1 or pieces[at + 2 : at + 3] != ["p1"]:
        raise RuntimeError("article.html shows paragraphs other than in one loop")
    separator = pieces[at + 1]
    pieces[at : at + 3] = ["paragraphs"]
    return _skeleton(pieces, _ARTICLE_FIELDS), separator.encode()


T = TypeVar("T")


@functools.lru_cache(maxsize=512)
def _compiled(compile: Callable[..., T], *key: Hashable) -> T | None:
    """Return ``compile(*key)``, remembered; None, with one warning, when the template shows
    what the compiled pages cannot (a field the probes lack, a field outside its loop):
    Jinja then renders those pages itself, slower but whole."""
    try:
        return compile(*key)
    except (jinja2.UndefinedError, RuntimeError) as exc:
        log.warning("%s: pages rendered by Jinja, not compiled: %s", compile.__name__, exc)
        return None


def render_article_page(article: Article, settings: Settings) -> bytes:
    """Return the HTML page of one article."""
    paragraphs = article.paragraphs
    case = _case(article)
    compiled: tuple[_Skeleton, bytes] | None = _compiled(
        _article_skeleton, settings, case, bool(paragraphs)
    )
    if compiled is None:
        return _jinja_article_page(article, settings)
    skeleton, separator = compiled
    escaped = iter(html_escape_all((*_texts(article), *paragraphs)))
    script = json_ld(article, settings).encode()
    return skeleton.fill((*_values(article, escaped), separator.join(escaped), script))


@dataclass(frozen=True, slots=True)
class _IndexParts:
    """An index page compiled with two rows, cut at the first and last field of each row."""

    head: _Skeleton  # the page up to the first row's first field
    first: _Skeleton  # the first row from its first field to its last
    between: bytes  # from the first row's last field to the second row's first
    second: _Skeleton
    tail: _Skeleton  # from the second row's last field to the end


def _row_label(label: Label, row: int) -> Label:
    return lambda field: label(f"{field}@{row}")


def _row(pieces: list[str], row: int) -> tuple[int, int, _Skeleton]:
    """Return where row ``row``'s fields start and end in ``pieces``, and the row compiled."""
    suffix = f"@{row}"
    where = [2 * n + 1 for n, field in enumerate(pieces[1::2]) if field.endswith(suffix)]
    if not where or where[-1] - where[0] != 2 * (len(where) - 1):
        raise RuntimeError("index.html shows an article's fields outside its row")
    span = pieces[where[0] : where[-1] + 1]  # a field, a literal, ..., a field
    row_fields = [
        piece.removesuffix(suffix) if n % 2 == 0 else piece for n, piece in enumerate(span)
    ]
    return where[0], where[-1], _skeleton(["", *row_fields, ""], _ARTICLE_FIELDS)


def _index_parts(
    settings: Settings, first: bool, last: bool, cases: tuple[Case, ...]
) -> _IndexParts:
    """Return the index page compiled with rows of ``cases``, first or last page or neither."""

    def context(label: Label) -> dict[str, object]:
        rows = [_article_probe(_row_label(label, n), case, None) for n, case in enumerate(cases)]
        return _probe_context(articles=rows, page=_page_probe(label, first, last))

    pieces = _probe("index.html", settings, context)
    start, end, first_row = _row(pieces, 0)
    second_start, second_end, second_row = _row(pieces, 1)
    if second_start != end + 2:
        raise RuntimeError("index.html shows page fields between rows")
    return _IndexParts(
        head=_skeleton(pieces[:start], _PAGE_FIELDS),
        first=first_row,
        between=pieces[end + 1].encode(),
        second=second_row,
        tail=_skeleton(pieces[second_end + 1 :], _PAGE_FIELDS),
    )


def _empty_index(settings: Settings, first: bool, last: bool) -> _Skeleton:
    def context(label: Label) -> dict[str, object]:
        return _probe_context(articles=[], page=_page_probe(label, first, last))

    return _skeleton(_probe("index.html", settings, context), _PAGE_FIELDS)


def render_index_pages(
    articles: Sequence[Article], settings: Settings
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(path, html)`` for every index page, newest articles on the first."""
    size = settings.page_size
    count = index_page_count(len(articles), size)
    for number in range(1, count + 1):
        page = IndexPage(number, count)
        yield (
            page.path,
            render_index_page(articles[(number - 1) * size : number * size], settings, page),
        )


def render_index_page(articles: Sequence[Article], settings: Settings, page: IndexPage) -> bytes:
    """Return the HTML of one index page listing ``articles``."""
    first, last = page.newer_path is None, page.older_path is None
    paths = html_escape_all([page.path, page.newer_path or "", page.older_path or ""])
    frame = (str(page.number).encode(), str(page.count).encode(), *paths)
    if not articles:
        empty = _compiled(_empty_index, settings, first, last)
        return empty.fill(frame) if empty is not None else _jinja_index_page([], settings, page)
    cases = [_case(article) for article in articles]
    # Row n comes from the parts compiled with rows n and n + 1 (the last row: n - 1 and n).
    pairs = list(itertools.pairwise(cases))
    final = pairs[-1] if pairs else (cases[0], cases[0])
    compiled = {
        pair: _compiled(_index_parts, settings, first, last, pair) for pair in {*pairs, final}
    }
    if None in compiled.values():
        return _jinja_index_page(articles, settings, page)
    parts = typing.cast(dict[tuple[Case, ...], _IndexParts], compiled)
    escaped = iter(html_escape_all([text for article in articles for text in _texts(article)]))
    rows = [_values(article, escaped) for article in articles]
    chunks = [parts[pairs[0] if pairs else final].head.fill(frame)]
    for values, pair in zip(rows, pairs, strict=False):  # all rows but the last
        chunks += (parts[pair].first.fill(values), parts[pair].between)
    chunks += (parts[final].second.fill(rows[-1]), parts[final].tail.fill(frame))
    return b"".join(chunks)


def render_not_found(settings: Settings) -> bytes:
    """Return the HTML page for an unknown address."""
    return _render("not_found.html", settings)

"""The parser and the XML character check agree with plain reference versions of themselves.

``parse_article`` and ``needs_cleaning_utf8`` are written for speed; the references below
are the straightforward readings of the format and of XML 1.0 they must match exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from feedsvc import articles
from feedsvc.articles import Article, needs_cleaning, needs_cleaning_utf8, parse_article
from feedsvc.errors import ArticleError

PARIS = ZoneInfo("Europe/Paris")

# --- The XML 1.0 character check on UTF-8 bytes -----------------------------------------------

# The ranges _NOT_XML matches, surrogates aside: strict UTF-8 cannot carry them.
FORBIDDEN = [(0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0x7F, 0x9F), (0xFDD0, 0xFDEF),
             (0xFFFE, 0xFFFF)]  # fmt: skip
# Characters sharing a forbidden one's leading UTF-8 bytes (U+00A0-U+00BF: C2 A0-BF;
# U+FDC0-U+FDFF: EF B7; U+FFF0-U+FFFD: EF BF), a byte order mark, and the edges of
# the encoded lengths.
NEIGHBOURS = [0x09, 0x0A, 0x0D, 0x20, 0x7E, 0xA0, 0xAB, 0xBF, 0xC2, 0xEF, 0x7FF, 0x800, 0xFDC0,
              0xFDCF, 0xFDF0, 0xFDFF, 0xFEFF, 0xFFF0, 0xFFFD, 0x10000, 0x10FFFF]  # fmt: skip
EDGES = sorted(
    {c for lo, hi in FORBIDDEN for c in (lo - 1, lo, lo + 1, hi - 1, hi, hi + 1) if c >= 0}
    | set(NEIGHBOURS)
)
NOT_SURROGATES = st.characters(exclude_categories=["Cs"])  # UTF-8 cannot carry them
XML_TEXT = st.text(
    st.one_of(
        st.sampled_from([chr(c) for c in EDGES]),
        st.integers(0, len(FORBIDDEN) - 1).flatmap(lambda i: st.integers(*FORBIDDEN[i]).map(chr)),
        NOT_SURROGATES,
    ),
    max_size=40,
)


@settings(max_examples=2000)
@example("")
@example("\ufeffplain text, “quoted” – naïve")
@example("\u00a0\u00bf\ufdcf\ufdf0\ufffd")
@given(XML_TEXT)
def test_utf8_check_agrees_with_the_text_check(text: str) -> None:
    assert needs_cleaning_utf8(text.encode("utf-8")) == needs_cleaning(text)


def test_utf8_check_finds_each_forbidden_character_alone() -> None:
    for lo, hi in FORBIDDEN:
        for code in range(lo, hi + 1):
            data = f"a{chr(code)}b".encode()
            assert needs_cleaning_utf8(data), hex(code)
    for code in range(0x80, 0x10000):
        if not 0xD800 <= code <= 0xDFFF:
            text = f"a{chr(code)}b"
            assert needs_cleaning_utf8(text.encode()) == needs_cleaning(text), hex(code)


@settings(max_examples=500)
@given(st.binary(max_size=60))
def test_utf8_check_agrees_on_any_valid_utf8_bytes(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    assert needs_cleaning_utf8(data) == needs_cleaning(text)


# --- The parser -------------------------------------------------------------------------------


def reference_parse(
    name: str, text: str, zone: tzinfo, chrome_lines: tuple[str, ...] = ("Latest stories",)
) -> Article:
    """Parse an article as the format describes it, one step at a time."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text:
        raise ArticleError(name, "empty file")
    blocks: list[list[str]] = [[]]
    for raw in text.split("\n"):
        line = raw.strip()
        if line:
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    blocks = [block for block in blocks if block]
    if not blocks:
        raise ArticleError(name, "file has only white space")
    chrome = frozenset(line.casefold() for line in chrome_lines)
    while blocks and blocks[-1][-1].casefold() in chrome:
        blocks[-1].pop()
        if not blocks[-1]:
            blocks.pop()
    lines = [line for block in blocks[:3] for line in block]
    if not lines:
        raise ArticleError(name, "no date line")
    file_name = articles.parse_file_name(name)
    try:
        published = articles.parse_date(lines[0], zone, file_name.number)
    except ValueError as exc:
        raise ArticleError(name, f"line 1: {exc}") from None
    header, consumed = lines[:3], 0
    paragraphs: list[str] = []
    for block in blocks:
        take = min(len(block), len(header) - consumed)
        consumed += take
        if block[take:]:
            paragraphs.append(" ".join(block[take:]))
    if len(header) < 2:
        raise ArticleError(name, "missing title (expected after the date line)")
    title = header[1]
    standfirst = header[2] if len(header) > 2 else ""
    if len(title) > articles.MAX_TITLE_CHARS:
        raise ArticleError(
            name,
            f"title is {len(title)} characters long (at most {articles.MAX_TITLE_CHARS}); "
            "is the blank line after it missing?",
        )
    return Article(
        id=file_name.id,
        source=name,
        title=title,
        standfirst=standfirst,
        published=published,
        paragraphs=tuple(paragraphs),
        digest=articles.text_digest(title, standfirst, tuple(paragraphs)),
        number=file_name.number,
    )


def outcome(parse: Callable[..., Article], *args: object) -> object:
    try:
        return parse(*args)
    except ArticleError as exc:
        return ("ArticleError", exc.path, exc.reason)


CHROMES = [(), ("Latest stories",), ("Latest stories", "Read more", "Share this"), ("Straße",),
           ("", " latest stories ")]  # fmt: skip
LINES = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "\t",
            " \t ",
            "\u2028",
            "\x85",
            "\x1c",
            "\u3000",
            "\ufeff",
            "\r",
            "2023-10-31",
            "Tuesday, October 31, 2023",
            "31 Oct 2023 14:30 +01:00",
            "Someday",
            "Title",
            "  Title  ",
            "Standfirst",
            "One.",
            " Two. ",
            "Latest stories",
            "LATEST STORIES",
            "  latest stories\t",
            "Read more",
            "Share this",
            "STRASSE",
            "straße",
            "x" * 301,
            "Caf\u00e9 \u201cquoted\u201d",
        ]
    ),  # fmt: skip
    st.text(max_size=12),
)
TEXTS = st.one_of(
    st.text(),
    st.tuples(
        st.lists(LINES, max_size=14),
        st.lists(
            st.sampled_from(["\n", "\n", "\n\n", "\r\n", "\r", "\n \n", "\r\n\r\n"]), min_size=1
        ),  # fmt: skip
        st.sampled_from(["", "\ufeff"]),
    ).map(lambda t: t[2] + "".join(line + t[1][i % len(t[1])] for i, line in enumerate(t[0]))),
)


@settings(max_examples=1500, deadline=None)
@example("2023-10-31\n\nTitle\nStandfirst\n\nOne.\n\nTwo.\n\nLatest stories\n", 1)
@example("Latest stories\n\n", 1)
@example("\n \t\n", 0)
@example("2023-10-31\nTitle\n\n\nSTRASSE\n", 3)
@example("2023-10-31\nTitle\nStandfirst\nFirst\n  second\n\n\nNext\n", 0)
@given(TEXTS, st.integers(0, len(CHROMES) - 1))
def test_parser_agrees_with_the_reference(text: str, chrome: int) -> None:
    for name in ("007_0123456789abcdef.txt", "notes.txt"):
        expected = outcome(reference_parse, name, text, PARIS, CHROMES[chrome])
        assert outcome(parse_article, name, text, PARIS, CHROMES[chrome]) == expected

"""The article parser: the seed, the format's tolerances, dates, bad input and file-name ids."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from feedsvc import articles
from feedsvc.articles import Article, parse_article, parse_file_name
from feedsvc.errors import ArticleError
from tests.conftest import SAMPLE_ARTICLES, SEED

NAME = "000_0123456789abcdef.txt"
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def article_text(
    date: str = "2023-10-31",
    title: str = "Title",
    standfirst: str = "Standfirst",
    paragraphs: tuple[str, ...] = ("One.", "Two."),
) -> str:
    """Return an article file's text in the canonical layout."""
    return "\n\n".join((date, f"{title}\n{standfirst}", *paragraphs)) + "\n"


# --- The seed article -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed() -> Article:
    text = (SAMPLE_ARTICLES / SEED).read_text("utf-8")
    return parse_article(SEED, text, ZoneInfo("UTC"))


def test_seed_title_and_standfirst(seed: Article) -> None:
    assert seed.title == "Kim Jong Un, North Korean Leader, to Visit Russia Soon: Kremlin"
    assert seed.standfirst == (
        "Kim Jong-un to Visit Russia at the Invitation of President Vladimir Putin"
    )


def test_seed_date_is_aware_start_of_day(seed: Article) -> None:
    assert seed.published.tzinfo is not None
    assert seed.published.utcoffset() == timedelta(0)
    assert seed.published == datetime(2023, 10, 31, tzinfo=UTC)


def test_seed_paragraphs(seed: Article) -> None:
    assert len(seed.paragraphs) == 8
    assert seed.paragraphs[0].startswith("In a significant development, the Kremlin")
    assert seed.paragraphs[-1].startswith("In conclusion, Kim Jong-un\u2019s upcoming visit")
    assert all("\n" not in paragraph for paragraph in seed.paragraphs)


def test_seed_has_no_site_chrome(seed: Article) -> None:
    fields = (seed.title, seed.standfirst, *seed.paragraphs)
    assert not any("latest stories" in field.casefold() for field in fields)


def test_seed_id_comes_from_file_name(seed: Article) -> None:
    assert seed.id == "cab78a8f5eee25a1"
    assert seed.slug == "cab78a8f5eee25a1"
    assert seed.source == SEED


# --- Layout tolerances ------------------------------------------------------------------------

CANONICAL = article_text()
LAYOUTS = {
    "canonical": CANONICAL,
    "no-final-newline": CANONICAL.rstrip("\n"),
    "utf8-bom": "\ufeff" + CANONICAL,
    "crlf": CANONICAL.replace("\n", "\r\n"),
    "cr": CANONICAL.replace("\n", "\r"),
    "crlf-and-bom": "\ufeff" + CANONICAL.replace("\n", "\r\n"),
    "extra-blank-lines": "\n\n\n2023-10-31\n\n\n\nTitle\n\n\nStandfirst\n\n\n\nOne.\n\n\n\n"
    "Two.\n\n\n",
    "surrounding-white-space": "  2023-10-31 \t\n \t \n\tTitle  \n  Standfirst\t\n   \n  One.  \n"
    "\t\n Two. \n  \n",
    "blank-line-after-title": "2023-10-31\n\nTitle\n\n\nStandfirst\n\nOne.\n\nTwo.",
    "no-blank-after-date": "2023-10-31\nTitle\nStandfirst\n\nOne.\n\nTwo.\n",
    "chrome": CANONICAL + "\nLatest stories\n",
    "chrome-no-final-newline": CANONICAL + "\nLatest stories",
    "chrome-lower-case": CANONICAL + "\nlatest stories\n",
    "chrome-upper-case": CANONICAL + "\nLATEST STORIES\n",
    "chrome-indented": CANONICAL + "\n   Latest stories  \t\n\n\n",
    "chrome-right-after-last-paragraph": CANONICAL.rstrip("\n") + "\nLatest stories\n",
    "chrome-crlf": (CANONICAL + "\nLatest stories\n").replace("\n", "\r\n"),
    "seed-layout": "Tuesday, October 31, 2023\n\nTitle\n\n\nStandfirst\n\nOne.\n\nTwo.\n\n"
    "Latest stories",
}


@pytest.mark.parametrize("text", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_layout_variants_parse_to_the_same_article(text: str) -> None:
    article = parse_article(NAME, text, ZoneInfo("UTC"))
    assert article.title == "Title"
    assert article.standfirst == "Standfirst"
    assert article.paragraphs == ("One.", "Two.")
    assert article.published == datetime(2023, 10, 31, tzinfo=UTC)
    assert article.id == "0123456789abcdef"


def test_lines_of_one_paragraph_are_joined_with_a_space() -> None:
    text = "2023-10-31\n\nTitle\nStandfirst\n\nFirst line\n  second line\nthird line\n\nNext.\n"
    article = parse_article(NAME, text, ZoneInfo("UTC"))
    assert article.paragraphs == ("First line second line third line", "Next.")


def test_chrome_line_inside_the_article_is_kept() -> None:
    text = article_text(paragraphs=("Latest stories", "The end."))
    article = parse_article(NAME, text, ZoneInfo("UTC"))
    assert article.paragraphs == ("Latest stories", "The end.")


def test_several_trailing_chrome_lines_are_dropped() -> None:
    text = CANONICAL + "\nRead more\nShare this\n\nLatest stories\n"
    chrome = ("Latest stories", "Read more", "Share this")
    article = parse_article(NAME, text, ZoneInfo("UTC"), chrome)
    assert article.paragraphs == ("One.", "Two.")


def test_without_chrome_setting_the_line_is_a_paragraph() -> None:
    article = parse_article(NAME, CANONICAL + "\nLatest stories\n", ZoneInfo("UTC"), ())
    assert article.paragraphs == ("One.", "Two.", "Latest stories")


def test_title_only_article_has_no_standfirst_or_paragraphs() -> None:
    article = parse_article(NAME, "2023-10-31\n\nJust a title\n", ZoneInfo("UTC"))
    assert (article.title, article.standfirst, article.paragraphs) == ("Just a title", "", ())


# --- Dates ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateCase:
    line: str
    expected: datetime


DATES = {
    "long-form-date-only": DateCase(
        "Tuesday, October 31, 2023", datetime(2023, 10, 31, tzinfo=PARIS)
    ),
    "iso-date-only": DateCase("2023-10-31", datetime(2023, 10, 31, tzinfo=PARIS)),
    "day-month-year": DateCase("31 Oct 2023", datetime(2023, 10, 31, tzinfo=PARIS)),
    "rfc822-offset": DateCase(
        "Tue, 31 Oct 2023 14:30:00 +0100",
        datetime(2023, 10, 31, 14, 30, tzinfo=timezone(timedelta(hours=1))),
    ),
    "rfc822-negative-offset": DateCase(
        "Tue, 31 Oct 2023 14:30:00 -0700",
        datetime(2023, 10, 31, 14, 30, tzinfo=timezone(timedelta(hours=-7))),
    ),
    "rfc822-gmt": DateCase(
        "Tue, 31 Oct 2023 14:30:00 GMT", datetime(2023, 10, 31, 14, 30, tzinfo=UTC)
    ),
    "iso-half-hour-offset": DateCase(
        "2023-10-31T14:30:00+05:30",
        datetime(2023, 10, 31, 14, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    ),
    "iso-z": DateCase("2023-10-31T14:30:00Z", datetime(2023, 10, 31, 14, 30, tzinfo=UTC)),
    "iso-fraction-dropped": DateCase(
        "2023-10-31T14:30:00.750-03:00",
        datetime(2023, 10, 31, 14, 30, tzinfo=timezone(timedelta(hours=-3))),
    ),
    "time-without-zone-is-site-zone": DateCase(
        "2023-10-31 14:30", datetime(2023, 10, 31, 14, 30, tzinfo=PARIS)
    ),
    "explicit-midnight-without-zone": DateCase(
        "2023-10-31T00:00:00", datetime(2023, 10, 31, tzinfo=PARIS)
    ),
}


@pytest.mark.parametrize("case", DATES.values(), ids=DATES.keys())
def test_date_formats(case: DateCase) -> None:
    article = parse_article(NAME, article_text(date=case.line), PARIS)
    assert article.published == case.expected
    # Same instant is not enough: a given zone is kept, a missing one is the site's.
    assert article.published.utcoffset() == case.expected.utcoffset()


def test_date_only_is_start_of_day_in_site_zone() -> None:
    article = parse_article(NAME, article_text(date="2023-10-31"), NEW_YORK)
    assert article.published.isoformat() == "2023-10-31T00:00:00-04:00"
    winter = parse_article(NAME, article_text(date="2023-12-01"), NEW_YORK)
    assert winter.published.isoformat() == "2023-12-01T00:00:00-05:00"


@pytest.mark.parametrize(
    ("name", "seconds"),
    [(NAME, 0), ("007_0123456789abcdef.txt", 7), ("123_0123456789abcdef.txt", 123), ("x.txt", 0)],
    ids=["number-0", "number-7", "number-123", "no-number"],
)
def test_date_only_adds_file_number_seconds(name: str, seconds: int) -> None:
    article = parse_article(name, article_text(date="31 Oct 2023"), PARIS)
    start = datetime(2023, 10, 31, tzinfo=PARIS)
    assert article.published == start + timedelta(seconds=seconds)


def test_date_with_time_ignores_file_number() -> None:
    text = article_text(date="2023-10-31T14:30:00+05:30")
    article = parse_article("007_0123456789abcdef.txt", text, PARIS)
    assert article.published.isoformat() == "2023-10-31T14:30:00+05:30"


@pytest.mark.parametrize(
    "zone", ["UTC", "EST5EDT", "America/New_York", "Asia/Kolkata", "Europe/London"]
)
def test_result_does_not_depend_on_tz_variable(set_tz: Callable[[str], None], zone: str) -> None:
    lines = ["2023-10-31", "Tue, 31 Oct 2023 14:30:00 GMT", "2023-10-31T14:30:00+05:30",
             "Tue, 31 Dec 2023 14:30:00 UTC", "2023-10-31 14:30"]  # fmt: skip
    set_tz("UTC")
    expected = [parse_article(NAME, article_text(date=line), PARIS).published for line in lines]
    set_tz(zone)
    found = [parse_article(NAME, article_text(date=line), PARIS).published for line in lines]
    assert [moment.isoformat() for moment in found] == [moment.isoformat() for moment in expected]


@pytest.mark.parametrize("name", ["EST", "EDT", "GMT", "IST"])
def test_local_zone_name_is_not_mapped_to_the_local_zone(
    set_tz: Callable[[str], None], name: str
) -> None:
    # dateutil maps a name in time.tzname to the local zone unless told otherwise.
    set_tz(
        {"EST": "EST5EDT", "EDT": "EST5EDT", "GMT": "Europe/London", "IST": "Asia/Kolkata"}[name]
    )
    text = article_text(date=f"Tue, 31 Oct 2023 14:30:00 {name}")
    if name == "GMT":
        assert parse_article(NAME, text, PARIS).published.utcoffset() == timedelta(0)
    else:
        with pytest.raises(ArticleError, match="unknown time zone name"):
            parse_article(NAME, text, PARIS)


# --- Bad input --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadCase:
    text: str
    reason: str  # a regular expression the reason must match


BAD = {
    "empty": BadCase("", r"^empty file$"),
    "bom-only": BadCase("\ufeff", r"^empty file$"),
    "white-space-only": BadCase(" \n\t\r\n  \n", r"white space"),
    "only-chrome": BadCase("Latest stories\n", r"no date line"),
    "date-only": BadCase("2023-10-31\n", r"missing title"),
    "date-and-chrome": BadCase("2023-10-31\n\nLatest stories\n", r"missing title"),
    "unparseable-date": BadCase(
        article_text(date="Once upon a time"), r"^line 1: cannot read date"
    ),
    "title-in-date-line": BadCase("Kim Jong Un to visit Russia\n\nStandfirst\n", r"^line 1: "),
    "impossible-date": BadCase(article_text(date="February 30, 2023"), r"^line 1: .*out of range"),
    "impossible-hour": BadCase(article_text(date="2023-10-31T25:00:00Z"), r"^line 1: .*hour"),
    "partial-date-month-year": BadCase(
        article_text(date="October 2023"), r"^line 1: .*needs a day, a month and a year"
    ),
    "partial-date-year": BadCase(article_text(date="2023"), r"needs a day, a month and a year"),
    "partial-date-no-year": BadCase(article_text(date="October 31"), r"needs a day, a month"),
    "unknown-zone-abbreviation": BadCase(
        article_text(date="Tue, 31 Oct 2023 14:30:00 XYZ"), r"^line 1: unknown time zone name 'XYZ'"
    ),
    "offset-of-a-day": BadCase(
        article_text(date="2023-10-31T14:30:00+25:00"), r"^line 1: .*offset of 24 hours or more"
    ),
    "year-1-east-of-utc": BadCase(
        article_text(date="0001-01-01T00:00:00+05:00"), r"^line 1: .*out of range"
    ),
    "year-9999-west-of-utc": BadCase(
        article_text(date="9999-12-31T23:59:59-05:00"), r"^line 1: .*out of range"
    ),
    "title-too-long": BadCase(article_text(title="x" * 301), r"title is 301 characters long"),
}


@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_bad_input_raises_article_error(case: BadCase) -> None:
    with pytest.raises(ArticleError) as caught:
        parse_article(NAME, case.text, PARIS)
    assert caught.value.path == NAME
    assert caught.value.reason
    assert str(caught.value) == f"{NAME}: {caught.value.reason}"
    assert "\n" not in str(caught.value)
    assert re.search(case.reason, caught.value.reason), caught.value.reason


# --- File-name ids ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected_id", "number"),
    [
        (SEED, "cab78a8f5eee25a1", 0),
        ("042_0123456789abcdef.txt", "0123456789abcdef", 42),
        ("7_ABCDEF0123456789.txt", "abcdef0123456789", 7),
    ],
    ids=["seed", "three-digit-number", "upper-case-hex"],
)
def test_numbered_file_name_gives_its_hex_id(name: str, expected_id: str, number: int) -> None:
    parsed = parse_file_name(name)
    assert (parsed.id, parsed.number) == (expected_id, number)


OTHER_NAMES = ["notes.txt", "001_short.txt", "001_0123456789abcdefa.txt", "0123456789abcdef.txt",
               "001_0123456789abcdeg.txt", "caf\u00e9.txt", "\u65b0\u805e.txt"]  # fmt: skip


@pytest.mark.parametrize("name", OTHER_NAMES)
def test_other_file_names_get_a_stable_hex_id(name: str) -> None:
    parsed = parse_file_name(name)
    assert len(parsed.id) == 16
    assert set(parsed.id) <= set("0123456789abcdef")
    assert parse_file_name(name) == parsed
    assert parsed.number == 0


def test_derived_ids_are_distinct() -> None:
    ids = {parse_file_name(name).id for name in OTHER_NAMES}
    assert len(ids) == len(OTHER_NAMES)


def test_derived_id_never_changes() -> None:
    # Readers key entries on it: a change of the derivation republishes every article.
    assert parse_file_name("notes.txt").id == "e39538e7f27a7bf5"


def test_derived_id_is_the_same_for_nfc_and_nfd_spellings() -> None:
    nfc = unicodedata.normalize("NFC", "Caf\u00e9 d\u00e9j\u00e0 vu.txt")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    assert parse_file_name(nfc).id == parse_file_name(nfd).id


def test_id_does_not_depend_on_content() -> None:
    first = parse_article("notes.txt", article_text(), PARIS)
    second = parse_article(
        "notes.txt", article_text(date="1 Jan 2024", title="New", paragraphs=("Else.",)), PARIS
    )
    assert first.id == second.id
    assert first.slug == second.slug


# --- Properties -------------------------------------------------------------------------------

DATE_LIKE = st.from_regex(r"[0-9A-Za-z:+\-., /TZ]{0,40}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@example("2023-10-31T14:30:00+25:00\n\nTitle")
@example("9999-12-31T23:59:59-05:00\n\nTitle")
@example("99999999999999999999\n\nTitle")
@example("Tue, 31 Oct 2023 14:30:00 EST\n\nTitle")
@given(
    st.one_of(
        st.text(),
        st.builds(lambda d, rest: d + "\n\n" + rest, DATE_LIKE, st.text()),
        st.lists(st.one_of(DATE_LIKE, st.text(max_size=20), st.just("")), max_size=8).map(
            "\n".join
        ),
    )
)
def test_any_text_gives_an_article_or_an_article_error(text: str) -> None:
    try:
        article = parse_article("x.txt", text, PARIS)
    except ArticleError as error:
        assert error.reason
        assert error.path == "x.txt"
    else:
        assert article.title
        # Using the date (offset, format, compare) must work: a feed build does all three.
        assert article.published.utcoffset() is not None
        assert article.published.isoformat()
        assert article.published > datetime(1, 1, 1, tzinfo=UTC)


def _printable_line() -> st.SearchStrategy[str]:
    # One line of printable text as the format carries it: no line breaks, no edge white space.
    characters = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"))
    return (
        st.text(characters, min_size=1, max_size=40)
        .map(str.strip)
        .filter(lambda s: bool(s) and s.casefold() != "latest stories")
    )


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


def _format_date(moment: datetime, style: str) -> str:
    # Formatted by hand: strftime's names follow the process locale.
    day, month = _DAYS[moment.weekday()], _MONTHS[moment.month - 1]
    if style == "long":
        return f"{day}, {month} {moment.day}, {moment.year}"
    if style == "iso-date":
        return moment.date().isoformat()
    if style == "day-month-year":
        return f"{moment.day} {month[:3]} {moment.year}"
    offset = moment.strftime("%z")
    if style == "rfc822":
        return f"{day[:3]}, {moment.day:02d} {month[:3]} {moment.year} {moment:%H:%M:%S} {offset}"
    return moment.isoformat()


ZONES = st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"])


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)),
    seconds=st.integers(0, 86_399),
    offset_minutes=st.integers(-12 * 4, 14 * 4).map(lambda quarters: quarters * 15),
    style=st.sampled_from(["long", "iso-date", "day-month-year", "rfc822", "iso"]),
    number=st.integers(0, 999),
    zone_name=ZONES,
    title=_printable_line(),
    standfirst=_printable_line(),
    paragraphs=st.lists(_printable_line(), max_size=5).map(tuple),
)
def test_valid_article_round_trips(
    day: date,
    seconds: int,
    offset_minutes: int,
    style: str,
    number: int,
    zone_name: str,
    title: str,
    standfirst: str,
    paragraphs: tuple[str, ...],
) -> None:
    zone = ZoneInfo(zone_name)
    offset = timezone(timedelta(minutes=offset_minutes))
    moment = datetime(day.year, day.month, day.day, tzinfo=offset) + timedelta(seconds=seconds)
    if style in ("long", "iso-date", "day-month-year"):
        expected = datetime(moment.year, moment.month, moment.day, tzinfo=zone)
        expected += timedelta(seconds=number)
    else:
        expected = moment
    name = f"{number:03d}_0123456789abcdef.txt"
    text = article_text(_format_date(moment, style), title, standfirst, paragraphs)
    article = parse_article(name, text, zone)
    assert article.title == title
    assert article.standfirst == standfirst
    assert article.paragraphs == paragraphs
    assert article.published == expected
    assert article.published.utcoffset() == expected.utcoffset()
    assert article.id == "0123456789abcdef"


@settings(max_examples=300)
@given(
    day=st.dates(min_value=date(1900, 1, 1), max_value=date(9998, 12, 31)),
    style=st.sampled_from(["%Y-%m-%d", "%A, %B %d, %Y", "%B %d, %Y", "%b %d %Y", "%a, %b. %d, %Y"]),
    number=st.integers(min_value=0, max_value=999_999),
)
def test_fast_date_forms_agree_with_dateutil(day: date, style: str, number: int) -> None:
    line = day.strftime(style)  # the C locale: English names
    zone = ZoneInfo("Europe/Paris")
    fast = articles.parse_date(line, zone, number)
    assert articles._plain_date(line) == day  # the fast path took it
    monkey = articles._plain_date
    try:
        articles._plain_date = lambda _: None  # type: ignore[assignment]
        slow = articles.parse_date(line, zone, number)
    finally:
        articles._plain_date = monkey
    assert fast == slow and fast.tzinfo is slow.tzinfo


# --- Limits, at and just past them ------------------------------------------------------------


def test_a_title_of_exactly_the_limit_is_accepted_one_more_is_not() -> None:
    assert parse_article(NAME, article_text(title="x" * 300), PARIS).title == "x" * 300
    with pytest.raises(ArticleError) as caught:
        parse_article(NAME, article_text(title="é" * 301), PARIS)
    assert str(caught.value) == (
        f"{NAME}: title is 301 characters long (at most 300); is the blank line after it missing?"
    )


@pytest.mark.parametrize("name", ["UT", "UTC", "GMT", "Z"])
def test_utc_zone_names_are_read_as_utc(name: str) -> None:
    text = article_text(date=f"Tue, 31 Oct 2023 14:30:00 {name}")
    published = parse_article(NAME, text, PARIS).published
    assert published == datetime(2023, 10, 31, 14, 30, tzinfo=UTC)
    assert published.utcoffset() == timedelta(0)


def test_unknown_zone_name_message() -> None:
    with pytest.raises(ArticleError) as caught:
        parse_article(NAME, article_text(date="Tue, 31 Oct 2023 14:30:00 XYZ"), PARIS)
    assert caught.value.reason == (
        "line 1: unknown time zone name 'XYZ'; write an offset such as +01:00"
    )


@pytest.mark.parametrize(
    "line",
    ["0001-01-02T00:00:00Z", "9999-12-30T00:00:00Z", "0001-01-02", "Thu, 30 Dec 9999 00:00:00 GMT"],
    ids=["earliest", "latest", "earliest-date-only", "latest-rfc822"],
)
def test_the_earliest_and_latest_dates_are_accepted(line: str) -> None:
    published = parse_article(NAME, article_text(date=line), UTC).published
    assert published.date().isoformat() in ("0001-01-02", "9999-12-30")
    assert published.time().isoformat() == "00:00:00"


@pytest.mark.parametrize(
    "line",
    ["0001-01-01T23:59:59Z", "9999-12-30T00:00:01Z", "0001-01-01", "9999-12-31", "31 Dec 9999"],
    ids=["before-earliest", "after-latest", "date-only-before", "date-only-after", "dateutil"],
)
def test_dates_just_outside_the_range_are_refused(line: str) -> None:
    with pytest.raises(ArticleError) as caught:
        parse_article(NAME, article_text(date=line), UTC)
    assert caught.value.reason == f"line 1: date {line!r} is out of range"


def test_binary_threshold_is_one_control_character_in_a_hundred() -> None:
    # A NUL and more than 1% of characters XML forbids within the first 8 KiB: binary.
    assert articles.looks_binary("\x00" + "a" * 98)
    assert not articles.looks_binary("\x00" + "a" * 99)
    assert not articles.looks_binary("\x01" * 50 + "a" * 50)  # no NUL: text with controls
    # Only the first 8192 characters count, for the NUL and for the controls.
    assert not articles.looks_binary("a" * 8192 + "\x00" * 1000)
    window = "\x00" + "\x01" * 80 + "a" * (8192 - 81)
    assert not articles.looks_binary(window + "\x01" + "a" * 20_000)
    assert articles.looks_binary("\x01" + window[:-1] + "a" * 20_000)
    assert not articles.looks_binary("\x01" * 100 + "a" * 8092 + "\x00")  # NUL just past


def test_characters_xml_forbids_are_removed_and_counted() -> None:
    text = "a\x00b\x08c\td\ne\rf\x0bg\x7fh\x85i\ud800j\ufdd0k\ufffel\uffffm\u00a0n"
    assert articles.clean_text(text) == ("abc\td\ne\rfghijklm\u00a0n", 9)
    assert articles.clean_text("plain é") == ("plain é", 0)


@pytest.mark.parametrize("line", ["2023-10-31", "31 Oct 2023"], ids=["fast-path", "dateutil"])
def test_file_numbers_past_a_day_of_seconds_wrap_within_the_day(line: str) -> None:
    start = datetime(2023, 10, 31, tzinfo=PARIS)
    for number, seconds in ((86_399, 86_399), (86_400, 0), (86_401, 1)):
        name = f"{number}_0123456789abcdef.txt"
        published = parse_article(name, article_text(date=line), PARIS).published
        assert published == start + timedelta(seconds=seconds)


def test_summary_keeps_what_a_server_needs_and_the_digest_tells_texts_apart() -> None:
    article = parse_article("007_0123456789ABCDEF.txt", article_text(), PARIS)
    summary = article.summary()
    assert type(summary) is articles.Summary
    assert (summary.id, summary.source, summary.number, summary.digest) == (
        "0123456789abcdef", "007_0123456789ABCDEF.txt", 7, article.digest
    )  # fmt: skip
    assert summary.published == summary.updated == datetime(2023, 10, 31, 0, 0, 7, tzinfo=PARIS)
    assert summary.slug == "0123456789abcdef"
    digests = {
        articles.text_digest("ab", "", ()),
        articles.text_digest("a", "b", ()),
        articles.text_digest("a", "", ("b",)),
        articles.text_digest("a", "b", ("",)),
    }
    assert len(digests) == 4
    assert all(re.fullmatch("[0-9a-f]{32}", digest) for digest in digests)
    assert article.digest == articles.text_digest("Title", "Standfirst", ("One.", "Two."))

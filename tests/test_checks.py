"""Feed checks: the built output on its own (--built) and against published feeds (--against)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import lxml.etree
import pytest
from click.testing import CliRunner, Result

import feedsvc.entries
from feedsvc.checks import Entry, check_built, is_absolute_url, parse_rfc822, parse_rfc3339
from feedsvc.cli import cli
from feedsvc.comparison import compare_entries, compare_feeds, present_entry_ids
from feedsvc.config import Settings
from feedsvc.entries import entry_id
from feedsvc.output import write_site
from feedsvc.repository import load_corpus
from feedsvc.site import render_site
from tests.conftest import BASE_URL

NS = {"atom": "http://www.w3.org/2005/Atom"}
FEEDS = ("feed.xml", "atom.xml", "feed.json")


def build(settings: Settings, out: Path) -> Path:
    write_site(render_site(load_corpus(settings), settings), out)
    return out


@pytest.fixture
def built(settings: Settings) -> Path:
    """The output of a build of the sample articles."""
    return build(settings, settings.out)


def split(problems: list[str]) -> list[tuple[str, str]]:
    """``path: reason`` lines as (path, reason); paths here never hold ': '."""
    pairs = [tuple(line.split(": ", 1)) for line in problems]
    assert all(len(pair) == 2 for pair in pairs), problems
    return [(path, reason) for path, reason in pairs]


def invoke(runner: CliRunner, *args: str | Path) -> Result:
    return runner.invoke(cli, ["check", *map(str, args)], catch_exceptions=False)


# --- Editing built files, through parsers -----------------------------------------------------


def edit_xml(change: Callable[[Any], None]) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        root = lxml.etree.fromstring(path.read_bytes())
        change(root)
        path.write_bytes(lxml.etree.tostring(root, xml_declaration=True, encoding="UTF-8"))

    return edit


def edit_json(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        document = json.loads(path.read_bytes())
        change(document)
        path.write_bytes(json.dumps(document).encode("utf-8"))

    return edit


def remove(xpath: str) -> Callable[[Path], None]:
    def change(root: Any) -> None:
        found = root.xpath(xpath, namespaces=NS)
        assert found, xpath
        for element in found:
            element.getparent().remove(element)

    return edit_xml(change)


def set_text(xpath: str, text: str) -> Callable[[Path], None]:
    def change(root: Any) -> None:
        (element,) = root.xpath(xpath, namespaces=NS)
        element.text = text

    return edit_xml(change)


def set_attribute(xpath: str, name: str, value: str) -> Callable[[Path], None]:
    def change(root: Any) -> None:
        (element,) = root.xpath(xpath, namespaces=NS)
        element.set(name, value)

    return edit_xml(change)


def copy_text(source: str, target: str) -> Callable[[Path], None]:
    def change(root: Any) -> None:
        (first,) = root.xpath(source, namespaces=NS)
        (second,) = root.xpath(target, namespaces=NS)
        second.text = first.text

    return edit_xml(change)


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-40])


def in_item(key: str, value: object, index: int = 0) -> Callable[[Path], None]:
    def change(document: dict[str, Any]) -> None:
        if value is None:
            del document["items"][index][key]
        else:
            document["items"][index][key] = value

    return edit_json(change)


def in_feed(key: str, value: object) -> Callable[[Path], None]:
    def change(document: dict[str, Any]) -> None:
        if value is None:
            del document[key]
        else:
            document[key] = value

    return edit_json(change)


def same_json_ids(document: dict[str, Any]) -> None:
    document["items"][1]["id"] = document["items"][0]["id"]


ITEM = "/rss/channel/item[1]"
ENTRY = "/atom:feed/atom:entry[1]"
# Each defect: the file it is made in, how, and what every reported reason says.
DEFECTS: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "rss-malformed": ("feed.xml", truncate, "not well-formed XML"),
    "rss-no-channel-title": ("feed.xml", remove("/rss/channel/title"), "has no <title>"),
    "rss-no-channel-link": ("feed.xml", remove("/rss/channel/link"), "has no <link>"),
    "rss-no-channel-description": (
        "feed.xml", remove("/rss/channel/description"), "has no <description>"
    ),
    "rss-item-without-title-or-description": (
        "feed.xml", remove(f"{ITEM}/title | {ITEM}/description"), "neither <title> nor"
    ),
    "rss-item-without-guid": ("feed.xml", remove(f"{ITEM}/guid"), "has no <guid>"),
    "rss-iso-pubdate": (
        "feed.xml", set_text(f"{ITEM}/pubDate", "2023-11-22T00:00:05+00:00"), "not an RFC 822 date"
    ),
    "rss-pubdate-without-zone": (
        "feed.xml", set_text(f"{ITEM}/pubDate", "Wed, 22 Nov 2023 00:00:05"), "has no time zone"
    ),
    "rss-pubdate-unknown-zone": (
        "feed.xml", set_text(f"{ITEM}/pubDate", "Wed, 22 Nov 2023 00:00:05 -0000"), "no time zone"
    ),
    "rss-pubdate-wrong-weekday": (
        "feed.xml", set_text(f"{ITEM}/pubDate", "Mon, 22 Nov 2023 00:00:05 +0000"), "is a Wed"
    ),
    "rss-impossible-lastbuilddate": (
        "feed.xml",
        set_text("/rss/channel/lastBuildDate", "Thu, 30 Feb 2023 00:00:05 +0000"),
        "not an RFC 822 date",
    ),
    "rss-relative-item-link": (
        "feed.xml", set_text(f"{ITEM}/link", "/articles/x/"), "not an absolute http(s) URL"
    ),
    "rss-relative-channel-link": (
        "feed.xml", set_text("/rss/channel/link", "news.example.org/"), "not an absolute"
    ),
    "rss-duplicate-guid": (
        "feed.xml", copy_text(f"{ITEM}/guid", "/rss/channel/item[2]/guid"), "repeats the id"
    ),
    "rss-wrong-self-link": (
        "feed.xml",
        set_attribute("/rss/channel/atom:link[@rel='self']", "href", BASE_URL + "rss.xml"),
        f"is not {BASE_URL}feed.xml",
    ),
    "rss-no-self-link": (
        "feed.xml", remove("/rss/channel/atom:link[@rel='self']"), "has no self link"
    ),
    "rss-wrong-version": ("feed.xml", set_attribute("/rss", "version", "0.91"), "not '2.0'"),
    "atom-malformed": ("atom.xml", truncate, "not well-formed XML"),
    "atom-no-feed-id": ("atom.xml", remove("/atom:feed/atom:id"), "exactly one <id>, has 0"),
    "atom-no-feed-updated": (
        "atom.xml", remove("/atom:feed/atom:updated"), "exactly one <updated>, has 0"
    ),
    "atom-entry-without-title": (
        "atom.xml", remove(f"{ENTRY}/atom:title"), "exactly one <title>, has 0"
    ),
    "atom-entry-without-updated": (
        "atom.xml", remove(f"{ENTRY}/atom:updated"), "exactly one <updated>, has 0"
    ),
    "atom-no-author-anywhere": ("atom.xml", remove("/atom:feed/atom:author"), "has no <author>"),
    "atom-entry-without-content-or-link": (
        "atom.xml", remove(f"{ENTRY}/atom:content | {ENTRY}/atom:link"), "neither <content> nor"
    ),
    "atom-updated-with-space": (
        "atom.xml",
        set_text(f"{ENTRY}/atom:updated", "2023-11-22 00:00:05+00:00"),
        "not an RFC 3339 date-time",
    ),
    "atom-updated-without-offset": (
        "atom.xml", set_text(f"{ENTRY}/atom:updated", "2023-11-22T00:00:05"), "not an RFC 3339"
    ),
    "atom-published-impossible": (
        "atom.xml",
        set_text(f"{ENTRY}/atom:published", "2023-11-31T00:00:05Z"),
        "not a real date and time",
    ),
    "atom-relative-entry-link": (
        "atom.xml", set_attribute(f"{ENTRY}/atom:link", "href", "articles/x/"), "not an absolute"
    ),
    "atom-entry-id-not-an-iri": (
        "atom.xml", set_text(f"{ENTRY}/atom:id", "4c4d545e"), "not an absolute IRI"
    ),
    "atom-duplicate-id": (
        "atom.xml",
        copy_text(f"{ENTRY}/atom:id", "/atom:feed/atom:entry[2]/atom:id"),
        "repeats the id",
    ),
    "atom-wrong-self-link": (
        "atom.xml",
        set_attribute("/atom:feed/atom:link[@rel='self']", "href", "http://127.0.0.1/atom.xml"),
        f"is not {BASE_URL}atom.xml",
    ),
    "json-malformed": ("feed.json", truncate, "not valid UTF-8 JSON"),
    "json-no-version": ("feed.json", in_feed("version", None), "is not a JSON Feed"),
    "json-unknown-version": (
        "feed.json", in_feed("version", "https://jsonfeed.org/version/9"), "is not https://"
    ),
    "json-no-title": ("feed.json", in_feed("title", None), "has no title"),
    "json-no-items": ("feed.json", in_feed("items", None), "has no items list"),
    "json-item-without-id": ("feed.json", in_item("id", None), "has no id string"),
    "json-item-numeric-id": ("feed.json", in_item("id", 7), "has no id string"),
    "json-item-without-content": (
        "feed.json", in_item("content_html", None), "neither content_html nor content_text"
    ),
    "json-date-without-offset": (
        "feed.json", in_item("date_published", "2023-11-22T00:00:05"), "not an RFC 3339"
    ),
    "json-impossible-date": (
        "feed.json", in_item("date_modified", "2023-02-30T00:00:00Z"), "not a real date"
    ),
    "json-relative-item-url": ("feed.json", in_item("url", "/articles/x/"), "not an absolute"),
    "json-relative-home-page": (
        "feed.json", in_feed("home_page_url", "//news.example.org/"), "not an absolute"
    ),
    "json-duplicate-id": ("feed.json", edit_json(same_json_ids), "repeats the id"),
    "json-wrong-feed-url": (
        "feed.json", in_feed("feed_url", BASE_URL + "feed.xml"), f"is not {BASE_URL}feed.json"
    ),
    "json-no-feed-url": ("feed.json", in_feed("feed_url", None), "has no self link (feed_url)"),
}  # fmt: skip


# --- check_built --------------------------------------------------------------------------------


def test_good_output_passes(built: Path, settings: Settings) -> None:
    assert check_built(built, settings) == []


def test_archives_are_checked_too(settings: Settings, tmp_path: Path) -> None:
    settings = dataclasses.replace(settings, item_limit=2)
    out = build(settings, tmp_path / "small")
    archive = out / "archive" / "1" / "feed.xml"
    assert archive.is_file()
    assert check_built(out, settings) == []
    set_attribute("/rss/channel/atom:link[@rel='self']", "href", BASE_URL + "feed.xml")(archive)
    ((path, reason),) = split(check_built(out, settings))
    assert path == str(archive)
    assert reason.endswith(f"is not {BASE_URL}archive/1/feed.xml (base_url + path)")


@pytest.mark.parametrize(("name", "make", "says"), DEFECTS.values(), ids=DEFECTS.keys())
def test_each_defect_is_reported(
    built: Path, settings: Settings, name: str, make: Callable[[Path], None], says: str
) -> None:
    make(built / name)
    problems = split(check_built(built, settings))
    assert problems, "nothing reported"
    for path, reason in problems:
        assert path == str(built / name)
        assert says in reason


def test_missing_feed_is_reported(built: Path, settings: Settings) -> None:
    (built / "atom.xml").unlink()
    assert split(check_built(built, settings)) == [
        (str(built / "atom.xml"), "missing; feedsvc build writes it")
    ]


def test_feed_of_the_wrong_kind_is_reported(built: Path, settings: Settings) -> None:
    shutil.copy(built / "atom.xml", built / "feed.xml")
    reasons = [reason for path, reason in split(check_built(built, settings))]
    assert reasons[0] == "is an Atom feed, not an RSS 2.0 feed"


def test_other_base_url_fails_every_self_link(built: Path, settings: Settings) -> None:
    elsewhere = dataclasses.replace(settings, base_url="https://elsewhere.example/")
    problems = split(check_built(built, elsewhere))
    assert sorted(path for path, _ in problems) == sorted(str(built / name) for name in FEEDS)
    assert all("is not https://elsewhere.example/" in reason for _, reason in problems)


def test_external_entities_are_not_read(built: Path, settings: Settings, tmp_path: Path) -> None:
    # A document may name a local file (or a URL) as an entity: it is never read.
    secret = tmp_path / "secret.txt"
    secret.write_text("https://secret.example/")
    (built / "feed.xml").write_text(
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY c SYSTEM "{secret.as_uri()}">]>'
        '<rss version="2.0"><channel><title>T</title><description/><link>&c;</link>'
        "</channel></rss>"
    )
    assert [reason for _, reason in split(check_built(built, settings))] == [
        "<channel><link> '&c;' is not an absolute http(s) URL",
        'has no self link (<atom:link rel="self">)',
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 31 Oct 2023 00:00:00 +0000", datetime(2023, 10, 31, tzinfo=UTC)),
        ("31 Oct 2023 02:00:00 +0200", datetime(2023, 10, 31, tzinfo=UTC)),
        ("Tue, 31 Oct 2023 00:00:00 GMT", datetime(2023, 10, 31, tzinfo=UTC)),
    ],
    ids=["numeric-zone", "no-weekday", "gmt"],
)
def test_rfc822_dates(value: str, expected: datetime) -> None:
    assert parse_rfc822(value) == expected


@pytest.mark.parametrize(
    "value",
    ["2023-10-31", "Tue, 31 Oct 2023 00:00:00", "Wed, 31 Oct 2023 00:00:00 +0000", "", "soon"],
    ids=["iso", "no-zone", "wrong-weekday", "empty", "words"],
)
def test_bad_rfc822_dates(value: str) -> None:
    with pytest.raises(ValueError):
        parse_rfc822(value)


@pytest.mark.parametrize(
    "value",
    ["2023-10-31t00:00:00Z", "2023-10-31T00:00Z", "2023-10-31T25:00:00Z", "2023-10-31T00:00:00+2"],
    ids=["lower-case-t", "no-seconds", "hour-25", "short-offset"],
)
def test_bad_rfc3339_dates(value: str) -> None:
    with pytest.raises(ValueError):
        parse_rfc3339(value)


def test_rfc3339_dates() -> None:
    assert parse_rfc3339("2023-10-31T01:00:00.5+01:00") == datetime(
        2023, 10, 31, 0, 0, 0, 500000, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("value", "absolute"),
    [
        ("https://news.example.org/a/", True),
        ("http://127.0.0.1:8000/", True),
        ("/articles/x/", False),
        ("//news.example.org/", False),
        ("ftp://news.example.org/", False),
        ("https:///path", False),
        ("https://news.example.org/a b", False),
        ("https://[::1/", False),
    ],
)
def test_absolute_urls(value: str, absolute: bool) -> None:
    assert is_absolute_url(value) is absolute


# --- check --built on the command line --------------------------------------------------------


def test_cli_built_passes_without_articles(runner: CliRunner, built: Path, tmp_path: Path) -> None:
    # CI may check an artifact where the articles are not: --built never reads them.
    result = invoke(runner, "--built", built, "--base-url", BASE_URL)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout == f"checked {built}: 0 problem(s)\n"


def test_cli_built_reports_each_problem_and_exits_1(runner: CliRunner, built: Path) -> None:
    remove("/rss/channel/title")(built / "feed.xml")
    in_item("date_published", "yesterday")(built / "feed.json")
    result = invoke(runner, "--built", built, "--base-url", BASE_URL)
    assert result.exit_code == 1
    assert [path for path, _ in split(result.stderr.splitlines())] == [
        str(built / "feed.json"),
        str(built / "feed.xml"),
    ]
    assert result.stdout == f"checked {built}: 2 problem(s)\n"


def test_cli_built_needs_a_folder(runner: CliRunner, tmp_path: Path) -> None:
    result = invoke(runner, "--built", tmp_path / "nowhere")
    assert result.exit_code == 2


# --- --against --------------------------------------------------------------------------------


@pytest.fixture
def published(settings: Settings, tmp_path: Path) -> Path:
    """What is live: a build of the sample articles before any change."""
    return build(settings, tmp_path / "live")


def against(
    runner: CliRunner, settings: Settings, current: Path, previous: Path, *more: str | Path
) -> tuple[Result, list[tuple[str, str]]]:
    result = invoke(runner, "--built", current, "--against", previous,
                    "--articles", settings.articles, "--base-url", BASE_URL, *more)  # fmt: skip
    return result, split(result.stderr.splitlines())


def ids_and_slugs(settings: Settings) -> dict[str, str]:
    return {a.slug: entry_id(a) for a in load_corpus(settings).articles}


def test_unchanged_republish_passes(
    runner: CliRunner, settings: Settings, published: Path, tmp_path: Path
) -> None:
    current = build(settings, tmp_path / "public")
    result, problems = against(runner, settings, current, published)
    assert result.exit_code == 0, result.output
    assert problems == []
    assert result.stdout == f"checked {current}, compared with {published}: 0 problem(s)\n"


def test_first_publish_has_nothing_to_compare(
    runner: CliRunner, settings: Settings, built: Path, tmp_path: Path
) -> None:
    (tmp_path / "nothing-live").mkdir()
    result, problems = against(runner, settings, built, tmp_path / "nothing-live")
    assert result.exit_code == 0, result.output


def test_changed_ids_are_reported(
    runner: CliRunner,
    settings: Settings,
    published: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A code change that derives ids differently: same links, new ids.
    monkeypatch.setattr(feedsvc.entries, "ARTICLE_NAMESPACE", uuid.UUID(int=1))
    current = build(settings, tmp_path / "public")
    monkeypatch.undo()
    result, problems = against(runner, settings, current, published)
    assert result.exit_code == 1
    old_ids = ids_and_slugs(settings)
    assert {parse_change(path, reason, "id") for path, reason in problems} == {
        (str(current / name), f"{BASE_URL}articles/{slug}/", old_ids[slug],
         f"urn:uuid:{uuid.uuid5(uuid.UUID(int=1), slug)}")
        for name in FEEDS
        for slug in old_ids
    }  # fmt: skip


def parse_change(path: str, reason: str, what: str) -> tuple[str, str, str, str]:
    """``entry X changed its <what> from A to B: readers ...`` as (path, X, A, B)."""
    change, _, _ = reason.partition(": readers ")
    subject, values = change.removeprefix("entry ").split(f" changed its {what} from ")
    old, new = values.split(" to ")
    return path, subject, old, new


def test_changed_links_are_reported(
    runner: CliRunner, settings: Settings, published: Path, tmp_path: Path
) -> None:
    moved = "https://news.example.org/v2/"
    current = build(dataclasses.replace(settings, base_url=moved), tmp_path / "public")
    result, problems = against(runner, settings, current, published, "--base-url", moved)
    assert result.exit_code == 1
    ids = ids_and_slugs(settings)
    expected = {
        (str(current / name), ids[slug], f"{BASE_URL}articles/{slug}/", f"{moved}articles/{slug}/")
        for name in FEEDS
        for slug in ids
    }
    assert {parse_change(path, reason, "link") for path, reason in problems} == expected


def test_vanished_entry_is_reported_but_not_a_deleted_or_aged_out_one(
    runner: CliRunner, settings: Settings, published: Path, tmp_path: Path
) -> None:
    articles = sorted(settings.articles.glob("*.txt"))  # oldest first
    ids = present_entry_ids(path.name for path in articles)
    # Newest but one: its file is still there but no longer parses, so it is left out.
    broken = articles[-2]
    broken.write_text("not a date\n\nTitle\n")
    articles[1].unlink()  # deleted on purpose
    # --item-limit 3: the oldest entries leave the subscription feed for the archives.
    current = build(dataclasses.replace(settings, item_limit=3), tmp_path / "public")
    result, problems = against(runner, settings, current, published)
    assert result.exit_code == 1
    (broken_id,) = present_entry_ids([broken.name])
    assert broken_id in ids
    assert sorted(problems) == sorted(
        (str(current / name), f"entry {broken_id} vanished although its article still exists "
         "and it is not older than the oldest entry of the new feed")
        for name in FEEDS
    )  # fmt: skip


def test_without_the_articles_a_deleted_entry_counts_as_vanished(
    runner: CliRunner, settings: Settings, published: Path, tmp_path: Path
) -> None:
    newest_but_one = sorted(settings.articles.glob("*.txt"))[-2]
    newest_but_one.unlink()
    current = build(settings, tmp_path / "public")
    nowhere = tmp_path / "no-articles-here"
    result = invoke(runner, "--built", current, "--against", published,
                    "--articles", nowhere, "--base-url", BASE_URL)  # fmt: skip
    assert result.exit_code == 1
    problems = split(result.stderr.splitlines())
    assert [path for path, _ in problems] == [str(current / name) for name in sorted(FEEDS)]
    (ident,) = present_entry_ids([newest_but_one.name])
    assert {reason for _, reason in problems} == {
        f"entry {ident} vanished and it is not older than the oldest entry of the new feed "
        "(no articles were read to tell whether it was deleted on purpose)"
    }


def test_dates_moved_backwards_are_reported(
    runner: CliRunner, settings: Settings, published: Path, tmp_path: Path
) -> None:
    article = sorted(settings.articles.glob("*.txt"))[3]  # 2023-11-15, third newest
    text = article.read_text("utf-8")
    assert text.startswith("Wednesday, November 15, 2023")
    article.write_text("2023-11-14" + text.split("\n", 1)[1].join(["\n", ""]), "utf-8")
    current = build(settings, tmp_path / "public")
    result, problems = against(runner, settings, current, published)
    assert result.exit_code == 1
    (ident,) = present_entry_ids([article.name])
    fields: dict[str, list[str]] = {}
    for path, reason in problems:
        subject, change = reason.split(": ", 1)
        assert subject == f"entry {ident}"
        field, dates = change.split(" moved backwards from ")
        old, new = (datetime.fromisoformat(d) for d in dates.split(" to "))
        assert old - new == timedelta(days=1)
        fields.setdefault(path, []).append(field)
    assert fields == {
        str(current / "feed.xml"): ["published"],  # RSS has pubDate only
        str(current / "atom.xml"): ["published", "updated"],
        str(current / "feed.json"): ["published", "updated"],
    }


def test_against_alone_renders_the_articles(
    runner: CliRunner, settings: Settings, published: Path
) -> None:
    result = invoke(runner, "--against", published, "--articles", settings.articles,
                    "--base-url", BASE_URL)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == f"compared with {published}: 0 problem(s)\n"
    broken = sorted(settings.articles.glob("*.txt"))[-1]
    broken.write_text("")
    result = invoke(runner, "--against", published, "--articles", settings.articles,
                    "--base-url", BASE_URL)  # fmt: skip
    assert result.exit_code == 1
    problems = split(result.stderr.splitlines())
    assert problems[0] == (str(broken), "empty file")  # the article's own problem first
    assert sorted(path for path, _ in problems[1:]) == sorted(FEEDS)  # named by site path


def test_against_a_single_feed_file(
    runner: CliRunner, settings: Settings, published: Path, tmp_path: Path
) -> None:
    current = build(settings, tmp_path / "public")
    remove("/atom:feed/atom:entry[2]")(current / "atom.xml")
    result, problems = against(runner, settings, current, published / "atom.xml")
    assert result.exit_code == 1
    assert [path for path, _ in problems] == [str(current / "atom.xml")]
    result, problems = against(runner, settings, current, published / "feed.xml")
    assert result.exit_code == 0, result.output


def test_two_files_are_compared_whatever_their_names(
    settings: Settings, published: Path, tmp_path: Path
) -> None:
    live = tmp_path / "live-feed.xml"
    shutil.copy(published / "feed.xml", live)
    current = build(settings, tmp_path / "public") / "feed.xml"
    assert compare_feeds(current, live, None) == []
    remove("/rss/channel/item[1]")(current)
    ((path, reason),) = split(compare_feeds(current, live, None))
    assert path == str(current)
    assert "vanished" in reason


def test_a_previous_feed_that_is_gone_or_unreadable_is_reported(
    settings: Settings, published: Path, tmp_path: Path
) -> None:
    current = build(settings, tmp_path / "public")
    (current / "feed.json").unlink()
    (published / "atom.xml").write_text("<html><body>Not Found</body>")  # not even XML
    problems = dict(split(compare_feeds(current, published, None)))
    assert problems == {
        str(current / "feed.json"): "was published before and is missing now",
        str(current / "atom.xml"): problems[str(current / "atom.xml")],
    }
    assert problems[str(current / "atom.xml")].startswith("the previous atom.xml cannot be")


# --- The rule for vanished entries ------------------------------------------------------------


def entry(position: int, day: int | None, ident: str | None = None) -> Entry:
    when = None if day is None else datetime(2024, 1, day, tzinfo=UTC)
    ident = ident or f"urn:x:{position}"
    return Entry(position, ident, f"https://e.example/{ident}", when, when)


@pytest.mark.parametrize(
    ("day", "reported"),
    [(10, True), (5, True), (4, False), (None, True)],
    ids=["newer-than-the-oldest", "as-old-as-the-oldest", "older", "no-date"],
)
def test_vanished_rule(day: int | None, reported: bool) -> None:
    new = [entry(1, 20), entry(2, 5)]
    gone = entry(3, day)
    assert bool(compare_entries([*new, gone], new, None)) is reported
    assert compare_entries([*new, gone], new, set()) == []  # its file was removed


def test_empty_new_feed_loses_every_entry() -> None:
    assert len(compare_entries([entry(1, 3), entry(2, 2)], [], None)) == 2


def test_present_entry_ids_are_the_feed_ids(settings: Settings) -> None:
    corpus = load_corpus(settings)
    names = [a.source for a in corpus.articles]
    assert present_entry_ids(names) == {entry_id(a) for a in corpus.articles}

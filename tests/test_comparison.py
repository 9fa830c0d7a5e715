"""check --against on small hand-written feeds: each problem is reported and none stops the rest."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedsvc.checks import Entry
from feedsvc.comparison import compare_entries, compare_feeds

LINK = "https://news.example.org/articles/"


def rss(*items: tuple[str | None, str | None, str | None]) -> bytes:
    """An RSS 2.0 feed of (guid, link, pubDate) items; None leaves the element out."""
    parts = []
    for guid, link, date in items:
        item = "".join(
            f"<{tag}>{value}</{tag}>"
            for tag, value in (("guid", guid), ("link", link), ("pubDate", date))
            if value is not None
        )
        parts.append(f"<item><title>T</title>{item}</item>")
    return (
        '<rss version="2.0"><channel><title>T</title><link>https://news.example.org/</link>'
        f"<description>D</description>{''.join(parts)}</channel></rss>"
    ).encode()


ITEM_A = ("urn:a", LINK + "a/", "Wed, 22 Nov 2023 00:00:05 +0000")
ITEM_B = ("urn:b", LINK + "b/", "Tue, 21 Nov 2023 00:00:05 +0000")
FEED = rss(ITEM_A, ITEM_B)
# The change every case below makes in feed.xml, reported after the problem sorted before it.
RELINKED = rss(ITEM_A, ("urn:b", LINK + "b2/", ITEM_B[2]))
RELINK_REASON = f"entry urn:b changed its link from {LINK}b/ to {LINK}b2/: readers that key on links will show it again"  # noqa: E501


def write(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


# Each case: a feed "a.xml" (sorted before feed.xml) as it was and as it is, and what is said.
CASES = {
    "previous-not-well-formed": (
        b"<rss", FEED, "the previous a.xml cannot be compared: not well-formed XML: "
    ),
    "previous-not-a-feed": (b"<urlset/>", FEED, None),
    "missing-now": (FEED, None, "was published before and is missing now"),
    "current-not-well-formed": (FEED, b"<rss><channel>", "not well-formed XML: "),
    "current-not-a-feed-any-more": (FEED, b"<html/>", "was an RSS 2.0 feed and is not any more"),
    "current-json-not-a-feed": (FEED, b"<x/>", "was an RSS 2.0 feed and is not any more"),
}  # fmt: skip


@pytest.mark.parametrize(("before", "now", "says"), CASES.values(), ids=CASES.keys())
def test_a_problem_feed_does_not_stop_the_others_being_compared(
    tmp_path: Path, before: bytes, now: bytes | None, says: str | None
) -> None:
    previous = write(tmp_path / "live", {"a.xml": before, "feed.xml": FEED})
    current = write(tmp_path / "public", {"feed.xml": RELINKED})
    if now is not None:
        write(current, {"a.xml": now})
    problems = compare_feeds(current, previous, None)
    expected = [f"{current / 'feed.xml'}: {RELINK_REASON}"]
    if says is not None:
        assert problems[0].startswith(f"{current / 'a.xml'}: {says}"), problems
        assert "\n" not in problems[0]
        expected.insert(0, problems[0])
    assert problems == expected


def test_feeds_of_each_kind_in_sub_folders_are_matched_by_path(tmp_path: Path) -> None:
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:f</id><title>T</title>'
        "<updated>2023-11-22T00:00:05Z</updated><entry><id>urn:a</id><title>A</title>"
        f'<updated>2023-11-22T00:00:05Z</updated><link href="{LINK}a/"/></entry></feed>'
    ).encode()
    previous = write(tmp_path / "live", {"archive/1/atom.xml": atom, "feed.xml": FEED})
    current = write(tmp_path / "public", {"archive/1/atom.xml": b"{}", "feed.xml": FEED})
    assert compare_feeds(current, previous, None) == [
        f"{current / 'archive/1/atom.xml'}: not well-formed XML: Start tag expected, '<' not"
        " found, line 1, column 1 (<string>, line 1)"
    ]


def test_read_errors_of_either_side_are_reported(tmp_path: Path) -> None:
    current = write(tmp_path, {"feed.xml": FEED}) / "feed.xml"
    gone = tmp_path / "gone.xml"
    assert compare_feeds(current, gone, None) == [f"{gone}: cannot read: No such file or directory"]
    problems = compare_feeds(gone, current, None)
    assert problems[0] == f"{gone}: cannot read: No such file or directory"
    assert problems[1].endswith(": was published before and is missing now")


def test_a_changed_id_and_an_id_that_is_gone_are_named() -> None:
    def one(ident: str | None, link: str | None, day: int = 2) -> Entry:
        when = datetime(2024, 1, day, tzinfo=UTC)
        return Entry(1, ident, link, when, when)

    assert compare_entries([one("urn:a", LINK + "a/")], [one("urn:z", LINK + "a/")], None) == [
        f"entry {LINK}a/ changed its id from urn:a to urn:z: readers will show it again as new"
    ]
    assert compare_entries([one(None, LINK + "a/")], [one("urn:z", LINK + "a/")], None) == [
        f"entry {LINK}a/ changed its id from (none) to urn:z: readers will show it again as new"
    ]
    assert compare_entries([one("urn:a", LINK + "a/")], [one(None, LINK + "a/")], None) == [
        f"entry {LINK}a/ changed its id from urn:a to (none): readers will show it again as new"
    ]
    assert compare_entries([one("urn:a", LINK + "a/")], [one("urn:a", None)], None) == [
        f"entry urn:a changed its link from {LINK}a/ to (none): readers that key on links will"
        " show it again"
    ]
    # An entry that had no link: a new link is no change readers would see.
    assert compare_entries([one("urn:a", None)], [one("urn:a", LINK + "a/")], None) == []


def test_an_entry_without_id_or_link_is_named_by_position_and_dated_by_either_date() -> None:
    def dated(position: int, published: int | None, updated: int | None) -> Entry:
        def day(n: int | None) -> datetime | None:
            return None if n is None else datetime(2024, 1, n, tzinfo=UTC)

        return Entry(position, None, None, day(published), day(updated))

    new = [dated(1, 10, 10), dated(2, 5, 5)]
    # Older than the oldest new entry by either date: aged out, not vanished.
    assert compare_entries([dated(3, 4, None), dated(4, None, 4)], new, None) == []
    assert compare_entries([dated(3, 6, None), dated(4, None, 6)], new, None) == [
        f"entry #{n} vanished and it is not older than the oldest entry of the new feed (no"
        " articles were read to tell whether it was deleted on purpose)"
        for n in (3, 4)
    ]
    # The oldest new entry is found by published, else updated, date.
    assert compare_entries([dated(3, 4, None)], [dated(1, 10, 10), dated(2, None, 3)], None) != []


def test_an_empty_link_or_id_matches_nothing() -> None:
    # <link></link> reads as an empty link: two entries sharing it are not the same entry.
    when = datetime(2024, 1, 2, tzinfo=UTC)
    old = [Entry(1, "urn:a", "", when, when)]
    assert compare_entries(old, [Entry(1, "urn:b", "", when, when)], None) == [
        "entry urn:a vanished and it is not older than the oldest entry of the new feed (no"
        " articles were read to tell whether it was deleted on purpose)"
    ]
    old = [Entry(1, "", LINK + "a/", when, when)]
    assert compare_entries(old, [Entry(1, "", LINK + "b/", when, when)], None) == [
        f"entry {LINK}a/ vanished and it is not older than the oldest entry of the new feed (no"
        " articles were read to tell whether it was deleted on purpose)"
    ]

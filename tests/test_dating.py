"""The rules that date an article's edits: git first, then the edits feedsvc noticed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedsvc.dating import (
    EditRecord,
    content_hash,
    deletion_time,
    edit_time,
    mtime_moment,
    notice,
)

PUBLISHED = datetime(2024, 1, 1, 9, tzinfo=UTC)
ZONE = timezone(timedelta(hours=1))
SECOND = 1_000_000_000


def ns(moment: datetime) -> int:
    return int(moment.timestamp()) * SECOND


def test_a_file_seen_for_the_first_time_was_never_edited() -> None:
    # A fresh checkout gives every file a new mtime: none of them was edited.
    record = notice(None, content_hash(b"text"), ns(datetime(2030, 1, 1, tzinfo=UTC)), ZONE)
    assert record == EditRecord(content_hash(b"text"), None)


def test_the_same_bytes_keep_the_record_whatever_the_mtime() -> None:
    before = EditRecord(content_hash(b"text"), datetime(2024, 2, 1, tzinfo=UTC))
    for mtime in (0, ns(datetime(2030, 1, 1, tzinfo=UTC))):
        assert notice(before, content_hash(b"text"), mtime, ZONE) is before


def test_new_bytes_are_an_edit_at_the_mtime_cut_to_the_second() -> None:
    before = EditRecord(content_hash(b"text"), None)
    mtime = ns(datetime(2024, 3, 1, 12, 30, 5, tzinfo=UTC)) + 999_999_999
    record = notice(before, content_hash(b"text, fixed"), mtime, ZONE)
    assert record.content == content_hash(b"text, fixed")
    assert record.edited == datetime(2024, 3, 1, 13, 30, 5, tzinfo=ZONE)
    assert record.edited is not None and record.edited.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize("mtime", [-(2**62), 2**62], ids=["before 1970", "after 9999"])
def test_an_mtime_out_of_range_still_dates_the_edit(mtime: int) -> None:
    record = notice(EditRecord("old", None), "new", mtime, ZONE)
    assert record.edited is not None and 1970 <= record.edited.year <= 9999


def test_an_edit_never_moves_the_date_back() -> None:
    # A file restored from a backup carries an old mtime: the date still moves forward.
    last = datetime(2024, 3, 1, 12, tzinfo=UTC)
    before = EditRecord(content_hash(b"v2"), last)
    for mtime in (ns(last), ns(last - timedelta(days=30)), 0):
        record = notice(before, content_hash(b"v3"), mtime, ZONE)
        assert record.edited == last + timedelta(seconds=1)


@given(
    contents=st.lists(st.sampled_from([b"a", b"b", b"c"]), min_size=1, max_size=12),
    mtimes=st.lists(st.integers(0, 2**40), min_size=12, max_size=12),
)
def test_edit_times_only_move_forward_and_only_for_new_bytes(
    contents: list[bytes], mtimes: list[int]
) -> None:
    record = None
    for data, mtime in zip(contents, mtimes, strict=False):
        new = notice(record, content_hash(data), mtime * SECOND, ZONE)
        if record is not None:
            if new.content == record.content:
                assert new == record
            else:
                assert new.edited is not None
                assert record.edited is None or new.edited > record.edited
        record = new


GIT_EDIT = datetime(2024, 2, 1, tzinfo=UTC)
NOTICED = datetime(2024, 4, 1, tzinfo=UTC)
SOURCES = {
    # (source, git_dated) -> the edit time, with git's edit GIT_EDIT and a noticed NOTICED
    "auto, committed and clean": ("auto", True, GIT_EDIT),
    "auto, uncommitted changes": ("auto", False, NOTICED),
    "git, clean": ("git", True, GIT_EDIT),
    "git, uncommitted changes": ("git", False, None),
    "mtime": ("mtime", True, NOTICED),
    "none": ("none", True, None),
}


@pytest.mark.parametrize(("source", "git_dated", "expected"), SOURCES.values(), ids=SOURCES.keys())
def test_each_source_of_edit_times(source: str, git_dated: bool, expected: datetime | None) -> None:
    assert edit_time(source, PUBLISHED, GIT_EDIT, git_dated, NOTICED) == expected


def test_a_local_change_never_dates_a_file_before_its_last_commit() -> None:
    earlier = datetime(2024, 1, 15, tzinfo=UTC)
    assert edit_time("auto", PUBLISHED, GIT_EDIT, False, earlier) == GIT_EDIT
    assert edit_time("auto", PUBLISHED, GIT_EDIT, False, None) == GIT_EDIT


@pytest.mark.parametrize("edited", [PUBLISHED, PUBLISHED - timedelta(days=1)])
def test_an_edit_before_the_articles_own_date_does_not_date_it(edited: datetime) -> None:
    for source in ("auto", "git", "mtime"):
        assert edit_time(source, PUBLISHED, edited, True, edited) is None


GIT_DELETION = datetime(2024, 5, 1, tzinfo=UTC)
FOUND = datetime(2024, 6, 1, tzinfo=UTC)  # the newest deletion found, committed or not
UNCOMMITTED = datetime(2024, 4, 1, tzinfo=UTC)  # the newest found, not committed yet
DELETIONS = {
    # (source, git_dated) -> the newest deletion's time
    "auto in git: git's, or one not committed yet": ("auto", True, GIT_DELETION),
    "auto outside git or shallow: those found": ("auto", False, FOUND),
    "git": ("git", True, GIT_DELETION),
    "git, shallow": ("git", False, None),
    "mtime": ("mtime", True, FOUND),
    "none": ("none", True, None),
}


@pytest.mark.parametrize(
    ("source", "git_dated", "expected"), DELETIONS.values(), ids=DELETIONS.keys()
)
def test_each_source_of_deletion_times(
    source: str, git_dated: bool, expected: datetime | None
) -> None:
    assert deletion_time(source, GIT_DELETION, git_dated, FOUND, UNCOMMITTED) == expected


def test_a_deletion_not_committed_yet_counts_when_newer_than_gits() -> None:
    later = GIT_DELETION + timedelta(days=1)
    assert deletion_time("auto", GIT_DELETION, True, later, later) == later
    assert deletion_time("auto", None, True, FOUND, None) is None
    assert deletion_time("auto", None, True, FOUND, UNCOMMITTED) == UNCOMMITTED


def test_deletions_are_dated_by_the_folder_mtime_cut_to_the_second() -> None:
    moment = datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert mtime_moment(ns(moment) + SECOND - 1, ZONE) == moment
    assert mtime_moment(ns(moment), ZONE).utcoffset() == timedelta(hours=1)

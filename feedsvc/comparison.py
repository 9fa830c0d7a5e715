"""New feeds against published ones: the changes that make readers show old articles as new.

An id that changed for the same link, a link that changed for the same id, an entry that
vanished while its article still exists, a date that moved backwards. Pure on bytes
(``compare_documents``); ``compare_feeds`` only adds reading files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

from feedsvc.articles import parse_file_name
from feedsvc.checks import KIND_NAMES, Entry, NotWellFormed, read_documents, read_feed
from feedsvc.entries import entry_id_of


def present_entry_ids(file_names: Iterable[str]) -> set[str]:
    """Return the feed entry ids of the article files named ``file_names``, parsed or not.

    The same ids as ``entries.entry_id``, computed from the file name alone, so that an
    article whose file exists but no longer parses still counts as present.
    """
    return {entry_id_of(parse_file_name(name).id) for name in file_names}


def _vanished(entry: Entry, oldest: datetime | None, present: set[str] | None) -> bool:
    """Tell whether an entry missing from the new feed should still be in it.

    Its article's file was removed: no. Otherwise the feed holds the newest entries, so
    an entry drops out only for a newer one: it should still be there when it is not
    older than the oldest entry of the new feed, or when that feed is empty. An entry
    with no date cannot be placed, so it counts as vanished too.
    """
    if present is not None and entry.id is not None and entry.id not in present:
        return False
    return oldest is None or entry.date is None or entry.date >= oldest


def _vanished_reason(entry: Entry, articles_known: bool) -> str:
    if articles_known:
        return (
            f"entry {entry.name} vanished although its article still exists and it is "
            "not older than the oldest entry of the new feed"
        )
    return (
        f"entry {entry.name} vanished and it is not older than the oldest entry of the new "
        "feed (no articles were read to tell whether it was deleted on purpose)"
    )


def _moved_back(before: Entry, now: Entry) -> list[str]:
    reasons = []
    for field, old, new in (
        ("published", before.published, now.published),
        ("updated", before.updated, now.updated),
    ):
        if old is not None and new is not None and new < old:
            reasons.append(
                f"entry {before.name}: {field} moved backwards from {old.isoformat()} "
                f"to {new.isoformat()}"
            )
    return reasons


def compare_entries(
    old: Iterable[Entry], new: Iterable[Entry], articles_present: set[str] | None
) -> list[str]:
    """Return what readers would take wrongly in the change from ``old`` to ``new`` entries.

    Reported: an id changed for the same link, a link changed for the same id (both
    make readers show the entry again as new), an entry that vanished although its
    article exists (see ``_vanished``), a published or updated date that moved backwards.
    ``articles_present`` holds the entry ids of existing articles; None: unknown.
    """
    entries = list(new)
    by_id: dict[str, Entry] = {}
    by_link: dict[str, Entry] = {}
    for entry in reversed(entries):  # the first of duplicates wins
        if entry.id is not None:
            by_id[entry.id] = entry
        if entry.link is not None:
            by_link[entry.link] = entry
    oldest = min((e.date for e in entries if e.date is not None), default=None)
    reasons = []
    for before in old:
        same_link = by_link.get(before.link) if before.link else None
        same_id = by_id.get(before.id) if before.id else None
        if same_link is not None and same_link.id != before.id:
            reasons.append(
                f"entry {before.link} changed its id from {before.id or '(none)'} to "
                f"{same_link.id or '(none)'}: readers will show it again as new"
            )
        if same_id is not None:
            if before.link and same_id.link != before.link:
                reasons.append(
                    f"entry {before.id} changed its link from {before.link} to "
                    f"{same_id.link or '(none)'}: readers that key on links will show it again"
                )
            reasons += _moved_back(before, same_id)
        elif same_link is None and _vanished(before, oldest, articles_present):
            reasons.append(_vanished_reason(before, articles_present is not None))
    return reasons


def compare_documents(
    current: Mapping[str, bytes], previous: Mapping[str, bytes], articles_present: set[str] | None
) -> list[tuple[str, str]]:
    """Compare each previous feed with the current one of the same name.

    Returns ``(name, reason)`` pairs: see ``compare_entries``; also a previous feed
    missing now, and either side that cannot be read. Documents that are not feeds
    are skipped.
    """
    results: list[tuple[str, str]] = []
    for name in sorted(previous):
        try:
            old = read_feed(previous[name], name)
        except NotWellFormed as exc:
            results.append((name, f"the previous {name} cannot be compared: {exc.reason}"))
            continue
        if old is None:
            continue
        if name not in current:
            results.append((name, "was published before and is missing now"))
            continue
        try:
            new = read_feed(current[name], name)
        except NotWellFormed as exc:
            results.append((name, exc.reason))
            continue
        if new is None:
            results.append((name, f"was {KIND_NAMES[old.kind]} and is not any more"))
            continue
        reasons = compare_entries(old.entries, new.entries, articles_present)
        results += [(name, reason) for reason in reasons]
    return results


def compare_feeds(current: Path, previous: Path, articles_present: set[str] | None) -> list[str]:
    """Compare the new feeds in ``current`` with those published before in ``previous``.

    Each is a folder (feeds matched by path: ``feed.xml``, ``archive/1/atom.xml``) or a
    single feed file (matched by file name; two files are compared with each other).
    ``articles_present``: entry ids of the articles that exist (``present_entry_ids``),
    None when unknown. Returns ``path: reason`` lines naming the new feed file.
    """
    new, problems = read_documents(current)
    old, unread = read_documents(previous)
    problems += unread
    if current.is_file() and previous.is_file() and previous.name in old:
        old[current.name] = old.pop(previous.name)  # two files: compared whatever their names
    for name, reason in compare_documents(new, old, articles_present):
        path = current if current.is_file() else current / name
        problems.append(f"{path}: {reason}")
    return problems

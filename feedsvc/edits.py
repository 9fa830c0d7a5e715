"""Edit times for the articles of a load: git's history and the edits noticed in files.

The shell half of dating.py (whose rules it applies): runs git through history.py and
keeps the noticed-edit records that the cache folder stores between runs.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from feedsvc.articles import Summary
from feedsvc.cache import ParseCache
from feedsvc.config import Settings
from feedsvc.dating import DELETED, EditRecord, deletion_time, edit_time, mtime_moment, notice
from feedsvc.errors import HistoryError
from feedsvc.history import History, load_history

# The record that keeps the time of the newest deletion found, under a name no file has:
# a file deleted and written again gets a new record, the deletion stays.
NEWEST = ""


class EditLedger:
    """The noticed-edit records of one load: those kept before, and the files read now."""

    def __init__(self, records: Mapping[str, EditRecord], settings: Settings) -> None:
        self.before = records
        self.records = dict(records)
        self.changed: dict[str, EditRecord] = {}  # the records the cache learns
        self.gone: dict[str, EditRecord] = {}  # the records of files deleted (``forget``)
        self.zone = settings.zone

    def forget(self, listed: Collection[str], folder: Path) -> None:
        """Record as deleted every file with a record that is not in ``listed`` (the
        candidate names of ``folder`` now), at the folder's mtime (``dating.mtime_moment``)."""
        names = self.records.keys() - listed
        fresh = [name for name in names if self.records[name].content != DELETED]
        try:
            moment = mtime_moment(os.stat(folder).st_mtime_ns, self.zone) if fresh else None
        except OSError:  # gone since it was listed: the next load finds them
            moment = None
        if moment is not None:
            marker = EditRecord(DELETED, moment)
            for name in fresh:
                self.records[name] = self.changed[name] = marker
            kept = self.records.get(NEWEST)
            if kept is None or kept.edited is None or kept.edited < moment:
                self.records[NEWEST] = self.changed[NEWEST] = marker
        self.gone = {name: self.records[name] for name in names if name != NEWEST}

    def deleted(self, source: str, history: History | None) -> datetime | None:
        """Return the time of the newest deletion by ``source`` (``dating.deletion_time``),
        after ``forget``."""
        dirty = history.dirty if history is not None else frozenset()
        newest = self.records.get(NEWEST)  # the gone files' own times count if it is lost
        found = {**self.gone, **({NEWEST: newest} if newest is not None else {})}
        times = {name: r.edited for name, r in found.items() if r.edited is not None}
        deleted = deletion_time(
            source,
            history.deleted if history is not None else None,
            history is not None and not history.shallow,
            max(times.values(), default=None),
            max((moment for name, moment in times.items() if name in dirty), default=None),
        )
        return deleted.astimezone(self.zone) if deleted is not None else None

    def notice(self, name: str, content: str, mtime_ns: int) -> None:
        """Take the file ``name`` read now: its bytes hash to ``content``."""
        record = notice(self.before.get(name), content, mtime_ns, self.zone)
        if record != self.before.get(name):
            self.changed[name] = record
        self.records[name] = record

    def dated(
        self, summaries: Sequence[Summary], source: str, history: History | None
    ) -> list[Summary]:
        """Return ``summaries`` with their edit times by ``source`` (Settings.updated_from),
        in the site's zone (a commit's own UTC offset is the committer's, not the site's).

        Only the files git or a record says were edited are looked at: the others
        keep no edit time, at no cost per article.
        """
        edited_names = {name for name, record in self.records.items() if record.edited}
        if history is not None:
            edited_names |= {name for name, dates in history.files.items() if dates.edited}
        result = list(summaries)
        if source == "none" or not edited_names:
            return result
        for index, summary in enumerate(result):
            if summary.source not in edited_names:
                continue
            edited = _edit_time(summary, source, history, self.records.get(summary.source))
            edited = edited.astimezone(self.zone) if edited is not None else None
            if edited != summary.edited:
                result[index] = dataclasses.replace(summary, edited=edited)
        return result


def _edit_time(
    summary: Summary, source: str, history: History | None, record: EditRecord | None
) -> datetime | None:
    name = summary.source
    dated = history.dates(name) if history is not None else None
    committed = history.files.get(name) if history is not None else None
    return edit_time(
        source,
        summary.published,
        committed.edited if committed is not None else None,
        dated is not None,
        record.edited if record is not None else None,
    )


def load_git_history(
    settings: Settings, previous: History | None, cache: ParseCache | None = None
) -> tuple[History | None, list[tuple[str, str]]]:
    """Return what git says of the articles folder (None: not in git, or not asked for),
    and the warnings to report as ``(path, reason)``: a shallow clone, a broken repository.

    Without ``previous`` (the history of the load before, in memory) the one ``cache``
    stored is moved on; ``cache`` stores the result when its commit is another.
    git is not run when ``updated_from`` is "mtime" or "none".
    """
    if settings.updated_from not in ("auto", "git"):
        return None, []
    folder = str(settings.articles)
    if previous is None and cache is not None:
        previous = cache.history()
    try:
        history = load_history(settings.articles, previous)
    except HistoryError as exc:
        reason = str(exc).removeprefix(f"{folder}: ")
        return None, [(folder, f"{reason}; edits are dated by their files' changes instead")]
    if cache is not None and history is not None and _other_commit(history, previous):
        cache.update_history(history)
    if history is None or history.warning is None:
        return history, []
    return history, [(folder, history.warning.removeprefix(f"{folder}: warning: "))]


def _other_commit(history: History, stored: History | None) -> bool:
    """Tell whether ``history`` is at another commit (or of another folder) than ``stored``."""
    if stored is None:
        return True
    return (history.head, history.folder, history.shallow) != (
        stored.head,
        stored.folder,
        stored.shallow,
    )

"""Edit times for the articles of a load: git's history and the edits noticed in files.

The shell half of dating.py (whose rules it applies): runs git through history.py and
keeps the noticed-edit records that the cache folder stores between runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime

from feedsvc.articles import Summary
from feedsvc.cache import ParseCache
from feedsvc.config import Settings
from feedsvc.dating import EditRecord, edit_time, notice
from feedsvc.errors import HistoryError
from feedsvc.history import History, load_history


class EditLedger:
    """The noticed-edit records of one load: those kept before, and the files read now."""

    def __init__(self, records: Mapping[str, EditRecord], settings: Settings) -> None:
        self.before = records
        self.records = dict(records)
        self.changed: dict[str, EditRecord] = {}  # the records the cache learns
        self.zone = settings.zone

    def notice(self, name: str, content: str, mtime_ns: int) -> None:
        """Take the file ``name`` read now: its bytes hash to ``content``."""
        record = notice(self.before.get(name), content, mtime_ns, self.zone)
        if record != self.before.get(name):
            self.changed[name] = record
        self.records[name] = record

    def dated(
        self, summaries: Sequence[Summary], source: str, history: History | None
    ) -> list[Summary]:
        """Return ``summaries`` with their edit times by ``source`` (Settings.updated_from).

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

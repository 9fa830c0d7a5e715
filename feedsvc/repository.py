"""Find, read and parse the article files of a folder into a Corpus. Never writes to it."""

from __future__ import annotations

import dataclasses
import operator
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from feedsvc.articles import (
    Article,
    Summary,
    clean_text,
    looks_binary,
    needs_cleaning_utf8,
    parse_article,
)
from feedsvc.cache import Entry, ParseCache
from feedsvc.config import Settings
from feedsvc.dating import EditRecord, content_hash
from feedsvc.edits import EditLedger, load_git_history
from feedsvc.errors import ArticleError, ArticlesDirError
from feedsvc.filesystem import FileKey as FileKey
from feedsvc.filesystem import file_key as file_key
from feedsvc.filesystem import key_fields
from feedsvc.history import History
from feedsvc.listing import _folder_keys_aside
from feedsvc.listing import folder_keys as folder_keys
from feedsvc.listing import has_article_files as has_article_files
from feedsvc.listing import is_candidate as is_candidate
from feedsvc.listing import list_article_files as list_article_files
from feedsvc.listing import list_article_names as list_article_names
from feedsvc.reading import read_article_bytes as read_article_bytes


@dataclass(frozen=True, slots=True)
class Problem:
    """A file that was skipped (``skipped``) or published with a change (a warning)."""

    path: str
    reason: str
    skipped: bool = True

    def __str__(self) -> str:
        return (
            f"{self.path}: {self.reason}"
            if self.skipped
            else f"{self.path}: warning: {self.reason}"
        )


class Parsed(NamedTuple):  # a tuple: one per file, made again for each file per load
    """What one file gave when it was read, and its key then (None: not to be reused)."""

    key: FileKey | None
    article: Summary | None
    problems: tuple[Problem, ...]


# What reading one file gave (``read_parsed``): its result, the article with its text
# (None: a problem, or kept elsewhere) and the hash of its bytes (``dating.content_hash``).
Fresh = tuple[Parsed, Article | None, str | None]
# Reads the files named, with their keys, below the resolved folder given (``read_parsed``
# of each, perhaps in other processes; see parallel.py); returns what each gave, by name.
# A key None is taken by the reader just before it reads the file (``file_key``).
Reader = Callable[[Path, Sequence[tuple[str, FileKey | None]]], Mapping[str, Fresh]]


@dataclass(frozen=True, slots=True)
class Corpus:
    """The articles of a folder, newest first, and the problems met reading it.

    ``articles`` hold no paragraphs; ``full`` returns an article with them, from
    ``bodies`` (the articles read in full by this load, when kept) or from its file.
    """

    articles: tuple[Summary, ...]
    problems: tuple[Problem, ...]
    parsed: Mapping[str, Parsed] = field(default_factory=dict)  # by file name
    settings: Settings = field(default_factory=Settings)
    bodies: Mapping[str, Article] = field(default_factory=dict)  # by id
    edits: Mapping[str, EditRecord] = field(default_factory=dict)  # by file name
    history: History | None = None  # what git said, for the next load
    deleted: datetime | None = None  # the newest deletion of an article (dating.py)

    def full(self, summary: Summary) -> Article:
        """Return the article of ``summary`` with its paragraphs.

        Read again from its file when not kept. A file that changed since it was
        listed gives its new text (the next check sees the change and renders again);
        one that can no longer be read gives its file name as title and no text.
        """
        article = summary if isinstance(summary, Article) else self.bodies.get(summary.id)
        if article is None:
            path = os.path.join(self.settings.articles, summary.source)  # no Path: see read_article
            try:
                article, _ = load_article(path, self.settings.articles.resolve(), self.settings)
            except ArticleError:
                article = Article(
                    summary.id,
                    summary.source,
                    summary.published,
                    digest=summary.digest,
                    number=summary.number,
                    title=summary.source,
                )
        if (
            article.published != summary.published
            or article.id != summary.id
            or article.edited != summary.edited
        ):
            # Dates of ties are spread and edits dated by the load; the id is the file name's.
            article = dataclasses.replace(
                article, published=summary.published, id=summary.id, edited=summary.edited
            )
        return article

    def full_articles(self, summaries: Iterable[Summary]) -> list[Article]:
        return [self.full(summary) for summary in summaries]


def decode_article(path: Path | str, data: bytes) -> tuple[str, list[Problem]]:
    """Decode UTF-8 bytes and remove what XML cannot carry.

    Returns the text and the warnings. Raises ArticleError for binary or non-UTF-8 files:
    guessing another encoding would publish mojibake, so the file is refused instead.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if b"\x00" in data[:8192]:
            raise ArticleError(path, "binary file, not text") from None
        raise ArticleError(
            path,
            f"not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}; save as UTF-8",
        ) from None
    if not needs_cleaning_utf8(data):  # most files: one fast scan, nothing to remove
        return text, []
    if looks_binary(text):
        raise ArticleError(path, "binary file, not text")
    text, removed = clean_text(text)
    warnings = []
    if removed:
        warnings.append(
            Problem(str(path), f"removed {removed} control character(s) XML 1.0 forbids", False)
        )
    return text, warnings


def load_article(path: Path | str, root: Path, settings: Settings) -> tuple[Article, list[Problem]]:
    """Read, decode and parse one file. Return the Article and warnings; raise ArticleError."""
    article, warnings, _ = read_article(path, root, settings)
    return article, warnings


def read_article(
    path: Path | str, root: Path, settings: Settings
) -> tuple[Article, list[Problem], str]:
    """``load_article``, and the hash of the file's bytes (``dating.content_hash``).

    ``path`` may be a string: a load reads 100,000 files, and a Path of each interns its
    name for the life of the process."""
    data = read_article_bytes(path, root, settings.max_file_bytes)
    text, warnings = decode_article(path, data)
    try:
        article = parse_article(os.path.basename(path), text, settings.zone, settings.chrome_lines)
    except ArticleError as exc:
        raise ArticleError(path, exc.reason) from None
    return article, warnings, content_hash(data)


def _distinct_times(articles: list[Summary]) -> Iterator[Summary]:
    """Yield articles oldest first, moving exact ties one second apart, in (number, id) order."""
    previous = None
    for article in sorted(articles, key=_CHRONOLOGICAL):
        if previous is not None and article.published <= previous:
            article = dataclasses.replace(article, published=previous + timedelta(seconds=1))
        previous = article.published
        yield article


_CHRONOLOGICAL = operator.attrgetter("published", "number", "id")


def _from_cache(prefix: str, name: str, entry: Entry) -> Parsed:
    if not entry.problems:
        return Parsed(entry.key, entry.summary, ())
    path = prefix + name
    problems = tuple(Problem(path, reason, skipped) for reason, skipped in entry.problems)
    return Parsed(entry.key, entry.summary, problems)


def _to_cache(parsed: Parsed) -> Entry | None:
    if parsed.key is None:
        return None
    return Entry(parsed.key, parsed.article, tuple((p.reason, p.skipped) for p in parsed.problems))


def load_corpus(
    settings: Settings,
    previous: Corpus | None = None,
    cache: ParseCache | None = None,
    keep_bodies: bool = True,
    keys: Mapping[str, FileKey | None] | None = None,
    progress: Callable[[int], None] | None = None,
    reader: Reader | None = None,
) -> Corpus:
    """Read every article of ``settings.articles``.

    Returns a Corpus: the articles newest first (ties by file number, then id) and
    one Problem per file skipped or changed. A file whose size, times and inode are
    those it had when ``previous`` (a corpus loaded with the same settings) or the
    parse ``cache`` saw it is not read again; ``cache`` learns what was read.
    ``keep_bodies`` keeps the articles read in full (a build renders them all next).
    ``keys``, the candidate file names and their keys when the caller just listed the
    folder (``folder_keys``), saves listing it again. Raises ArticlesDirError when the
    folder itself cannot be read. One bad file never stops the others. ``reader`` reads
    the files that must be read (all at once, before any is taken); the articles it keeps
    are not in the corpus' ``bodies``. Its results are taken in the same order as those
    read here, so the corpus is the same; with nothing to reuse (no ``previous``, no rows
    in ``cache``) the folder is listed without a stat, and the reader takes each key.
    ``progress`` is called with 1 after each file.
    """
    root = _resolved(settings)
    known: Mapping[str, Parsed] = previous.parsed if previous is not None else {}
    if keys is None and reader is not None and not known and (cache is None or not cache.count()):
        # Nothing to reuse: the reader takes each file's key as it reads, on its cores.
        keys = dict.fromkeys(list_article_names(settings.articles))
    listed = None
    if keys is None and cache is not None and cache.enabled and not known:
        listed = _folder_keys_aside(settings.articles)  # stats while the rows load
    stored = cache.entries() if cache is not None and not known else {}
    listing: Mapping[str, FileKey | None]
    if keys is not None:
        listing = keys
    else:
        listing = listed() if listed is not None else folder_keys(settings.articles)
    records = previous.edits if previous is not None else (cache.edit_records() if cache else {})
    loading = _Loading(settings, root, known, stored, keep_bodies, EditLedger(records, settings))
    names = list(listing) if keys is None else sorted(listing)  # folder_keys sorts
    fresh: Mapping[str, Fresh] = {}
    if reader is not None:
        fresh = reader(root, [(n, listing[n]) for n in names if loading.stale(n, listing[n])])
    for name in names:
        loading.add(name, listing[name], fresh.get(name))
        if progress is not None:
            progress(1)
    history, warnings = load_git_history(settings, previous.history if previous else None, cache)
    problems = [Problem(path, reason, skipped=False) for path, reason in warnings]
    corpus = loading.corpus(history, problems)
    if cache is not None:
        cache.update(loading.changed, (stored.keys() | known.keys()) - loading.parsed.keys())
        cache.update_edits(loading.edits.changed)
    return corpus


def _resolved(settings: Settings) -> Path:
    try:
        return settings.articles.resolve()
    except (OSError, RuntimeError):  # a loop of links: RuntimeError before Python 3.13
        raise ArticlesDirError(f"{settings.articles}: a loop of symbolic links") from None


class _Loading:
    """The corpus being loaded: each file's result, from memory, the cache or the file."""

    def __init__(
        self,
        settings: Settings,
        root: Path,
        known: Mapping[str, Parsed],
        stored: Mapping[str, Entry],
        keep_bodies: bool,
        edits: EditLedger,
    ) -> None:
        self.settings = settings
        self.root = root
        self.known = known
        self.stored = stored
        self.keep_bodies = keep_bodies
        self.prefix = os.path.join(settings.articles, "")
        self.problems: list[Problem] = []
        self.by_id: dict[str, Summary] = {}
        self.parsed: dict[str, Parsed] = {}
        self.bodies: dict[str, Article] = {}
        self.changed: dict[str, Entry] = {}  # the rows the cache learns
        self.edits = edits

    def reusable(self, name: str, key: FileKey | None) -> Parsed | None:
        """Return what the file ``name`` gave before (in memory or the cache) while its
        key is still ``key``; None when it must be read."""
        result = self.known.get(name) if self.known else None
        if result is None:
            entry = self.stored.get(name)
            if entry is not None:
                result = _from_cache(self.prefix, name, entry)
        if result is None or key is None or result.key != key:
            return None
        return result

    def stale(self, name: str, key: FileKey | None) -> bool:
        """Whether the file ``name`` must be read (``reusable`` has nothing)."""
        return self.reusable(name, key) is None

    def add(self, name: str, key: FileKey | None, fresh: Fresh | None = None) -> None:
        """Take the file ``name`` whose key, taken before reading, is ``key``; ``fresh``
        is what reading it gave, when it was read elsewhere.

        A change during the read shows at the next load.
        """
        result = self.reusable(name, key)
        article = None
        if result is None:
            if fresh is None:
                fresh = read_parsed(self.prefix + name, self.root, self.settings, key)
            result, article, content = fresh
            entry = _to_cache(result)
            if entry is not None:
                self.changed[name] = entry
            key = key if key is not None else result.key  # taken by the reader (see Reader)
            if content is not None and key is not None:
                self.edits.notice(name, content, key_fields(key)[1])
        self.parsed[name] = result
        if result.problems:
            self.problems.extend(result.problems)
        summary = result.article
        if summary is None:
            return
        first = self.by_id.get(summary.id)
        if first is not None:
            reason = f"duplicate id {summary.id}, already used by {first.source}; skipped"
            self.problems.append(Problem(self.prefix + name, reason))
            return
        self.by_id[summary.id] = summary
        if article is not None and self.keep_bodies:
            self.bodies[summary.id] = article

    def corpus(self, history: History | None, problems: list[Problem]) -> Corpus:
        """Return the corpus of the files added; the files with a record of noticed edits
        that were not are recorded as deleted."""
        chronological = list(_distinct_times(list(self.by_id.values())))
        source = self.settings.updated_from
        self.edits.forget(self.parsed.keys(), self.settings.articles)
        dated = self.edits.dated(chronological, source, history)
        newest_first = tuple(reversed(dated))
        kept = {a.id: self.bodies[a.id] for a in newest_first if a.id in self.bodies}
        return Corpus(
            newest_first,
            (*problems, *self.problems),
            self.parsed,
            self.settings,
            kept,
            self.edits.records,
            history,
            self.edits.deleted(source, history),
        )


def read_parsed(path: Path | str, root: Path, settings: Settings, key: FileKey | None) -> Fresh:
    """Read one file as a load does: a bad file gives its problem, never an exception."""
    try:
        article, warnings, content = read_article(path, root, settings)
    except ArticleError as exc:
        return Parsed(key, None, (Problem(exc.path, exc.reason),)), None, None
    return Parsed(key, article.summary(), tuple(warnings)), article, content

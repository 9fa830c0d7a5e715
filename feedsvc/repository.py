"""Find, read and parse the article files of a folder into a Corpus. Never writes to it."""

from __future__ import annotations

import dataclasses
import errno
import marshal
import operator
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple, cast

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
from feedsvc.errors import ArticleError, ArticlesDirError

_READ_ATTEMPTS = 3


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


# Size, mtime, ctime (chmod, rename) and inode of a file, links followed: a file whose key
# is unchanged since it was read is not read again.
FileKey = tuple[int, int, int, int]


class Parsed(NamedTuple):  # a tuple: one per file, made again for each file per load
    """What one file gave when it was read, and its key then (None: not to be reused)."""

    key: FileKey | None
    article: Summary | None
    problems: tuple[Problem, ...]


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

    def full(self, summary: Summary) -> Article:
        """Return the article of ``summary`` with its paragraphs.

        Read again from its file when not kept. A file that changed since it was
        listed gives its new text (the next check sees the change and renders again);
        one that can no longer be read gives its file name as title and no text.
        """
        article = summary if isinstance(summary, Article) else self.bodies.get(summary.id)
        if article is None:
            path = self.settings.articles / summary.source
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
        if article.published != summary.published or article.id != summary.id:
            # Dates of ties are spread by the load; the id is the file name's.
            article = dataclasses.replace(article, published=summary.published, id=summary.id)
        return article

    def full_articles(self, summaries: Iterable[Summary]) -> list[Article]:
        return [self.full(summary) for summary in summaries]


def is_candidate(name: str) -> bool:
    # Hidden files, editor back-ups and lock files (.x.txt.swp, x.txt~, ~$x.txt) are not articles.
    return name.endswith(".txt") and not name.startswith((".", "~", "#"))


def list_article_files(folder: Path) -> list[Path]:
    """Return the candidate article files of ``folder``, sorted by name.

    Raises ArticlesDirError when the folder is missing, not a folder or unreadable.
    """
    return [folder / name for name in list_article_names(folder)]


def has_article_files(folder: Path) -> bool:
    """Tell whether ``folder`` has a candidate article file, without listing them all.

    Raises ArticlesDirError like ``list_article_names``.
    """
    try:
        with os.scandir(folder) as entries:
            return any(is_candidate(entry.name) for entry in entries)
    except OSError:
        return bool(list_article_names(folder))  # raises the error that says why


def list_article_names(folder: Path) -> list[str]:
    """Return the names of the candidate article files of ``folder``, sorted.

    Raises ArticlesDirError when the folder is missing, not a folder or unreadable.
    """
    try:
        with os.scandir(folder) as entries:
            names = sorted(entry.name for entry in entries if is_candidate(entry.name))
    except FileNotFoundError:
        raise ArticlesDirError(f"{folder}: articles folder not found") from None
    except NotADirectoryError:
        raise ArticlesDirError(f"{folder}: not a folder") from None
    except PermissionError:
        raise ArticlesDirError(
            f"{folder}: articles folder cannot be read (permission denied)"
        ) from None
    except OSError as exc:
        raise ArticlesDirError(
            f"{folder}: cannot list the articles folder: {exc.strerror}"
        ) from None
    return names


# O_NONBLOCK: opening a FIFO named *.txt must not hang. O_NOFOLLOW: a link is never
# followed unchecked, not even one swapped in after the check (ELOOP, reported).
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW
_READ_CHUNK = 65_536  # bytes asked for at a time past the size fstat gave


def read_article_bytes(path: Path, root: Path, limit: int) -> bytes:
    """Read one article file of at most ``limit`` bytes without following links out of ``root``.

    Raises ArticleError with the reason: a link leading outside the folder, not a
    regular file, too large, unreadable, gone, or changing while it was read.
    """
    fd, target = _open_article(path, root)
    for attempt in range(_READ_ATTEMPTS):
        if attempt:
            try:
                fd = os.open(target, _OPEN_FLAGS)
            except OSError as exc:
                raise _open_error(path, exc) from None
        try:
            data = _read_unchanged(path, fd, limit)
        finally:
            os.close(fd)
        if data is not None:
            return data
    raise ArticleError(
        path, "file kept changing while being read; it is read again at the next check"
    )


def _open_article(path: Path, root: Path) -> tuple[int, Path]:
    """Open ``path``, or the file inside ``root`` the link ``path`` leads to.

    Returns the descriptor and the path opened. Opening the name first, links not
    followed, spares nearly every file the lstat of a link check; a link fails (ELOOP).
    """
    try:
        return os.open(path, _OPEN_FLAGS), path
    except OSError as exc:
        if exc.errno != errno.ELOOP or not path.is_symlink():
            raise _open_error(path, exc) from None
    try:
        target = path.resolve()  # resolving every plain file would cost a stat per folder level
    except (OSError, RuntimeError):  # a loop of links: RuntimeError before Python 3.13
        raise ArticleError(path, "link loops back to itself; not followed") from None
    if not target.is_relative_to(root):
        raise ArticleError(path, "link points outside the articles folder; not followed")
    try:
        return os.open(target, _OPEN_FLAGS), target
    except OSError as exc:
        raise _open_error(path, exc) from None


def _open_error(path: Path, exc: OSError) -> ArticleError:
    if isinstance(exc, FileNotFoundError):
        return ArticleError(path, "file disappeared while being read")
    if isinstance(exc, PermissionError):
        return ArticleError(path, "cannot read file (permission denied)")
    reason = "link changed while being read" if exc.errno == errno.ELOOP else exc.strerror
    return ArticleError(path, f"cannot open file: {reason}")


def _read_unchanged(path: Path, fd: int, limit: int) -> bytes | None:
    """Return the contents of the open file ``fd``, or None when it changed as it was read."""
    before = os.fstat(fd)
    if not stat.S_ISREG(before.st_mode):
        raise ArticleError(path, "not a regular file")
    if before.st_size > limit:
        raise ArticleError(
            path, f"file is {before.st_size} bytes, over the limit of {limit} (max_file_bytes)"
        )
    try:
        # Up to the end or limit + 1 bytes, as BufferedReader.read(limit + 1) reads, but
        # asking for the size first: a buffer of the limit (4 MiB by default) for each
        # file took longer than opening, reading and closing it.
        data = os.read(fd, before.st_size + 1)
        if data and len(data) <= limit:
            chunks = [data]
            size = len(data)
            while size <= limit and (chunk := os.read(fd, min(limit + 1 - size, _READ_CHUNK))):
                chunks.append(chunk)
                size += len(chunk)
            data = b"".join(chunks)
    except OSError as exc:
        raise ArticleError(path, f"cannot read file: {exc.strerror}") from None
    after = os.fstat(fd)
    if len(data) > limit:
        raise ArticleError(path, f"file grew over the limit of {limit} bytes (max_file_bytes)")
    unchanged = (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns)
    return data if unchanged and len(data) == after.st_size else None


def decode_article(path: Path, data: bytes) -> tuple[str, list[Problem]]:
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


def load_article(path: Path, root: Path, settings: Settings) -> tuple[Article, list[Problem]]:
    """Read, decode and parse one file. Return the Article and warnings; raise ArticleError."""
    text, warnings = decode_article(path, read_article_bytes(path, root, settings.max_file_bytes))
    try:
        article = parse_article(path.name, text, settings.zone, settings.chrome_lines)
    except ArticleError as exc:
        raise ArticleError(path, exc.reason) from None
    return article, warnings


def _distinct_times(articles: list[Summary]) -> Iterator[Summary]:
    """Yield articles oldest first, moving exact ties one second apart, in (number, id) order."""
    previous = None
    for article in sorted(articles, key=_CHRONOLOGICAL):
        if previous is not None and article.published <= previous:
            article = dataclasses.replace(article, published=previous + timedelta(seconds=1))
        previous = article.published
        yield article


_CHRONOLOGICAL = operator.attrgetter("published", "number", "id")


def file_key(path: str | Path) -> FileKey | None:
    """Return the key of ``path`` (links followed); None when it cannot be looked at now."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


def folder_keys(folder: Path) -> dict[str, FileKey | None]:
    """Return the candidate article files of ``folder`` and their keys, by name.

    Cheap (one stat per file), and different after any edit, addition, removal,
    rename or chmod. Raises ArticlesDirError like ``list_article_files``.
    """
    prefix = os.path.join(folder, "")
    return {name: file_key(prefix + name) for name in list_article_names(folder)}


def _folder_keys_aside(folder: Path) -> Callable[[], dict[str, FileKey | None]]:
    """Start ``folder_keys(folder)`` on another core; return the function that waits for it.

    A child process lists and stats the files while this one loads the cache rows: one
    stat per file is a quarter of a build after one edit of 100,000 articles. A thread
    does not help (both would hold the GIL most of the time). Only a single-threaded
    process forks (a child of a threaded one may find a lock held forever); elsewhere,
    and when the child fails, the listing happens here, when waited for.
    """
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return lambda: folder_keys(folder)
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: list, send, and leave without running any of the parent's exits
        status = 1
        try:
            os.close(reader)
            try:
                answer = marshal.dumps((True, folder_keys(folder)))
            except ArticlesDirError as exc:
                answer = marshal.dumps((False, str(exc)))
            with open(writer, "wb") as pipe:
                pipe.write(answer)
            status = 0
        finally:
            os._exit(status)
    os.close(writer)

    def wait() -> dict[str, FileKey | None]:
        with open(reader, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        if status != 0:
            return folder_keys(folder)
        ok, value = marshal.loads(data)
        if not ok:
            raise ArticlesDirError(value)
        return cast(dict[str, FileKey | None], value)

    return wait


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
) -> Corpus:
    """Read every article of ``settings.articles``.

    Returns a Corpus: the articles newest first (ties by file number, then id) and
    one Problem per file skipped or changed. A file whose size, times and inode are
    those it had when ``previous`` (a corpus loaded with the same settings) or the
    parse ``cache`` saw it is not read again; ``cache`` learns what was read.
    ``keep_bodies`` keeps the articles read in full (a build renders them all next).
    ``keys``, the candidate file names and their keys when the caller just listed the
    folder (``folder_keys``), saves listing it again. Raises ArticlesDirError when the
    folder itself cannot be read. One bad file never stops the others.
    """
    try:
        root = settings.articles.resolve()
    except (OSError, RuntimeError):  # a loop of links: RuntimeError before Python 3.13
        raise ArticlesDirError(f"{settings.articles}: a loop of symbolic links") from None
    problems: list[Problem] = []
    by_id: dict[str, Summary] = {}
    parsed: dict[str, Parsed] = {}
    bodies: dict[str, Article] = {}
    known: Mapping[str, Parsed] = previous.parsed if previous is not None else {}
    listed = None
    if keys is None and cache is not None and cache.enabled and not known:
        listed = _folder_keys_aside(settings.articles)  # stats while the rows load
    stored = cache.entries() if cache is not None and not known else {}
    listing: Mapping[str, FileKey | None]
    if keys is not None:
        listing = keys
    else:
        listing = listed() if listed is not None else folder_keys(settings.articles)
    changed: dict[str, Entry] = {}
    prefix = os.path.join(settings.articles, "")
    for name in listing if keys is None else sorted(listing):  # folder_keys sorts
        key = listing[name]  # taken before reading: a change during the read shows next time
        result = known.get(name) if known else None
        if result is None:
            entry = stored.get(name)
            if entry is not None:
                result = _from_cache(prefix, name, entry)
        article = None
        if result is None or key is None or result.key != key:
            result, article = _read(settings.articles / name, root, settings, key)
            entry = _to_cache(result)
            if entry is not None:
                changed[name] = entry
        parsed[name] = result
        if result.problems:
            problems.extend(result.problems)
        summary = result.article
        if summary is None:
            continue
        first = by_id.get(summary.id)
        if first is not None:
            reason = f"duplicate id {summary.id}, already used by {first.source}; skipped"
            problems.append(Problem(prefix + name, reason))
            continue
        by_id[summary.id] = summary
        if article is not None and keep_bodies:
            bodies[summary.id] = article
    if cache is not None:
        cache.update(changed, (stored.keys() | known.keys()) - parsed.keys())
    newest_first = tuple(reversed(list(_distinct_times(list(by_id.values())))))
    kept = {a.id: bodies[a.id] for a in newest_first if a.id in bodies}
    return Corpus(newest_first, tuple(problems), parsed, settings, kept)


def _read(
    path: Path, root: Path, settings: Settings, key: FileKey | None
) -> tuple[Parsed, Article | None]:
    try:
        article, warnings = load_article(path, root, settings)
    except ArticleError as exc:
        return Parsed(key, None, (Problem(exc.path, exc.reason),)), None
    return Parsed(key, article.summary(), tuple(warnings)), article

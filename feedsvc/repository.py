"""Find, read and parse the article files of a folder into a Corpus. Never writes to it."""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from feedsvc.articles import Article, clean_text, looks_binary, parse_article, parse_file_name
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


@dataclass(frozen=True, slots=True)
class Parsed:
    """What one file gave when it was read, and its key then (None: not to be reused)."""

    key: FileKey | None
    article: Article | None
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class Corpus:
    """The articles of a folder, newest first, and the problems met reading it."""

    articles: tuple[Article, ...]
    problems: tuple[Problem, ...]
    parsed: Mapping[str, Parsed] = field(default_factory=dict)  # by file name


def _is_candidate(name: str) -> bool:
    # Hidden files, editor back-ups and lock files (.x.txt.swp, x.txt~, ~$x.txt) are not articles.
    return name.endswith(".txt") and not name.startswith((".", "~", "#"))


def list_article_files(folder: Path) -> list[Path]:
    """Return the candidate article files of ``folder``, sorted by name.

    Raises ArticlesDirError when the folder is missing, not a folder or unreadable.
    """
    try:
        with os.scandir(folder) as entries:
            names = sorted(entry.name for entry in entries if _is_candidate(entry.name))
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
    return [folder / name for name in names]


def _outside(path: Path, root: Path) -> bool:
    return not path.resolve().is_relative_to(root)


def read_article_bytes(path: Path, root: Path, limit: int) -> bytes:
    """Read one article file of at most ``limit`` bytes without following links out of ``root``.

    Raises ArticleError with the reason: a link leading outside the folder, not a
    regular file, too large, unreadable, gone, or changing while it was read.
    """
    target = path
    if path.is_symlink():
        if _outside(path, root):
            raise ArticleError(path, "link points outside the articles folder; not followed")
        target = path.resolve()  # resolving every plain file would cost a stat per folder level
    for _ in range(_READ_ATTEMPTS):
        try:
            # O_NONBLOCK: opening a FIFO named *.txt must not hang; O_NOFOLLOW: a link
            # swapped in after the check above is not followed (ELOOP, reported below).
            fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise ArticleError(path, "file disappeared while being read") from None
        except PermissionError:
            raise ArticleError(path, "cannot read file (permission denied)") from None
        except OSError as exc:
            reason = "link changed while being read" if exc.errno == errno.ELOOP else exc.strerror
            raise ArticleError(path, f"cannot open file: {reason}") from None
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            # Checked before fdopen, which refuses a folder (IsADirectoryError) and then
            # leaves the descriptor open.
            os.close(fd)
            raise ArticleError(path, "not a regular file")
        with os.fdopen(fd, "rb") as handle:
            if before.st_size > limit:
                raise ArticleError(
                    path,
                    f"file is {before.st_size} bytes, over the limit of {limit} (max_file_bytes)",
                )
            try:
                data = handle.read(limit + 1)
            except OSError as exc:
                raise ArticleError(path, f"cannot read file: {exc.strerror}") from None
            after = os.fstat(fd)
        if len(data) > limit:
            raise ArticleError(path, f"file grew over the limit of {limit} bytes (max_file_bytes)")
        unchanged = (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns)
        if unchanged and len(data) == after.st_size:
            return data
    raise ArticleError(
        path, "file kept changing while being read; it is read again at the next check"
    )


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


def _distinct_times(articles: list[Article]) -> Iterator[Article]:
    """Yield articles oldest first, moving exact ties one second apart, in (number, id) order."""
    previous = None
    for article in sorted(articles, key=_chronological):
        if previous is not None and article.published <= previous:
            article = dataclasses.replace(article, published=previous + timedelta(seconds=1))
        previous = article.published
        yield article


def _chronological(article: Article) -> tuple[object, ...]:
    return (article.published, parse_file_name(article.source).number, article.id)


def file_key(path: Path) -> FileKey | None:
    """Return the key of ``path`` (links followed); None when it cannot be looked at now."""
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


def parse_file(path: Path, root: Path, settings: Settings, previous: Corpus | None) -> Parsed:
    """Return what ``path`` gives: from ``previous`` when its key has not changed, else read."""
    key = file_key(path)  # before reading: a change during the read shows next time
    known = previous.parsed.get(path.name) if previous is not None else None
    if known is not None and key is not None and known.key == key:
        return known
    try:
        article, warnings = load_article(path, root, settings)
    except ArticleError as exc:
        return Parsed(key, None, (Problem(exc.path, exc.reason),))
    return Parsed(key, article, tuple(warnings))


def load_corpus(settings: Settings, previous: Corpus | None = None) -> Corpus:
    """Read every article of ``settings.articles``.

    Returns a Corpus: the articles newest first (ties by file number, then id) and
    one Problem per file skipped or changed. ``previous``, a corpus loaded with the same
    settings, lends what files with unchanged size, times and inode gave, so a rebuild
    reads only what changed. Raises ArticlesDirError when the folder itself cannot be
    read. One bad file never stops the others.
    """
    root = settings.articles.resolve()
    problems: list[Problem] = []
    by_id: dict[str, Article] = {}
    parsed: dict[str, Parsed] = {}
    for path in list_article_files(settings.articles):
        parsed[path.name] = result = parse_file(path, root, settings, previous)
        problems.extend(result.problems)
        article = result.article
        if article is None:
            continue
        first = by_id.get(article.id)
        if first is not None:
            reason = f"duplicate id {article.id}, already used by {first.source}; skipped"
            problems.append(Problem(str(path), reason))
            continue
        by_id[article.id] = article
    newest_first = reversed(list(_distinct_times(list(by_id.values()))))
    return Corpus(tuple(newest_first), tuple(problems), parsed)

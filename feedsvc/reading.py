"""Open and read one article file without ever leaving the articles folder.

A file in the folder is opened by name with links refused (``O_NOFOLLOW``). A link is
then followed by the kernel itself under ``RESOLVE_BENEATH`` (Linux openat2): every
component is resolved below the folder in one step, so swapping a folder inside it for
a link to elsewhere, however often, can never lead the open out. Where openat2 is
missing, the path the link leads to is opened one folder at a time, following no link.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from feedsvc.errors import ArticleError
from feedsvc.filesystem import open_without_links, openat2_beneath

_READ_ATTEMPTS = 3
# O_NONBLOCK: opening a FIFO named *.txt must not hang. O_NOFOLLOW: a link is never
# followed by the plain open, not even one swapped in after the check (ELOOP).
_LINK_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY
_OPEN_FLAGS = _LINK_FLAGS | os.O_NOFOLLOW
_READ_CHUNK = 65_536  # bytes asked for at a time past the size fstat gave
_OUTSIDE = "link points outside the articles folder; not followed"
_LOOP = "link loops back to itself; not followed"
# openat2 unavailable: too old a kernel (ENOSYS), or a sandbox that refuses it (EPERM).
_NO_OPENAT2 = (errno.ENOSYS, errno.EPERM)


def read_article_bytes(path: Path | str, root: Path, limit: int) -> bytes:
    """Read one article file of at most ``limit`` bytes without following links out of ``root``.

    ``path`` names a file directly in the folder ``root`` (a resolved path; a string
    saves the cost of a Path where a caller reads 100,000 files). Raises
    ArticleError with the reason: a link leading outside the folder, not a regular file,
    too large, unreadable, gone, or changing while it was read.
    """
    for _ in range(_READ_ATTEMPTS):
        fd = open_article(path, root)
        try:
            data = _read_unchanged(path, fd, limit)
        finally:
            os.close(fd)
        if data is not None:
            return data
    raise ArticleError(
        path, "file kept changing while being read; it is read again at the next check"
    )


def open_article(path: Path | str, root: Path) -> int:
    """Open ``path``, or the file inside ``root`` the link ``path`` leads to; return the fd.

    Opening the name first, links not followed, spares nearly every file the work of
    following a link; a link fails (ELOOP) and is followed beneath ``root``.
    Raises ArticleError.
    """
    try:
        return os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise _open_error(path, exc) from None
    try:
        folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise _open_error(path, exc) from None
    try:
        return _open_link(Path(path), root, folder)
    finally:
        os.close(folder)


def _open_link(path: Path, root: Path, folder: int) -> int:
    """Open the link ``path`` below the folder descriptor ``folder`` (``root``)."""
    relative = path.name
    for _ in range(_READ_ATTEMPTS):
        try:
            return openat2_beneath(folder, relative, _LINK_FLAGS)
        except OSError as exc:
            if exc.errno in _NO_OPENAT2:
                return _open_checked(path, root, folder)
            if exc.errno == errno.EAGAIN:  # a rename raced the lookup: look again
                continue
            if exc.errno == errno.ELOOP:
                raise ArticleError(path, _LOOP) from None
            if exc.errno != errno.EXDEV:
                raise _open_error(path, exc) from None
            # An absolute link (always EXDEV) may still lead inside: try its place there.
            inside = _resolved_inside(path, root)
            if inside == relative:
                raise ArticleError(path, _OUTSIDE) from None
            relative = inside
    raise ArticleError(path, "link changed while being read; it is read again at the next check")


def _resolved_inside(path: Path, root: Path) -> str:
    """Return where the link ``path`` leads now, relative to ``root``; ArticleError outside."""
    try:
        target = path.resolve()
    except (OSError, RuntimeError):  # a loop of links: RuntimeError before Python 3.13
        raise ArticleError(path, _LOOP) from None
    if not target.is_relative_to(root) or target == root:
        raise ArticleError(path, _OUTSIDE)
    return str(target.relative_to(root))


def _open_checked(path: Path, root: Path, folder: int) -> int:
    """Without openat2: open where the link leads now, below ``folder`` (``root``), through
    no link at all: a folder on the way swapped for a link meanwhile fails."""
    try:
        return open_without_links(folder, _resolved_inside(path, root), _LINK_FLAGS)
    except OSError as exc:
        raise _open_error(path, exc) from None


def _open_error(path: Path | str, exc: OSError) -> ArticleError:
    if isinstance(exc, FileNotFoundError):
        return ArticleError(path, "file disappeared while being read")
    if isinstance(exc, PermissionError):
        return ArticleError(path, "cannot read file (permission denied)")
    reason = "link changed while being read" if exc.errno == errno.ELOOP else exc.strerror
    return ArticleError(path, f"cannot open file: {reason}")


def _read_unchanged(path: Path | str, fd: int, limit: int) -> bytes | None:
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

"""The candidate article files of a folder and their keys (one stat each)."""

from __future__ import annotations

import marshal
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import cast

from feedsvc.errors import ArticlesDirError
from feedsvc.filesystem import FileKey, file_key


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

"""Write a rendered Site as files, replacing the previous output in one atomic step."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from feedsvc.errors import BuildError
from feedsvc.hosting import render_hosting_files
from feedsvc.site import NOT_FOUND_FILE, Site, file_path

MARKER = ".feedsvc-build"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(first: Path, second: Path) -> bool:
    """Swap two folders in one step (Linux renameat2); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _check_target(out: Path) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise BuildError(f"{out}: exists and is not a folder; choose another --out")
    # Replacing a folder deletes what is in it: only ever replace our own output.
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise BuildError(
            f"{out}: folder exists and was not written by feedsvc build; "
            "empty it or choose another --out"
        )


def write_files(site: Site, folder: Path, progress: Callable[[int], None] | None = None) -> int:
    """Write every resource of ``site`` below ``folder``; return the number of files.

    Also writes the web server files of ``hosting`` (``_headers``, ``nginx.conf``) and
    the marker. Raises BuildError when a resource would overwrite one of them.
    """
    count = 0
    items = [(file_path(path), res.body) for path, res in site.resources.items()]
    items.append((NOT_FOUND_FILE, site.not_found.body))
    # Each file's mtime is its resource's Last-Modified: a web server serving the folder
    # then sends the Last-Modified feedsvc serve sends, and an ETag (nginx: mtime and
    # size) that stays the same from build to build and machine to machine.
    stamps = {
        file_path(path): res.last_modified.timestamp() for path, res in site.resources.items()
    }
    stamps[NOT_FOUND_FILE] = site.not_found.last_modified.timestamp()
    hosting = render_hosting_files(site)
    clash = hosting.keys() & {relative for relative, _ in items}
    if clash:
        raise BuildError(f"{', '.join(sorted(clash))}: a page has the name of a web server file")
    items += sorted(hosting.items())
    for relative, body in items:
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        if relative in stamps:
            os.utime(target, (stamps[relative], stamps[relative]))
        count += 1
        if progress is not None:
            progress(1)
    (folder / MARKER).write_bytes(b"")
    return count


def write_site(site: Site, out: Path, progress: Callable[[int], None] | None = None) -> int:
    """Write ``site`` to the folder ``out``, atomically; return the number of files written.

    ``progress`` is called with 1 after each file.
    Files go to a temporary folder beside ``out`` that replaces it only when complete,
    so a failed or killed build leaves the previous output exactly as it was.
    Raises BuildError when ``out`` is not ours to replace or writing fails.
    """
    out = out.absolute()
    _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{out.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a build that was killed
    temporary = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        count = write_files(site, temporary, progress)
        os.chmod(temporary, 0o755)  # mkdtemp makes it 0700; a web server must read it
        if not out.exists():
            os.rename(temporary, out)
        elif _exchange(temporary, out):
            # The new output is live: failing to delete the old one must not fail the
            # build; whatever is left is removed as stale by the next one.
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            previous = temporary.with_name(temporary.name + "-old")
            os.rename(out, previous)
            try:
                os.rename(temporary, out)
            except BaseException:
                # Put the previous output back: the next build would delete it as stale.
                os.rename(previous, out)
                raise
            shutil.rmtree(previous, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(temporary, ignore_errors=True)
        raise BuildError(f"{out}: cannot write the output: {exc}; previous output kept") from None
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return count

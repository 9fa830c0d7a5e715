"""Write a rendered Site as files, replacing the previous output in one atomic step."""

from __future__ import annotations

import ctypes
import errno
import math
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from feedsvc.errors import BuildError, ConfigError
from feedsvc.hosting import render_hosting_files
from feedsvc.manifest import MARKER as MARKER
from feedsvc.manifest import Manifest, manifest_bytes
from feedsvc.manifest import read_manifest as read_manifest
from feedsvc.resources import Resource, Stored, make_etag
from feedsvc.site import Site
from feedsvc.urls import NOT_FOUND_FILE, file_path

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


def check_out_folder(out: Path, articles: Path) -> None:
    """Refuse an output folder inside the articles folder, or one holding it.

    A build replaces its output whole: there it would delete or publish articles.
    Raises ConfigError.
    """
    target, source = out.resolve(), articles.resolve()
    if target.is_relative_to(source):
        raise ConfigError(f"setting out: {str(out)!r} must be outside the articles folder")
    if source.is_relative_to(target):
        raise ConfigError(f"setting out: {str(out)!r} must not contain the articles folder")


def _check_target(out: Path) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise BuildError(f"{out}: exists and is not a folder; choose another --out")
    # Replacing a folder deletes what is in it: only ever replace our own output.
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise BuildError(
            f"{out}: folder exists and was not written by feedsvc build; "
            "empty it or choose another --out"
        )


class FolderStore:
    """A Store writing each body to its file below ``folder`` as it is rendered.

    Each file's mtime is its resource's Last-Modified: a web server serving the folder
    then sends the Last-Modified feedsvc serve sends, and an ETag (nginx: mtime and
    size) that stays the same from build to build and machine to machine.
    Bodies whose signature is in ``previous`` (the manifest of the build in the
    output folder) are there already and not written. ``live``, the output being
    replaced, with its manifest ``published`` (None: none to trust), keeps each file's
    mtime in order (``_in_order``).
    """

    def __init__(
        self,
        folder: Path,
        previous: Manifest | None = None,
        progress: Callable[[int], None] | None = None,
        live: Path | None = None,
        published: Manifest | None = None,
    ) -> None:
        self.folder = folder
        self._root = os.fspath(folder)
        self.previous = previous
        self.live, self.published = live, published  # another process's store: the same ones
        self._live = os.fspath(live) if live is not None and live.is_dir() else None
        self._published = published.etags if published is not None else {}
        self._progress = progress
        self._folders: set[str] = set()
        self.written = 0
        self.order: list[str] = []  # the files written, in order

    def known(self, signature: str, hot: bool) -> Stored | None:
        return self.previous.stored(signature) if self.previous is not None else None

    def put(self, path: str, resource: Resource, hot: bool = False) -> Resource:
        assert resource.body is not None
        relative = file_path(path)
        stamp = self._in_order(path, relative, resource.etag, resource.last_modified.timestamp())
        self.write(relative, resource.body, stamp)
        return resource if hot else resource.without_bodies()

    def _in_order(self, path: str, relative: str, etag: str, stamp: float) -> float:
        """Return the mtime of a file that replaces a published one: the published file's
        while the bytes stay (same ETag), else after it even where the resource's own
        Last-Modified is not (a typo fixed without a new date): a web server that makes
        its ETag and Last-Modified from mtime and size then answers the old ones with 200.
        """
        if self._live is None:
            return stamp
        target = os.path.join(self._live, relative)
        try:
            before = os.stat(target).st_mtime
            published = self._published.get(path, "")
            if len(published) != len(etag):  # no manifest, or a damaged line: ask the file
                with open(target, "rb") as file:
                    published = make_etag(file.read())
        except OSError:
            return stamp
        if published == etag:
            return before
        return stamp if stamp > before else float(math.floor(before) + 1)

    def write(self, relative: str, body: bytes, stamp: float | None = None) -> None:
        # Plain descriptors and string paths: a cold build writes 109,000 files at
        # 100,000 articles, and pathlib and buffered files cost more than the writes.
        if relative.startswith("/") or "/../" in f"/{relative}/":
            raise BuildError(f"{relative}: not a path inside the output folder")
        target = os.path.join(self._root, relative)
        parent = os.path.dirname(target)
        if parent not in self._folders:
            os.makedirs(parent, exist_ok=True)
            self._folders.add(parent)
        write_file(target, body, stamp)
        self.written += 1
        self.order.append(relative)
        if self._progress is not None:
            self._progress(1)

    def read(self, etag: str, gzipped: bool) -> bytes:
        raise OSError(errno.ENOENT, "bodies written by a build are not read back", etag)

    def flush(self) -> None:
        pass


def write_file(path: str, body: bytes, stamp: float | None = None) -> None:
    """Write ``body`` to the file ``path`` (made or emptied first); its mtime is ``stamp``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    try:
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view) :]
        if stamp is not None:
            os.utime(fd, (stamp, stamp))
    finally:
        os.close(fd)


def _finish(site: Site, store: FolderStore, live: Path | None = None) -> None:
    """Write the web server files (those that differ from ``live``'s), then the marker."""
    hosting = render_hosting_files(site)
    clash = [name for name in hosting if _url_paths(name) & site.resources.keys()]
    if clash:
        raise BuildError(f"{', '.join(sorted(clash))}: a page has the name of a web server file")
    for relative, body in sorted(hosting.items()):
        if live is None or not _same(live / relative, body):
            store.write(relative, body)
    store.write(MARKER, manifest_bytes(site))


def _url_paths(relative: str) -> set[str]:
    """Return the URL paths whose file is ``relative`` (see ``urls.file_path``)."""
    paths = {"/" + relative}
    if relative == "index.html" or relative.endswith("/index.html"):
        paths.add("/" + relative.removesuffix("index.html"))
    return paths


def _same(path: Path, body: bytes) -> bool:
    try:
        return path.read_bytes() == body
    except OSError:
        return False


def write_files(site: Site, folder: Path, progress: Callable[[int], None] | None = None) -> int:
    """Write every resource of a rendered ``site`` (bodies in memory) below ``folder``.

    Also writes the web server files of ``hosting`` (``_headers``, ``nginx.conf``) and
    the marker. Returns the number of files. Raises BuildError when a resource would
    overwrite one of the web server files.
    """
    store = FolderStore(folder, progress=progress)
    for path, resource in site.resources.items():
        store.put(path, resource)
    store.put("/" + NOT_FOUND_FILE, site.not_found)
    _finish(site, store)
    return store.written


def _remove_stale(out: Path, before: Manifest, site: Site) -> int:
    """Delete the files of resources the new site no longer has, and their empty folders."""
    removed = 0
    current = site.resources.keys() | {"/" + NOT_FOUND_FILE}
    for path in sorted(set(before.paths) - current):
        if not path.startswith("/") or "/../" in path + "/":
            continue  # no path of ours; a damaged line never deletes outside ``out``
        target = out / file_path(path)
        target.unlink(missing_ok=True)
        removed += 1
        folder = target.parent
        while folder != out:
            try:
                folder.rmdir()
            except OSError:
                break  # not empty (or gone)
            folder = folder.parent
    return removed


def build_site(
    render: Callable[[FolderStore], Site],
    out: Path,
    full: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[Site, int]:
    """Render into the folder ``out`` by ``render(store)``; return the site and files written.

    When ``out`` holds a complete earlier build (its marker has a manifest) and not
    ``full``, only the files whose signature changed are written: to a temporary folder
    first, then moved into ``out`` one by one (each replaced atomically), pages before
    the feeds and index that link to them; files of removed resources are deleted last,
    then the manifest moved in. A build that fails before the moves leaves ``out`` as it
    was. Otherwise the whole site is written to a temporary folder that replaces ``out``
    in one step. Raises BuildError when ``out`` is not ours to replace or writing fails.
    """
    out = out.absolute()
    _check_target(out)
    published = read_manifest(out)
    previous = None if full else published
    if previous is None:
        return _replace_whole(
            lambda folder: _render_into(render, folder, progress, out, published), out
        )
    _remove_leftovers(out)
    with _staging(out) as staging:
        store = FolderStore(staging, previous, progress, out, previous)
        site = render(store)
        _finish(site, store, out)
    try:
        *files, marker = store.order
        for relative in files:
            target = out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, target)
        _remove_stale(out, previous, site)
        os.replace(staging / marker, out / marker)
    except OSError as exc:
        raise BuildError(
            f"{out}: cannot move the new files into the output: {exc}; "
            "it is partly updated and the next build completes it"
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return site, store.written


@contextmanager
def _staging(out: Path) -> Iterator[Path]:
    """Yield a new temporary folder beside ``out``; on any error delete it and re-raise,
    an OSError as BuildError: nothing has touched ``out`` yet."""
    temporary = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield temporary
    except OSError as exc:
        shutil.rmtree(temporary, ignore_errors=True)
        raise BuildError(f"{out}: cannot write the output: {exc}; previous output kept") from None
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _keep_unlisted(out: Path, new: Path, manifest: Manifest | None) -> None:
    """Give ``new`` every file of ``out`` that ``manifest`` does not list (a hard link).

    Replacing ``out`` deletes only what its previous build wrote (the files of the
    resources its manifest lists); whatever else is there (a file placed by hand, a
    stray marker's neighbours) stays, unless the new build writes a file of that name.
    Linked, not moved: ``out`` keeps everything until the new folder replaces it, so a
    build failed or killed at any point loses nothing. Copied where links cannot be
    made. Raises OSError.
    """
    listed = {file_path(path) for path in manifest.paths} if manifest is not None else set()
    for path in _unlisted(out, listed | {MARKER}):
        if not os.path.lexists(new / path):
            (new / path).parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(out / path, new / path, follow_symlinks=False)
            except OSError:
                shutil.copy2(out / path, new / path, follow_symlinks=False)


def _unlisted(out: Path, listed: set[str]) -> Iterator[str]:
    """Yield the paths below ``out`` of files and links that are not in ``listed``."""
    for folder, subfolders, names in os.walk(out):
        relative = os.path.relpath(folder, out)
        links = [name for name in subfolders if os.path.islink(os.path.join(folder, name))]
        for name in names + links:
            path = os.path.normpath(os.path.join(relative, name))
            if path not in listed:
                yield path


def _take_attributes(out: Path, new: Path) -> None:
    """Give ``new`` the mode, owner and group of the folder ``out`` it replaces.

    Raises BuildError when they cannot be given (before anything of ``out`` changed).
    """
    info = os.lstat(out)
    try:
        if (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
            os.chown(new, info.st_uid, info.st_gid)
        os.chmod(new, stat.S_IMODE(info.st_mode))
    except OSError as exc:
        raise BuildError(
            f"{out}: cannot give the new output the owner {info.st_uid}, group {info.st_gid} "
            f"and mode {stat.S_IMODE(info.st_mode):o} of the old ({exc.strerror}); "
            "previous output kept"
        ) from None


def _remove_leftovers(out: Path) -> None:
    for stale in out.parent.glob(f".{out.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a build that was killed


def _render_into(
    render: Callable[[FolderStore], Site],
    folder: Path,
    progress: Callable[[int], None] | None,
    live: Path,
    published: Manifest | None,
) -> tuple[Site, int]:
    store = FolderStore(folder, None, progress, live, published)
    site = render(store)
    _finish(site, store)
    return site, store.written


def write_site(site: Site, out: Path, progress: Callable[[int], None] | None = None) -> int:
    """Write a rendered ``site`` to the folder ``out``, atomically; return the files written."""
    _check_target(out.absolute())
    return _replace_whole(lambda folder: (site, write_files(site, folder, progress)), out)[1]


def _replace_whole(write: Callable[[Path], tuple[Site, int]], out: Path) -> tuple[Site, int]:
    """Run ``write`` on a temporary folder that then replaces ``out`` in one step.

    Files go to a temporary folder beside ``out`` that replaces it only when complete,
    so a failed or killed build leaves the previous output exactly as it was.
    Raises BuildError when ``out`` is not ours to replace or writing fails.
    """
    out = out.absolute()
    _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out)
    with _staging(out) as temporary:
        result = write(temporary)
        os.chmod(temporary, 0o755)  # mkdtemp makes it 0700; a web server must read it
        if out.exists():
            _keep_unlisted(out, temporary, read_manifest(out))
            _take_attributes(out, temporary)
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
    return result

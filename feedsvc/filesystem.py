"""File system steps the shell shares: file keys, atomic writes, private folders, and
opening a path that may not leave its folder.

Every module that reads or writes files (repository, cache, store, output) takes these
from here, so each is written and tested once.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import stat
import sys
import tempfile
from pathlib import Path

# Size, mtime, ctime (chmod, rename) and inode of a file, links followed: a file whose key
# is unchanged since it was read is not read again. One int (``make_key``): a server holds
# one per article file, twice while it loads, and a tuple of four took 200 bytes, this 56.
FileKey = int
_BITS = 64
_MASK = (1 << _BITS) - 1

PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def file_key(path: str | Path) -> FileKey | None:
    """Return the key of ``path`` (links followed); None when it cannot be looked at now."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return make_key(info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


def make_key(size: int, mtime_ns: int, ctime_ns: int, ino: int) -> FileKey:
    """Return the key of these four stat fields, each kept exactly (``key_fields``)."""
    return (((size << _BITS | mtime_ns & _MASK) << _BITS | ctime_ns & _MASK) << _BITS) | ino & _MASK


def _signed(field: int) -> int:
    return field - (1 << _BITS) if field >> (_BITS - 1) else field


def key_fields(key: FileKey) -> tuple[int, int, int, int]:
    """Return the size, mtime, ctime (ns) and inode number ``key`` was made of."""
    mtime, ctime = _signed(key >> 2 * _BITS & _MASK), _signed(key >> _BITS & _MASK)
    return key >> 3 * _BITS, mtime, ctime, key & _MASK


def write_atomically(path: Path | str, body: bytes) -> None:
    """Write ``body`` to ``path`` in one step: a reader sees the old file or the new one, whole.

    The bytes go to a temporary file (mode 600) in the same folder, renamed over ``path``
    only once complete; on any error the temporary file is removed and the error raised.
    """
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(body)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def private_folder(folder: Path, follow: bool = False) -> str | None:
    """Create ``folder`` (mode 700) if missing; return why it cannot be trusted, or None.

    As ssh's StrictModes: it must be a folder owned by this user and writable by nobody
    else (and, unless ``follow``, not a link), or another local user could place files
    and links in it that this process would then read, follow or serve. A folder of
    ours that others may read (made by an older release) is made private. Raises
    OSError when it cannot be created or is not a folder.
    """
    os.makedirs(folder.parent, exist_ok=True)
    try:
        os.mkdir(folder, PRIVATE_FOLDER)
    except FileExistsError:
        pass
    info = os.stat(folder) if follow else os.lstat(folder)
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder))
    if info.st_uid != os.geteuid():
        return f"is owned by another user (uid {info.st_uid})"
    if info.st_mode & 0o022:
        who = {0o020: "group", 0o002: "others", 0o022: "group and others"}[info.st_mode & 0o022]
        return f"is writable by {who} (mode {info.st_mode & 0o7777:o})"
    if info.st_mode & 0o077:
        os.chmod(folder, PRIVATE_FOLDER)
    return None


def open_private_file(path: Path, flags: int = os.O_RDWR) -> int:
    """Open (or create, mode 600) the regular file ``path`` without following a link.

    A file of ours that others may read is made private. Raises OSError: ELOOP for a
    link, EPERM for a file that is not a regular file owned by this user.
    """
    fd = os.open(path, flags | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_FILE)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            raise PermissionError(errno.EPERM, "not a regular file of this user", str(path))
        if info.st_mode & 0o077:
            os.fchmod(fd, PRIVATE_FILE)
    except BaseException:
        os.close(fd)
        raise
    return fd


# --- Opening beneath a folder -------------------------------------------------------------

_SYS_OPENAT2 = 437  # the same number on every Linux architecture (added in 5.6)
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_BENEATH = 0x08


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def _load_syscall() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    if sys.platform != "linux":  # syscall numbers are Linux's
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).syscall
    except (OSError, AttributeError):
        return None
    function.restype = ctypes.c_long
    return function


_syscall = _load_syscall()


def openat2_beneath(dir_fd: int, relative: str, flags: int) -> int:
    """Open ``relative`` below the folder ``dir_fd`` following links only while they stay below.

    The kernel resolves every component (Linux openat2 with RESOLVE_BENEATH), so no
    rename made meanwhile can lead it out: an escape fails with EXDEV, a rename racing
    the lookup with EAGAIN. Raises OSError; ENOSYS where the kernel or a sandbox lacks
    openat2.
    """
    if _syscall is None:
        raise OSError(errno.ENOSYS, os.strerror(errno.ENOSYS), relative)
    how = _OpenHow(flags | os.O_CLOEXEC, 0, _RESOLVE_BENEATH | _RESOLVE_NO_MAGICLINKS)
    fd = _syscall(
        ctypes.c_long(_SYS_OPENAT2),
        ctypes.c_int(dir_fd),
        ctypes.c_char_p(os.fsencode(relative)),
        ctypes.byref(how),
        ctypes.c_size_t(ctypes.sizeof(how)),
    )
    if fd < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), relative)
    return int(fd)


def open_without_links(dir_fd: int, relative: str, flags: int) -> int:
    """Open ``relative`` below the folder ``dir_fd`` following no link at any component.

    For a path already resolved (no link, no ``..``): each folder on the way is opened
    from the one before, so a folder swapped for a link meanwhile fails (ELOOP) instead
    of leading elsewhere. Raises OSError.
    """
    *folders, last = relative.split("/")
    current = dir_fd
    try:
        for name in folders:
            if name in ("", ".", ".."):
                raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), relative)
            step = os.open(name, _FOLDER_FLAGS | os.O_NOFOLLOW, dir_fd=current)
            if current != dir_fd:
                os.close(current)
            current = step
        return os.open(last, flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=current)
    finally:
        if current != dir_fd:
            os.close(current)


_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class FileLock:
    """An exclusive lock on an open lock file, across processes (flock); closing the
    file releases it."""

    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor

    def __enter__(self) -> None:
        fcntl.flock(self._descriptor, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        os.close(self._descriptor)

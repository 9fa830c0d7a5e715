"""Reading and decoding one article file: links, races, size limits and the XML check."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import feedsvc.reading
from feedsvc.articles import clean_text, looks_binary, needs_cleaning
from feedsvc.errors import ArticleError
from feedsvc.filesystem import file_key, key_fields, make_key
from feedsvc.repository import Problem, decode_article, read_article_bytes

LIMIT = 1000


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "articles"
    path.mkdir()
    return path.resolve()


def reason(path: Path, root: Path, limit: int = LIMIT) -> str:
    with pytest.raises(ArticleError) as caught:
        read_article_bytes(path, root, limit)
    assert caught.value.path == str(path)
    return caught.value.reason


def fake_fstat(target: Path, sizes: Callable[[int, int], int]) -> Callable[[int], os.stat_result]:
    """Return an fstat that gives ``target`` the size ``sizes(look, real size)`` at each look."""
    real_fstat = os.fstat
    looks = [0]

    def fstat(fd: int) -> os.stat_result:
        info = real_fstat(fd)
        if os.path.realpath(f"/proc/self/fd/{fd}") != str(target):
            return info
        looks[0] += 1
        values = list(info)
        values[6] = sizes(looks[0], info.st_size)
        return os.stat_result(values)

    return fstat


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("size", [0, 1, 999, 1000, 70_000, 300_000])
def test_file_is_read_whole(folder: Path, size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    (folder / "a.txt").write_bytes(data)
    assert read_article_bytes(folder / "a.txt", folder, max(size, 1)) == data


def test_over_the_limit_by_one_byte_is_refused(folder: Path) -> None:
    (folder / "a.txt").write_bytes(b"x" * (LIMIT + 1))
    assert reason(folder / "a.txt", folder) == (
        f"file is {LIMIT + 1} bytes, over the limit of {LIMIT} (max_file_bytes)"
    )


def test_link_inside_is_followed_and_link_outside_is_not(folder: Path) -> None:
    (folder / "real.txt").write_bytes(b"inside")
    (folder.parent / "secret.txt").write_bytes(b"outside")
    (folder / "in.txt").symlink_to("real.txt")
    (folder / "out.txt").symlink_to(folder.parent / "secret.txt")
    assert read_article_bytes(folder / "in.txt", folder, LIMIT) == b"inside"
    assert reason(folder / "out.txt", folder) == (
        "link points outside the articles folder; not followed"
    )


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda f: (f / "a.txt").symlink_to("gone.txt"), "file disappeared while being read"),
        (lambda f: (f / "a.txt").symlink_to(f / "sub"), "not a regular file"),
        (lambda f: (f / "a.txt").mkdir(), "not a regular file"),
        (lambda f: os.mkfifo(f / "a.txt"), "not a regular file"),
    ],
    ids=["dangling-link", "link-to-folder", "folder", "fifo"],
)
def test_what_is_not_a_readable_file_is_refused(
    folder: Path, make: Callable[[Path], object], expected: str
) -> None:
    (folder / "sub").mkdir()
    make(folder)
    before = open_descriptors()
    assert reason(folder / "a.txt", folder) == expected
    assert open_descriptors() == before


def test_link_to_a_link_leading_outside_is_not_followed(folder: Path) -> None:
    (folder.parent / "secret.txt").write_bytes(b"outside")
    (folder / "real.txt").symlink_to(folder.parent / "secret.txt")
    (folder / "a.txt").symlink_to("real.txt")
    assert reason(folder / "a.txt", folder) == (
        "link points outside the articles folder; not followed"
    )


@pytest.mark.parametrize("where", ["absolute", "relative"])
def test_link_through_a_folder_inside_is_followed(folder: Path, where: str) -> None:
    (folder / "sub").mkdir()
    (folder / "sub" / "real.txt").write_bytes(b"inside")
    target = folder / "sub" / "real.txt" if where == "absolute" else Path("sub/real.txt")
    (folder / "a.txt").symlink_to(target)
    assert read_article_bytes(folder / "a.txt", folder, LIMIT) == b"inside"


def test_file_changed_once_is_read_again(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"y" * 700
    (folder / "a.txt").write_bytes(data)
    # The first look sees it 600 bytes long: more is read than it said, so it is read again.
    monkeypatch.setattr(
        os, "fstat", fake_fstat(folder / "a.txt", lambda look, size: 600 if look == 1 else size)
    )
    assert read_article_bytes(folder / "a.txt", folder, LIMIT) == data


def test_file_read_past_its_size_up_to_the_limit(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"z" * 200_000  # more than one read past the size fstat gave
    (folder / "a.txt").write_bytes(data)
    monkeypatch.setattr(os, "fstat", fake_fstat(folder / "a.txt", lambda look, size: 10))
    before = open_descriptors()
    assert reason(folder / "a.txt", folder, 150_000) == (
        "file grew over the limit of 150000 bytes (max_file_bytes)"
    )
    assert reason(folder / "a.txt", folder, 300_000) == (
        "file kept changing while being read; it is read again at the next check"
    )
    assert open_descriptors() == before


def test_read_error_is_reported(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (folder / "a.txt").write_bytes(b"text")

    def failing_read(fd: int, size: int) -> bytes:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "read", failing_read)
    before = open_descriptors()
    assert reason(folder / "a.txt", folder) == f"cannot read file: {os.strerror(errno.EIO)}"
    assert open_descriptors() == before


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (PermissionError(errno.EACCES, "denied"), "cannot read file (permission denied)"),
        (FileNotFoundError(errno.ENOENT, "gone"), "file disappeared while being read"),
        (OSError(errno.EMFILE, "Too many open files"), "cannot open file: Too many open files"),
    ],
    ids=["unreadable", "vanished", "other"],
)
@pytest.mark.parametrize("link", [False, True], ids=["file", "link"])
def test_open_errors_are_reported(
    folder: Path, monkeypatch: pytest.MonkeyPatch, error: OSError, expected: str, link: bool
) -> None:
    (folder / "real.txt").write_bytes(b"text")
    if link:
        (folder / "a.txt").symlink_to("real.txt")
    else:
        (folder / "real.txt").rename(folder / "a.txt")
    real_open = os.open

    def failing_open(path: str | Path, flags: int, *args: int, **keywords: int) -> int:
        if link:
            return real_open(path, flags, *args, **keywords)  # the link itself: ELOOP
        raise error

    def failing_beneath(folder: int, relative: str, flags: int) -> int:
        raise error  # where the link leads

    monkeypatch.setattr(os, "open", failing_open)
    monkeypatch.setattr(feedsvc.reading, "openat2_beneath", failing_beneath)
    assert reason(folder / "a.txt", folder) == expected


# --- Decoding ---------------------------------------------------------------------------------


def reference_decode(path: Path, data: bytes) -> tuple[str, list[Problem]]:
    """Decode as decode_article does, with the XML check made on the text."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if b"\x00" in data[:8192]:
            raise ArticleError(path, "binary file, not text") from None
        raise ArticleError(
            path,
            f"not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}; save as UTF-8",
        ) from None
    if not needs_cleaning(text):
        return text, []
    if looks_binary(text):
        raise ArticleError(path, "binary file, not text")
    text, removed = clean_text(text)
    reason = f"removed {removed} control character(s) XML 1.0 forbids"
    return text, [Problem(str(path), reason, False)] if removed else []


def decoded(decode: Callable[[Path, bytes], tuple[str, list[Problem]]], data: bytes) -> object:
    try:
        return decode(Path("a.txt"), data)
    except ArticleError as exc:
        return exc.reason


NOT_SURROGATES = st.characters(exclude_categories=["Cs"])  # UTF-8 cannot carry them
CHARACTERS = st.one_of(
    st.sampled_from(list("\x00\x07\t\n\r\x7f\x85\xa0\ufdd0\ufdef\ufeff\ufffd\uffffé’")),
    NOT_SURROGATES,
)


@settings(max_examples=500)
@example(b"")
@example(b"\x00" * 20)
@example("Caf\u00e9\u0085\u00a0".encode())
@given(
    st.one_of(
        st.binary(max_size=80),
        st.text(CHARACTERS, max_size=80).map(str.encode),
    )
)
def test_decoding_agrees_with_the_reference(data: bytes) -> None:
    assert decoded(decode_article, data) == decoded(reference_decode, data)


SIGNED_NS = st.integers(-(2**63), 2**63 - 1)


@given(st.integers(0, 2**62), SIGNED_NS, SIGNED_NS, st.integers(0, 2**64 - 1))
@example(0, -1, -1, 0)
@example(2**40, 2**63 - 1, -(2**63), 2**64 - 1)
def test_a_file_key_keeps_each_stat_field(size: int, mtime: int, ctime: int, ino: int) -> None:
    # One int stands for four fields: any change to one is a change of key, read back whole.
    fields = (size, mtime, ctime, ino)
    assert key_fields(make_key(*fields)) == fields


def test_a_file_key_holds_the_stat_fields_and_moves_with_the_mtime(folder: Path) -> None:
    path = folder / "001_0000000000000001.txt"
    path.write_bytes(b"one")
    first = file_key(path)
    assert first is not None
    size, mtime, ctime, ino = key_fields(first)
    info = os.stat(path)
    assert (size, mtime, ctime, ino) == (3, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1))  # same size, same inode
    assert file_key(path) != first

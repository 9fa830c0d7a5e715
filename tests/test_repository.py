"""The repository: which files are articles, their order, one problem per bad file, read-only."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import pytest

from feedsvc import listing, repository
from feedsvc.config import Settings
from feedsvc.errors import ArticlesDirError
from feedsvc.repository import Corpus, Problem, load_corpus
from tests.conftest import SAMPLE_ARTICLES, SEED


def name_of(number: int) -> str:
    """Return a well-formed article file name whose id is ``number`` in 16 hex digits."""
    return f"{number:03d}_{number:016x}.txt"


def id_of(number: int) -> str:
    return f"{number:016x}"


def article_text(date: str = "2023-10-31", title: str = "Title") -> str:
    return f"{date}\n\n{title}\nStandfirst\n\nOne.\n\nTwo.\n\nLatest stories\n"


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def load(folder: Path, **changes: object) -> Corpus:
    return load_corpus(Settings(articles=folder, **changes))  # type: ignore[arg-type]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "articles"
    path.mkdir()
    return path


@contextmanager
def hang_guard(seconds: int = 10) -> Iterator[None]:
    """Fail instead of hanging forever (a FIFO opened for reading blocks without O_NONBLOCK)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise AssertionError(f"still blocked after {seconds}s: reading a file hangs")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --- What is loaded ---------------------------------------------------------------------------


def test_seed_loads_from_bytes_without_problems(folder: Path) -> None:
    shutil.copy(SAMPLE_ARTICLES / SEED, folder / SEED)
    corpus = load(folder)
    assert corpus.problems == ()
    (summary,) = corpus.articles
    seed = corpus.full(summary)
    assert seed.id == "cab78a8f5eee25a1"
    assert seed.title == "Kim Jong Un, North Korean Leader, to Visit Russia Soon: Kremlin"
    assert len(seed.paragraphs) == 8


def test_sample_articles_load_without_problems(settings: Settings) -> None:
    corpus = load_corpus(settings)
    assert [str(problem) for problem in corpus.problems] == []
    assert "cab78a8f5eee25a1" in [article.id for article in corpus.articles]


IGNORED = [".hidden.txt", ".001_aaaaaaaaaaaaaaaa.txt.swp", ".#002_bbbbbbbbbbbbbbbb.txt",
           "draft.txt~", "~$draft.txt", "#draft.txt#", "notes.md", "README", "003_c.txt.bak",
           "004_dddddddddddddddd.txt.orig"]  # fmt: skip


def test_hidden_editor_and_other_files_are_ignored(folder: Path) -> None:
    write(folder, name_of(1), article_text())
    for name in IGNORED:
        # Valid articles: were any of them read, it would show as an extra article.
        write(folder, name, article_text(title=name))
    corpus = load(folder)
    assert [article.id for article in corpus.articles] == [id_of(1)]
    assert corpus.problems == ()


def test_link_inside_the_folder_is_followed(folder: Path) -> None:
    write(folder, name_of(1), article_text(title="Target"))
    (folder / name_of(2)).symlink_to(name_of(1))
    corpus = load(folder)
    assert sorted(article.id for article in corpus.articles) == [id_of(1), id_of(2)]
    assert corpus.problems == ()


def test_a_loop_of_links_is_one_problem_each(folder: Path) -> None:
    write(folder, name_of(1), article_text(title="Kept"))
    (folder / "self.txt").symlink_to("self.txt")
    (folder / "a.txt").symlink_to("b.txt")
    (folder / "b.txt").symlink_to("a.txt")

    corpus = load(folder)

    assert [article.id for article in corpus.articles] == [id_of(1)]
    reason = "link loops back to itself; not followed"
    names = ("a.txt", "b.txt", "self.txt")
    assert corpus.problems == tuple(Problem(str(folder / name), reason) for name in names)


def test_an_articles_folder_that_is_a_loop_of_links_is_refused(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(ArticlesDirError, match="a loop of symbolic links"):
        load(loop)


# --- Order ------------------------------------------------------------------------------------


def test_newest_first(folder: Path) -> None:
    write(folder, name_of(1), article_text("2023-10-30"))
    write(folder, name_of(2), article_text("2023-11-01T08:00:00+01:00"))
    write(folder, name_of(3), article_text("31 Oct 2023"))
    write(folder, name_of(4), article_text("2023-11-01T09:00:00+05:30"))  # 03:30Z, before #2
    corpus = load(folder)
    assert [article.id for article in corpus.articles] == [id_of(n) for n in (2, 4, 3, 1)]


def test_same_day_articles_get_distinct_times_in_file_number_order(folder: Path) -> None:
    for number in (10, 1, 2):
        write(folder, name_of(number), article_text("Tuesday, October 31, 2023"))
    corpus = load(folder)
    assert [article.id for article in corpus.articles] == [id_of(n) for n in (10, 2, 1)]
    start = datetime(2023, 10, 31, tzinfo=UTC)
    assert [article.published for article in corpus.articles] == [
        start + timedelta(seconds=s) for s in (10, 2, 1)
    ]


def test_same_instant_articles_are_spaced_a_second_apart(folder: Path) -> None:
    moment = datetime(2023, 10, 31, 14, 30, tzinfo=UTC)
    write(folder, name_of(3), article_text("2023-10-31T14:30:01Z"))  # where #2 is moved to
    write(folder, name_of(2), article_text("2023-10-31T15:30:00+01:00"))
    write(folder, name_of(1), article_text("2023-10-31T14:30:00Z"))
    corpus = load(folder)
    assert [article.id for article in corpus.articles] == [id_of(n) for n in (3, 2, 1)]
    assert [article.published for article in corpus.articles] == [
        moment + timedelta(seconds=s) for s in (2, 1, 0)
    ]


def test_ties_between_unnumbered_files_do_not_depend_on_creation_order(tmp_path: Path) -> None:
    names = ["gamma.txt", "alpha.txt", "beta.txt", "delta.txt"]
    found = []
    for label, order in (("forward", names), ("backward", names[::-1])):
        folder = tmp_path / label
        folder.mkdir()
        for name in order:
            write(folder, name, article_text("2023-10-31"))
        found.append([(a.source, a.published) for a in load(folder).articles])
    assert found[0] == found[1]
    assert len({published for _, published in found[0]}) == len(names)


# --- Problems ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadFile:
    make: Callable[[Path], Path]  # writes the bad file into the folder, returns its path
    reason: str  # a regular expression the reason must match


def _outside_link(folder: Path) -> Path:
    target = write(folder.parent, "outside.txt", article_text(title="Secret"))
    link = folder / name_of(9)
    link.symlink_to(target)
    return link


def _outside_link_chain(folder: Path) -> Path:
    target = write(folder.parent, "outside.txt", article_text(title="Secret"))
    (folder / "hop.lnk").symlink_to(target)
    link = folder / name_of(9)
    link.symlink_to("hop.lnk")
    return link


def _outside_folder_link(folder: Path) -> Path:
    (folder.parent / "elsewhere").mkdir()
    link = folder / "x.txt"
    link.symlink_to(folder.parent / "elsewhere")
    return link


def _duplicate(folder: Path) -> Path:
    write(folder, f"005_{id_of(1)}.txt", article_text(title="Same id as #1"))
    return folder / f"005_{id_of(1)}.txt"


def _duplicate_upper_case(folder: Path) -> Path:
    return write(folder, f"999_{id_of(0xABC).upper()}.txt", article_text())


def _fifo(folder: Path) -> Path:
    os.mkfifo(folder / "pipe.txt")
    return folder / "pipe.txt"


def _directory(folder: Path) -> Path:
    (folder / "x.txt").mkdir()
    return folder / "x.txt"


def _file(name: str, content: str | bytes) -> Callable[[Path], Path]:
    return lambda folder: write(folder, name, content)


BAD = {
    "not-utf8": BadFile(
        _file("x.txt", b"2023-10-31\n\nCaf\xe9\nStandfirst\n"),
        r"^not valid UTF-8: byte 0xe9 at offset 15; save as UTF-8$",
    ),
    "utf16": BadFile(
        _file("x.txt", article_text().encode("utf-16")), r"^(binary file|not valid UTF-8)"
    ),
    "binary": BadFile(_file("x.txt", bytes(range(256)) * 3), r"^binary file, not text$"),
    "binary-valid-utf8": BadFile(_file("x.txt", b"\x00\x01\x02\x03" * 200), r"^binary file"),
    "empty": BadFile(_file("x.txt", b""), r"^empty file$"),
    "white-space-only": BadFile(_file("x.txt", b" \r\n\t\n"), r"white space"),
    "bad-date": BadFile(_file("x.txt", article_text("Someday")), r"^line 1: cannot read date"),
    "over-size-limit": BadFile(
        _file("x.txt", article_text() + "x" * 2000),
        r"^file is \d+ bytes, over the limit of 1000 \(max_file_bytes\)$",
    ),
    "duplicate-id": BadFile(
        _duplicate, rf"^duplicate id {id_of(1)}, already used by {name_of(1)}; skipped$"
    ),
    "duplicate-id-upper-case-hex": BadFile(_duplicate_upper_case, rf"^duplicate id {id_of(0xABC)}"),
    "link-outside": BadFile(_outside_link, r"^link points outside the articles folder"),
    "link-chain-outside": BadFile(_outside_link_chain, r"^link points outside the articles folder"),
    "link-to-folder-outside": BadFile(_outside_folder_link, r"^link points outside"),
    "directory-named-txt": BadFile(_directory, r"^not a regular file$"),
    "fifo-named-txt": BadFile(_fifo, r"^not a regular file$"),
}


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_bad_file_is_one_problem_and_the_rest_still_loads(folder: Path, bad: BadFile) -> None:
    write(folder, name_of(1), article_text("2023-10-30", "First"))
    write(folder, name_of(0xABC), article_text("2023-10-31", "Second"))
    path = bad.make(folder)
    with hang_guard():
        corpus = load(folder, max_file_bytes=1000)
    assert [article.id for article in corpus.articles] == [id_of(0xABC), id_of(1)]
    assert [a.title for a in corpus.full_articles(corpus.articles)] == ["Second", "First"]
    (problem,) = corpus.problems
    assert problem.path == str(path)
    assert problem.skipped
    assert re.search(bad.reason, problem.reason), problem.reason
    assert str(problem) == f"{path}: {problem.reason}"


def test_size_limit_is_inclusive(folder: Path) -> None:
    data = article_text().encode("utf-8")
    write(folder, name_of(1), data)
    assert load(folder, max_file_bytes=len(data)).problems == ()
    (problem,) = load(folder, max_file_bytes=len(data) - 1).problems
    assert "over the limit" in problem.reason


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_a_problem(folder: Path) -> None:
    write(folder, name_of(1), article_text())
    path = write(folder, name_of(2), article_text())
    path.chmod(0)
    try:
        corpus = load(folder)
    finally:
        path.chmod(0o644)
    assert [article.id for article in corpus.articles] == [id_of(1)]
    assert [str(problem) for problem in corpus.problems] == [
        f"{path}: cannot read file (permission denied)"
    ]


def test_every_bad_file_is_reported(folder: Path) -> None:
    write(folder, name_of(1), article_text())
    write(folder, "a.txt", b"")
    write(folder, "b.txt", b"\xff\xfe")
    write(folder, "c.txt", article_text("Someday"))
    corpus = load(folder)
    assert [article.id for article in corpus.articles] == [id_of(1)]
    assert [Path(problem.path).name for problem in corpus.problems] == ["a.txt", "b.txt", "c.txt"]


@pytest.mark.parametrize(
    ("title", "removed"),
    [("Ti\x07tle\x1b", 2), ("Ti\ufffetle", 1), ("Tit\x85le\x7f", 2)],
    ids=["c0-controls", "non-character", "c1-and-delete"],
)
def test_control_characters_are_stripped_with_a_warning(
    folder: Path, title: str, removed: int
) -> None:
    path = write(folder, name_of(1), article_text(title=title))
    corpus = load(folder)
    (article,) = corpus.full_articles(corpus.articles)
    assert article.title == "Title"
    (problem,) = corpus.problems
    assert problem == Problem(
        str(path), f"removed {removed} control character(s) XML 1.0 forbids", skipped=False
    )
    assert str(problem) == f"{path}: warning: {problem.reason}"


def test_stray_nul_in_text_is_stripped_not_called_binary(folder: Path) -> None:
    text = article_text().replace("One.", "One" + " long" * 100 + ".\x00")
    write(folder, name_of(1), text)
    corpus = load(folder)
    assert len(corpus.articles) == 1
    assert [problem.skipped for problem in corpus.problems] == [False]


# --- The folder -------------------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, tuple[int, int, int, bytes | str | None]]:
    """Names, modes, sizes, mtimes and contents (link targets) of everything below ``folder``."""
    state: dict[str, tuple[int, int, int, bytes | str | None]] = {}
    for path in [folder, *sorted(folder.rglob("*"))]:
        info = path.lstat()
        content: bytes | str | None = None
        if path.is_symlink():
            content = os.readlink(path)
        elif path.is_file():
            content = path.read_bytes()
        state[str(path)] = (info.st_mode, info.st_size, info.st_mtime_ns, content)
    return state


def test_folder_is_never_written(folder: Path) -> None:
    write(folder, name_of(1), article_text())
    write(folder, name_of(2), article_text("2023-10-31", "Ti\x07tle"))
    write(folder, f"003_{id_of(1)}.txt", article_text())
    write(folder, "bad.txt", b"\xff")
    write(folder, "empty.txt", b"")
    write(folder, ".hidden.txt", article_text())
    _outside_link(folder)
    _directory(folder)
    _fifo(folder)
    before = snapshot(folder)
    with hang_guard():
        corpus = load(folder)
        load(folder)
    assert len(corpus.articles) == 2
    assert snapshot(folder) == before


def test_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(ArticlesDirError, match="articles folder not found") as caught:
        load(tmp_path / "nowhere")
    assert caught.value.exit_code == 2
    assert str(caught.value).startswith(str(tmp_path / "nowhere"))


def test_file_instead_of_folder_raises(tmp_path: Path) -> None:
    path = write(tmp_path, "articles", article_text())
    with pytest.raises(ArticlesDirError, match="not a folder"):
        load(path)


def test_empty_folder_is_an_empty_corpus(folder: Path) -> None:
    corpus = load(folder)
    assert (corpus.articles, corpus.problems) == ((), ())


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_bad_files_leave_no_open_descriptors(folder: Path) -> None:
    write(folder, name_of(1), article_text())
    for make in (_directory, _fifo, _file("big.txt", "x" * 2000), _file("bad.txt", b"\xff")):
        make(folder)
    before = len(os.listdir("/proc/self/fd"))
    with hang_guard():
        corpus = load(folder, max_file_bytes=1000)
    assert len(corpus.problems) == 4
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_reload_reads_only_the_files_that_changed(
    settings: Settings, articles_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not dating edits: a fresh load knows none of those the reload noticed.
    settings = dataclasses.replace(settings, updated_from="none")
    first = repository.load_corpus(settings)
    edited = articles_dir / "002_46562b85a181cf96.txt"
    renamed = articles_dir / "004_b574bceddd58a7b6.txt"
    chmodded = articles_dir / "005_8e5712e9b08f6c8b.txt"
    edited.write_text(edited.read_text("utf-8").replace("Rail", "Tram", 1), "utf-8")
    renamed.rename(articles_dir / "104_b574bceddd58a7b6.txt")
    chmodded.chmod(0o600)  # ctime moves: a file that was unreadable may be readable now
    (articles_dir / "900_00000000000000ff.txt").write_bytes(b"\xff")
    read: list[str] = []
    real = repository.read_article

    def counting(path: Path | str, *args: object) -> object:
        read.append(os.path.basename(path))
        return real(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(repository, "read_article", counting)
    again = repository.load_corpus(settings, previous=first)
    assert sorted(read) == [
        "002_46562b85a181cf96.txt", "005_8e5712e9b08f6c8b.txt",
        "104_b574bceddd58a7b6.txt", "900_00000000000000ff.txt",
    ]  # fmt: skip
    monkeypatch.setattr(repository, "read_article", real)
    fresh = repository.load_corpus(settings)
    assert (again.articles, again.problems) == (fresh.articles, fresh.problems)
    read.clear()
    monkeypatch.setattr(repository, "read_article", counting)
    third = repository.load_corpus(settings, previous=again)
    assert read == [] and (third.articles, third.problems) == (fresh.articles, fresh.problems)


# --- Listing on another core -----------------------------------------------------------------


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pids os.fork returned in this process (the listing really went aside)."""
    made: list[int] = []
    real = os.fork

    def fork() -> int:
        pid = real()
        if pid:
            made.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return made


def test_the_listing_made_aside_is_the_listing(folder: Path, forks: list[int]) -> None:
    for number in range(5):
        write(folder, name_of(number), article_text())
    (folder / "inside.txt").symlink_to(folder / name_of(1))
    (folder / "dangling.txt").symlink_to(folder / "gone.txt")
    (folder / ".hidden.txt").write_text("not an article")

    listed = listing._folder_keys_aside(folder)()

    assert listed == repository.folder_keys(folder)
    assert list(listed) == sorted(listed)
    assert listed["dangling.txt"] is None
    assert len(forks) == 1


def test_the_listing_made_aside_fails_like_the_listing(tmp_path: Path, forks: list[int]) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(ArticlesDirError) as expected:
        repository.folder_keys(missing)
    with pytest.raises(ArticlesDirError) as aside:
        listing._folder_keys_aside(missing)()
    assert str(aside.value) == str(expected.value)
    assert len(forks) == 1


def test_a_listing_child_that_fails_is_replaced_by_listing_here(
    folder: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> None:
    write(folder, name_of(1), article_text())
    here = os.getpid()
    real = listing.folder_keys

    def fails_in_a_child(path: Path) -> dict[str, repository.FileKey | None]:
        if os.getpid() != here:
            raise MemoryError("the child ran out of memory")
        return real(path)

    monkeypatch.setattr(listing, "folder_keys", fails_in_a_child)
    assert listing._folder_keys_aside(folder)() == real(folder)
    assert len(forks) == 1


def test_a_threaded_process_lists_without_forking(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(folder, name_of(1), article_text())

    def no_fork() -> int:
        raise AssertionError("forked with another thread running")

    monkeypatch.setattr(os, "fork", no_fork)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert listing._folder_keys_aside(folder)() == repository.folder_keys(folder)
    finally:
        stop.set()
        other.join()

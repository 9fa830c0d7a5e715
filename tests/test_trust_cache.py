"""Attacks through the cache folder: it is private, and nothing read from it is a path.

Each test plays a local user who could write the cache folder (a cache under /tmp, a
shared CI runner) or the rows in it, and checks what the site then serves or writes.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from feedsvc.cache import ParseCache
from feedsvc.cachefolder import DATABASE, LOCK, START_LOCK, site_folder
from feedsvc.cli import cli
from feedsvc.config import Settings
from feedsvc.repository import load_corpus
from feedsvc.resources import make_etag
from feedsvc.site import render_site
from feedsvc.store import FOLDER as BODIES
from feedsvc.web import create_app

SEED_PAGE = "/articles/cab78a8f5eee25a1/"
SEED_ID = "cab78a8f5eee25a1"
OTHER_USER = 65534  # nobody


@pytest.fixture
def cached(settings: Settings, tmp_path: Path) -> Settings:
    return dataclasses.replace(settings, cache_dir=tmp_path / "cache")


def folder_of(settings: Settings) -> Path:
    folder = site_folder(settings)
    assert folder is not None
    return folder


def execute(settings: Settings, statement: str, *parameters: object) -> int:
    with closing(sqlite3.connect(folder_of(settings) / DATABASE, isolation_level=None)) as db:
        return db.execute(statement, parameters).rowcount


def serve_once(settings: Settings) -> FlaskClient:
    """A server process's app over ``settings`` that has answered the seed article's page."""
    client = create_app(settings).test_client()
    assert client.get(SEED_PAGE).status_code == 200
    return client


def cold_page(settings: Settings) -> bytes:
    return render_site(load_corpus(settings), settings).resources[SEED_PAGE].content()


# --- A private folder ------------------------------------------------------------------------


def test_the_cache_folder_and_its_files_are_private(cached: Settings) -> None:
    serve_once(cached)
    assert cached.cache_dir is not None
    everything = [cached.cache_dir, *cached.cache_dir.rglob("*")]
    modes = {
        str(p.relative_to(cached.cache_dir)): stat.S_IMODE(p.lstat().st_mode) for p in everything
    }
    assert any(name.endswith(DATABASE) for name in modes)
    assert any(f"/{BODIES}/" in name for name in modes)
    expected = {name: 0o700 if (cached.cache_dir / name).is_dir() else 0o600 for name in modes}
    assert modes == expected


def make_world_writable(settings: Settings) -> Path:
    assert settings.cache_dir is not None
    settings.cache_dir.mkdir(mode=0o777)
    settings.cache_dir.chmod(0o777)
    return settings.cache_dir


def make_group_writable(settings: Settings) -> Path:
    folder = folder_of(settings)
    folder.mkdir(parents=True, mode=0o770)
    folder.chmod(0o770)
    return folder


def give_to_another_user(settings: Settings) -> Path:
    assert settings.cache_dir is not None
    settings.cache_dir.mkdir(mode=0o700)
    os.chown(settings.cache_dir, OTHER_USER, OTHER_USER)
    return settings.cache_dir


def link_the_site_folder(settings: Settings) -> Path:
    folder = folder_of(settings)
    elsewhere = folder.parent.parent / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    folder.parent.mkdir(mode=0o700)
    folder.symlink_to(elsewhere)
    return folder


UNTRUSTED: dict[str, tuple[Callable[[Settings], Path], str]] = {
    "writable-by-all": (make_world_writable, "is writable by group and others (mode 777)"),
    "writable-by-group": (make_group_writable, "is writable by group (mode 770)"),
    "another-owner": (give_to_another_user, f"is owned by another user (uid {OTHER_USER})"),
    "site-folder-a-link": (link_the_site_folder, "is a symbolic link"),
}


def skip_unless_root_for(case: str) -> None:
    if case == "another-owner" and os.geteuid() != 0:
        pytest.skip("only root can give a folder to another user")


@pytest.mark.parametrize("case", UNTRUSTED.keys())
def test_build_refuses_an_untrusted_cache_folder(
    cached: Settings, runner: CliRunner, case: str
) -> None:
    skip_unless_root_for(case)
    make, reason = UNTRUSTED[case]
    folder = make(cached)
    arguments = ["build", "--articles", cached.articles, "--out", cached.out]
    result = runner.invoke(cli, [*map(str, arguments), "--cache-dir", str(cached.cache_dir)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"feedsvc: error: {folder}: the cache folder {reason}; "
        "it must be yours and private (chmod 700), or choose another cache_dir"
    ]
    assert not cached.out.exists()


@pytest.mark.parametrize("case", ["writable-by-all", "another-owner"])
def test_serve_refuses_an_untrusted_cache_folder(cached: Settings, case: str) -> None:
    skip_unless_root_for(case)
    make, reason = UNTRUSTED[case]
    folder = make(cached)
    arguments = ["serve", "--articles", cached.articles, "--cache-dir", cached.cache_dir]
    arguments += ["--port", "1"]  # never listened on: the check comes first
    done = subprocess.run(
        [sys.executable, "-m", "feedsvc", *map(str, arguments)],
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        f"feedsvc: error: {folder}: the cache folder {reason}; "
        "it must be yours and private (chmod 700), or choose another cache_dir"
    ]


# --- Nothing followed through a link ---------------------------------------------------------


@pytest.mark.parametrize("name", [LOCK, START_LOCK, DATABASE])
def test_a_link_in_the_cache_folder_creates_nothing(
    cached: Settings, tmp_path: Path, name: str
) -> None:
    folder = folder_of(cached)
    folder.mkdir(parents=True, mode=0o700)
    target = tmp_path / "created-through-a-link"
    (folder / name).symlink_to(target)

    client = create_app(cached).test_client()

    assert client.get(SEED_PAGE).data == cold_page(cached)
    assert not target.exists()


# --- Rows are checked before use ---------------------------------------------------------------


def test_a_path_in_a_stored_etag_never_serves_another_file(
    cached: Settings, tmp_path: Path
) -> None:
    serve_once(cached)
    secret = tmp_path / "secret"  # bodies/../../../secret
    secret.write_bytes(b"root:x:0:0:the file the attacker wants\n")
    etag = make_etag(cold_page(cached))
    changed = execute(
        cached,
        "UPDATE rendered SET etag = ?, size = ?, gzip_size = NULL WHERE etag = ?",
        '"../../../secret"',
        secret.stat().st_size,
        etag,
    )
    assert changed == 1

    page = create_app(cached).test_client().get(SEED_PAGE)  # a restart

    assert page.status_code == 200
    assert page.data == cold_page(cached)
    assert page.headers["ETag"] == etag


@pytest.mark.parametrize(
    "etag",
    ['"../../../secret"', "W/" + "a" * 32, '"' + "A" * 32 + '"', '"' + "a" * 31 + '"', "a" * 34],
    ids=["path", "weak", "upper-case", "short", "unquoted"],
)
def test_a_stored_etag_that_make_etag_cannot_give_is_ignored(cached: Settings, etag: str) -> None:
    serve_once(cached)
    execute(cached, "UPDATE rendered SET etag = ?", etag)
    cache = ParseCache.for_settings(cached)
    try:
        assert cache.rendered() == {}
    finally:
        cache.close()


def test_a_path_in_a_stored_id_never_writes_outside_out(
    cached: Settings, runner: CliRunner, tmp_path: Path
) -> None:
    arguments = ["build", "--articles", cached.articles, "--out", cached.out]
    arguments += ["--cache-dir", cached.cache_dir, "--full"]
    assert runner.invoke(cli, [str(argument) for argument in arguments]).exit_code == 0
    built = (cached.out / SEED_PAGE.strip("/") / "index.html").read_bytes()
    changed = execute(cached, "UPDATE files SET id = ? WHERE id = ?", "../../escaped", SEED_ID)
    assert changed == 1

    result = runner.invoke(cli, [str(argument) for argument in arguments])

    assert result.exit_code == 0, result.output
    assert not (tmp_path / "escaped").exists()
    assert (cached.out / SEED_PAGE.strip("/") / "index.html").read_bytes() == built


@pytest.mark.parametrize(
    ("column", "value"),
    [("id", "0000000000000000"), ("number", 7), ("digest", "../x"), ("digest", "F" * 32)],
    ids=["other-id", "other-number", "path-digest", "upper-case-digest"],
)
def test_a_row_the_file_name_contradicts_is_read_again(
    cached: Settings, column: str, value: object
) -> None:
    cache = ParseCache.for_settings(cached)
    load_corpus(cached, cache=cache)
    cache.close()
    assert execute(cached, f"UPDATE files SET {column} = ? WHERE id = ?", value, SEED_ID) == 1
    cache = ParseCache.for_settings(cached)
    try:
        assert not [name for name in cache.entries() if SEED_ID in name]
    finally:
        cache.close()


# --- A body file replaced under a running server -------------------------------------------------


@pytest.mark.parametrize(
    "replacement",
    [
        pytest.param(lambda body: body + b"HTTP/1.1 200 OK\r\n\r\nsmuggled", id="longer"),
        pytest.param(lambda body: body[:10], id="shorter"),
    ],
)
def test_a_body_file_replaced_under_the_server_is_never_sent_with_the_old_length(
    cached: Settings, replacement: Callable[[bytes], bytes]
) -> None:
    client = serve_once(cached)
    page = cold_page(cached)
    body_file = folder_of(cached) / BODIES / make_etag(page).strip('"')
    assert body_file.read_bytes() == page
    swapped = body_file.with_name("swapped")
    swapped.write_bytes(replacement(page))
    swapped.replace(body_file)

    answer = client.get(SEED_PAGE)

    assert len(answer.data) == int(answer.headers["Content-Length"])
    assert b"smuggled" not in answer.data
    assert answer.status_code in (200, 503)
    if answer.status_code == 200:
        assert answer.data == page


def test_a_readable_cache_folder_of_an_older_release_is_made_private(cached: Settings) -> None:
    folder = folder_of(cached)
    folder.mkdir(parents=True, mode=0o755)
    folder.chmod(0o755)
    assert cached.cache_dir is not None
    cached.cache_dir.chmod(0o755)
    (folder / DATABASE).touch(mode=0o644)
    (folder / DATABASE).chmod(0o644)

    serve_once(cached)

    modes = [stat.S_IMODE(path.stat().st_mode) for path in (cached.cache_dir, folder)]
    assert modes == [0o700, 0o700]
    assert stat.S_IMODE((folder / DATABASE).stat().st_mode) == 0o600


@pytest.mark.parametrize("linked", ["bodies-folder", "body-file"])
def test_a_linked_body_is_never_read_or_written_through(
    cached: Settings, tmp_path: Path, linked: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    page = cold_page(cached)
    bodies = folder_of(cached) / BODIES
    if linked == "bodies-folder":
        bodies.parent.mkdir(parents=True, mode=0o700)
        bodies.symlink_to(elsewhere)
    else:
        serve_once(cached)
        stolen = elsewhere / "stolen"
        stolen.write_bytes(b"S" * len(page))  # the size the row gives
        body = bodies / make_etag(page).strip('"')
        body.unlink()
        body.symlink_to(stolen)

    app = create_app(cached)
    first = app.test_client().get(SEED_PAGE)
    for thread in threading.enumerate():  # the recovery a lost body starts
        if thread.name == "feedsvc-recover":
            thread.join(timeout=30)
    app.extensions["feedsvc"].refresh()
    second = app.test_client().get(SEED_PAGE)

    assert first.status_code in (200, 503)
    assert b"SSSS" not in first.data
    assert (second.status_code, second.data) == (200, page)
    left = sorted(path.name for path in elsewhere.iterdir())
    assert left == ([] if linked == "bodies-folder" else ["stolen"])

"""What reaches an operator or a reader from untrusted names, titles and Host headers, and
what an operator's first commands do: redirects, escaped file names, isolated titles,
serve's default base_url, a clean ``pip install -e .``."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

import feedsvc.server
from feedsvc.cli import cli
from feedsvc.config import Settings
from feedsvc.web import create_app
from tests.conftest import BASE_URL, PROJECT

GOOD = "2023-10-31\n\nA good article\nStandfirst\n\nBody.\n"
ARTICLE_ID = "cab78a8f5eee25a1"  # of the sample article 000_cab78a8f5eee25a1.txt


# --- redirects never come from the request's Host -----------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"/articles//{ARTICLE_ID}/",
        "/page//2/",
        "/archive//1/feed.xml",
        "/articles//x",
        f"/articles/{ARTICLE_ID}",
        "/rss",
        "/atom",
        "/page/1/",
        "//feed.xml",
    ],
    ids=[
        "article",
        "page",
        "archive",
        "article-no-slash",
        "slash",
        "rss",
        "atom",
        "page-1",
        "leading",
    ],  # fmt: skip
)
def test_no_answer_takes_the_request_host(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers={"Host": "evil.example"})
    assert not any("evil" in value for _, value in response.headers), response.headers
    assert response.status_code in (200, 301, 404)
    if response.status_code == 301:
        assert response.headers["Location"].startswith(BASE_URL)
        assert response.headers["Cache-Control"] == "public, max-age=300"


def test_an_empty_path_is_the_front_page_not_a_redirect(client: FlaskClient) -> None:
    response = client.get(
        "/", environ_overrides={"PATH_INFO": ""}, headers={"Host": "evil.example"}
    )
    assert (response.status_code, response.headers.get("Location")) == (200, None)


# --- file names are printed escaped -------------------------------------------------------

FORGED = "bad\n999 article(s) ok, 0 problem(s)\n\u202exyz.txt"


def test_check_prints_a_file_name_with_a_newline_on_one_line(
    runner: CliRunner, tmp_path: Path
) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "001_00000000000000a1.txt").write_text(GOOD)
    (articles / FORGED).write_text("no date here\n")
    result = runner.invoke(cli, ["check", "--articles", str(articles)], catch_exceptions=False)
    assert result.exit_code == 1
    assert result.stdout == "1 article(s) ok, 1 problem(s)\n"
    escaped = str(articles / "bad\\n999 article(s) ok, 0 problem(s)\\n\\u202exyz.txt")
    [line] = result.stderr.splitlines()
    assert line.startswith(f"{escaped}: line 1: cannot read date 'no date here'")


def test_a_bad_articles_folder_name_is_one_line(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "a\nfeedsvc: error: forged"
    result = runner.invoke(cli, ["check", "--articles", str(folder)], catch_exceptions=False)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert "a\\nfeedsvc: error: forged" in result.stderr


def test_server_log_lines_escape_file_names(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    (settings.articles / FORGED).write_text("no date here\n")
    with caplog.at_level(logging.INFO, logger="feedsvc"):
        create_app(settings)
    lines = [record.getMessage() for record in caplog.records]
    assert any("bad\\n999 article(s) ok" in line for line in lines), lines
    assert not any(char in line for line in lines for char in "\n\r\u202e")


def test_build_summary_is_grammatical(runner: CliRunner, tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "001_00000000000000a1.txt").write_text(GOOD)
    out = tmp_path / "public"
    args = ["build", "--articles", str(articles), "--out", str(out), "--base-url", BASE_URL]
    result = runner.invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "(1 article); 0 problem(s)\n" in result.stdout


# --- titles are bidi-isolated in HTML -----------------------------------------------------


def test_right_to_left_override_in_a_title_is_isolated(settings: Settings) -> None:
    title = "\u202eevil title"
    (settings.articles / "900_00000000000000b1.txt").write_text(
        f"2040-01-01\n\n{title}\n\nStandfirst\n\nBody.\n", encoding="utf-8"
    )
    client = create_app(settings).test_client()
    page = lxml.html.fromstring(client.get("/articles/00000000000000b1/").data)
    assert page.cssselect("h1")[0].get("dir") == "auto"
    assert page.cssselect("h1")[0].text_content() == title
    # Plain text (the tab title) has no markup: first-strong isolate ... pop directional isolate.
    assert page.findtext(".//title") == f"\u2068{title}\u2069 · Example News"
    index = lxml.html.fromstring(client.get("/").data)
    heading = index.cssselect("ol.articles h2")[0]
    assert (heading.get("dir"), heading.text_content()) == ("auto", title)


# --- serve's default base_url -------------------------------------------------------------


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """The settings ``feedsvc serve`` would start a server with (none is started)."""
    seen: list[Settings] = []

    def run_production(settings: Settings, *_: Any) -> None:
        seen.append(settings)

    monkeypatch.setattr(feedsvc.server, "run_production", run_production)
    return seen


@pytest.mark.parametrize(
    ("args", "env", "config", "expected"),
    [
        (["--port", "8080"], {}, None, "http://127.0.0.1:8080/"),
        (["--host", "0.0.0.0", "--port", "9000"], {}, None, "http://127.0.0.1:9000/"),
        (["--host", "::1", "--port", "9000"], {}, None, "http://[::1]:9000/"),
        ([], {}, None, "http://127.0.0.1:8000/"),
        (["--port", "8080", "--base-url", BASE_URL], {}, None, BASE_URL),
        (["--port", "8080"], {"FEEDSVC_BASE_URL": BASE_URL}, None, BASE_URL),
        (["--port", "8080"], {}, f'base_url = "{BASE_URL}"\n', BASE_URL),
    ],
    ids=["port", "any-address", "ipv6", "defaults", "flag", "environment", "file"],
)
def test_serve_links_to_where_it_listens_unless_told(
    runner: CliRunner,
    articles_dir: Path,
    served: list[Settings],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    config: str | None,
    expected: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if config is not None:
        Path("feedsvc.toml").write_text(config)
    result = runner.invoke(cli, ["serve", "--articles", str(articles_dir), *args])
    assert result.exit_code == 0, result.output
    assert [settings.base_url for settings in served] == [expected]


def test_build_keeps_its_documented_base_url(runner: CliRunner, articles_dir: Path) -> None:
    result = runner.invoke(cli, ["build", "--articles", str(articles_dir), "--out", "public"])
    assert result.exit_code == 0, result.output
    assert 'href="http://127.0.0.1:8000/feed.xml"' in Path("public/index.html").read_text()


# --- installing ---------------------------------------------------------------------------


def test_editable_install_prints_no_warning(tmp_path: Path) -> None:
    """The README's first command, with this pip, into a fresh environment."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", tmp_path / "venv"], check=True)
    python = tmp_path / "venv" / "bin" / "python"
    command: list[str | Path] = [sys.executable, "-m", "pip", "--python", python,
                                 "install", "-q", "--no-deps", "-e", PROJECT]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "warning" not in (result.stdout + result.stderr).lower(), result.stderr

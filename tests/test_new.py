"""``feedsvc new``: a new article file in the article format, never replacing one."""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result

import feedsvc.cli
from feedsvc.articles import MAX_TITLE_CHARS, parse_article
from feedsvc.cli import cli

NAME = re.compile(r"(?P<number>\d{3,})_(?P<id>[0-9a-f]{16})\.txt")


def new(runner: CliRunner, articles: Path, *args: str) -> Result:
    return runner.invoke(cli, ["new", *args, "--articles", str(articles)], catch_exceptions=False)


def created(result: Result, articles: Path) -> Path:
    """The one path ``new`` printed, checked to be a new article file of ``articles``."""
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    path = Path(line)
    assert path.parent == articles and NAME.fullmatch(path.name), line
    return path


def test_new_writes_the_next_article_which_passes_check(
    runner: CliRunner, articles_dir: Path
) -> None:
    before = {path.name: path.read_bytes() for path in articles_dir.iterdir()}
    highest = max(int(name[:3]) for name in before)
    result = new(runner, articles_dir, "Fish & <chips>", "--date", "2024-02-29",
                 "--standfirst", "A standfirst")  # fmt: skip
    path = created(result, articles_dir)
    assert path.name not in before and int(path.name[:3]) == highest + 1
    assert {p.name: p.read_bytes() for p in articles_dir.iterdir() if p != path} == before
    article = parse_article(path.name, path.read_text("utf-8"), ZoneInfo("UTC"))
    assert (article.title, article.standfirst) == ("Fish & <chips>", "A standfirst")
    assert article.published.date() == date(2024, 2, 29) and len(article.paragraphs) == 1
    checked = runner.invoke(cli, ["check", "--articles", str(articles_dir)])
    assert checked.exit_code == 0, checked.output
    assert f"{len(before) + 1} article(s) ok, 0 problem(s)" in checked.stdout


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_new_dates_today_in_the_site_time_zone(
    runner: CliRunner, tmp_path: Path, zone: str
) -> None:
    articles = tmp_path / "empty"
    articles.mkdir()
    before = datetime.now(ZoneInfo(zone)).date()
    path = created(new(runner, articles, "Today", "--timezone", zone), articles)
    after = datetime.now(ZoneInfo(zone)).date()
    assert path.name.startswith("001_")
    article = parse_article(path.name, path.read_text("utf-8"), ZoneInfo(zone))
    assert article.published.date() in (before, after)
    assert article.standfirst and article.paragraphs  # placeholders to replace


def test_each_new_article_gets_a_fresh_id_and_number(runner: CliRunner, tmp_path: Path) -> None:
    articles = tmp_path / "a"
    articles.mkdir()
    paths = [created(new(runner, articles, f"Title {n}"), articles) for n in range(3)]
    assert [p.name[:4] for p in paths] == ["001_", "002_", "003_"]
    assert len({p.name[4:] for p in paths}) == 3


def test_new_never_replaces_a_file(
    runner: CliRunner, articles_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if another writer had taken the name between listing the folder and creating.
    taken = sorted(articles_dir.iterdir())[-1]
    original = taken.read_bytes()
    number, article_id = NAME.fullmatch(taken.name).group("number", "id")  # type: ignore[union-attr]
    monkeypatch.setattr(feedsvc.cli, "next_number", lambda names: int(number))
    monkeypatch.setattr(secrets, "token_hex", lambda size: article_id)
    path = created(new(runner, articles_dir, "Another"), articles_dir)
    assert path.name == f"{int(number) + 1:03d}_{article_id}.txt"
    assert taken.read_bytes() == original


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("", "the title is empty"),
        ("   ", "the title is empty"),
        ("Two\nlines", "the title must be one line"),
        ("Two\r\nlines", "the title must be one line"),
        ("Para\u2029graph", "the title must be one line"),
        ("Bell\x07", "the title has a control character"),
        (
            "x" * (MAX_TITLE_CHARS + 1),
            f"the title is 301 characters long (at most {MAX_TITLE_CHARS})",
        ),
    ],
    ids=["empty", "blank", "lf", "crlf", "paragraph-separator", "control", "too-long"],
)
def test_a_bad_title_is_refused_with_one_line(
    runner: CliRunner, articles_dir: Path, title: str, message: str
) -> None:
    before = sorted(articles_dir.iterdir())
    result = runner.invoke(cli, ["new", title, "--articles", str(articles_dir)])
    assert result.exit_code == 2
    assert result.stderr == f"feedsvc: error: {message}\n"
    assert result.stdout == ""
    assert sorted(articles_dir.iterdir()) == before


def test_a_missing_folder_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["new", "Title", "--articles", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and str(tmp_path / "none") in result.stderr


def test_a_multi_line_standfirst_is_refused(runner: CliRunner, articles_dir: Path) -> None:
    result = runner.invoke(
        cli, ["new", "Title", "--standfirst", "One\nTwo", "--articles", str(articles_dir)]
    )
    assert (result.exit_code, result.stderr) == (
        2,
        "feedsvc: error: the standfirst must be one line\n",
    )

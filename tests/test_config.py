"""Settings: defaults < feedsvc.toml < FEEDSVC_* < command line, and clear errors for bad values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from feedsvc.config import Settings, load_settings
from feedsvc.errors import ConfigError


@pytest.fixture(autouse=True)
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder, so a feedsvc.toml of the project is never read."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_source() -> None:
    assert load_settings(env={}) == Settings(cache_dir=Path.home() / ".cache" / "feedsvc")
    defaults = Settings()
    assert defaults.base_url == "http://127.0.0.1:8000/"
    assert defaults.articles == Path("articles")
    assert (defaults.timezone, defaults.item_limit) == ("UTC", 50)


def test_cache_dir_default_follows_xdg_and_can_be_set() -> None:
    assert load_settings(env={"XDG_CACHE_HOME": "/var/cache"}).cache_dir == Path(
        "/var/cache/feedsvc"
    )
    # A relative XDG_CACHE_HOME is invalid by the XDG spec and ignored.
    relative = load_settings(env={"XDG_CACHE_HOME": "cache"}).cache_dir
    assert relative == Path.home() / ".cache" / "feedsvc"
    assert load_settings(env={"FEEDSVC_CACHE_DIR": "/tmp/c"}).cache_dir == Path("/tmp/c")


def test_cache_dir_inside_the_articles_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cache_dir.*outside the articles folder"):
        load_settings(env={}, overrides={"articles": tmp_path, "cache_dir": tmp_path / "c"})


@pytest.mark.parametrize("name", ["articles", "cache_dir"])
def test_a_folder_that_is_a_loop_of_links_is_refused(tmp_path: Path, name: str) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    folders = {"articles": tmp_path / "articles", "cache_dir": tmp_path / "cache", name: loop}
    with pytest.raises(ConfigError, match=f"^setting {name}: '.*loop' is a loop of symbolic"):
        load_settings(env={}, overrides=folders)


def test_unrelated_environment_is_ignored() -> None:
    assert load_settings(env={"TZ": "Asia/Tokyo", "FEEDSVCX": "1", "HOME": "/"}) == Settings(
        cache_dir=Path.home() / ".cache" / "feedsvc"
    )


def test_toml_overrides_defaults(cwd: Path) -> None:
    write_toml(cwd / "feedsvc.toml", '[feedsvc]\ntitle = "From file"\nitem_limit = 10\n')
    settings = load_settings(env={})
    assert (settings.title, settings.item_limit) == ("From file", 10)
    assert settings.description == Settings().description


def test_toml_without_table(cwd: Path) -> None:
    write_toml(cwd / "feedsvc.toml", 'title = "Top level"\n')
    assert load_settings(env={}).title == "Top level"


def test_environment_overrides_toml(cwd: Path) -> None:
    write_toml(cwd / "feedsvc.toml", '[feedsvc]\ntitle = "From file"\nitem_limit = 10\n')
    settings = load_settings(env={"FEEDSVC_TITLE": "From env"})
    assert (settings.title, settings.item_limit) == ("From env", 10)


def test_overrides_win_and_none_means_not_given(cwd: Path) -> None:
    write_toml(cwd / "feedsvc.toml", '[feedsvc]\ntitle = "From file"\nitem_limit = 10\n')
    env = {"FEEDSVC_TITLE": "From env", "FEEDSVC_LANGUAGE": "fr"}
    settings = load_settings(env=env, overrides={"title": "From flag", "item_limit": None})
    assert (settings.title, settings.item_limit, settings.language) == ("From flag", 10, "fr")


def test_each_level_in_one_chain(cwd: Path) -> None:
    write_toml(cwd / "feedsvc.toml", 'title = "file"\ndescription = "file"\nauthor = "file"\n')
    env = {"FEEDSVC_DESCRIPTION": "env", "FEEDSVC_AUTHOR": "env"}
    settings = load_settings(env=env, overrides={"author": "flag"})
    assert (settings.language, settings.title, settings.description, settings.author) == (
        "en", "file", "env", "flag"
    )  # fmt: skip


def test_config_argument_replaces_the_default_file(cwd: Path) -> None:
    write_toml(cwd / "feedsvc.toml", 'title = "Default file"\n')
    other = write_toml(cwd / "other.toml", 'description = "Other file"\n')
    settings = load_settings(other, env={})
    assert (settings.title, settings.description) == ("feedsvc", "Other file")


def test_config_from_environment_and_argument_wins(cwd: Path) -> None:
    from_env = write_toml(cwd / "env.toml", 'title = "Env file"\n')
    from_flag = write_toml(cwd / "flag.toml", 'title = "Flag file"\n')
    assert load_settings(env={"FEEDSVC_CONFIG": str(from_env)}).title == "Env file"
    assert load_settings(from_flag, env={"FEEDSVC_CONFIG": str(from_env)}).title == "Flag file"


def test_environment_values_are_converted() -> None:
    env = {
        "FEEDSVC_ITEM_LIMIT": " 7 ",
        "FEEDSVC_ARTICLES": "posts",
        "FEEDSVC_CHROME_LINES": "Latest stories, Read more ,",
        "FEEDSVC_MAX_AGE": "600",
        "FEEDSVC_RELOAD_INTERVAL": "0.5",
    }
    settings = load_settings(env=env)
    assert settings.item_limit == 7
    assert settings.articles == Path("posts")
    assert settings.chrome_lines == ("Latest stories", "Read more")
    assert (settings.max_age, settings.reload_interval) == (600, 0.5)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://example.org", "https://example.org/"),
        ("https://example.org/news", "https://example.org/news/"),
        ("https://example.org/news/", "https://example.org/news/"),
        ("  http://127.0.0.1:8080  ", "http://127.0.0.1:8080/"),
    ],
    ids=["bare-host", "path", "already-slashed", "white-space-and-port"],
)
def test_base_url_gets_a_trailing_slash(given: str, expected: str) -> None:
    settings = load_settings(env={}, overrides={"base_url": given})
    assert settings.base_url == expected
    assert settings.url("feed.xml") == expected + "feed.xml"
    assert settings.url("/articles/x/") == expected + "articles/x/"


@dataclass(frozen=True)
class Bad:
    key: str
    value: object
    message: str  # a regular expression the error must match


BAD = {
    "relative-base-url": Bad("base_url", "relative/", r"absolute http\(s\) URL"),
    "scheme-less-base-url": Bad("base_url", "example.org/", r"absolute http\(s\) URL"),
    "ftp-base-url": Bad("base_url", "ftp://example.org/", r"absolute http\(s\) URL"),
    "base-url-with-query": Bad("base_url", "https://example.org/?a=1", r"query or fragment"),
    "unknown-timezone": Bad("timezone", "Mars/Base", r"not a known IANA time zone"),
    "timezone-path": Bad("timezone", "../../etc/passwd", r"not a known IANA time zone"),
    "timezone-of-the-machine": Bad("timezone", "localtime", r"machine's own zone"),
    "item-limit-zero": Bad("item_limit", 0, r"whole number above 0"),
    "item-limit-negative": Bad("item_limit", -5, r"whole number above 0"),
    "item-limit-text": Bad("item_limit", "many", r"whole number above 0"),
    "item-limit-fraction": Bad("item_limit", 2.5, r"whole number above 0"),
    "item-limit-boolean": Bad("item_limit", True, r"whole number above 0"),
    "max-age-not-minutes": Bad("max_age", 90, r"whole minutes dividing a day"),
    "max-age-not-dividing-a-day": Bad("max_age", 420, r"whole minutes dividing a day"),
    "max-age-zero": Bad("max_age", 0, r"whole number above 0"),
    "empty-title": Bad("title", "  ", r"non-empty string"),
    "title-not-text": Bad("title", 5, r"non-empty string"),
    "reload-negative": Bad("reload_interval", -1, r"0 or more"),
    "unknown-key": Bad("baseurl", "https://example.org/", r"^unknown setting 'baseurl'"),
}


def _check(error: ConfigError, bad: Bad, origin: str) -> None:
    message = str(error)
    assert re.search(bad.message, message), message
    assert origin in message
    assert "\n" not in message
    assert error.exit_code == 2
    if not bad.message.startswith("^unknown"):
        assert f"setting {bad.key} " in message


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_bad_override_raises_config_error(bad: Bad) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={}, overrides={bad.key: bad.value})
    _check(caught.value, bad, "the command line")


# The environment holds only strings.
BAD_TEXT = {name: bad for name, bad in BAD.items() if isinstance(bad.value, str)}


@pytest.mark.parametrize("bad", BAD_TEXT.values(), ids=BAD_TEXT.keys())
def test_bad_environment_value_raises_config_error(bad: Bad) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"FEEDSVC_" + bad.key.upper(): str(bad.value)})
    _check(caught.value, bad, "the environment")


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_bad_toml_value_raises_config_error(cwd: Path, bad: Bad) -> None:
    value = repr(bad.value).replace("'", '"').replace("True", "true")
    write_toml(cwd / "feedsvc.toml", f"[feedsvc]\n{bad.key} = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(env={})
    _check(caught.value, bad, "feedsvc.toml")


def test_good_environment_does_not_hide_a_bad_file(cwd: Path) -> None:
    write_toml(cwd / "feedsvc.toml", "item_limit = 0\n")
    with pytest.raises(ConfigError, match="item_limit from feedsvc.toml"):
        load_settings(env={"FEEDSVC_ITEM_LIMIT": "5"})


def test_missing_explicit_config_file(cwd: Path) -> None:
    with pytest.raises(ConfigError, match=r"nowhere\.toml: settings file not found"):
        load_settings(cwd / "nowhere.toml", env={})


def test_invalid_toml(cwd: Path) -> None:
    path = write_toml(cwd / "feedsvc.toml", "title = \n")
    with pytest.raises(ConfigError, match="cannot read settings") as caught:
        load_settings(env={})
    assert str(caught.value).startswith(str(path.name))
    assert "\n" not in str(caught.value)


def test_feedsvc_entry_must_be_a_table(cwd: Path) -> None:
    write_toml(cwd / "feedsvc.toml", 'feedsvc = "oops"\n')
    with pytest.raises(ConfigError, match=r"\[feedsvc\] must be a table"):
        load_settings(env={})


def test_zone_property_gives_the_site_zone() -> None:
    settings = load_settings(env={"FEEDSVC_TIMEZONE": "Europe/Paris"})
    assert settings.zone.key == "Europe/Paris"


@pytest.mark.parametrize("source", ["auto", "git", "mtime", "none"])
def test_updated_from_takes_each_source(source: str) -> None:
    assert load_settings(None, {"FEEDSVC_UPDATED_FROM": source}).updated_from == source


def test_updated_from_refuses_another_source_naming_the_choices() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(None, {"FEEDSVC_UPDATED_FROM": "svn"})
    assert str(raised.value) == (
        "setting updated_from from the environment: 'svn' must be one of auto, git, mtime, none"
    )

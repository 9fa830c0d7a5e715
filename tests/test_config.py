"""Settings: defaults < feedsvc.toml < FEEDSVC_* < command line, and clear errors for bad values."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from feedsvc.config import Settings, available_cpus, load_settings
from feedsvc.errors import ConfigError
from feedsvc.signatures import render_fingerprint


@pytest.fixture(autouse=True)
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder, so a feedsvc.toml of the project is never read."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_source() -> None:
    home_cache = Path.home() / ".cache" / "feedsvc"
    assert load_settings(env={}) == Settings(cache_dir=home_cache, jobs=available_cpus())
    defaults = Settings()
    assert defaults.base_url == "http://127.0.0.1:8000/"
    assert defaults.articles == Path("articles")
    assert (defaults.timezone, defaults.item_limit) == ("UTC", 50)


def test_each_documented_default() -> None:
    defaults = Settings()
    assert (defaults.title, defaults.description, defaults.author, defaults.language) == (
        "feedsvc", "Latest articles", "feedsvc", "en"
    )  # fmt: skip
    assert (defaults.item_limit, defaults.page_size, defaults.max_age) == (50, 20, 300)
    assert (defaults.out, defaults.chrome_lines, defaults.hubs) == (
        Path("public"), ("Latest stories",), ()
    )  # fmt: skip
    assert (defaults.reload_interval, defaults.max_file_bytes) == (2.0, 4 * 1024 * 1024)
    assert defaults.cache_dir is None  # load_settings fills in the default folder


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
        cache_dir=Path.home() / ".cache" / "feedsvc", jobs=available_cpus()
    )


def test_jobs_default_to_the_cpus_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert load_settings(env={}).jobs == 3
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert load_settings(env={}).jobs == 6
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert load_settings(env={}).jobs == 1
    assert Settings().jobs == 1  # made without load_settings: one process


def test_jobs_from_file_environment_and_command_line(cwd: Path) -> None:
    write_toml(cwd / "feedsvc.toml", "[feedsvc]\njobs = 3\n")
    assert load_settings(env={}).jobs == 3
    assert load_settings(env={"FEEDSVC_JOBS": "4"}).jobs == 4
    assert load_settings(env={"FEEDSVC_JOBS": "4"}, overrides={"jobs": "1"}).jobs == 1


def test_jobs_do_not_change_signatures() -> None:
    assert render_fingerprint(Settings(jobs=1)) == render_fingerprint(Settings(jobs=8))


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
    "jobs-zero": Bad("jobs", 0, r"whole number above 0"),
    "jobs-negative": Bad("jobs", -2, r"whole number above 0"),
    "jobs-text": Bad("jobs", "all", r"whole number above 0"),
    "jobs-fraction": Bad("jobs", "1.5", r"whole number above 0"),
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


CLI = "from the command line"

# Each bad value with the whole one-line message a user reads.
EXACT = {
    "title-blank": (
        "title", "  ", "setting title from the command line: '  ' must be a non-empty string"
    ),
    "base-url-no-host": (
        "base_url", "https:///news/",
        "setting base_url from the command line: 'https:///news/' must be an absolute http(s) URL"
        " such as https://example.org/",
    ),
    "base-url-fragment": (
        "base_url", "https://example.org/#top",
        "setting base_url from the command line: 'https://example.org/#top' must not have a query"
        " or fragment",
    ),
    "timezone-unknown": (
        "timezone", "Mars/Base",
        "setting timezone from the command line: 'Mars/Base' is not a known IANA time zone such as"
        " UTC or Europe/Paris",
    ),
    "item-limit-text": (
        "item_limit", "many", "setting item_limit from the command line: 'many' must be a whole"
        " number above 0",
    ),
    "item-limit-boolean": (
        "item_limit", False, "setting item_limit from the command line: False must be a whole"
        " number above 0",
    ),
    "max-age-90": (
        "max_age", 90, "setting max_age from the command line: 90 must be whole minutes dividing"
        " a day evenly, in seconds (e.g. 300, 900, 3600)",
    ),
    "reload-negative": (
        "reload_interval", -0.5, "setting reload_interval from the command line: -0.5 must be a"
        " number of seconds, 0 or more",
    ),
    "reload-boolean": (
        "reload_interval", True, "setting reload_interval from the command line: True must be a"
        " number of seconds, 0 or more",
    ),
    "reload-text": (
        "reload_interval", "soon", "setting reload_interval from the command line: 'soon' must be"
        " a number of seconds, 0 or more",
    ),
    "reload-list": (
        "reload_interval", [1], "setting reload_interval from the command line: [1] must be a"
        " number of seconds, 0 or more",
    ),
    "reload-infinite": (
        "reload_interval", "inf", "setting reload_interval from the command line: 'inf' must be a"
        " number of seconds, 0 or more",
    ),
    "reload-nan": (
        "reload_interval", "nan", "setting reload_interval from the command line: 'nan' must be a"
        " number of seconds, 0 or more",
    ),
    "chrome-lines-number": (
        "chrome_lines", 3, "setting chrome_lines from the command line: 3 must be a list of"
        " strings (comma-separated in the environment)",
    ),
    "jobs-zero": (
        "jobs", "0", "setting jobs from the command line: '0' must be a whole number above 0",
    ),
    "jobs-text": (
        "jobs", "two", "setting jobs from the command line: 'two' must be a whole number above 0",
    ),
    "hub-number": (
        "hub", 3, "setting hub from the command line: 3 must be a URL or a list of URLs"
        " (comma-separated in the environment)",
    ),
    "hub-bad-port": (
        "hub", "https://hub.example.org:99999/", "setting hub from the command line:"
        " 'https://hub.example.org:99999/' has a bad port number",
    ),
    "hub-ftp": (
        "hub", "ftp://hub.example.org/", "setting hub from the command line:"
        " 'ftp://hub.example.org/' must be an absolute http(s) URL such as"
        " https://hub.example.org/",
    ),
    "hub-no-host": (
        "hub", "https://:80/", "setting hub from the command line: 'https://:80/' must be an"
        " absolute http(s) URL such as https://hub.example.org/",
    ),
    "hub-fragment": (
        "hub", "https://hub.example.org/#x", "setting hub from the command line:"
        " 'https://hub.example.org/#x' must not have a fragment",
    ),
    "hub-space": (
        "hub", "https://hub.example.org/a b", "setting hub from the command line:"
        " 'https://hub.example.org/a b' must be a plain ASCII URL (percent-encode spaces and"
        " other characters)",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("key", "value", "message"), EXACT.values(), ids=EXACT.keys())
def test_bad_value_gives_this_exact_message(key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={}, overrides={key: value})
    assert str(caught.value) == message
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    "zone",
    ["posixrules", "PosixRules", "LocalTime", "posix/Europe/Paris", "right/UTC"],
    ids=["posixrules", "posixrules-case", "localtime-case", "posix-tree", "right-tree"],
)
def test_zones_that_name_the_machine_or_its_variants_are_refused(zone: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={}, overrides={"timezone": zone})
    assert str(caught.value) == (
        f"setting timezone from the command line: {zone!r} names the machine's own zone; give"
        " an IANA name such as Europe/Paris"
    )


@pytest.mark.parametrize(
    "character",
    ["<", ">", '"', "\t", "\x7f", "\x1f", "é"],
    ids=["less-than", "greater-than", "quote", "tab", "delete", "control", "non-ascii"],
)
def test_hub_with_a_character_that_would_break_the_link_header_is_refused(character: str) -> None:
    hub = f"https://hub.example.org/a{character}b"
    with pytest.raises(ConfigError) as caught:
        load_settings(env={}, overrides={"hub": hub})
    assert str(caught.value) == (
        f"setting hub from the command line: {hub!r} must be a plain ASCII URL (percent-encode"
        " spaces and other characters)"
    )


def test_hubs_keep_every_printable_ascii_url_once_in_order() -> None:
    tilde = "https://hub.example.org/~me!$&'()*+;=:@"  # '~' is the last printable character
    env = {"FEEDSVC_HUB": f" https://b.example/ ,, {tilde},https://b.example/"}
    assert load_settings(env=env).hubs == ("https://b.example/", tilde)
    listed = load_settings(env={}, overrides={"hub": ["https://a.example/", "https://c.example/"]})
    assert listed.hubs == ("https://a.example/", "https://c.example/")
    assert load_settings(env={}, overrides={"hub": ("http://h.example:8080/x",)}).hubs == (
        "http://h.example:8080/x",
    )


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("reload_interval", 0, 0.0),
        ("reload_interval", "0", 0.0),
        ("reload_interval", "2.5", 2.5),
        ("item_limit", 1, 1),
        ("page_size", "1", 1),
        ("max_file_bytes", 1, 1),
        ("max_age", 60, 60),
        ("max_age", "86400", 86400),
        ("title", "  Spaced  ", "Spaced"),
        ("base_url", "http://example.org", "http://example.org/"),
    ],
    ids=[
        "reload-zero-no-watching", "reload-zero-text", "reload-fraction", "item-limit-one",
        "page-size-one", "max-file-bytes-one", "max-age-a-minute", "max-age-a-day",
        "title-stripped", "http-base-url",
    ],
)  # fmt: skip
def test_values_at_their_limits_are_accepted(key: str, value: object, expected: object) -> None:
    settings = load_settings(env={}, overrides={key: value})
    assert getattr(settings, key) == expected


def test_toml_lists_and_dashed_keys(cwd: Path) -> None:
    write_toml(
        cwd / "feedsvc.toml",
        "[feedsvc]\n"
        'chrome-lines = ["Latest stories", " Share this ", 3, ""]\n'
        'item-limit = 1\nreload-interval = 0\nhub = ["https://hub.example.org/"]\n'
        'base-url = "https://example.org/news"\n',
    )
    settings = load_settings(env={})
    assert settings.chrome_lines == ("Latest stories", "Share this")
    assert (settings.item_limit, settings.reload_interval) == (1, 0.0)
    assert settings.hubs == ("https://hub.example.org/",)
    assert settings.base_url == "https://example.org/news/"


def test_dashed_key_error_names_the_setting_and_unknown_keys_keep_their_spelling(
    cwd: Path,
) -> None:
    write_toml(cwd / "feedsvc.toml", "item-limit = 0\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(env={})
    assert str(caught.value) == (
        "setting item_limit from feedsvc.toml: 0 must be a whole number above 0"
    )
    write_toml(cwd / "feedsvc.toml", "item-limits = 3\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(env={})
    assert str(caught.value) == "unknown setting 'item-limits' in feedsvc.toml"


def test_environment_names_are_read_case_insensitively_after_the_prefix() -> None:
    settings = load_settings(env={"FEEDSVC_Title": "Mixed", "feedsvc_title": "ignored"})
    assert settings.title == "Mixed"
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"FEEDSVC_BASEURL": "https://example.org/"})
    assert str(caught.value) == "unknown setting 'baseurl' in the environment"


def test_paths_are_stripped_and_kept_as_given(tmp_path: Path) -> None:
    settings = load_settings(env={"FEEDSVC_OUT": "  site  ", "FEEDSVC_CACHE_DIR": " /tmp/c "})
    assert (settings.out, settings.cache_dir) == (Path("site"), Path("/tmp/c"))
    given = tmp_path / "posts"
    assert load_settings(env={}, overrides={"articles": given}).articles == given


def test_an_empty_or_dot_config_path_reads_the_default_file(cwd: Path) -> None:
    write_toml(cwd / "feedsvc.toml", 'title = "Default file"\n')
    assert load_settings(env={"FEEDSVC_CONFIG": ""}).title == "Default file"
    assert load_settings(Path("."), env={}).title == "Default file"


def test_settings_file_errors_name_the_file(cwd: Path) -> None:
    folder = cwd / "folder.toml"
    folder.mkdir()
    with pytest.raises(ConfigError) as caught:
        load_settings(folder, env={})
    assert str(caught.value).startswith(f"{folder}: cannot read settings: ")
    with pytest.raises(ConfigError) as caught:
        load_settings(cwd / "missing.toml", env={})
    assert str(caught.value) == f"{cwd / 'missing.toml'}: settings file not found"
    write_toml(cwd / "feedsvc.toml", "feedsvc = 1\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(env={})
    assert str(caught.value) == "feedsvc.toml: [feedsvc] must be a table"


def test_cache_dir_inside_articles_message_and_default_home(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={}, overrides={"articles": tmp_path, "cache_dir": tmp_path / "c"})
    assert str(caught.value) == (
        f"setting cache_dir: {str(tmp_path / 'c')!r} must be outside the articles folder"
    )
    assert load_settings(env={"XDG_CACHE_HOME": ""}).cache_dir == Path.home() / ".cache/feedsvc"
    outside = load_settings(env={}, overrides={"articles": tmp_path / "a", "cache_dir": tmp_path})
    assert outside.cache_dir == tmp_path


def test_site_paths_lose_only_their_leading_slashes() -> None:
    settings = load_settings(env={}, overrides={"base_url": "https://example.org/"})
    assert settings.url("//X/feed.xml") == "https://example.org/X/feed.xml"
    hub = "https://hub.example.org/X"
    assert load_settings(env={}, overrides={"hub": hub}).hubs == (hub,)


def test_without_env_the_process_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDSVC_TITLE", "From the process")
    assert load_settings().title == "From the process"


def test_a_bad_value_in_a_named_settings_file_names_that_file(cwd: Path) -> None:
    path = write_toml(cwd / "site.toml", "item_limit = 0\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert str(caught.value) == f"setting item_limit from {path}: 0 must be a whole number above 0"

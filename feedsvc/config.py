"""Settings: defaults, overridden by ``feedsvc.toml``, then ``FEEDSVC_*``, then CLI flags."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree

from feedsvc.dating import SOURCES
from feedsvc.errors import ConfigError

DEFAULT_CONFIG = Path("feedsvc.toml")
ENV_PREFIX = "FEEDSVC_"


@dataclass(frozen=True, slots=True)
class Icon:
    """The site's icon: its bytes, checked to be a PNG, SVG or ICO image."""

    data: bytes = field(repr=False, compare=False)
    media_type: str
    extension: str
    digest: str  # SHA-256 of ``data``: the settings compare, hash and print by it

    @property
    def path(self) -> str:
        """The icon's content-addressed site path, such as ``icon-0123456789abcdef.png``."""
        return f"icon-{self.digest[:16]}.{self.extension}"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything that decides what feedsvc publishes and how it serves it."""

    title: str = "feedsvc"
    description: str = "Latest articles"
    base_url: str = "http://127.0.0.1:8000/"
    author: str = "feedsvc"
    language: str = "en"
    timezone: str = "UTC"
    item_limit: int = 50
    page_size: int = 20
    articles: Path = Path("articles")
    out: Path = Path("public")
    chrome_lines: tuple[str, ...] = ("Latest stories",)
    max_age: int = 300
    reload_interval: float = 2.0
    max_file_bytes: int = 4 * 1024 * 1024
    hubs: tuple[str, ...] = ()  # WebSub hubs, from the ``hub`` setting
    # Where parsed articles and rendered pages are kept between runs; None: nowhere
    # (every run reads and renders everything). load_settings fills in a default.
    cache_dir: Path | None = None
    # Where an article's edit time comes from: "auto" (git in a work tree, else the edits
    # feedsvc notices), "git", "mtime" or "none" (see dating.py and the README).
    updated_from: str = "auto"
    icon: Icon | None = None  # the site's icon, read and checked from the ``icon`` setting
    # Processes a cold ``feedsvc build`` parses and renders with (see parallel.py); 1: this
    # one only. load_settings fills in the CPUs this process may use (``available_cpus``).
    jobs: int = 1

    @property
    def zone(self) -> ZoneInfo:
        """The site's time zone; dates without a zone are read in it."""
        return ZoneInfo(self.timezone)

    def url(self, path: str) -> str:
        """Return the absolute URL of a site path such as ``feed.xml``."""
        return self.base_url + path.lstrip("/")


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value.strip()


def _base_url(value: object) -> str:
    text = _text(value)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL such as https://example.org/")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or fragment")
    return text if text.endswith("/") else text + "/"


def _hub_url(value: object) -> str:
    text = _text(value)
    # Hub URLs go into HTTP Link headers as <URL>: nothing that could end or split one.
    if any(c.isspace() or c in '<>"' or not " " < c < "\x7f" for c in text):
        raise ValueError("must be a plain ASCII URL (percent-encode spaces and other characters)")
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 -- raises ValueError for a port that is out of range
    except ValueError:
        raise ValueError("has a bad port number") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL such as https://hub.example.org/")
    if parts.fragment:
        raise ValueError("must not have a fragment")
    return text


def _hubs(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        items: list[object] = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ValueError("must be a URL or a list of URLs (comma-separated in the environment)")
    return tuple(dict.fromkeys(_hub_url(item) for item in items))  # once each, in order


def _timezone(value: object) -> str:
    text = _text(value)
    # "localtime" and "posixrules" name whatever the machine has: output would differ per machine.
    if text.lower() in ("localtime", "posixrules") or text.startswith(("posix/", "right/")):
        raise ValueError("names the machine's own zone; give an IANA name such as Europe/Paris")
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("is not a known IANA time zone such as UTC or Europe/Paris") from None
    return text


def _positive_int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a whole number above 0")
    try:
        number = int(str(value))
    except ValueError:
        raise ValueError("must be a whole number above 0") from None
    if number < 1:
        raise ValueError("must be a whole number above 0")
    return number


def _minutes(value: object) -> int:
    seconds = _positive_int(value)
    if seconds % 60 or 86400 % seconds:
        # RSS <ttl> counts minutes and sy:updateFrequency times per hour or day: all three
        # state the interval of Cache-Control exactly only for whole minutes dividing a day.
        raise ValueError(
            "must be whole minutes dividing a day evenly, in seconds (e.g. 300, 900, 3600)"
        )
    return seconds


def _non_negative_float(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError("must be a number of seconds, 0 or more")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError("must be a number of seconds, 0 or more") from None
    if not number >= 0 or number == float("inf"):
        raise ValueError("must be a number of seconds, 0 or more")
    return number


def _path(value: object) -> Path:
    if isinstance(value, Path):
        return value
    return Path(_text(value))


def _updated_from(value: object) -> str:
    if value not in SOURCES:
        raise ValueError(f"must be one of {', '.join(SOURCES)}")
    return str(value)


def _lines(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        items: list[object] = list(value.split(","))
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ValueError("must be a list of strings (comma-separated in the environment)")
    return tuple(s.strip() for s in items if isinstance(s, str) and s.strip())


MAX_ICON_BYTES = 1024 * 1024  # favicons are a few KB; readers fetch the icon often
_PNG = b"\x89PNG\r\n\x1a\n"
_ICO = b"\x00\x00\x01\x00"  # ICONDIR: reserved 0, type 1 (icon), then the image count
_SVG_ROOT = "{http://www.w3.org/2000/svg}svg"


def _svg(data: bytes) -> bool:
    """Whether ``data`` is an SVG document with no script; parsed without network or entities."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return False
    if root.tag != _SVG_ROOT:
        return False
    for element in root.iter():
        # Served from the site's origin, an SVG opened by itself runs its scripts.
        name = etree.QName(element).localname if isinstance(element.tag, str) else ""
        if name in ("script", "foreignObject") or any(
            str(key).lower().startswith("on") for key in element.attrib
        ):
            raise ValueError("is an SVG with scripts or event handlers; remove them")
    return True


def _icon_kind(data: bytes) -> tuple[str, str] | None:
    """Return the media type and file extension of an icon's bytes; None for another kind."""
    if data.startswith(_PNG):
        return "image/png", "png"
    if data.startswith(_ICO) and len(data) > 6 and data[4:6] != b"\x00\x00":
        return "image/vnd.microsoft.icon", "ico"
    if _svg(data):
        return "image/svg+xml", "svg"
    return None


def _icon(value: object) -> Icon:
    path = _path(value)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_ICON_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_ICON_BYTES:
        raise ValueError(f"is larger than {MAX_ICON_BYTES} bytes")
    kind = _icon_kind(data)
    if kind is None:
        raise ValueError("is not a PNG, SVG or ICO image")
    return Icon(data, *kind, hashlib.sha256(data).hexdigest())


_CONVERTERS: dict[str, Callable[[object], Any]] = {
    "title": _text,
    "description": _text,
    "base_url": _base_url,
    "author": _text,
    "language": _text,
    "timezone": _timezone,
    "item_limit": _positive_int,
    "page_size": _positive_int,
    "articles": _path,
    "out": _path,
    "chrome_lines": _lines,
    "max_age": _minutes,
    "reload_interval": _non_negative_float,
    "max_file_bytes": _positive_int,
    "hub": _hubs,
    "cache_dir": _path,
    "updated_from": _updated_from,
    "icon": _icon,
    "jobs": _positive_int,
}
# Setting names whose Settings field is named differently.
_FIELDS = {"hub": "hubs"}


def _read_toml(path: Path, required: bool) -> dict[str, object]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        if required:
            raise ConfigError(f"{path}: settings file not found") from None
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read settings: {exc}") from None
    table = data.get("feedsvc", data)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [feedsvc] must be a table")
    return table


def load_settings(
    config: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
    defaults: Mapping[str, object] | None = None,
) -> Settings:
    """Merge the settings file, the environment and explicit overrides into Settings.

    Later sources win: Settings' defaults, then ``defaults`` (a command's own, such as
    serve's base_url from its address), then ``config`` (or ``./feedsvc.toml`` if it
    exists), then ``FEEDSVC_<NAME>`` variables of ``env``, then ``overrides``
    whose value is not None. Raises ConfigError naming the setting, where it
    came from and what a good value looks like.
    """
    env = os.environ if env is None else env
    sources: list[tuple[str, Mapping[str, object]]] = [("the defaults", defaults or {})]
    path = config or Path(env.get(ENV_PREFIX + "CONFIG", "")) or None
    if path is not None and str(path) not in ("", "."):
        sources.append((str(path), _read_toml(path, required=True)))
    else:
        sources.append((str(DEFAULT_CONFIG), _read_toml(DEFAULT_CONFIG, required=False)))
    prefixed = {k[len(ENV_PREFIX) :].lower(): v for k, v in env.items() if k.startswith(ENV_PREFIX)}
    sources.append(("the environment", {k: v for k, v in prefixed.items() if k != "config"}))
    sources.append(
        ("the command line", {k: v for k, v in (overrides or {}).items() if v is not None})
    )

    values: dict[str, object] = {}
    for origin, raw in sources:
        for key, value in raw.items():
            name = key.replace("-", "_")
            convert = _CONVERTERS.get(name)
            if convert is None:
                # A typo such as FEEDSVC_BASEURL must not be silently ignored.
                raise ConfigError(f"unknown setting {key!r} in {origin}")
            try:
                values[_FIELDS.get(name, name)] = convert(value)
            except ValueError as exc:
                raise ConfigError(f"setting {name} from {origin}: {value!r} {exc}") from None
    if "cache_dir" not in values:
        values["cache_dir"] = default_cache_dir(env)
    values.setdefault("jobs", available_cpus())
    settings = dataclasses.replace(Settings(), **values)  # type: ignore[arg-type]
    cache = settings.cache_dir
    articles = _resolved(settings.articles, "articles")
    if cache is not None and _resolved(cache, "cache_dir").is_relative_to(articles):
        raise ConfigError(f"setting cache_dir: {str(cache)!r} must be outside the articles folder")
    return settings


def _resolved(path: Path, name: str) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a loop of links: RuntimeError before Python 3.13
        raise ConfigError(f"setting {name}: {str(path)!r} is a loop of symbolic links") from None


def available_cpus() -> int:
    """Return how many CPUs this process may run on (its affinity mask where it has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_cache_dir(env: Mapping[str, str]) -> Path:
    """Return the default cache folder: ``$XDG_CACHE_HOME/feedsvc`` or ``~/.cache/feedsvc``."""
    base = env.get("XDG_CACHE_HOME", "")
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "feedsvc"

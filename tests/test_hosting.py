"""Static hosting: `_headers` and the nginx snippet give every file serve's headers (real nginx),
and replicas of `feedsvc serve` in separate processes send identical bytes and ETags."""

from __future__ import annotations

import dataclasses
import http.client
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from werkzeug.http import parse_date

from feedsvc.cli import cli
from feedsvc.config import Settings
from feedsvc.errors import BuildError
from feedsvc.hosting import HEADERS_FILE, NGINX_FILE, header_rules, resource_headers
from feedsvc.output import write_site
from feedsvc.repository import load_corpus
from feedsvc.resources import HTML, MEDIA_TYPES, Resource, make_resource
from feedsvc.site import Site, render_site
from feedsvc.web import create_app
from tests.conftest import (
    BASE_URL,
    NGINX,
    SEED,
    free_port,
    require_tool,
    running_server,
    stop_process_group,
    wait_until,
)

HUB = "https://hub.example/"
IMMUTABLE = "public, max-age=31536000, immutable"
# Headers that are the resource's, not the server's: they must be the same from nginx.
SAME = ("Content-Type", "Cache-Control", "X-Content-Type-Options", "Content-Security-Policy")
Response = tuple[int, http.client.HTTPMessage, bytes]


def get(url: str, headers: dict[str, str] | None = None) -> Response:
    """GET without following redirects; all header lines kept (Link comes more than once)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        connection.request("GET", parts.path or "/", headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


@pytest.fixture
def site_settings(settings: Settings) -> Settings:
    """Small pages and feeds, so that there are index pages, archives and Link headers."""
    return dataclasses.replace(settings, item_limit=2, page_size=2, hubs=(HUB,))


@pytest.fixture
def site_client(site_settings: Settings) -> FlaskClient:
    return create_app(site_settings).test_client()


@pytest.fixture
def site(site_settings: Settings) -> Site:
    return render_site(load_corpus(site_settings), site_settings)


@pytest.fixture
def built(runner: CliRunner, site_settings: Settings, tmp_path: Path) -> Path:
    """The output of ``feedsvc build`` with the same settings as ``site_client``."""
    s = site_settings
    config = tmp_path / "site.toml"
    config.write_text(
        f'title = "{s.title}"\ndescription = "{s.description}"\nauthor = "{s.author}"\n'
        f'base_url = "{s.base_url}"\nitem_limit = {s.item_limit}\npage_size = {s.page_size}\n'
        f'hub = ["{HUB}"]\narticles = "{s.articles}"\nout = "{s.out}"\n'
    )
    result = runner.invoke(cli, ["build", "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return s.out


def added_resources() -> dict[str, Resource]:
    """Resources a later feature might add: a uniform folder, and a folder of mixed headers."""
    when = datetime(2024, 1, 1, tzinfo=UTC)
    return {
        "/bulk/1/feed.json": make_resource(b"{}", MEDIA_TYPES["json"], when, IMMUTABLE),
        "/bulk/2/feed.json": make_resource(b"[]", MEDIA_TYPES["json"], when, IMMUTABLE),
        "/mixed/one.xml": make_resource(b"<a/>", MEDIA_TYPES["atom"], when, IMMUTABLE),
        "/mixed/two/": make_resource(b"<p>", HTML, when, "no-cache"),
    }


# --- The _headers file ------------------------------------------------------------------------


def parse_headers_file(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """The Netlify / Cloudflare Pages format: a pattern line, then indented ``Name: value``."""
    rules: list[tuple[str, list[tuple[str, str]]]] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith((" ", "\t")):
            name, value = line.strip().split(": ", 1)
            rules[-1][1].append((name, value))
        else:
            rules.append((line, []))
    return rules


def matches(pattern: str, path: str) -> bool:
    """Whether a ``_headers`` pattern matches a path: ``*`` any rest, ``:name`` one segment."""
    regex = "".join(
        ".*" if part == "*" else "[^/]+" if part.startswith(":") else re.escape(part)
        for part in re.split(r"(\*|:[A-Za-z0-9_]+)", pattern)
    )
    return re.fullmatch(regex, path) is not None


def test_headers_file_gives_each_path_the_headers_serve_sends(
    built: Path, site: Site, site_client: FlaskClient
) -> None:
    rules = parse_headers_file((built / HEADERS_FILE).read_text("utf-8"))
    assert len(rules) < len(site.resources)  # grouped, not one rule per file
    for path in [*site.resources, "/404.html"]:
        (headers,) = [headers for pattern, headers in rules if matches(pattern, path)]
        response = site_client.get("/no-such-page" if path == "/404.html" else path)
        expected = [(n, v) for n, v in response.headers if n in (*SAME, "Link")]
        assert sorted(headers) == sorted(expected), path


def test_resources_added_later_get_their_own_headers(site: Site) -> None:
    # As archives did: no change to hosting.py is needed for new paths or headers.
    added = added_resources()
    resources = {**site.resources, **added}
    rules = header_rules(resources)
    assert "/bulk/*" in [rule.pattern for rule in rules]
    for path, resource in resources.items():
        (rule,) = [rule for rule in rules if matches(rule.pattern, path)]
        assert rule.headers == resource_headers(resource), path
        headers = dict(rule.headers)
        assert headers["Content-Type"] == resource.media_type
        assert headers["Cache-Control"] == resource.cache_control


# --- A real nginx over the build ----------------------------------------------------------------


@contextmanager
def running_nginx(root: Path, work: Path) -> Iterator[str]:
    """Run Debian's nginx on a free port of 127.0.0.1 over ``root`` with the generated snippet."""
    binary = require_tool(NGINX, "nginx")
    work.mkdir()
    port = free_port()
    # As root, nginx's workers would switch to "nobody", who may not read tmp_path.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(f"    {kind}_temp_path {work / kind};" for kind in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))  # fmt: skip
    # What a typical server has, which the snippet must override: types by file name
    # (.xml as text/xml, .json as application/json) and a charset added to text types.
    mime_types = Path("/etc/nginx/mime.types")
    types = f"    include {mime_types};\n" if mime_types.exists() else ""
    config = work / "nginx.conf"
    config.write_text(
        f"daemon off;\n{user}worker_processes 1;\npid {work / 'nginx.pid'};\n"
        f"error_log {work / 'error.log'} info;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n    access_log off;\n{types}    charset utf-8;\n{temp}\n"
        f"    server {{\n        listen 127.0.0.1:{port};\n        root {root};\n"
        f"        include {root / NGINX_FILE};\n    }}\n}}\n"
    )
    log = work / "error.log"
    command = [binary, "-p", str(work), "-e", str(log), "-c", str(config)]
    with (work / "stderr.log").open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            if process.poll() is not None:
                output = (work / "stderr.log").read_text() + log.read_text()
                pytest.fail(f"nginx exited with {process.returncode}: {output}")
            try:
                return get(url + "/")[0] > 0
            except OSError:
                return False

        wait_until(ready, 15, "nginx to answer")
        yield url
    finally:
        stop_process_group(process)


@pytest.fixture
def nginx(built: Path, tmp_path: Path) -> Iterator[str]:
    with running_nginx(built, tmp_path / "nginx") as url:
        yield url


def test_nginx_serves_every_file_like_feedsvc_serve(
    nginx: str, site: Site, site_client: FlaskClient
) -> None:
    paths = sorted(site.resources)
    assert {"/feed.xml", "/atom.xml", "/feed.json", "/", "/page/2/"} <= set(paths)
    assert "/archive/1/feed.xml" in paths and "/archive/1/atom.xml" in paths
    for path in paths:
        status, headers, body = get(nginx + path)
        expected = site_client.get(path)
        assert status == 200, path
        for name in SAME:
            assert headers[name] == expected.headers.get(name), (path, name)
        assert headers.get_all("Link", []) == expected.headers.getlist("Link"), path
        assert body == expected.data, path


def test_nginx_validators_and_304(nginx: str, site: Site, site_client: FlaskClient) -> None:
    for path in sorted(site.resources):
        _, headers, _ = get(nginx + path)
        etag, last_modified = headers["ETag"], headers["Last-Modified"]
        assert etag.startswith('"') and etag.endswith('"'), path
        assert parse_date(last_modified) is not None, path
        cache_control = site_client.get(path).headers["Cache-Control"]
        for condition in ({"If-None-Match": etag}, {"If-Modified-Since": last_modified}):
            status, again, body = get(nginx + path, condition)
            assert (status, body) == (304, b""), (path, condition)
            assert again["ETag"] == etag
            assert again["Cache-Control"] == cache_control
        assert get(nginx + path, {"If-None-Match": '"another"'})[0] == 200


@pytest.mark.parametrize(
    "path",
    ["/no-such-page", "/articles/nope/", "/articles/", "/archive/99/feed.xml", "/index.html",
     "/404.html", "/" + NGINX_FILE, "/" + HEADERS_FILE, "/.feedsvc-build"],
)  # fmt: skip
def test_nginx_404_is_serves_404(nginx: str, site_client: FlaskClient, path: str) -> None:
    status, headers, body = get(nginx + path)
    expected = site_client.get(path)
    assert (status, expected.status_code) == (404, 404)
    assert body == expected.data
    for name in SAME:
        assert headers[name] == expected.headers[name], name
    assert "ETag" not in headers


def test_nginx_redirects_an_article_without_slash(
    nginx: str, site: Site, site_client: FlaskClient
) -> None:
    path = next(p for p in site.resources if p.startswith("/articles/")).rstrip("/")
    status, headers, _ = get(nginx + path)
    expected = site_client.get(path)
    assert (status, expected.status_code) == (301, 301)
    assert urlsplit(urljoin(nginx + path, headers["Location"])).path == path + "/"
    assert urlsplit(expected.headers["Location"]).path == path + "/"


@pytest.mark.parametrize("path", ["/rss", "/rss.xml", "/feed", "/index.xml", "/atom", "/page/1/"])
def test_static_hosts_redirect_like_feedsvc_serve(
    nginx: str, built: Path, site_client: FlaskClient, path: str
) -> None:
    expected = site_client.get(path)
    target = urlsplit(expected.headers["Location"]).path
    status, headers, _ = get(nginx + path)
    assert (status, expected.status_code) == (301, 301)
    assert urlsplit(urljoin(nginx + path, headers["Location"])).path == target
    rules = [line.split() for line in (built / "_redirects").read_text("utf-8").splitlines()]
    assert [path, target, "301"] in rules


def test_nginx_serves_resources_added_later(site: Site, tmp_path: Path) -> None:
    added = added_resources()
    out = tmp_path / "grown"
    write_site(dataclasses.replace(site, resources={**site.resources, **added}), out)
    with running_nginx(out, tmp_path / "nginx") as url:
        for path, resource in added.items():
            status, headers, body = get(url + path)
            assert (status, body) == (200, resource.body), path
            assert headers["Content-Type"] == resource.media_type
            assert headers["Cache-Control"] == resource.cache_control
        assert get(url + "/mixed/two/index.html")[0] == 404
        assert get(url + "/mixed/three.xml")[0] == 404


@pytest.mark.parametrize("path", ["/_headers", "/nginx.conf", "/_redirects"])
def test_a_page_with_the_name_of_a_web_server_file_stops_the_build(
    site: Site, tmp_path: Path, path: str
) -> None:
    page = make_resource(b"<p>a page</p>", HTML, datetime(2024, 1, 1, tzinfo=UTC), "no-cache")
    out = tmp_path / "public"
    with pytest.raises(BuildError, match=f"^{path[1:]}: a page has the name of a web server"):
        write_site(dataclasses.replace(site, resources={**site.resources, path: page}), out)
    assert not out.exists()


# --- Replicas: two app instances in separate processes ----------------------------------------


def test_two_app_instances_send_identical_bytes_and_etags(
    articles_dir: Path, tmp_path: Path
) -> None:
    # Replicas behind a load balancer: same articles and base URL, different processes,
    # time zones, hash seeds and locales, and still the same answer for every path.
    settings = Settings(articles=articles_dir, base_url=BASE_URL)
    site = render_site(load_corpus(settings), settings)
    paths = sorted(site.resources)
    assert sum(p.startswith("/articles/") for p in paths) == len(list(articles_dir.glob("*.txt")))
    first_env = {"TZ": "Pacific/Kiritimati", "PYTHONHASHSEED": "1", "LC_ALL": "C.UTF-8"}
    second_env = {"TZ": "America/Adak", "PYTHONHASHSEED": "2", "LC_ALL": "C"}
    with (
        running_server(articles_dir, tmp_path / "1.log", base_url=BASE_URL, env=first_env) as one,
        running_server(articles_dir, tmp_path / "2.log", base_url=BASE_URL, env=second_env) as two,
    ):
        first, second = one.url.rstrip("/"), two.url.rstrip("/")
        for path in paths:
            for encoding in ({}, {"Accept-Encoding": "gzip"}):
                got_one, got_two = get(first + path, encoding), get(second + path, encoding)
                assert got_one[0] == got_two[0] == 200, path
                assert got_one[1]["ETag"] == got_two[1]["ETag"], path
                assert got_one[1]["Last-Modified"] == got_two[1]["Last-Modified"], path
                assert got_one[2] == got_two[2], path
            assert got_one[1]["ETag"] == site.resources[path].gzip_etag
            assert get(first + path)[2] == site.resources[path].body  # as built, too


def fix_a_typo(path: Path) -> None:
    """Change one letter: a new text of the same size."""
    text = path.read_text(encoding="utf-8")
    index = text.index("Kremlin")
    path.write_text(text[:index] + "kremlin" + text[index + 7 :], encoding="utf-8")


@pytest.mark.parametrize("updated_from", ["auto", "none"])
def test_nginx_sees_a_typo_fix_and_keeps_304_for_the_rest(
    nginx: str,
    built: Path,
    runner: CliRunner,
    tmp_path: Path,
    site: Site,
    site_settings: Settings,
    updated_from: str,
) -> None:
    # "none": the fix moves no date; the new file's mtime still moves past the old one's.
    config = tmp_path / "site.toml"
    config.write_text(config.read_text() + f'updated_from = "{updated_from}"\n')
    assert runner.invoke(cli, ["build", "--config", str(config)]).exit_code == 0
    before = {path: get(nginx + path) for path in site.resources}
    fix_a_typo(site_settings.articles / SEED)
    result = runner.invoke(cli, ["build", "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    changed = {path for path, (_, _, body) in before.items() if get(nginx + path)[2] != body}
    assert "/articles/cab78a8f5eee25a1/" in changed and len(changed) < len(before) / 2
    for path, (_, headers, _) in before.items():
        for name, value in (("If-None-Match", "ETag"), ("If-Modified-Since", "Last-Modified")):
            status, _, _ = get(nginx + path, {name: headers[value]})
            assert status == (200 if path in changed else 304), (path, name)

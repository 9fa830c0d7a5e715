"""sitemap.xml (sitemaps.org 0.9, checked with xmllint against the protocol's XSDs) and
robots.txt: served, built, and given their headers by the hosting files."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from lxml import etree

from feedsvc import sitemaps
from feedsvc.cli import cli
from feedsvc.config import Settings
from feedsvc.hosting import HEADERS_FILE, NGINX_FILE
from feedsvc.repository import load_corpus
from feedsvc.site import render_site
from feedsvc.urls import index_page_count, index_path
from feedsvc.web import create_app
from tests.conftest import BASE_URL, require_tool

DATA = Path(__file__).parent / "data"
NS = {"sm": sitemaps.SITEMAP_NS}
XML = "application/xml; charset=utf-8"


def validate(document: Path, schema: str) -> None:
    """Fail unless ``xmllint --schema`` finds ``document`` valid."""
    xmllint = require_tool(shutil.which("xmllint"), "xmllint (libxml2-utils)")
    result = subprocess.run(
        [xmllint, "--noout", "--schema", str(DATA / schema), str(document)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def header_rules(text: str) -> dict[str, list[tuple[str, str]]]:
    """The ``_headers`` file: a path pattern line, then its indented ``Name: value`` lines."""
    rules: dict[str, list[tuple[str, str]]] = {}
    pattern = ""
    for line in text.splitlines():
        if line.startswith("  "):
            name, value = line.strip().split(": ", 1)
            rules[pattern].append((name, value))
        elif line and not line.startswith("#"):
            pattern = line
            rules[pattern] = []
    return rules


def build(runner: CliRunner, settings: Settings, out: Path) -> None:
    result = runner.invoke(
        cli,
        ["build", "--articles", str(settings.articles), "--out", str(out), "--base-url", BASE_URL],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output


def entries(document: bytes, tag: str) -> dict[str, datetime]:
    """``loc`` -> ``lastmod`` of each ``url`` or ``sitemap`` element."""
    root = etree.fromstring(document)
    return {
        element.findtext("sm:loc", namespaces=NS) or "": datetime.fromisoformat(
            element.findtext("sm:lastmod", namespaces=NS) or ""
        )
        for element in root.findall(f"sm:{tag}", NS)
    }


def expected_pages(settings: Settings) -> set[str]:
    corpus = load_corpus(settings)
    count = index_page_count(len(corpus.articles), settings.page_size)
    pages = {BASE_URL + index_path(number) for number in range(1, count + 1)}
    return pages | {f"{BASE_URL}articles/{a.slug}/" for a in corpus.articles}


def test_sitemap_lists_every_page_with_its_last_modified(
    runner: CliRunner, settings: Settings, client: FlaskClient, tmp_path: Path
) -> None:
    out = tmp_path / "built"
    build(runner, settings, out)
    validate(out / "sitemap.xml", "sitemap.xsd")
    served = client.get("/sitemap.xml")
    assert served.status_code == 200 and served.content_type == XML
    assert served.data == (out / "sitemap.xml").read_bytes()
    listed = entries(served.data, "url")
    assert set(listed) == expected_pages(settings)
    assert len(listed) > 2  # the sample articles: more than the front page
    for url, lastmod in listed.items():
        page = client.get(url.removeprefix(BASE_URL.rstrip("/")))
        assert page.status_code == 200, url
        assert lastmod == parsedate_to_datetime(page.headers["Last-Modified"]), url


def test_robots_txt_points_to_the_sitemap(
    runner: CliRunner, settings: Settings, client: FlaskClient, tmp_path: Path
) -> None:
    served = client.get("/robots.txt")
    assert served.status_code == 200
    assert served.content_type == "text/plain; charset=utf-8"
    lines = served.data.decode().splitlines()
    assert "User-agent: *" in lines and f"Sitemap: {BASE_URL}sitemap.xml" in lines
    assert client.post("/robots.txt").status_code == 405
    assert client.post("/sitemap.xml").status_code == 405
    out = tmp_path / "built"
    build(runner, settings, out)
    assert (out / "robots.txt").read_bytes() == served.data
    rules = header_rules((out / HEADERS_FILE).read_text("utf-8"))
    assert ("Content-Type", "text/plain; charset=utf-8") in rules["/robots.txt"]
    assert ("Content-Type", XML) in rules["/sitemap.xml"]
    nginx = (out / NGINX_FILE).read_text("utf-8")
    block = nginx[nginx.index("location = /sitemap.xml {") :].split("\n}\n", 1)[0]
    assert f'default_type "{XML}";' in block


@pytest.mark.parametrize("limit", [1, 3], ids=["one-url-a-part", "three-urls-a-part"])
def test_past_the_url_limit_the_sitemap_is_an_index_of_parts(
    runner: CliRunner,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    limit: int,
) -> None:
    monkeypatch.setattr(sitemaps, "URLS_PER_SITEMAP", limit)
    client = create_app(settings).test_client()
    out = tmp_path / "built"
    build(runner, settings, out)
    validate(out / "sitemap.xml", "siteindex.xsd")
    parts = entries((out / "sitemap.xml").read_bytes(), "sitemap")
    pages = expected_pages(settings)
    assert list(parts) == [f"{BASE_URL}sitemap-{n}.xml" for n in range(1, len(parts) + 1)]
    assert len(parts) == -(-len(pages) // limit)
    listed: dict[str, datetime] = {}
    for url, lastmod in parts.items():
        file = out / url.removeprefix(BASE_URL)
        validate(file, "sitemap.xsd")
        part = entries(file.read_bytes(), "url")
        assert 1 <= len(part) <= limit
        assert lastmod == max(part.values())
        listed |= part
        served = client.get("/" + file.name)
        assert served.status_code == 200 and served.content_type == XML
    assert set(listed) == pages


def test_a_new_article_leaves_the_earlier_sitemap_parts_as_they_were(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sitemaps, "URLS_PER_SITEMAP", 2)
    before = render_site(load_corpus(settings), settings)
    (settings.articles / "900_00000000000000ab.txt").write_text(
        "2031-05-01\n\nA new article\n\nIts standfirst\n\nBody.\n", "utf-8"
    )
    after = render_site(load_corpus(settings), settings, previous=before)
    parts = sorted(path for path in after.resources if path.startswith("/sitemap-"))
    assert len(parts) >= 3
    unchanged = [p for p in parts if p in before.resources
                 and after.resources[p].etag == before.resources[p].etag]  # fmt: skip
    # The articles fill the parts oldest first: only the parts holding the new article
    # and the index pages (whose Last-Modified moved) differ.
    assert unchanged == parts[: len(unchanged)] and len(unchanged) >= len(parts) - 2
    newest = entries(after.resources[parts[-1]].content(), "url")
    assert f"{BASE_URL}articles/00000000000000ab/" in {
        url for part in parts[-2:] for url in entries(after.resources[part].content(), "url")
    }
    assert BASE_URL in newest  # the front page is in the last part

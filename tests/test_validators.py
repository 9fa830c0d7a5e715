"""Last-Modified moves forward when, and only when, a path's bytes change, so a client that
validates with If-Modified-Since alone sees every edit and deletion."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from feedsvc.config import Settings
from feedsvc.state import SiteState
from feedsvc.web import create_app
from tests.conftest import SEED

PAGE = "/articles/cab78a8f5eee25a1/"
OTHER_PAGE = "/articles/53cd6c492ec135fb/"
NEWEST = "005_8e5712e9b08f6c8b.txt"


@pytest.fixture
def served(settings: Settings) -> Settings:
    # Edits not dated (updated_from none): the derived dates do not move, the bytes do.
    return dataclasses.replace(settings, reload_interval=0.0, updated_from="none")


def fix_a_typo(path: Path) -> None:
    """Change one letter: the same size, a new text."""
    text = path.read_text(encoding="utf-8")
    index = text.index("Kremlin")
    path.write_text(text[:index] + "kremlin" + text[index + 7 :], encoding="utf-8")


def validators(client: FlaskClient, path: str) -> tuple[str, str]:
    response = client.get(path)
    assert response.status_code == 200
    return response.headers["ETag"], response.headers["Last-Modified"]


def reload(client: FlaskClient) -> None:
    state = client.application.extensions["feedsvc"]
    assert isinstance(state, SiteState)
    assert state.refresh()


@pytest.mark.parametrize("path", [PAGE, "/feed.xml", "/atom.xml", "/feed.json", "/"])
def test_an_edit_gets_a_later_last_modified(served: Settings, path: str) -> None:
    client = create_app(served).test_client()
    before = client.get(path)
    fix_a_typo(served.articles / SEED)
    reload(client)
    response = client.get(path, headers={"If-Modified-Since": before.headers["Last-Modified"]})
    assert response.status_code == 200
    assert response.headers["ETag"] != before.headers["ETag"]
    assert response.last_modified is not None and before.last_modified is not None
    assert response.last_modified > before.last_modified


@pytest.mark.parametrize("path", ["/feed.xml", "/atom.xml", "/feed.json", "/"])
def test_deleting_the_newest_article_moves_last_modified_forward(
    served: Settings, path: str
) -> None:
    client = create_app(served).test_client()
    before = client.get(path)
    (served.articles / NEWEST).unlink()
    reload(client)
    response = client.get(path, headers={"If-Modified-Since": before.headers["Last-Modified"]})
    assert response.status_code == 200
    assert response.last_modified is not None and before.last_modified is not None
    assert response.last_modified > before.last_modified


def test_unchanged_bytes_keep_their_validators(served: Settings) -> None:
    client = create_app(served).test_client()
    before = {path: validators(client, path) for path in (OTHER_PAGE,)}
    fix_a_typo(served.articles / SEED)
    reload(client)
    response = client.get(OTHER_PAGE, headers={"If-Modified-Since": before[OTHER_PAGE][1]})
    assert response.status_code == 304
    assert validators(client, OTHER_PAGE) == before[OTHER_PAGE]


def test_a_restart_keeps_last_modified_in_order(served: Settings, tmp_path: Path) -> None:
    # The newest article deleted: the feed's new Last-Modified is one the inputs do not
    # give, and a restarted server (the same cache folder) must send it again, not the
    # older one its inputs give (a client with the old copy would get 304).
    cached = dataclasses.replace(served, cache_dir=tmp_path / "cache")
    first = SiteState(cached)
    assert first.refresh() and first.site is not None
    before = first.site.resources["/feed.xml"]
    (cached.articles / NEWEST).unlink()
    assert first.refresh()
    after = first.site.resources["/feed.xml"]
    assert after.etag != before.etag and after.last_modified > before.last_modified
    restarted = SiteState(cached)
    assert restarted.refresh() and restarted.site is not None
    again = restarted.site.resources["/feed.xml"]
    assert (again.etag, again.last_modified) == (after.etag, after.last_modified)
    untouched = restarted.site.resources[OTHER_PAGE]
    assert untouched.last_modified == first.site.resources[OTHER_PAGE].last_modified

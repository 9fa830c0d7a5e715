"""The load and soak script ``benchmarks/soak.py``: its parts, and a short smoke run with wrk."""

from __future__ import annotations

import hashlib
import importlib.util
import random
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from feedsvc.config import Settings
from feedsvc.repository import load_corpus
from feedsvc.site import render_site
from tests.conftest import PROJECT, SAMPLE_ARTICLES, require_tool

SOAK = PROJECT / "benchmarks" / "soak.py"
SMOKE_SECONDS = 8
BASE_URL = "http://127.0.0.1:8000/"


@pytest.fixture(scope="module")
def soak() -> ModuleType:
    """The script as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("feedsvc_soak", SOAK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.txt")}


def test_generated_articles_publish_without_problems(soak: ModuleType, tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    stable = soak.make_folder(folder, 40, random.Random(3))
    corpus = load_corpus(Settings(articles=folder))
    assert corpus.problems == ()
    samples = len(list(SAMPLE_ARTICLES.glob("*.txt")))
    assert len(corpus.articles) == samples + 40
    assert len(stable) == 20 and set(stable) <= {article.id for article in corpus.articles}


def test_mutator_changes_only_volatile_articles(soak: ModuleType, tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    soak.make_folder(folder, 40, random.Random(3))
    untouchable = {k: v for k, v in _digests(folder).items() if not soak.is_volatile(k)}
    before = _digests(folder)
    mutator = soak.Mutator(folder, 40, random.Random(4))
    for _ in range(120):
        mutator.step()
        assert mutator.low <= len(mutator.days) <= mutator.high
    after = _digests(folder)
    assert {k: v for k, v in after.items() if not soak.is_volatile(k)} == untouchable
    assert after != before and all(mutator.counts.values()), mutator.counts
    assert load_corpus(Settings(articles=folder)).problems == ()
    assert not list(folder.glob(".*"))  # no temporary file left behind


def test_checker_accepts_real_feeds_and_flags_broken_ones(
    soak: ModuleType, settings: Settings
) -> None:
    site = render_site(load_corpus(settings), settings)
    for name, media_type in soak.FEEDS.items():
        resource = site.resources["/" + name]
        body = resource.content()
        headers = {
            "content-type": resource.media_type,
            "content-length": str(len(body)),
            "etag": resource.etag,
        }
        assert resource.media_type.startswith(media_type)
        assert soak.check_feed(name, settings.base_url, 200, headers, body) == ""
        short = body[: len(body) // 2]
        cut = {**headers, "content-length": str(len(short)), "etag": soak.make_etag(short)}
        assert soak.check_feed(name, settings.base_url, 200, cut, short).startswith("unparseable")
        stale = {**headers, "etag": '"0123"'}
        assert soak.check_feed(name, settings.base_url, 200, stale, body).startswith("ETag")
        assert soak.check_feed(name, "https://elsewhere.example/", 200, headers, body)
        assert soak.check_feed(name, settings.base_url, 503, headers, body) == "status 503"


def test_wrk_script_lists_every_probe_and_counts_by_kind(soak: ModuleType) -> None:
    probes = [
        soak.Probe("/feed.xml", "conditional", (("If-None-Match", '"abc"'),)),
        soak.Probe("/rss", "redirect"),
        soak.Probe("/no/such/page", "missing"),
    ]
    script = soak.lua_script(probes)
    assert '{"/feed.xml", "conditional", {["If-None-Match"] = "\\"abc\\""}},' in script
    assert '{"/rss", "redirect", {}},' in script
    counts = {"got_404": "5", "sent_missing": "3", "got_301": "2", "sent_redirect": "9",
              "got_304": "1", "sent_conditional": "1", "got_5xx": "1"}  # fmt: skip
    assert soak.unexpected_statuses(counts) == 2 + 1  # two 404s beyond the missing paths, a 5xx


def test_smoke_run(tmp_path: Path) -> None:
    require_tool(shutil.which("wrk"), "wrk")
    result = subprocess.run(
        [sys.executable, str(SOAK), "--seconds", str(SMOKE_SECONDS), "--generated", "60"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=SMOKE_SECONDS + 40,  # the script bounds itself to --seconds + 30
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for label in ("requests", "wrk socket errors   0", "5xx                 0",
                  "unexpected statuses 0", "latency", "checker", "mutations", "memory (RSS)",
                  "result              PASS"):  # fmt: skip
        assert any(line.startswith(label) for line in lines), (label, result.stdout)

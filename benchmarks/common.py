"""What the in-process benchmarks (render.py, feeds.py) share: articles and a timer."""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

import scale_corpus

from feedsvc.articles import Article, parse_article


def generated_articles(count: int, zone: ZoneInfo) -> list[Article]:
    """Return ``count`` parsed articles, newest first: scale.py's text, seed, dates and names."""
    rng = random.Random(5)
    pool = scale_corpus.sentence_pool(rng)
    first_day = scale_corpus.LAST_DAY - timedelta(days=(count - 1) // scale_corpus.PER_DAY)
    articles = []
    for number in range(count):
        day = first_day + timedelta(days=number // scale_corpus.PER_DAY)
        text = scale_corpus.article_text(number, day, rng, pool)
        name = f"{number:06d}_{rng.getrandbits(64):016x}.txt"
        articles.append(parse_article(name, text, zone))
    return sorted(articles, key=lambda a: (a.published, a.number), reverse=True)


def seconds(run: Callable[[], object], repeat: int) -> float:
    """Return the median wall time of ``repeat`` runs of ``run``."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)

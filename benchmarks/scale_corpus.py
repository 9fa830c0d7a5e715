"""The scale benchmark's corpus: synthetic articles in the seed format, and edits to them.

About 3.5 KB each, ``NNN_<16 hex>.txt``, four a day ending 2024-12-31, with accents and
typographic quotes (see benchmarks/README.md); ``read_story`` reads one back for the peers.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

ARTICLE_BYTES = 3450  # a generated article's text is at least this long, chrome line aside
PER_DAY = 4  # articles per day; the file number keeps their timestamps distinct
LAST_DAY = date(2024, 12, 31)
CHROME = "Latest stories"
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


MONTHS = (
    "January February March April May June July August September October November December"
).split()


PLACES = (
    "Zürich",
    "Montréal",
    "São Paulo",
    "Kraków",
    "Málaga",
    "Reykjavík",
    "Genève",
    "Besançon",
    "Tromsø",
    "Łódź",
    "Córdoba",
    "Düsseldorf",
)


ACTORS = (
    "council",
    "mayor’s office",
    "port authority",
    "museum",
    "rail operator",
    "university",
    "trade union",
    "café owners",
    "orchestra",
    "water board",
)


VERBS = ("approves", "rejects", "delays", "unveils", "questions", "revives", "funds", "scraps")


THINGS = (
    "“smart” tram plan",
    "new façade rules",
    "naïve-art festival",
    "crème brûlée tax",
    "‘quiet zone’ trial",
    "rôle for citizen juries",
    "piñata ban",
    "jalapeño fair",
    "déjà-vu exhibition",
    "bike-lane rethink",
)


SENTENCES = (
    "Officials in {place} said the {thing} would be reviewed “as soon as practicable”, "
    "according to people familiar with the matter.",
    "The {actor} in {place} expects the decision to affect roughly {num} residents over "
    "the coming {period}.",
    "Critics argued that the {thing} had been rushed, while supporters said it was "
    "“long overdue” and pointed to {place2}.",
    "A spokesperson for the {actor} declined to comment on the {thing} but promised a "
    "fuller statement by {day}.",
    "Résumés of the consultation, published in French and English, run to {num} pages "
    "and cite a survey of café terraces.",
    "Local newspapers in {place} described the mood as ‘cautiously optimistic’, noting "
    "the {actor}’s earlier U-turn.",
    "Analysts put the cost at {num} euros, although the figure excludes maintenance and "
    "assumes, somewhat naïvely, no inflation.",
    "The plan’s authors said it drew on examples from {place2} and {place}, where similar "
    "measures were adopted in {year}.",
    "Residents who attended Thursday’s meeting in {place} asked whether the {thing} "
    "would be put to a vote.",
    "The {actor} said its own figures, due in {month}, would show whether the approach "
    "had worked elsewhere.",
)


PERIODS = ("months", "two years", "decade", "summer", "winter")


def sentence_pool(rng: random.Random, size: int = 400) -> list[str]:
    pool = []
    for _ in range(size):
        template = rng.choice(SENTENCES)
        pool.append(
            template.format(
                place=rng.choice(PLACES),
                place2=rng.choice(PLACES),
                actor=rng.choice(ACTORS),
                thing=rng.choice(THINGS),
                num=f"{rng.randrange(200, 90000):,}",
                period=rng.choice(PERIODS),
                day=rng.choice(DAYS),
                month=rng.choice(MONTHS),
                year=rng.randrange(1995, 2024),
            )
        )
    return pool


def long_date(day: date) -> str:
    """The seed's date line, ``Tuesday, October 31, 2023``, whatever the locale."""
    return f"{DAYS[day.weekday()]}, {MONTHS[day.month - 1]} {day.day}, {day.year}"


def article_text(number: int, day: date, rng: random.Random, pool: list[str]) -> str:
    place = rng.choice(PLACES)
    title = f"{place}’s {rng.choice(ACTORS)} {rng.choice(VERBS)} {rng.choice(THINGS)} ({number})"
    standfirst = f"Report {number} from {place}: {rng.choice(pool)}"
    paragraphs: list[str] = []
    sentences = [f"Dispatch {number}, filed in {place}."]
    size = len(f"{long_date(day)}\n\n{title}\n\n\n{standfirst}\n\n".encode())
    while size < ARTICLE_BYTES:
        sentence = rng.choice(pool)
        sentences.append(sentence)
        size += len(sentence.encode()) + 1
        if len(sentences) == 5:
            paragraphs.append(" ".join(sentences))
            sentences = []
            size += 1
    if sentences:
        paragraphs.append(" ".join(sentences))
    body = "\n\n".join(paragraphs)
    return f"{long_date(day)}\n\n{title}\n\n\n{standfirst}\n\n{body}\n\n{CHROME}\n"


def generate(folder: Path, count: int, seed: int = 5) -> float:
    """Write ``count`` articles ``NNN_<16 hex>.txt``, oldest first; return the mean size."""
    rng = random.Random(seed)
    pool = sentence_pool(rng)
    digits = max(3, len(str(count - 1)))
    first_day = LAST_DAY - timedelta(days=(count - 1) // PER_DAY)
    folder.mkdir(parents=True)
    total = 0
    for number in range(count):
        day = first_day + timedelta(days=number // PER_DAY)
        data = article_text(number, day, rng, pool).encode()
        name = f"{number:0{digits}d}_{rng.getrandbits(64):016x}.txt"
        (folder / name).write_bytes(data)
        total += len(data)
    return total / count


def newest_article(folder: Path) -> Path:
    return max(folder.glob("*.txt"))  # the highest file number is the newest


def edit_article(path: Path, marker: str) -> None:
    """Append a sentence (a paragraph before the chrome line), as an editor would."""
    text = path.read_text(encoding="utf-8").rstrip()
    text = text.removesuffix(CHROME).rstrip()
    path.write_text(f"{text}\n\nEdited: {marker} adds one more sentence.\n\n{CHROME}\n", "utf-8")


@dataclass(frozen=True, slots=True)
class Story:
    ident: str
    moment: datetime
    title: str
    standfirst: str
    paragraphs: tuple[str, ...]


def read_story(path: Path) -> Story:
    """Parse a generated article (only this script's own layout) for the peers."""
    blocks = [b.strip() for b in path.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    if blocks[-1] == CHROME:
        blocks.pop()
    match = re.fullmatch(r"\w+, (\w+) (\d+), (\d{4})", blocks[0])
    if match is None:
        raise ValueError(f"{path}: not a generated article")
    number, ident = path.stem.split("_")
    day = date(int(match.group(3)), MONTHS.index(match.group(1)) + 1, int(match.group(2)))
    # feedsvc's rule: a date without a time is that day's start plus NNN seconds.
    moment = datetime(day.year, day.month, day.day) + timedelta(seconds=int(number))
    return Story(ident, moment, blocks[1], blocks[2], tuple(blocks[3:]))

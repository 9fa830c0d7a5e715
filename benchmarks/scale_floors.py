"""The floors a build is measured against: plain Python loops, each in its own process.

The I/O floor reads every article and writes one file per article plus one at each of
feedsvc's other paths; the floor with feedsvc's bytes writes the very files a build wrote;
the list-and-stat floor lists the articles folder and stats every file, the least a build
after one edit or a server's restart must do.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from scale_bench import Bench
from scale_processes import run_timed, say

FLOOR = '''"""The I/O floor: read each article, write one file per article and feedsvc's others."""
import os
import sys

articles, out, manifest = sys.argv[1:4]
with open(manifest, encoding="utf-8") as handle:
    others = [line for line in handle.read().splitlines() if not line.startswith("articles/")]
data = b""
for name in sorted(os.listdir(articles)):
    with open(os.path.join(articles, name), "rb") as source:
        data = source.read()
    folder = os.path.join(out, "articles", name[-20:-4])
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "index.html"), "wb") as target:
        target.write(data)
for relative in others:
    target_path = os.path.join(out, relative)
    os.makedirs(os.path.dirname(target_path), exist_ok=True)
    with open(target_path, "wb") as target:
        target.write(data)
'''


FLOOR_BYTES = '''"""The I/O floor with feedsvc's bytes: read each article, write feedsvc's files.

Prints the time of the loop only: the output it copies is read into memory first
(reading writes nothing, so the caller's sync before it is enough).
"""
import os
import sys
import time

articles, source, out = sys.argv[1:4]
bodies = []
for root, _, names in os.walk(source):
    for name in names:
        path = os.path.join(root, name)
        with open(path, "rb") as handle:
            bodies.append((os.path.relpath(path, source), handle.read()))
bodies.sort()
start = time.perf_counter()
for name in sorted(os.listdir(articles)):
    with open(os.path.join(articles, name), "rb") as source_file:
        source_file.read()
for relative, body in bodies:
    target_path = os.path.join(out, relative)
    os.makedirs(os.path.dirname(target_path), exist_ok=True)
    with open(target_path, "wb") as target:
        target.write(body)
print(f"timed {time.perf_counter() - start:.6f}")
'''


LIST_STAT = '''"""The list-and-stat floor: list the articles folder, stat every file in it."""
import os
import sys

with os.scandir(sys.argv[1]) as entries:
    for entry in entries:
        entry.stat()
'''


def list_stat_floor(bench: Bench) -> bool:
    """Time LIST_STAT as a whole process into ``list_stat``; False, noted, if it failed.

    Its interpreter's start is timed, as that of the build or server it is set against.
    """
    script = bench.root / "list_stat.py"
    script.write_text(LIST_STAT, encoding="utf-8")
    command = [sys.executable, str(script), str(bench.feedsvc.articles)]
    run = run_timed(command, cwd=bench.root, log=bench.log, limit=600)
    if not run.ok:
        bench.results.fail("list_stat", "failed", f"list-and-stat floor failed ({run})")
        return False
    bench.results.add("list_stat", run.wall)
    return True


def floor_with_bytes(bench: Bench, source: Path, out: Path) -> float | None:
    """Run FLOOR_BYTES (copy ``source`` to ``out``); return its loop's time, None on failure."""
    script = bench.root / "floor_bytes.py"
    script.write_text(FLOOR_BYTES, encoding="utf-8")
    os.sync()
    command = [sys.executable, str(script), str(bench.feedsvc.articles), str(source), str(out)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=True)
    except (subprocess.SubprocessError, OSError) as exc:
        say(f"I/O floor with feedsvc's bytes failed: {exc}")
        return None
    found = re.search(r"^timed ([0-9.]+)$", done.stdout, re.MULTILINE)
    return float(found[1]) if found else None


def tree_counts(folder: Path) -> tuple[int, int]:
    """Return the number of files and of folders below ``folder``."""
    files = folders = 0
    for _, dirs, names in os.walk(folder):
        folders += len(dirs)
        files += len(names)
    return files, folders


def write_manifest(out: Path, manifest: Path) -> None:
    paths = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    manifest.write_text("\n".join(paths) + "\n", encoding="utf-8")

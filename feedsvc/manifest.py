"""The manifest a build leaves in its output folder: what it wrote, to build on next time.

The marker file ``.feedsvc-build`` holds it: which file each resource went to, from what
signature, with what ETag and size. The next build writes only the resources whose
signature changed, and deletes only files it lists.
"""

from __future__ import annotations

from pathlib import Path

from feedsvc.resources import Stored
from feedsvc.site import Site
from feedsvc.urls import NOT_FOUND_FILE

MARKER = ".feedsvc-build"
MANIFEST_FORMAT = 1


class Manifest:
    """What the build in a folder wrote: one line per resource (path, signature, ETag, size).

    Lines are read whole only when asked for; most of a large site is only looked up.
    A line that does not read back whole counts as a resource that must be written again.
    """

    def __init__(self, lines: list[str]) -> None:
        self._rest: dict[str, str] = {}  # by signature: "ETag<tab>size"
        self.paths: list[str] = []
        self.etags: dict[str, str] = {}  # by path
        for line in lines:
            path, signature, rest = line.split("\t", 2)
            self._rest[signature] = rest
            self.paths.append(path)
            self.etags[path] = rest.partition("\t")[0]

    def stored(self, signature: str) -> Stored | None:
        rest = self._rest.get(signature)
        if rest is None:
            return None
        etag, _, size = rest.partition("\t")
        if not size.isdigit() or not etag.startswith('"'):
            return None
        return Stored(etag, int(size), None)


def read_manifest(out: Path) -> Manifest | None:
    """Return the manifest of the build in ``out``; None when there is none to trust.

    A marker of another format, an empty, cut or damaged one, means the next build is
    a full one.
    """
    try:
        head, *lines, end, last = (out / MARKER).read_text("utf-8").split("\n")
        if head != _MANIFEST_HEAD or end != f"end {len(lines)}" or last != "":
            return None
        return Manifest(lines)
    except (OSError, ValueError):
        return None


# The marker's first line; then one line per resource: path, signature, ETag, size; then
# "end <count>", so a marker cut short is never taken for a whole one.
_MANIFEST_HEAD = f"feedsvc build manifest {MANIFEST_FORMAT}"


def manifest_bytes(site: Site) -> bytes:
    """Return the marker of a build of ``site``: its manifest (see ``read_manifest``)."""
    # In the order of rendering, which the same articles and settings always give.
    everything = {**site.resources, "/" + NOT_FOUND_FILE: site.not_found}
    lines = [_MANIFEST_HEAD]
    lines += [f"{p}\t{r.signature}\t{r.etag}\t{r.size}" for p, r in everything.items()]
    lines.append(f"end {len(lines) - 1}")
    return ("\n".join(lines) + "\n").encode("utf-8")

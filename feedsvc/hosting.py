"""Web server settings for the static build: a ``_headers`` file and an nginx snippet.

Static hosts guess a file's type from its name (``.xml`` as ``application/xml``, ``.json``
without ``feed+json``) and know nothing of feedsvc's Cache-Control. Both files here give
each file the headers ``feedsvc serve`` sends with it, taken from ``responses.answer``
for each Resource, so that a resource added later (an archive with an ``immutable``
Cache-Control, a WebSub ``Link``) comes out right without a change here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from feedsvc.errors import BuildError
from feedsvc.resources import Resource, describe
from feedsvc.responses import answer, answer_not_found
from feedsvc.site import Site
from feedsvc.urls import NOT_FOUND_FILE, REDIRECTS

HEADERS_FILE = "_headers"
REDIRECTS_FILE = "_redirects"
NGINX_FILE = "nginx.conf"
# Validators, length and encoding belong to whichever server sends the file.
_SERVER_HEADERS = frozenset({"etag", "last-modified", "content-length", "content-encoding", "vary"})
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 5.1 field name
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Rule:
    """Headers for a URL pattern, in the ``_headers`` syntax.

    A path exactly (``/feed.xml``, ``/``), everything below a folder (``/articles/*``),
    or a shape whose ``:name`` placeholders stand for one path segment each
    (``/archive/:n1/feed.xml``).
    """

    pattern: str
    headers: Headers

    @property
    def folder(self) -> str | None:
        """The folder of a ``/a/*`` pattern (``/a/``); None for the other kinds."""
        return self.pattern[:-1] if self.pattern.endswith("/*") else None

    @property
    def is_shape(self) -> bool:
        """Whether the pattern has ``:name`` placeholders."""
        return "/:" in self.pattern


def resource_headers(resource: Resource) -> Headers:
    """Return the headers ``feedsvc serve`` sends with ``resource`` but its validators.

    Content-Type included; ETag, Last-Modified, length and encoding left to the server.
    """
    # The same few kinds for every resource of a site: one answer per kind.
    return _kind_headers(resource.media_type, resource.cache_control, resource.links)


@lru_cache(maxsize=256)
def _kind_headers(media_type: str, cache_control: str, links: tuple[str, ...]) -> Headers:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    resource = describe('"0"', 0, media_type, epoch, cache_control, None, links=links)
    headers = answer(resource, None, with_body=False).headers
    return tuple((name, value) for name, value in headers if name.lower() not in _SERVER_HEADERS)


def not_found_headers(page: Resource) -> Headers:
    """Return the headers of the 404 page as ``feedsvc serve`` sends them, but its length."""
    headers = answer_not_found(page, None, with_body=False).headers
    return tuple((name, value) for name, value in headers if name.lower() not in _SERVER_HEADERS)


def _folder(path: str) -> str:
    """``/articles/x/`` and ``/archive/1/feed.xml`` go by their first folder; others alone."""
    first, slash, _ = path.lstrip("/").partition("/")
    return f"/{first}/*" if slash else path


def _shape(path: str) -> str:
    """``/archive/1/feed.xml`` -> ``/archive/:n1/feed.xml``; ``/articles/x/`` -> ``/articles/:n1/``.

    Below the first folder every segment is a placeholder but a file's own name.
    """
    first, *rest = path.strip("/").split("/")
    folder = path.endswith("/")
    variable, name = (rest, []) if folder else (rest[:-1], rest[-1:])
    if not variable:
        return path
    placeholders = [f":n{i}" for i in range(1, len(variable) + 1)]
    return "/" + "/".join([first, *placeholders, *name]) + ("/" if folder else "")


def _rules(members: Mapping[str, Headers], pattern: str) -> list[Rule]:
    variants = set(members.values())
    if len(variants) == 1 and (len(members) > 1 or pattern.endswith("/*")):
        return [Rule(pattern, variants.pop())]
    return []


def header_rules(resources: Mapping[str, Resource]) -> list[Rule]:
    """Return the rules that give every resource its headers, sorted by pattern.

    Below a top-level folder, one ``/folder/*`` rule when all resources there have the
    same headers; else one rule per shape whose resources agree (``/archive/:n1/feed.xml``);
    else one rule per path. Patterns never overlap, so no header is sent twice (Cloudflare
    Pages joins the values of all the rules that match).
    """
    folders: dict[str, dict[str, Headers]] = {}
    for path, resource in resources.items():
        folders.setdefault(_folder(path), {})[path] = resource_headers(resource)
    rules = []
    for folder, members in sorted(folders.items()):
        grouped = _rules(members, folder) if folder.endswith("/*") else []
        if not grouped:
            shapes: dict[str, dict[str, Headers]] = {}
            for path, headers in members.items():
                shapes.setdefault(_shape(path), {})[path] = headers
            for shape, alike in sorted(shapes.items()):
                grouped += _rules(alike, shape) or [
                    Rule(path, headers) for path, headers in sorted(alike.items())
                ]
        rules += grouped
    return rules


def _checked(file: str, name: str, value: str) -> str:
    """Return ``value``; raise BuildError when ``name: value`` cannot be one header line."""
    if not _TOKEN.fullmatch(name) or any(c in value for c in "\r\n\0"):
        raise BuildError(f"{file}: cannot write the header {name}: {value!r}")
    return value


def render_headers(site: Site, rules: list[Rule] | None = None) -> bytes:
    """Return the ``_headers`` file of Netlify and Cloudflare Pages for ``site``.

    A path pattern per block, then its headers indented. Hosts serve ``404.html`` for
    unknown paths themselves; its block gives it the headers of serve's 404 answer.
    Raises BuildError for a header these files cannot carry (a line break).
    """
    lines = [
        "# Written by feedsvc build: the headers feedsvc serve sends, for Netlify and",
        "# Cloudflare Pages. Validators (ETag, Last-Modified) are the host's own.",
    ]
    every = [
        *(header_rules(site.resources) if rules is None else rules),
        Rule("/" + NOT_FOUND_FILE, not_found_headers(site.not_found)),
    ]
    for rule in every:
        lines += ["", _checked(HEADERS_FILE, "Path", rule.pattern)]
        lines += [
            f"  {name}: {_checked(HEADERS_FILE, name, value)}" for name, value in rule.headers
        ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _quote(value: str, variables: bool = True) -> str:
    """Return ``value`` as a quoted nginx string; BuildError when nginx would misread it."""
    if variables and "$" in value:  # nginx would read it as a variable, and has no escape
        raise BuildError(f"{NGINX_FILE}: cannot write {value!r}: nginx reads '$' as a variable")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _path(path: str) -> str:
    return path if _PLAIN_PATH.fullmatch(path) else _quote(path)


def _regex(shape: str) -> str:
    """The nginx regular expression of a ``_headers`` shape: a placeholder is one segment."""
    parts = ["[^/]+" if part.startswith(":") else re.escape(part) for part in shape.split("/")]
    return _quote("^" + "/".join(parts) + "$", variables=False)


def _directives(headers: Headers, always: bool = False) -> list[str]:
    """nginx directives that send ``headers``; Content-Type through ``default_type``."""
    lines = ["types { }"]  # no guessing from the file name: every file gets its own type
    suffix = " always;" if always else ";"
    for name, value in headers:
        _checked(NGINX_FILE, name, value)
        if name.lower() == "content-type":
            lines.append(f"default_type {_quote(value)};")
        else:
            # add_header in a location replaces every add_header of the server: all are here.
            lines.append(f"add_header {name} {_quote(value)}{suffix}")
    return lines


def _location(match: str, body: list[str]) -> list[str]:
    return [f"location {match} {{", *(f"    {line}" for line in body), "}", ""]


def _rule_locations(rule: Rule, resources: Mapping[str, Resource]) -> list[str]:
    """The locations of one rule. A folder's URL is served from its index.html, which is
    not reachable by its own URL, as with ``feedsvc serve``."""
    directives = _directives(rule.headers)
    folder = rule.folder
    if folder is not None:
        # ^~: no regular-expression location of the server takes these paths over.
        hide_index = _location(r"~ /index\.html$", ["internal;"])[:-1]
        lines = _location(f"^~ {_path(folder)}", [*directives, *hide_index])
        if folder not in resources:  # the folder itself is no page: 404, not 403
            lines += _location(f"= {_path(folder)}", ["return 404;"])
        return lines
    if rule.is_shape:
        lines = _location(f"~ {_regex(rule.pattern)}", directives)
        if rule.pattern.endswith("/"):
            index = _regex(rule.pattern + "index.html")
            lines += _location(f"~ {index}", ["internal;", *directives])
        return lines
    if rule.pattern.endswith("/"):
        index = _path(rule.pattern + "index.html")
        return _location(f"= {_path(rule.pattern)}", directives) + _location(
            f"= {index}", ["internal;", *directives]
        )
    return _location(f"= {_path(rule.pattern)}", directives)


def render_nginx(site: Site, rules: list[Rule] | None = None) -> bytes:
    """Return an nginx snippet to ``include`` in a ``server`` block whose root is the output.

    Every resource is served with the Content-Type and the other headers of ``feedsvc
    serve``, nginx's own ETag and Last-Modified, 304s by RFC 9110 (``if_modified_since
    before``), and every other path, the snippet files too, gets the 404 page.
    Raises BuildError for a header nginx cannot carry.
    """
    lines = [
        "# Written by feedsvc build. Include it in a server block whose root is this folder:",
        "#     server {",
        "#         listen 80;",
        "#         root /srv/feedsvc/public;",
        "#         include /srv/feedsvc/public/nginx.conf;",
        "#     }",
        "# Reload nginx after a build that adds a kind of path (nginx -s reload).",
        "",
        "etag on;",
        "if_modified_since before;",
        "absolute_redirect off;",
        "index index.html;",
        f"error_page 404 /{NOT_FOUND_FILE};",
        "",
        *_location("/", ["return 404;"]),
    ]
    for rule in header_rules(site.resources) if rules is None else rules:
        lines += _rule_locations(rule, site.resources)
    for path, target in REDIRECTS.items():
        lines += _location(f"= {_path(path)}", [f"return 301 {_path('/' + target)};"])
    not_found = ["internal;", "etag off;", *_directives(not_found_headers(site.not_found), True)]
    lines += _location(f"= /{NOT_FOUND_FILE}", not_found)
    return "\n".join(lines).encode("utf-8")


def render_redirects() -> bytes:
    """Return the ``_redirects`` file of Netlify and Cloudflare Pages: serve's 301s."""
    lines = ["# Written by feedsvc build: the 301s feedsvc serve answers."]
    lines += [f"{path} /{target} 301" for path, target in REDIRECTS.items()]
    return ("\n".join(lines) + "\n").encode("utf-8")


def render_hosting_files(site: Site) -> dict[str, bytes]:
    """Return the web server files of ``site`` by name: ``_headers``, ``_redirects``, nginx."""
    rules = header_rules(site.resources)  # one pass over every resource for both files
    return {
        HEADERS_FILE: render_headers(site, rules),
        REDIRECTS_FILE: render_redirects(),
        NGINX_FILE: render_nginx(site, rules),
    }

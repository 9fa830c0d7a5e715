"""Last-Modified in order over time: it moves when, and only when, a path's bytes do.

Pure: what a path sent before comes in as its ETag and Last-Modified (``Validators``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta

from feedsvc.resources import Resource

Validators = tuple[str, datetime]  # an ETag and its Last-Modified


def keep_in_order(
    resources: dict[str, Resource],
    before: Mapping[str, Validators],
    kept: Mapping[str, Validators],
) -> dict[str, Validators]:
    """Put each resource's Last-Modified in order with what its path sent ``before``
    (``in_order``, replacing it in ``resources``); return the validators of those whose
    Last-Modified is not their inputs' own, or was not (``kept``): ``Site.moved``."""
    moved = {}
    for path, resource in resources.items():
        ordered = in_order(resource, before.get(path))
        if ordered is not resource or (path in kept and kept[path][0] == resource.etag):
            resources[path] = ordered
            moved[path] = (ordered.etag, ordered.last_modified)
    return moved


def in_order(resource: Resource, before: Validators | None) -> Resource:
    """Return ``resource`` with a Last-Modified that moves when, and only when, its bytes do.

    ``before`` is what the same path sent last: its ETag and Last-Modified, kept while the ETag
    stays (an edit that this page does not show moves its derived date, not its bytes);
    a new body gets a Last-Modified after the old one even where the derived date did not
    move forward (the newest article deleted, a setting changed): a client that
    validates with If-Modified-Since alone then gets the new body (RFC 9110 13.1.3).
    """
    if before is None:
        return resource
    etag, last_modified = before
    if etag == resource.etag:
        moment = last_modified
    elif resource.last_modified > last_modified:
        return resource
    else:
        moment = last_modified + timedelta(seconds=1)
    if moment == resource.last_modified:
        return resource
    return dataclasses.replace(resource, last_modified=moment)

"""Where a walk stands, as a small value that survives a crash, a queue or a JSON column.

A ``Checkpoint`` is what ``iter_visitors(resume=...)`` needs to continue exactly where a walk
stopped: the next offset, the page size, how many visitors were already yielded (so
``max_visitors`` still counts the whole walk), a fingerprint of the filters, so that a
checkpoint is never applied to a different account or time range, and the URNs and row
digests of the last visitors yielded, so that rows shifted down by new views while the walk
was stopped are not yielded again after it resumes.
"""

from __future__ import annotations

import json

import attrs

__all__ = ["RECENT_URNS", "RESUME_WITHIN", "TAIL_ROWS", "Checkpoint", "filters_fingerprint"]

#: How many URNs a checkpoint keeps: a drift of more rows than this while a walk is stopped
#: can repeat a named visitor after it resumes (about 60 bytes each in JSON).
RECENT_URNS = 100
#: Seconds after its last recorded page (by the sync's clock) during which an interrupted
#: sync is resumed; an older one starts over from the top, where the newest visitors are.
RESUME_WITHIN = 1800.0
#: How many rows' digests a checkpoint keeps (15 bytes each in JSON): enough to recognise the
#: rows a shift pushes back across the resume point, anonymous ones included.
TAIL_ROWS = 32


def filters_fingerprint(account_id: str | None, time_range: str | None) -> str:
    """A short, stable digest of the filters a walk was started with."""
    canonical = json.dumps([account_id, time_range], separators=(",", ":"))
    import hashlib  # here, not at module level: a few ms of import time

    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@attrs.frozen(kw_only=True)
class Checkpoint:
    """A resumable position in a visitors walk.

    Serialise it with the package converter (``make_converter().unstructure(cp)`` gives a
    JSON-ready dict; ``structure(data, Checkpoint)`` reads it back).

    Attributes:
        next_start: the offset of the first visitor not yet yielded.
        page_size: the ``count`` the walk was using.
        yielded: how many visitors the walk had yielded (``max_visitors`` counts these).
        filters: the fingerprint of the account and time range.
        recent_urns: the entity URNs of the last named visitors yielded (at most
            ``RECENT_URNS``), oldest first.
        tail: short digests of the last rows yielded (at most ``TAIL_ROWS``), oldest first,
            so a resumed walk recognises rows that new views pushed back to its first page.
    """

    next_start: int
    page_size: int
    yielded: int
    filters: str
    recent_urns: tuple[str, ...] = ()
    tail: tuple[str, ...] = ()

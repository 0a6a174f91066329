"""A walk's arguments, checked once into a frozen ``WalkSpec`` before any request.

Every walk of the client (one account, many accounts, a sync) is planned here once per call;
what runs afterwards only reads the spec. Pure: no I/O, no client.
"""

from __future__ import annotations

import attrs

from ._arguments import (
    check_non_negative_int,
    check_optional_text,
    check_positive_int,
    check_prefetch,
)
from ._checkpoint import Checkpoint
from ._pagination import WalkSpec

__all__ = ["DEFAULT_PAGE_SIZE", "plan_walk", "resumed"]

#: The page size of a walk that names none (and the service's own default).
DEFAULT_PAGE_SIZE = 20


def plan_walk(
    *,
    account: str | None,
    max_visitors: int | None,
    count: int | None,
    start: int,
    time_range: str | None,
    resume: Checkpoint | None,
    prefetch: int,
) -> WalkSpec:
    """The checked spec of one walk; ``resume`` must match its filters.

    Args:
        account: the resolved account (``None``: the workspace's default).
        count: the page size (``None``: 20, or the checkpoint's when resuming).

    Raises:
        TypeError, ValueError: a bad argument, ``start`` with ``resume``, or a checkpoint
            made by a walk with other filters.
    """
    if resume is not None and not isinstance(resume, Checkpoint):
        msg = f"resume must be a Checkpoint, got {type(resume).__name__}"
        raise TypeError(msg)
    spec = WalkSpec(
        count=DEFAULT_PAGE_SIZE if count is None else check_positive_int("count", count),
        max_visitors=None if max_visitors is None
        else check_positive_int("max_visitors", max_visitors),
        account_id=account,
        time_range=check_optional_text("time_range", time_range),
        prefetch=check_prefetch(prefetch),
    )
    if check_non_negative_int("start", start) and resume is not None:
        msg = "pass either start= or resume=, not both: the checkpoint knows where to start"
        raise ValueError(msg)
    if resume is None:
        return spec
    return resumed(spec, resume, keep_count=count is not None)


def resumed(spec: WalkSpec, resume: Checkpoint, *, keep_count: bool) -> WalkSpec:
    """``spec`` continued from ``resume``: with its page size unless ``keep_count``.

    Raises:
        ValueError: the checkpoint was made by a walk with another account or time range.
    """
    if resume.filters != spec.fingerprint:
        msg = (
            "this checkpoint was made by a walk with another account or time range; "
            "resume with the same account_id and time_range"
        )
        raise ValueError(msg)
    return spec if keep_count else attrs.evolve(spec, count=resume.page_size)

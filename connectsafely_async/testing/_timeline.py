"""Visitors that move on with a clock: what the service would show at any moment.

:func:`make_visitors` is a frozen list. A history needs time to pass: people view the
profile, come back, fall out of the list. :func:`visitors_at` models that, purely and
reproducibly: for every calendar day (UTC), a seeded handful of views, some by regulars
who keep coming back, some by newcomers. At a moment ``now`` the list holds each person's
latest view before ``now``, newest first, with ``viewedAt`` rounded down relative to
``now``, as LinkedIn writes it. The same ``(now, seed, account_id)`` always gives the same
list, and a later ``now`` gives the same views plus the ones that happened since.

::

    fake.set_visitors(account, visitors_at(now, account_id=account))     # today
    fake.set_visitors(account, visitors_at(now + 86400, account_id=account))  # tomorrow
"""

from __future__ import annotations

import math
import random
from typing import Any, Final

from ._data import DEFAULT_ACCOUNT_ID, _viewed_at, make_visitors

__all__ = ["DAY", "visitors_at"]

DAY: Final = 86400.0
# How far back the list reaches: LinkedIn shows about 90 days to most accounts.
_HORIZON_DAYS: Final = 90


def visitors_at(
    now: float,
    *,
    account_id: str = DEFAULT_ACCOUNT_ID,
    seed: int = 0,
    regulars: int = 12,
    views_per_day: int = 4,
) -> list[dict[str, Any]]:
    """The visitor list as the service would serve it at ``now`` (seconds since the epoch).

    Each day brings 1 to ``views_per_day`` views: the first by someone never seen before,
    the others by newcomers or by one of ``regulars`` people who keep coming back (the first
    ones most often), half and half. Every tenth person is anonymous.

    Args:
        now: the moment the list is read.
        account_id: mixed into every identity and every day's draw.
        seed: varies the people and their views.
        regulars: how many returning visitors there are.
        views_per_day: the most views a day may bring.

    Raises:
        ValueError: *regulars* or *views_per_day* is below 1.
    """
    if regulars < 1 or views_per_day < 1:
        msg = "regulars and views_per_day must be at least 1"
        raise ValueError(msg)
    weights = [1 / (index + 1) for index in range(regulars)]
    latest: dict[int, float] = {}
    today = math.floor(now / DAY)
    for day in range(today - _HORIZON_DAYS, today + 1):
        rng = random.Random(f"connectsafely-timeline:{seed}:{account_id}:{day}")
        for slot in range(rng.randint(1, views_per_day)):
            if slot and rng.random() < 0.5:
                person = rng.choices(range(regulars), weights)[0]
            else:
                person = _NEWCOMERS + day * views_per_day + slot  # seen this once only
            moment = day * DAY + rng.random() * DAY
            if moment <= now and moment > latest.get(person, -math.inf):
                latest[person] = moment
    ordered = sorted(latest.items(), key=lambda item: item[1], reverse=True)
    return [
        {**_person(person, seed, account_id), "viewedAt": _viewed_at(int((now - moment) // 60))}
        for person, moment in ordered
    ]


# Newcomers' ids start here, far above any regular's.
_NEWCOMERS: Final = 1 << 40


def _person(person: int, seed: int, account_id: str) -> dict[str, Any]:
    # The record make_visitors gives the (person % 10)-th visitor: every tenth is anonymous,
    # degrees and navigationUrl vary, and the seed makes each person's identity unique.
    kind = person % 10
    return make_visitors(kind + 1, seed=seed * 1_000_003 + person, account_id=account_id)[kind]

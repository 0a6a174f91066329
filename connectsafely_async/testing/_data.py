"""Deterministic synthetic data: profile visitors, accounts and time ranges.

Everything here is pure and reproducible: the same ``(n, seed, account_id)`` always gives the
same records, byte for byte, on every platform (:class:`random.Random` seeded with a string and
:mod:`hashlib` digests; nothing depends on ``PYTHONHASHSEED``).

Visitors are served newest first. Their age grows with their index (index ``i`` is about
``36 * i**2`` minutes old, plus seeded jitter that never breaks the order) and is written as
relative text rounded down ("Viewed 1mo ago" for 30 to 59 days). Time ranges filter on the
age read back from that text, so out of 200 visitors about the first 24 fall in
``past_7_days``, 49 in ``past_30_days``, 69 in ``past_90_days`` and 171 in ``past_1_year``.
The first 60 always fall in ``past_90_days`` (the service's default range), so an account
with ``n <= 60`` visitors serves all of them by default.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, Final

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "TIME_RANGES",
    "age_in_days",
    "filter_by_time_range",
    "make_account",
    "make_visitors",
    "normalize_time_range",
]

DEFAULT_ACCOUNT_ID: Final = "696ce9e780e0483585e4e553"

#: Canonical time-range names and their window in days (``None``: no limit).
TIME_RANGES: Final[Mapping[str, float | None]] = {
    "past_7_days": 7,
    "past_30_days": 30,
    "past_90_days": 90,
    "past_1_year": 365,
    "ALL_TIME": None,
}

_FIRST_NAMES: Final = (
    "Ritika", "Zoë", "José", "Łukasz", "Chloé", "Søren", "Aiko", "Priya",
    "Mateo", "Olamide", "Renée", "Wei", "Fatima", "Liam", "Ana", "Björn",
)  # fmt: skip
_LAST_NAMES: Final = (
    "Kulkarni", "Müller", "O'Brien", "García", "Nguyen", "Kowalski", "Okafor",
    "Tanaka", "Smith", "Dubois", "Sørensen", "Ibáñez", "Chen", "Haddad",
)  # fmt: skip
# Headlines are user-controlled text on LinkedIn: some carry HTML-special characters,
# quotes and non-ASCII on purpose, so clients prove they neither escape nor mangle them.
_HEADLINES: Final = (
    "Full Stack Developer | Agentic AI | Python | Gen AI",
    "Head of Growth @ Acme — hiring!",
    "Ingeniera de datos en Bogotá · Café ☕ enthusiast",
    '<b>Founder</b> & CEO at "Tiny Startup" — we\'re hiring',
    "Senior Recruiter | Tech & Product",
    "Softwareentwickler bei Müller & Söhne GmbH",
    "数据科学家 | Machine Learning",
    "Product Manager <Payments> | ex-Stripe",
    "VP Sales — EMEA",
    "O'Reilly author · Rust & Go",
    "Student at Université de Montréal",
    "Marketing Lead | B2B SaaS",
)
_DEGREES: Final = ("1st", "2nd", "3rd", "3rd+", None)  # None: the key is left out
_ANONYMOUS_NAMES: Final = ("LinkedIn Member", "Someone at a company in Software")

_MINUTES_PER_DAY: Final = 24 * 60
_AGE_UNITS_IN_DAYS: Final[Mapping[str, float]] = {
    "m": 1 / _MINUTES_PER_DAY,
    "h": 1 / 24,
    "d": 1,
    "w": 7,
    "mo": 30,
    "y": 365,
}
_AGE_PATTERN: Final = re.compile(r"(\d+)\s*(mo|[mhdwy])\b")


def normalize_time_range(value: str) -> str | None:
    """Return the canonical name of a time range, or ``None`` if it is unknown.

    Matching is case-insensitive, so ``"PAST_7_DAYS"`` and ``"past_7_days"`` are the same.
    """
    for name in TIME_RANGES:
        if value.upper() == name.upper():
            return name
    return None


def age_in_days(viewed_at: object) -> float | None:
    """Read the age out of a relative ``viewedAt`` text such as ``"Viewed 2d ago"``.

    Months count as 30 days and years as 365. Returns ``None`` when the value is not a
    string or carries no recognisable age.
    """
    if not isinstance(viewed_at, str):
        return None
    match = _AGE_PATTERN.search(viewed_at)
    if match is None:
        return None
    return int(match.group(1)) * _AGE_UNITS_IN_DAYS[match.group(2)]


def filter_by_time_range(
    visitors: Iterable[Mapping[str, Any]], time_range: str
) -> list[dict[str, Any]]:
    """Keep the visitors whose ``viewedAt`` age lies within *time_range* (inclusive).

    Records without a readable age (e.g. hand-written ones with no ``viewedAt``) are kept in
    every range.

    Raises:
        ValueError: *time_range* is not a known time range.
    """
    name = normalize_time_range(time_range)
    if name is None:
        msg = f"unknown time range {time_range!r}; expected one of {', '.join(TIME_RANGES)}"
        raise ValueError(msg)
    window = TIME_RANGES[name]
    kept = []
    for visitor in visitors:
        age = age_in_days(visitor.get("viewedAt"))
        if window is None or age is None or age <= window:
            kept.append(dict(visitor))
    return kept


def make_visitors(
    n: int, *, seed: int = 0, account_id: str = DEFAULT_ACCOUNT_ID
) -> list[dict[str, Any]]:
    """Build *n* deterministic synthetic visitor records, newest first.

    The records are the exact camelCase JSON objects the fake server serves. Every tenth
    visitor (``index % 10 == 7``) is anonymous: its identity keys are missing or null
    (alternating) and its name is generic. Named visitors have a unique ``entityUrn`` per
    account and index, a cycling ``connectionDegree`` (sometimes missing) and, on some
    records, the undocumented ``navigationUrl``.

    Args:
        n: how many visitors.
        seed: varies names, headlines and the exact ages.
        account_id: mixed into identities, so two accounts never share a visitor URN.

    Raises:
        ValueError: *n* is negative.
    """
    if n < 0:
        msg = f"n must be >= 0, got {n}"
        raise ValueError(msg)
    rng = random.Random(f"connectsafely-fake:{seed}:{account_id}")
    visitors = []
    for index in range(n):
        viewed_at = _viewed_at(_age_in_minutes(index, rng))
        if index % 10 == 7:
            visitors.append(_anonymous_visitor(index, viewed_at))
        else:
            visitors.append(_named_visitor(index, viewed_at, rng, f"{seed}:{account_id}:{index}"))
    return visitors


def make_account(account_id: str) -> dict[str, Any]:
    """Build the deterministic account record ``GET /linkedin/accounts`` lists for *account_id*."""
    digest = hashlib.sha256(account_id.encode()).digest()
    first = _FIRST_NAMES[digest[0] % len(_FIRST_NAMES)]
    last = _LAST_NAMES[digest[1] % len(_LAST_NAMES)]
    public_id = f"{_slug(first)}-{_slug(last)}-{digest.hex()[:8]}"
    return {
        "id": account_id,
        "firstName": first,
        "lastName": last,
        "publicId": public_id,
        "picture": f"https://media.licdn.com/dms/image/v2/{_token(digest, 16)}/profile.jpg",
        "status": "RUNNING",
        "enabled": True,
    }


def _age_in_minutes(index: int, rng: random.Random) -> int:
    # Base ages grow quadratically; the jitter stays below the gap to the next base age,
    # so ages never decrease down the list whatever the seed.
    base = 5 + 36 * index * index
    return base + rng.randrange(36 * (2 * index + 1))


def _viewed_at(minutes: int) -> str:
    # Always round down, so the age read back from the text never exceeds the real one
    # and the text ages stay non-decreasing down the list.
    days = minutes // _MINUTES_PER_DAY
    if minutes < 60:
        amount = f"{minutes}m"
    elif days < 1:
        amount = f"{minutes // 60}h"
    elif days < 7:
        amount = f"{days}d"
    elif days < 30:
        amount = f"{days // 7}w"
    elif days < 365:
        amount = f"{days // 30}mo"
    else:
        amount = f"{days // 365}y"
    return f"Viewed {amount} ago"


def _anonymous_visitor(index: int, viewed_at: str) -> dict[str, Any]:
    if (index // 10) % 2 == 0:
        # Identity keys left out entirely; no headline either.
        return {"name": _ANONYMOUS_NAMES[0], "viewedAt": viewed_at}
    # Identity keys present but null, with a generic headline.
    return {
        "entityUrn": None,
        "publicIdentifier": None,
        "name": _ANONYMOUS_NAMES[1],
        "headline": "Someone at a company in Software",
        "profilePicture": None,
        "viewedAt": viewed_at,
        "profileUrl": None,
    }


def _named_visitor(index: int, viewed_at: str, rng: random.Random, identity: str) -> dict[str, Any]:
    digest = hashlib.sha256(identity.encode()).digest()
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    public_id = f"{_slug(first)}-{_slug(last)}-{digest.hex()[:9]}"
    visitor: dict[str, Any] = {
        "entityUrn": f"urn:li:fsd_profile:ACoAA{_token(digest, 34)}",
        "publicIdentifier": public_id,
        "name": f"{first} {last}",
        "headline": rng.choice(_HEADLINES),
        "profilePicture": (
            None
            if index % 13 == 12
            else "https://media.licdn.com/dms/image/v2/"
            f"{_token(digest[::-1], 16)}/profile-displayphoto-shrink_100_100/0/"
        ),
        "viewedAt": viewed_at,
    }
    degree = _DEGREES[index % len(_DEGREES)]
    if degree is not None:
        visitor["connectionDegree"] = degree
    visitor["profileUrl"] = f"https://www.linkedin.com/in/{public_id}"
    if index % 4 == 1:
        visitor["navigationUrl"] = f"https://www.linkedin.com/in/{public_id}?trk=profile-views"
    return visitor


def _token(digest: bytes, length: int) -> str:
    alphanumerics = re.sub(r"[^A-Za-z0-9]", "", base64.b64encode(digest * 2).decode())
    return alphanumerics[:length]


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")

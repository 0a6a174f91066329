"""Who a visitor is, from one sync to the next: pure functions, no I/O.

A named visitor is known by every identifier it carries, strongest first: the
``entity_urn``, then the public identifier, then the LinkedIn profile slug read from
``profile_url`` or ``navigation_url``. A store keeps all of them as aliases of one visitor,
so a visitor seen once with a URN and later only with a profile link is still the same
person. An anonymous entry carries none of them: it has no key at all, and is therefore
never merged with another entry, anonymous or named.

A store relies on these rules staying put: a visitor seen again with the same identifiers
is taken to have every key recorded already (``_writes._resolve``). A change to what keys
a visitor's identifiers give therefore comes with a schema migration that records the new
keys of the stored visitors (as schema 3 did for the digests of long keys).
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import unquote, urlsplit

from .._models import Visitor
from ._text import storable_key

__all__ = ["identity_keys", "profile_slug", "visitor_key"]

# linkedin.com, www.linkedin.com, de.linkedin.com ...; /in/<slug>[/...]
_LINKEDIN_HOST: Final = re.compile(r"(?:^|\.)linkedin\.com$")
_PROFILE_PATH: Final = re.compile(r"^/in/([^/]+)/?")
# The common spelling, read without urlsplit (a sync reads two links per visitor).
_PLAIN_PROFILE: Final = re.compile(
    r"https://(?:www\.)?linkedin\.com/in/([A-Za-z0-9_-]+)(?:[/?#]|$)", re.ASCII
)


def profile_slug(url: str | None) -> str | None:
    """The profile slug of a LinkedIn ``/in/<slug>`` URL, lower-cased; ``None`` otherwise.

    Query strings (``?trk=profile-views``), fragments, a trailing slash, the scheme and the
    country subdomain do not change who the link points to, so they do not change the slug.
    """
    if not url:
        return None
    plain = _PLAIN_PROFILE.match(url)
    if plain is not None:
        return plain.group(1).lower()
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if not _LINKEDIN_HOST.search(host):
        return None
    match = _PROFILE_PATH.match(parts.path)
    if match is None:
        return None
    slug = unquote(match.group(1)).strip().lower()
    return slug or None


def identity_keys(visitor: Visitor) -> tuple[str, ...]:
    """Every key that identifies ``visitor``, strongest first; ``()`` when anonymous.

    Keys are prefixed by kind (``urn:``, ``in:``) so that no identifier of one kind can
    collide with another kind's. A URL that is not a LinkedIn profile link identifies no
    one: an anonymous entry's link to an upsell page must not merge every anonymous viewer
    into one. A key longer than the stores can index is its digest (``storable_key``).
    """
    keys: list[str] = []
    urn = (visitor.entity_urn or "").strip()
    if urn:
        # URNs name their own kind ("urn:li:fsd_profile:..."); other keys get a prefix.
        keys.append(urn if urn.startswith("urn:") else f"urn:{urn}")
    public_id = (visitor.public_identifier or "").strip().lower()
    if public_id:
        keys.append(f"in:{public_id}")
    for url in (visitor.profile_url, visitor.navigation_url):
        slug = profile_slug(url) if url else None
        if slug is not None and (key := f"in:{slug}") not in keys:
            keys.append(key)
    return tuple(map(storable_key, keys))


def visitor_key(visitor: Visitor) -> str | None:
    """The strongest identity key of ``visitor`` (``identity_keys(visitor)[0]``), or
    ``None`` for an anonymous entry; the URN's without reading the other identifiers."""
    urn = (visitor.entity_urn or "").strip()
    if urn:
        return storable_key(urn if urn.startswith("urn:") else f"urn:{urn}")
    keys = identity_keys(visitor)
    return keys[0] if keys else None

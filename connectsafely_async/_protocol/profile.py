"""``POST /linkedin/profile``: enrich a person (a visitor, say), free of I/O.

The answer is ``{"success": true, "profile": {...}}``. The fields public code reads are
typed on ``Profile``; the profile object itself is kept whole in ``Profile.fields``, since
the service sends far more than anyone documents. A fetch costs one of the account's 120
unique profiles a day, unless the service's 6-hour cache answers it (``force_refresh``
skips the cache, and counts).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from .. import _converters
from .._models import RateLimit
from .errors import decode_json_object, raise_misfit
from .followup import post_json
from .headers import parse_rate_limit
from .http import HttpRequest, HttpResponse

__all__ = [
    "PROFILE_PATH",
    "Experience",
    "GeoLocation",
    "Location",
    "Profile",
    "ProfileIncludes",
    "build_profile_request",
    "parse_profile",
]

PROFILE_PATH: Final = "/linkedin/profile"
_SDK_FIELDS: Final = frozenset({"rateLimit", "fields"})


@attrs.frozen
class Experience:
    """One position held; pages spell its fields two ways (see ``job_title``, ``employer``)."""

    title: str | None = None
    position: str | None = None
    company_name: str | None = None
    company: str | None = None

    @property
    def job_title(self) -> str | None:
        """``title``, else ``position``."""
        return self.title or self.position

    @property
    def employer(self) -> str | None:
        """``companyName``, else ``company``."""
        return self.company_name or self.company


@attrs.frozen
class GeoLocation:
    """Where the person is, when ``include_geo_location`` asked."""

    city: str | None = None
    country: str | None = None


@attrs.frozen
class Location:
    """The location the profile shows (``name`` or ``city``)."""

    name: str | None = None
    city: str | None = None


@attrs.frozen
class Profile:
    """One person's profile.

    Attributes:
        connection_degree: ``"1st"``, ``"2nd"``... as the service writes it.
        experience: the positions held, when ``include_experience`` asked.
        rate_limit: the answer's ``X-RateLimit-*`` headers: what is left of the day's
            profile fetches, when the service said.
        fields: the whole profile object as the service sent it, unknown fields included.
    """

    first_name: str | None = None
    last_name: str | None = None
    headline: str | None = None
    public_identifier: str | None = None
    connection_degree: str | None = None
    is_premium: bool | None = None
    follower_count: int | None = None
    experience: tuple[Experience, ...] = ()
    geo_location: GeoLocation | None = None
    location: Location | None = None
    rate_limit: RateLimit | None = None
    fields: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen
class _ProfileAnswer:
    # Structured whole, so a problem's path reads as in the answer: $.profile.firstName.
    profile: Profile


@attrs.frozen(kw_only=True)
class ProfileIncludes:
    """What a profile fetch asks for beyond the basics, and whether it skips the cache."""

    geo_location: bool = False
    contact: bool = False
    experience: bool = False
    education: bool = False
    skills: bool = False
    force_refresh: bool = False

    def to_json(self) -> dict[str, bool]:
        """The flags that are on, spelled as the service reads them (``includeContact``)."""
        flags = {
            "includeGeoLocation": self.geo_location,
            "includeContact": self.contact,
            "includeExperience": self.experience,
            "includeEducation": self.education,
            "includeSkills": self.skills,
            "forceRefresh": self.force_refresh,
        }
        return {name: True for name, on in flags.items() if on}


def build_profile_request(
    profile_id: str, *, includes: ProfileIncludes | None = None, account_id: str | None = None
) -> HttpRequest:
    """The ``POST /linkedin/profile`` request; the arguments are checked already."""
    body: dict[str, Any] = {}
    if account_id is not None:
        body["accountId"] = account_id
    body["profileId"] = profile_id
    body.update((includes or ProfileIncludes()).to_json())
    return post_json(PROFILE_PATH, body)


def parse_profile(response: HttpResponse) -> Profile:
    """Turn the profile answer into a ``Profile``, keeping every field of it.

    Raises:
        APIStatusError: a subclass chosen by status (429: "Maximum 120 unique profiles per
            day").
        ResponseValidationError: a 2xx without a profile object, or one that does not fit.
    """
    data = decode_json_object(response)
    raw = data.get("profile")
    if type(raw) is not dict:
        msg = "the profile answer holds no profile object"
        raise_misfit("the profile answer", TypeError(msg), data, response)
    known = {key: value for key, value in raw.items() if key not in _SDK_FIELDS}
    if type(known.get("connectionDegree")) is int:  # some pages count degrees: 1 -> "1"
        known["connectionDegree"] = str(known["connectionDegree"])
    import cattrs  # with the converter, on first use: not part of the package's import

    try:
        profile = _converters.converter.structure({"profile": known}, _ProfileAnswer).profile
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        raise_misfit("the profile answer", exc, data, response)
    return attrs.evolve(
        profile, rate_limit=parse_rate_limit(response.headers, now=response.received_at),
        fields=raw,
    )

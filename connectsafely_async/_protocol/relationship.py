"""``GET /linkedin/relationship/{profileId}``: may this account message the person, or must
it invite first? Free of I/O.

With an account id the path is ``/linkedin/relationship/{accountId}/{profileId}``. The same
call tells whether an invitation whose answer was lost went through (``invitationSent`` or
``connected``). An older shape (``following``, ``follower``, ``connectionDegree``) is read too.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

import attrs

from .. import _converters
from .errors import decode_json_object, raise_misfit
from .http import HttpRequest, HttpResponse

__all__ = [
    "RELATIONSHIP_PATH",
    "Relationship",
    "build_relationship_request",
    "parse_relationship",
]

RELATIONSHIP_PATH: Final = "/linkedin/relationship"


@attrs.frozen
class Relationship:
    """How the account and one person are connected.

    Attributes:
        connected: a 1st-degree connection: a ``normal`` message reaches them.
        invitation_sent: an invitation from the account is pending.
        invitation_received: an invitation from the person is pending.
        status: the service's word, e.g. ``"NOT_CONNECTED"``.
        profile_urn: the person's URN, to name them in a message or an invitation.
    """

    connected: bool | None = None
    invitation_sent: bool | None = None
    invitation_received: bool | None = None
    status: str | None = None
    profile_urn: str | None = None
    account_id: str | None = None
    following: bool | None = None
    follower: bool | None = None
    connection_degree: str | None = None

    @property
    def invited_or_connected(self) -> bool:
        """Whether an invitation from the account went through (pending, or accepted)."""
        return bool(self.invitation_sent or self.connected)


def build_relationship_request(profile_id: str, account_id: str | None = None) -> HttpRequest:
    """The relationship request for ``profile_id`` (a public identifier), quoted into the path.

    ``account_id`` goes into the path too: check it first (24 hex digits).
    """
    person = quote(profile_id, safe="")
    if account_id is None:
        return HttpRequest("GET", f"{RELATIONSHIP_PATH}/{person}")
    return HttpRequest("GET", f"{RELATIONSHIP_PATH}/{account_id}/{person}")


def parse_relationship(response: HttpResponse) -> Relationship:
    """Turn the relationship answer into a ``Relationship``.

    Raises:
        APIStatusError: a subclass chosen by status (404: "LinkedIn profile not found").
        ResponseValidationError: a 2xx that is not a relationship.
    """
    data = decode_json_object(response)
    degree = data.get("connectionDegree")
    if type(degree) is int:  # the older shape may count degrees: 1 -> "1"
        data = {**data, "connectionDegree": str(degree)}
    import cattrs  # with the converter, on first use: not part of the package's import

    try:
        return _converters.converter.structure(data, Relationship)
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        raise_misfit("the relationship answer", exc, data, response)

"""``POST /linkedin/connect``: a connection invitation, with an optional note, free of I/O.

The body names the person by ``profileUrn`` (preferred when known) or ``profileId``; the note
is ``customMessage``, at most 300 characters (an older page calls it ``message``). The
answer's fields vary between pages (``success``, ``message``; ``invitationId``,
``timestamp``): every field is kept in ``SentInvitation.fields``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from .. import _converters
from .._models import RateLimit
from .errors import decode_json_object, raise_misfit
from .followup import person_fields, post_json
from .headers import parse_rate_limit
from .http import HttpRequest, HttpResponse

__all__ = [
    "INVITATION_PATH",
    "MAX_NOTE_CHARS",
    "SentInvitation",
    "build_invitation_request",
    "check_note",
    "parse_sent_invitation",
]

INVITATION_PATH: Final = "/linkedin/connect"
#: LinkedIn's cap on an invitation's note.
MAX_NOTE_CHARS: Final = 300
_SDK_FIELDS: Final = frozenset({"confirmedByRelationship", "rateLimit", "fields"})


@attrs.frozen
class SentInvitation:
    """The service's word that an invitation went out, or the relationship that shows it did.

    Attributes:
        message: the service's own message, e.g. ``"Connection request sent successfully"``.
        invitation_id: the invitation's id, when the service sent one.
        timestamp: when the service says it sent it, as it wrote it.
        confirmed_by_relationship: ``True`` when the answer was lost (a timeout, a reset, a
            5xx) and the relationship call showed the invitation pending (or the person
            connected): it went through, but none of the answer's fields are known.
        rate_limit: the answer's ``X-RateLimit-*`` headers: what is left of the week's
            invitations, when the service said.
        fields: every field of the answer, unknown ones included.
    """

    success: bool | None = None
    message: str | None = None
    invitation_id: str | None = None
    timestamp: str | None = None
    confirmed_by_relationship: bool = False
    rate_limit: RateLimit | None = None
    fields: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


def check_note(note: Any) -> str | None:
    """``None`` (no note), or a note of at most 300 characters; an empty note is no note.

    Raises:
        TypeError: not a string.
        ValueError: over 300 characters.
    """
    if note is None:
        return None
    if not isinstance(note, str):
        msg = f"note must be a string or None, got {type(note).__name__}"
        raise TypeError(msg)
    if len(note) > MAX_NOTE_CHARS:
        msg = f"note must be at most {MAX_NOTE_CHARS} characters, got {len(note)}"
        raise ValueError(msg)
    return note or None


def build_invitation_request(
    profile: str, *, note: str | None = None, account_id: str | None = None
) -> HttpRequest:
    """The ``POST /linkedin/connect`` request; the arguments are checked already."""
    body: dict[str, Any] = {}
    if account_id is not None:
        body["accountId"] = account_id
    body.update(person_fields(profile, id_key="profileId", urn_key="profileUrn"))
    if note:
        body["customMessage"] = note
    return post_json(INVITATION_PATH, body)


def parse_sent_invitation(response: HttpResponse) -> SentInvitation:
    """Turn the invitation answer into a ``SentInvitation``, keeping every field.

    Raises:
        APIStatusError: a subclass chosen by status (429: invitations held; its
            ``hold_until`` says until when).
        ResponseValidationError: a 2xx that is not a sent invitation.
    """
    data = decode_json_object(response)
    # The SDK's own fields are never read from the answer.
    known = {key: value for key, value in data.items() if key not in _SDK_FIELDS}
    if type(known.get("invitationId")) is int:  # an id is an id: some pages write a number
        known["invitationId"] = str(known["invitationId"])
    import cattrs  # with the converter, on first use: not part of the package's import

    try:
        sent = _converters.converter.structure(known, SentInvitation)
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        raise_misfit("the invitation answer", exc, data, response)
    return attrs.evolve(
        sent, rate_limit=parse_rate_limit(response.headers, now=response.received_at),
        fields=data,
    )

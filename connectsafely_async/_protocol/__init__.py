"""The wire protocol, free of I/O: build requests, turn answers into data or errors.

Everything here takes and returns plain values (bytes, headers, datetimes), so every quirk of
the service can be tested with bytes alone. The transport moves the bytes; the client wires
the two together. One module per job:

- ``http``: the request and answer values, and the ``Redactor`` every answer passes first;
- ``headers``: rate-limit headers, ``Retry-After`` and dates, in every spelling;
- ``errors``: the right error for any answer, shared by every endpoint;
- ``visitors``, ``accounts``: one module per endpoint, its request builder and its parser;
- ``account_status``, ``relationship``, ``message``, ``invitation``, ``profile``: the calls
  that follow "who viewed my profile", one module each, and ``followup``, the identifiers
  they share.
"""

from .account_status import (
    ACCOUNT_STATUS_PATH,
    AccountStatus,
    LinkedInPlan,
    build_account_status_request,
    parse_account_status,
)
from .accounts import ACCOUNTS_PATH, Account, build_accounts_request, parse_accounts
from .errors import decode_json_answer, decode_json_object, error_from_response
from .followup import check_account_id, check_person, is_urn
from .headers import parse_datetime, parse_rate_limit, parse_retry_after
from .http import HttpRequest, HttpResponse, Redactor
from .invitation import (
    INVITATION_PATH,
    MAX_NOTE_CHARS,
    SentInvitation,
    build_invitation_request,
    check_note,
    parse_sent_invitation,
)
from .message import (
    MESSAGE_PATH,
    MessageType,
    SentMessage,
    build_message_request,
    check_message,
    parse_sent_message,
)
from .profile import (
    PROFILE_PATH,
    Experience,
    GeoLocation,
    Location,
    Profile,
    ProfileIncludes,
    build_profile_request,
    parse_profile,
)
from .relationship import (
    RELATIONSHIP_PATH,
    Relationship,
    build_relationship_request,
    parse_relationship,
)
from .visitors import VISITORS_PATH, VisitorsQuery, build_visitors_request, parse_visitors_page

__all__ = [
    "ACCOUNTS_PATH",
    "ACCOUNT_STATUS_PATH",
    "INVITATION_PATH",
    "MAX_NOTE_CHARS",
    "MESSAGE_PATH",
    "PROFILE_PATH",
    "RELATIONSHIP_PATH",
    "VISITORS_PATH",
    "Account",
    "AccountStatus",
    "Experience",
    "GeoLocation",
    "HttpRequest",
    "HttpResponse",
    "LinkedInPlan",
    "Location",
    "MessageType",
    "Profile",
    "ProfileIncludes",
    "Redactor",
    "Relationship",
    "SentInvitation",
    "SentMessage",
    "VisitorsQuery",
    "build_account_status_request",
    "build_accounts_request",
    "build_invitation_request",
    "build_message_request",
    "build_profile_request",
    "build_relationship_request",
    "build_visitors_request",
    "check_account_id",
    "check_message",
    "check_note",
    "check_person",
    "decode_json_answer",
    "decode_json_object",
    "error_from_response",
    "is_urn",
    "parse_account_status",
    "parse_accounts",
    "parse_datetime",
    "parse_profile",
    "parse_rate_limit",
    "parse_relationship",
    "parse_retry_after",
    "parse_sent_invitation",
    "parse_sent_message",
    "parse_visitors_page",
]

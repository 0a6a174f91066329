"""``POST /linkedin/message``: a direct message (or an InMail), free of I/O.

The body names the recipient by ``recipientProfileUrn`` (preferred when known) or
``recipientProfileId``; ``messageType`` is ``normal`` for 1st-degree connections and
``inmail`` for anyone else (Premium InMail credits, and a ``subject``). The service knows
no idempotency key: whoever sends must never send twice blindly (see ``_retry``).
"""

from __future__ import annotations

from typing import Any, Final, Literal

import attrs

from .. import _converters
from .._models import RateLimit
from .errors import decode_json_object, raise_misfit
from .followup import person_fields, post_json
from .headers import parse_rate_limit
from .http import HttpRequest, HttpResponse

__all__ = [
    "MESSAGE_PATH",
    "MESSAGE_TYPES",
    "MessageType",
    "SentMessage",
    "build_message_request",
    "check_message",
    "parse_sent_message",
]

MESSAGE_PATH: Final = "/linkedin/message"
MessageType = Literal["normal", "inmail"]
MESSAGE_TYPES: Final = ("normal", "inmail")


@attrs.frozen
class SentMessage:
    """The service's word that a message went out.

    Attributes:
        recipient_profile_urn: the recipient's URN, as the service resolved it.
        message: the service's own message, e.g. ``"Message sent successfully"``.
        rate_limit: the answer's ``X-RateLimit-*`` headers: what is left of the day's
            messages, when the service said.
    """

    success: bool | None = None
    message: str | None = None
    recipient_profile_urn: str | None = None
    rate_limit: RateLimit | None = None


def check_message(
    message: Any, *, message_type: Any, subject: Any
) -> tuple[str, MessageType, str | None]:
    """The message, its type and its subject, or the error for the first that is wrong.

    Raises:
        TypeError: a value of the wrong type.
        ValueError: an empty message, an unknown type, or an InMail without a subject.
    """
    if not isinstance(message, str):
        msg = f"message must be a string, got {type(message).__name__}"
        raise TypeError(msg)
    if not message.strip():
        msg = "message must not be empty"
        raise ValueError(msg)
    if message_type not in MESSAGE_TYPES:
        msg = f"message_type must be 'normal' or 'inmail', got {message_type!r}"
        raise ValueError(msg)
    if subject is not None and not isinstance(subject, str):
        msg = f"subject must be a string or None, got {type(subject).__name__}"
        raise TypeError(msg)
    if message_type == "inmail" and not (subject or "").strip():
        msg = "an inmail needs a subject"
        raise ValueError(msg)
    kind: MessageType = "inmail" if message_type == "inmail" else "normal"
    return message, kind, subject


def build_message_request(
    recipient: str,
    message: str,
    *,
    message_type: MessageType = "normal",
    subject: str | None = None,
    account_id: str | None = None,
) -> HttpRequest:
    """The ``POST /linkedin/message`` request; the arguments are checked already."""
    body: dict[str, Any] = {}
    if account_id is not None:
        body["accountId"] = account_id
    body.update(person_fields(recipient, id_key="recipientProfileId",
                              urn_key="recipientProfileUrn"))
    body["message"] = message
    body["messageType"] = message_type
    if subject is not None:
        body["subject"] = subject
    return post_json(MESSAGE_PATH, body)


def parse_sent_message(response: HttpResponse) -> SentMessage:
    """Turn the message answer into a ``SentMessage``.

    Raises:
        APIStatusError: a subclass chosen by status (400: cannot message this person).
        ResponseValidationError: a 2xx that is not a sent message.
    """
    data = decode_json_object(response)
    known = {key: value for key, value in data.items() if key != "rateLimit"}  # the SDK's
    import cattrs  # with the converter, on first use: not part of the package's import

    try:
        sent = _converters.converter.structure(known, SentMessage)
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        raise_misfit("the message answer", exc, data, response)
    return attrs.evolve(
        sent, rate_limit=parse_rate_limit(response.headers, now=response.received_at)
    )

"""Scripted faults: what the fake server should do wrong, as plain data.

A :class:`Fault` says nothing about *how* it is produced; the server interprets it. Faults
are queued with :meth:`FakeConnectSafely.inject` and consumed first-in, first-out, one per
request to ``POST /linkedin/profile/visitors`` that passed authentication and rate limiting.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final, Literal

import attrs

__all__ = ["NORMAL_BODY", "Fault", "FaultKind"]

FaultKind = Literal["respond", "reset", "drip", "truncate", "close_idle"]
_KINDS: Final = frozenset({"respond", "reset", "drip", "truncate", "close_idle"})


class _NormalBody(enum.Enum):
    NORMAL_BODY = enum.auto()

    def __repr__(self) -> str:
        return "NORMAL_BODY"


#: Default of :attr:`Fault.json`: "serve the body the request would normally get".
NORMAL_BODY: Final = _NormalBody.NORMAL_BODY


def _check_kind(_instance: object, _attribute: object, value: str) -> None:
    if value not in _KINDS:
        msg = f"kind must be one of {sorted(_KINDS)}, got {value!r}"
        raise ValueError(msg)


def _check_body(instance: Fault, _attribute: object, value: str | None) -> None:
    if value is not None and instance.json is not NORMAL_BODY:
        msg = "give a Fault either json or text, not both"
        raise ValueError(msg)


_le_599: Final = attrs.validators.le(599)


def _copy_headers(headers: Mapping[str, str]) -> dict[str, str]:
    # A typed converter (not bare `dict`) so type checkers accept any Mapping argument.
    return dict(headers)


@attrs.frozen(kw_only=True)
class Fault:
    """One scripted misbehaviour of the fake server.

    Kinds:

    ``"respond"`` (default)
        Wait *delay* seconds, then answer with *status*, *json* (serialised) or *text*,
        *content_type* and extra *headers*. With no body and status 200, the normal answer
        is served (so ``Fault(delay=0.5)`` is a slow normal answer and
        ``Fault(headers={...})`` decorates a normal answer). With no body and another
        status, the body is empty (e.g. a redirect: ``Fault(status=307, headers={"Location":
        ...})``).
    ``"reset"``
        Wait *delay* seconds, then abort the TCP connection without answering.
    ``"drip"``
        Start the normal answer with its full ``Content-Length``, send a few bytes, stall
        for *delay* seconds, then send the rest: a client with a shorter read timeout
        times out, a patient one gets a normal answer.
    ``"truncate"``
        Wait *delay* seconds, then send the normal answer's headers with a
        ``Content-Length`` larger than the body and close the connection mid-body.
    ``"close_idle"``
        Answer normally on a kept-alive connection, then close that connection *delay*
        seconds later (default at once) while it sits idle in the client's pool: what a
        server or load balancer does when its keep-alive timeout is shorter than the
        client's.

    Args:
        kind: one of the kinds above.
        status: HTTP status of a ``"respond"`` fault.
        json: JSON body of a ``"respond"`` fault; defaults to the normal body.
        text: raw text body of a ``"respond"`` fault (exclusive with *json*).
        content_type: ``Content-Type`` of *json*/*text* (default ``application/json`` for
            *json*, ``text/plain`` for *text*).
        headers: extra response headers, for every kind that answers.
        delay: seconds to wait (``"drip"``: seconds to stall mid-body).
    """

    kind: FaultKind = attrs.field(default="respond", validator=_check_kind)
    status: int = attrs.field(default=200, validator=[attrs.validators.ge(100), _le_599])
    # Bodies and headers may be unhashable dicts: compare them, but leave them out of hash().
    json: Any = attrs.field(default=NORMAL_BODY, hash=False)
    text: str | None = attrs.field(default=None, validator=_check_body)
    content_type: str | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_copy_headers, hash=False)
    delay: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))

    @property
    def serves_normal_body(self) -> bool:
        """Whether this fault answers with the body the request would normally get."""
        return self.kind != "respond" or (
            self.status == 200 and self.json is NORMAL_BODY and self.text is None
        )

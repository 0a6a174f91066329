"""Every error the SDK raises, as one tree that carries data.

::

    ConnectSafelyError
     ├── ConfigurationError            (also ValueError: no key, a bad base URL)
     ├── ClientClosedError             (also RuntimeError: the client was closed)
     ├── APIConnectionError            the request never got an HTTP answer
     │    ├── APITimeoutError          (also TimeoutError)
     │    └── RequestNotSentError      no connection could be made: the request never left
     ├── APIStatusError                the service answered with an error status
     │    ├── RedirectError            3xx: never followed, the key stays with the service
     │    ├── BadRequestError          400, with the validation issues
     │    ├── AuthenticationError      401
     │    ├── PermissionDeniedError    403: ``reason`` tells Premium required from trial expired
     │    ├── NotFoundError            404
     │    ├── RateLimitError           429, with retry_after and hold_until
     │    └── InternalServerError      5xx, an HTML page from a proxy included
     ├── ResponseValidationError       a 200 that does not fit the model
     │    └── ResponseDecodeError      a 200 that is not JSON at all (retried: a proxy's page)
     ├── PaginationStalledError        pages keep coming with nothing new: the walk stops
     └── ActionOutcomeUnknownError     a message or invitation may or may not have gone out

    InsecureTransportWarning           (a UserWarning) the key goes over plain http
    RateLimiterFallbackWarning         (a RuntimeWarning) the shared limiter is unreachable:
                                       this process limits itself until it is back

An action (a message, an invitation) that failed in a way the service may have acted on
first (a timeout, a reset, a 5xx) is never sent again by the SDK: it is checked when it can
be, else raised as ``ActionOutcomeUnknownError`` carrying the ``AttemptedAction``.

An error that ends a walk carries ``checkpoint``: pass it to ``resume=`` to continue there.

``str(error)`` is one short line and never contains the API key: bodies are scrubbed
before they reach an error, and the transport never chains aiohttp's exceptions (they
carry the request headers).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import attrs

if TYPE_CHECKING:
    from ._checkpoint import Checkpoint
    from ._models import RateLimit

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "ActionOutcomeUnknownError",
    "AttemptedAction",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConnectSafelyError",
    "InsecureTransportWarning",
    "InternalServerError",
    "NotFoundError",
    "PaginationStalledError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiterFallbackWarning",
    "RedirectError",
    "RequestNotSentError",
    "ResponseDecodeError",
    "ResponseValidationError",
    "ValidationIssue",
    "error_class_for_status",
]


@attrs.frozen
class ValidationIssue:
    """One problem the service found in a request (a ZodError issue)."""

    message: str
    path: tuple[str | int, ...] = ()
    code: str | None = None

    def __str__(self) -> str:
        where = ".".join(str(part) for part in self.path)
        return f"{where}: {self.message}" if where else self.message


class ConnectSafelyError(Exception):
    """The root of every error this SDK raises.

    Attributes:
        message: one readable line.
        checkpoint: where the walk this error ended can resume (``None`` outside a walk).
    """

    checkpoint: Checkpoint | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(ConnectSafelyError, ValueError):
    """The client cannot be used as configured (no API key, an unsafe base URL)."""


class ClientClosedError(ConnectSafelyError, RuntimeError):
    """A request was made on a client that has been closed."""


class APIConnectionError(ConnectSafelyError):
    """The request got no HTTP answer: refused, reset, DNS, TLS, a cut-off body."""


class APITimeoutError(APIConnectionError, TimeoutError):
    """The request did not complete within the client's timeout."""


class RequestNotSentError(APIConnectionError):
    """No connection could be made (refused, DNS, TLS): the request provably never left, so
    even an action may be sent again."""


class APIStatusError(ConnectSafelyError):
    """The service answered with an error status.

    Attributes:
        status_code: the HTTP status.
        message: the service's own message, or a short description of the status.
        body: the decoded body (JSON value, or text for a non-JSON page), scrubbed of the key.
        request_id: the service's request id, when it sent one.
        rate_limit: the parsed ``X-RateLimit-*`` headers, when present.
        retry_after: seconds the service asked us to wait (``Retry-After``), when it said.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        request_id: str | None = None,
        rate_limit: RateLimit | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        self.request_id = request_id
        self.rate_limit = rate_limit
        self.retry_after = retry_after

    def __str__(self) -> str:
        suffix = f" (request id {self.request_id})" if self.request_id else ""
        return f"HTTP {self.status_code}: {self.message}{suffix}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, message={self.message!r})"


class RedirectError(APIStatusError):
    """3xx: the service (or something posing as it) sent us elsewhere; not followed, since
    following would send the key to another address."""


class BadRequestError(APIStatusError):
    """400: the service rejected the request; ``issues`` lists what it found."""

    def __init__(
        self, message: str, *, issues: Sequence[ValidationIssue] = (), **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.issues = tuple(issues)


class AuthenticationError(APIStatusError):
    """401: the API key is missing or invalid."""


class PermissionDeniedError(APIStatusError):
    """403: the account lacks LinkedIn Premium, or the trial or subscription ended.

    Attributes:
        reason: ``"trial_expired"`` (the workspace's trial or subscription ended: subscribe),
            ``"premium_required"`` (the LinkedIn account needs Premium), or ``None`` when the
            service's message names neither.
    """

    @property
    def reason(self) -> Literal["trial_expired", "premium_required"] | None:
        text = self.message.casefold()
        # The trial's message says "subscribe" too: the trial is told first.
        if "trial" in text or "expired" in text:
            return "trial_expired"
        if "premium" in text:
            return "premium_required"
        if "subscri" in text:
            return "trial_expired"
        return None


class NotFoundError(APIStatusError):
    """404: for example an unknown account id."""


class RateLimitError(APIStatusError):
    """429: rate limited.

    Attributes:
        retry_after: seconds the service asked us to wait, when it said.
        hold_until: the instant before which the service asked not to retry (``holdUntil``).
    """

    def __init__(
        self, message: str, *, hold_until: datetime | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.hold_until = hold_until


class InternalServerError(APIStatusError):
    """5xx: the service (or a proxy in front of it) failed."""


class ResponseValidationError(ConnectSafelyError):
    """A successful answer whose body is not JSON or does not fit the model.

    Attributes:
        errors: one readable line per problem, each with its field path (``$.visitors[3].name``).
        body: the decoded body (or its text when it is not JSON), scrubbed of the key.
        request_id: the service's request id, when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[str] = (),
        body: Any = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.errors = tuple(errors)
        self.body = body
        self.request_id = request_id


class ResponseDecodeError(ResponseValidationError):
    """A successful status whose body is not JSON (an HTML page, a cut-off body): retried."""


class PaginationStalledError(ConnectSafelyError):
    """The service kept answering ``hasMore`` with pages that brought nothing new."""


@attrs.frozen
class AttemptedAction:
    """An action the SDK sent whose outcome is unknown: enough to check it, or to send it
    again once you decide to.

    Attributes:
        kind: ``"message"`` or ``"invitation"``.
        recipient: the public identifier or URN the request named.
        text: the message, or the invitation's note (``None``: no note).
        account_id: the account it was sent from (``None``: the workspace's default).
        message_type: a message's ``"normal"`` or ``"inmail"``.
        subject: an InMail's subject.
    """

    kind: Literal["message", "invitation"]
    recipient: str
    text: str | None = None
    account_id: str | None = None
    message_type: str | None = None
    subject: str | None = None


class ActionOutcomeUnknownError(ConnectSafelyError):
    """A message or invitation failed in a way the service may have acted on first.

    The service documents no idempotency key, so the SDK never sends it again: a timeout
    after sending, a reset or a 5xx may each hide a message that went out. An invitation is
    checked through the relationship call first; this is raised only when that check could
    not tell (or, for a message, since nothing can check one).

    Attributes:
        action: what was attempted.
        cause: the error the request failed with.
        check_error: the error of the check that could not tell, when one was made.
    """

    def __init__(
        self,
        message: str,
        *,
        action: AttemptedAction,
        cause: ConnectSafelyError,
        check_error: ConnectSafelyError | None = None,
    ) -> None:
        super().__init__(message)
        self.action = action
        self.cause = cause
        self.check_error = check_error


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


class InsecureTransportWarning(UserWarning):
    """The client sends the API key over plain http to a host that is not loopback."""


class RateLimiterFallbackWarning(RuntimeWarning):
    """The shared (Redis) rate limiter is unreachable: this process limits itself meanwhile.

    Issued once each time the shared limiter is lost; the client goes back to it when it
    answers again (logged at INFO).
    """


def error_class_for_status(status: int) -> type[APIStatusError]:
    """The error class for a status that is not 2xx: the table, then the class, then the base."""
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if status >= 500:
        return InternalServerError
    if 300 <= status < 400:
        return RedirectError
    return APIStatusError

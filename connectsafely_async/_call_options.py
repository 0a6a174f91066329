"""A call's settings, resolved once at the client's public method and handed down whole.

The client holds its defaults as one ``CallOptions``; a call overrides what it names, and
the result travels down (through a walk, when there is one) to ``Sender.send``, which gives
the retry settings to the retry loop and the timeout to the transport. Nothing below the
client reads a default of its own.
"""

from __future__ import annotations

import attrs

from ._arguments import check_non_negative_int, check_timeout
from ._retry import RetryPolicy

__all__ = ["CallOptions"]


def _check_max_retries(value: object) -> int:
    return check_non_negative_int("max_retries", value)


def _check_retry(value: object) -> RetryPolicy:
    if not isinstance(value, RetryPolicy):
        msg = f"retry must be a RetryPolicy, got {type(value).__name__}"
        raise TypeError(msg)
    return value


@attrs.frozen(kw_only=True)
class CallOptions:
    """The timeout and retry settings of one call, checked when it is made.

    ``with_options`` copies the client's with other defaults; a public method makes a
    call's with ``override`` before any I/O.

    Attributes:
        timeout: seconds one request (connect to last byte) may take.
        max_retries: retries of one failed request.
        retry: when and how long to wait between retries.

    Raises:
        TypeError, ValueError: at construction, for a value of the wrong type or range.
    """

    timeout: float = attrs.field(converter=check_timeout)
    max_retries: int = attrs.field(converter=_check_max_retries)
    retry: RetryPolicy = attrs.field(converter=_check_retry)

    def override(
        self, *, max_retries: int | None = None, timeout: float | None = None
    ) -> CallOptions:
        """These settings with a call's own; ``None`` keeps this value's.

        Args:
            max_retries: retries of one failed request.
            timeout: seconds one request may take (more or less than this value's).

        Returns:
            The call's settings (this very value when the call names none).

        Raises:
            TypeError, ValueError: a bad value, before any request.
        """
        if max_retries is None and timeout is None:
            return self
        return CallOptions(
            timeout=self.timeout if timeout is None else timeout,
            max_retries=self.max_retries if max_retries is None else max_retries,
            retry=self.retry,
        )

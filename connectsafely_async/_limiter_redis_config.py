"""How a client is told to share its rate limit through Redis: ``RedisRateLimits``.

Only configuration and its checks live here; nothing imports redis-py, so the class can be
exported (and checked, before any request) on an install without the ``redis`` extra.
"""

from __future__ import annotations

import os
from typing import Final
from urllib.parse import urlsplit

import attrs

from ._errors import ConfigurationError
from ._limiter import RateLimits
from ._urls import describe_url as _describe
from ._urls import stray_at

__all__ = ["ENV_RATE_LIMIT_URL", "RedisRateLimits", "describe_url"]

ENV_RATE_LIMIT_URL: Final = "CONNECTSAFELY_RATE_LIMIT_URL"
_SCHEMES: Final = ("redis", "rediss", "unix")


def _check_url(_: object, __: object, value: str | None) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        msg = f"url must be a string or None, got {type(value).__name__}"
        raise TypeError(msg)
    _check_url_text(value)


def _check_url_text(url: str) -> None:
    # Never echo the URL: it may carry the Redis password.
    if any(c.isspace() or not c.isprintable() for c in url):
        msg = "the Redis URL contains whitespace or control characters; check how it was set"
        raise ConfigurationError(msg)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (reading it validates it)
    except ValueError:
        msg = "the Redis URL is not a valid URL (check the host and port)"
        raise ConfigurationError(msg) from None
    if stray_at(url):
        msg = (f"the Redis URL for {describe_url(url)} has an '@' after its host: "
               "percent-encode the password's '/', '?' or '#' (%2F, %3F, %23)")
        raise ConfigurationError(msg)
    if parts.scheme not in _SCHEMES or (parts.scheme != "unix" and not parts.hostname):
        scheme = parts.scheme if parts.scheme.isalnum() else "?"
        msg = f"the Redis URL must be redis://, rediss:// or unix:// (got scheme {scheme!r})"
        raise ConfigurationError(msg)


def describe_url(url: str | None) -> str:
    """Where a Redis URL points, without its credentials (the user name included: Redis
    URLs often carry a lone password there) or query."""
    if url is None:
        return f"${ENV_RATE_LIMIT_URL}"
    return _describe(url, keep_user=False, unreadable="an unreadable Redis URL")


def _positive(_: object, attribute: attrs.Attribute[float], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        msg = f"{attribute.name} must be a positive number, got {value!r}"
        raise ValueError(msg)


def _check_prefix(_: object, __: object, value: str) -> None:
    if not isinstance(value, str) or not value or not value.isprintable() or "{" in value:
        msg = "prefix must be a non-empty printable string without '{'"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class RedisRateLimits:
    """Rate limits shared by every client (in every process) that uses the same Redis and key.

    Pass it as ``AsyncConnectSafely(rate_limits=RedisRateLimits(url=...))``. Every worker
    must configure the same ``limits``: they describe the one budget they share.

    Args:
        url: ``redis://[:password@]host:port/db``, ``rediss://...`` or ``unix:///path``;
            ``None`` reads ``$CONNECTSAFELY_RATE_LIMIT_URL`` when the client is built.
        limits: the service's limits for the key and its accounts (the documented ones by
            default); its ``sleep`` and ``clock`` are used for waiting.
        fallback: the limits one process keeps while Redis is unreachable (``None``: the
            same ``limits``). With ``n`` workers, ``limits`` divided by ``n`` keeps even
            the outage free of 429s; the default only leans on the service's headers.
        prefix: the start of every Redis key the limiter writes.
        timeout: seconds a Redis connect or command may take before the limiter falls
            back (a slow Redis must not stall requests).
        retry_interval: seconds between attempts to get back to Redis after a failure.
    """

    url: str | None = attrs.field(default=None, validator=_check_url, repr=describe_url)
    limits: RateLimits = attrs.field(
        factory=RateLimits, validator=attrs.validators.instance_of(RateLimits)
    )
    fallback: RateLimits | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(RateLimits))
    )
    prefix: str = attrs.field(default="connectsafely", validator=_check_prefix)
    timeout: float = attrs.field(default=0.5, validator=_positive)
    retry_interval: float = attrs.field(default=5.0, validator=_positive)

    def resolve_url(self) -> str:
        """The URL to use: ``url``, else the environment's.

        Raises:
            ConfigurationError: neither names a usable Redis URL.
        """
        url = self.url or os.environ.get(ENV_RATE_LIMIT_URL) or ""
        if not url:
            msg = f"no Redis URL: pass RedisRateLimits(url=...) or set ${ENV_RATE_LIMIT_URL}"
            raise ConfigurationError(msg)
        _check_url_text(url)
        return url

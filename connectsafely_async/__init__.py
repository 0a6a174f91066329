"""connectsafely-async: the async Python SDK for the ConnectSafely LinkedIn API.

::

    from connectsafely_async import AsyncConnectSafely

    async with AsyncConnectSafely() as client:  # the key from $CONNECTSAFELY_API_KEY
        async for visitor in client.iter_visitors(max_visitors=100):
            print(visitor.name, visitor.viewed_at)

``ConnectSafely`` is the same client without ``await``, for scripts and notebooks.
"""

from ._blocking_client import ConnectSafely
from ._checkpoint import Checkpoint
from ._client import AsyncConnectSafely
from ._converters import make_converter
from ._errors import (
    ActionOutcomeUnknownError,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    ConnectSafelyError,
    InsecureTransportWarning,
    InternalServerError,
    NotFoundError,
    PaginationStalledError,
    PermissionDeniedError,
    RateLimiterFallbackWarning,
    RateLimitError,
    RedirectError,
    RequestNotSentError,
    ResponseDecodeError,
    ResponseValidationError,
)
from ._limiter import RateLimits
from ._limiter_redis_config import RedisRateLimits
from ._logs import configure_from_environment as _configure_logging
from ._models import TimeRange, Visitor, VisitorList, VisitorsPage, collect
from ._retry import RetryPolicy
from ._version import package_version as _package_version

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "ActionOutcomeUnknownError",
    "AsyncConnectSafely",
    "AuthenticationError",
    "BadRequestError",
    "Checkpoint",
    "ClientClosedError",
    "ConfigurationError",
    "ConnectSafely",
    "ConnectSafelyError",
    "InsecureTransportWarning",
    "InternalServerError",
    "NotFoundError",
    "PaginationStalledError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiterFallbackWarning",
    "RateLimits",
    "RedirectError",
    "RedisRateLimits",
    "RequestNotSentError",
    "ResponseDecodeError",
    "ResponseValidationError",
    "RetryPolicy",
    "TimeRange",
    "Visitor",
    "VisitorList",
    "VisitorsPage",
    "__version__",
    "collect",
    "make_converter",
]


_configure_logging()  # CONNECTSAFELY_LOG=debug|info, read once at import


def __getattr__(name: str) -> str:
    # __version__ is read from the package metadata on first use (PEP 562), not at import.
    if name == "__version__":
        return _package_version()
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)

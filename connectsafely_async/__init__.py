"""connectsafely-async: the async Python SDK for the ConnectSafely LinkedIn API.

::

    from connectsafely_async import AsyncConnectSafely

    async with AsyncConnectSafely() as client:  # the key from $CONNECTSAFELY_API_KEY
        async for visitor in client.iter_visitors(max_visitors=100):
            print(visitor.name, visitor.viewed_at)
"""

from ._client import AsyncConnectSafely
from ._converters import make_converter
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    ConnectSafelyError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ValidationIssue,
)
from ._models import AppliedFilters, Pagination, RateLimit, TimeRange, Visitor, VisitorsPage
from ._retry import RetryPolicy
from ._version import __version__

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AppliedFilters",
    "AsyncConnectSafely",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConnectSafelyError",
    "InternalServerError",
    "NotFoundError",
    "Pagination",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "ResponseValidationError",
    "RetryPolicy",
    "TimeRange",
    "ValidationIssue",
    "Visitor",
    "VisitorsPage",
    "__version__",
    "make_converter",
]

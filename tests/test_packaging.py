"""The public surface: what is exported, typed and versioned."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import connectsafely_async
from connectsafely_async import testing


def test_all_is_sorted_and_complete() -> None:
    names = connectsafely_async.__all__
    assert list(names) == sorted(names)
    for name in names:
        assert hasattr(connectsafely_async, name)
    # "@py_builtins"...: pytest rewrites the asserts of a package that ships a pytest plugin.
    public = {n for n in dir(connectsafely_async) if not n.startswith(("_", "@"))}
    public -= {"testing", "history", "types", "jobs"}
    assert public <= set(names) | {"annotations"}


def test_the_secondary_types_live_in_types_alone() -> None:
    from connectsafely_async import types

    assert list(types.__all__) == sorted(types.__all__)
    for name in types.__all__:
        assert hasattr(types, name)
        assert not hasattr(connectsafely_async, name), name  # one home per name
    assert {"Walk", "WalkStats", "AccountVisitors", "Account", "RateLimit"} <= set(types.__all__)


def test_issue_contract_names_are_exported() -> None:
    for name in ("AsyncConnectSafely", "Visitor", "VisitorsPage", "TimeRange",
                 "ConnectSafelyError", "APIConnectionError", "APITimeoutError",
                 "APIStatusError", "BadRequestError", "AuthenticationError",
                 "PermissionDeniedError", "NotFoundError", "RateLimitError",
                 "InternalServerError", "ResponseValidationError"):
        assert name in connectsafely_async.__all__


def test_errors_live_in_their_module_not_in_init() -> None:
    assert connectsafely_async.RateLimitError.__module__ == "connectsafely_async._errors"


def test_version_comes_from_metadata() -> None:
    assert connectsafely_async.__version__ == version("connectsafely-async")


def test_py_typed_ships() -> None:
    assert (Path(connectsafely_async.__file__).parent / "py.typed").is_file()


def test_testing_is_public_and_sorted() -> None:
    assert list(testing.__all__) == sorted(testing.__all__)
    assert "FakeConnectSafely" in testing.__all__


def test_error_tree() -> None:
    from connectsafely_async import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        ConnectSafelyError,
        InternalServerError,
        RateLimitError,
        ResponseValidationError,
    )

    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APITimeoutError, TimeoutError)
    assert issubclass(APIConnectionError, ConnectSafelyError)
    assert issubclass(RateLimitError, APIStatusError)
    assert issubclass(InternalServerError, APIStatusError)
    assert issubclass(ResponseValidationError, ConnectSafelyError)
    assert not issubclass(ResponseValidationError, APIStatusError)

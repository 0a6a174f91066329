"""Bad input gets a clear error before any request is sent."""

from __future__ import annotations

from typing import Any

import pytest

from connectsafely_async import AsyncConnectSafely, ConfigurationError, RetryPolicy
from connectsafely_async.testing import FakeConnectSafely

BAD_CALLS: list[tuple[str, dict[str, Any], type[Exception]]] = [
    ("count=0", {"count": 0}, ValueError),
    ("count=-3", {"count": -3}, ValueError),
    ("count=True", {"count": True}, TypeError),
    ("count=2.5", {"count": 2.5}, TypeError),
    ("count='10'", {"count": "10"}, TypeError),
    ("start=-1", {"start": -1}, ValueError),
    ("start=None", {"start": None}, TypeError),
    ("max_visitors=-1", {"max_visitors": -1}, ValueError),
    ("max_visitors=0", {"max_visitors": 0}, ValueError),
    ("max_visitors=False", {"max_visitors": False}, TypeError),
    ("time_range=7", {"time_range": 7}, TypeError),
    ("time_range=''", {"time_range": ""}, ValueError),
    ("account_id=' x'", {"account_id": " x"}, ValueError),
    ("account_id=5", {"account_id": 5}, TypeError),
    ("max_retries=-1", {"max_retries": -1}, ValueError),
    ("max_retries=1.0", {"max_retries": 1.0}, TypeError),
]


@pytest.mark.parametrize(("label", "kwargs", "error"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
async def test_bad_walk_arguments_fail_before_any_request(
    fake: FakeConnectSafely, label: str, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    async with AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url) as client:
        with pytest.raises(error):
            client.iter_visitors(**kwargs)  # raised at the call, before the first `await`
        with pytest.raises(error):
            client.iter_visitor_pages(**kwargs)
        with pytest.raises(error):
            await client.get_visitors(**kwargs)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"api_key": ""}, ConfigurationError, "CONNECTSAFELY_API_KEY"),
        ({"api_key": None}, ConfigurationError, "CONNECTSAFELY_API_KEY"),
        ({"api_key": 123}, TypeError, "api_key"),
        ({"api_key": "k", "timeout": 0}, ValueError, "timeout"),
        ({"api_key": "k", "timeout": float("inf")}, ValueError, "timeout"),
        ({"api_key": "k", "timeout": "5"}, TypeError, "timeout"),
        ({"api_key": "k", "max_retries": -1}, ValueError, "max_retries"),
        ({"api_key": "k", "base_url": "ftp://x"}, ConfigurationError, "http"),
        ({"api_key": "k", "base_url": "https://u:p@x.test"}, ConfigurationError, "credentials"),
        ({"api_key": "k", "retry": {"max": 3}}, TypeError, "RetryPolicy"),
        ({"api_key": "k", "session": object()}, TypeError, "ClientSession"),
        ({"api_key": "k", "max_response_bytes": 0}, ValueError, "max_response_bytes"),
    ],
)
def test_bad_client_configuration(
    monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any], error: type[Exception], fragment: str
) -> None:
    monkeypatch.delenv("CONNECTSAFELY_API_KEY", raising=False)
    with pytest.raises(error, match=fragment):
        AsyncConnectSafely(**kwargs)


def test_configuration_errors_are_value_errors() -> None:
    assert issubclass(ConfigurationError, ValueError)


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="initial_delay"):
        RetryPolicy(initial_delay=-1)
    with pytest.raises(ValueError, match="max_wait"):
        RetryPolicy(max_wait=True)


async def test_environment_supplies_key_url_and_account(
    fake: FakeConnectSafely, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONNECTSAFELY_API_KEY", fake.api_key)
    monkeypatch.setenv("CONNECTSAFELY_BASE_URL", fake.url + "/")
    monkeypatch.setenv("CONNECTSAFELY_ACCOUNT_ID", "aaaaaaaaaaaaaaaaaaaaaaaa")
    async with AsyncConnectSafely() as client:
        assert client.base_url == fake.url
        assert client.account_id == "aaaaaaaaaaaaaaaaaaaaaaaa"
        await client.get_visitors()
    assert fake.requests[0].json["accountId"] == "aaaaaaaaaaaaaaaaaaaaaaaa"


def test_explicit_arguments_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTSAFELY_BASE_URL", "https://env.example.test")
    client = AsyncConnectSafely(api_key="k", base_url="https://arg.example.test")
    assert client.base_url == "https://arg.example.test"

"""A URL with credentials is described one way, and its password never shows.

Neither in ``describe_url`` (whatever the password holds: ``/``, ``?``, ``#``, ``@``, ``:``),
nor in a store's or a limiter's repr, message or warning, nor in the locals of the frames a
PostgreSQL connection failure passes through.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from connectsafely_async import (
    AsyncConnectSafely,
    ConfigurationError,
    RedisRateLimits,
)
from connectsafely_async._urls import describe_url
from connectsafely_async.history import PostgresStore, StoreError
from connectsafely_async.testing import FakeConnectSafely

from .servers import free_port

SCHEMES = ["postgresql", "postgres", "redis", "rediss", "https"]
USERS = st.text("abcdefghijklmnopqrstuvwxyz_0123456789.", max_size=8)
HOSTS = st.sampled_from(["db", "127.0.0.1", "db.internal.example", "[::1]", "redis-7"])
PATHS = st.sampled_from(["", "/", "/0", "/app", "/db/x"])
QUERIES = st.sampled_from(["", "?sslmode=disable", "?schema=visits#top", "?a=b@c"])


@given(
    scheme=st.sampled_from(SCHEMES), user=USERS, password=st.text(min_size=4),
    host=HOSTS, port=st.none() | st.integers(1, 65535), path=PATHS, query=QUERIES,
)
@example(scheme="postgresql", user="app", password="2024/Secret", host="db", port=None,
         path="/db", query="")
@example(scheme="redis", user="", password="pa:ss@wo/rd?#x", host="db", port=6379,
         path="/0", query="")
def test_the_description_never_holds_the_password(
    scheme: str, user: str, password: str, host: str, port: int | None, path: str, query: str
) -> None:
    rest = f"{scheme}://{user}@{host}:{port}{path}{query}"
    assume(password not in rest)
    url = f"{scheme}://{user}:{password}@{host}{'' if port is None else f':{port}'}{path}{query}"
    for keep_user in (True, False):
        described = describe_url(url, keep_user=keep_user)
        assert password not in described
        assert described.startswith(f"{scheme}://")


@given(st.text())
def test_any_text_is_described_without_raising(text: str) -> None:
    assert isinstance(describe_url(text), str)


@pytest.mark.parametrize(
    ("url", "described"),
    [
        ("postgresql://app:2024/Secret@db:5433/app?sslmode=disable", "postgresql://app@db:5433/app"),
        ("redis://:2024/Secret@127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("postgresql://app:p@ss@[::1]:5432/db", "postgresql://app@[::1]:5432/db"),
        ("postgresql://pass/word@db/app", "postgresql://db/app"),  # which part is the user?
        ("unix://:pw@/run/redis.sock?db=0", "unix:///run/redis.sock"),
        ("https://api.connectsafely.ai", "https://api.connectsafely.ai"),
        ("db.sqlite", "an unreadable URL"),
        ("postgresql://u:p@host:99999999/db", "an unreadable URL"),
    ],
)
def test_what_a_description_keeps(url: str, described: str) -> None:
    assert describe_url(url) == described


# -- where URLs are described ---------------------------------------------------------------

# The password's "/" makes urlsplit (and so the drivers) read "127.0.0.1:<port>" as the host
# and port (a closed port: refused at once) and the rest of the password as the path; its
# "?" makes them read the rest as the query.
PASSWORD_TAIL = "S3cretTail-pw"


def slash_url(scheme: str, port: int, path: str) -> str:
    return f"{scheme}://127.0.0.1:{port}/{PASSWORD_TAIL}@db.example{path}"


def query_url(scheme: str, port: int, path: str) -> str:
    return f"{scheme}://127.0.0.1:{port}?{PASSWORD_TAIL}@db.example{path}"


@pytest.mark.parametrize("make_url", [slash_url, query_url], ids=["slash", "question-mark"])
def test_a_delimiter_in_a_postgres_password_is_refused_and_never_shown(
    make_url: Callable[[str, int, str], str],
) -> None:
    # The driver would connect to 127.0.0.1 and send it the password's tail as the
    # database, or quote it in a "bad query field" error.
    with pytest.raises(ValueError, match="percent-encode") as caught:
        PostgresStore(make_url("postgresql", free_port(), "/app"))
    assert "db.example" in str(caught.value)
    assert PASSWORD_TAIL not in str(caught.value)


@pytest.mark.parametrize("make_url", [slash_url, query_url], ids=["slash", "question-mark"])
def test_a_delimiter_in_a_redis_password_is_refused_and_never_shown(
    make_url: Callable[[str, int, str], str],
) -> None:
    with pytest.raises(ConfigurationError, match="percent-encode") as caught:
        RedisRateLimits(url=make_url("redis", free_port(), "/0"))
    assert PASSWORD_TAIL not in str(caught.value)


def test_an_at_sign_in_a_query_value_is_no_password() -> None:
    store = PostgresStore("postgresql://db.example/app?user=app@server")
    assert store.dsn.endswith("user=app@server")


@pytest.mark.parametrize("base_url", ["https://app:2024/S3cretTail-pw@api.example",
                                      "https://api.example/S3cretTail-pw@x"])
def test_a_base_url_with_an_at_sign_is_refused_without_the_password(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="credentials") as caught:
        AsyncConnectSafely(api_key="sk_test_key", base_url=base_url)
    assert PASSWORD_TAIL not in str(caught.value)


async def test_the_cli_never_prints_a_slash_in_a_postgres_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from connectsafely_async._cli import main

    url = slash_url("postgresql", free_port(), "/app")
    async with FakeConnectSafely() as fake:
        monkeypatch.setenv("CONNECTSAFELY_API_KEY", fake.api_key)
        monkeypatch.setenv("CONNECTSAFELY_BASE_URL", fake.url)
        code = await asyncio.to_thread(main, ["watch", "--db", url])
    out, err = capsys.readouterr()
    assert code != 0
    assert "db.example" in err
    assert PASSWORD_TAIL not in out + err


# -- the DSN in the locals of a failure ------------------------------------------------------


# A module constant: the test's own frame must not hold it as a local either.
FRAME_SECRET = "Fr4meLocal-pw"


async def test_no_frame_of_a_failed_connection_holds_the_password() -> None:
    store = PostgresStore(f"postgresql://app:{FRAME_SECRET}@127.0.0.1:{free_port()}/app",
                          connect_timeout=2)
    with pytest.raises(StoreError) as caught:
        await opened(store)
    error = caught.value
    rendered = "".join(traceback.TracebackException(
        type(error), error, error.__traceback__, capture_locals=True).format())
    assert "opened" in rendered  # the frames below the test's own were rendered
    assert FRAME_SECRET not in rendered
    assert FRAME_SECRET not in repr(error.args)


async def opened(store: PostgresStore) -> None:
    async with store:
        pass


def test_a_bad_schema_never_leaves_the_dsn_in_the_frame() -> None:
    with pytest.raises(ValueError, match="schema") as caught:
        make_store()
    rendered = "".join(traceback.TracebackException(
        type(caught.value), caught.value, caught.value.__traceback__, capture_locals=True
    ).format())
    assert "make_store" in rendered
    assert FRAME_SECRET not in rendered


def make_store() -> PostgresStore:
    return PostgresStore(f"postgresql://app:{FRAME_SECRET}@db/app", schema="Bad-Name")


def test_a_redis_url_redis_py_refuses_never_leaves_it_in_a_frame() -> None:
    pytest.importorskip("redis")
    url = f"redis://:{FRAME_SECRET}@127.0.0.1:1/0?socket_timeout=abc"
    with pytest.raises(ConfigurationError, match="redis-py refuses") as caught:
        build(RedisRateLimits(url=url))
    assert caught.value.__traceback__ is not None
    rendered = "".join(traceback.TracebackException(
        type(caught.value), caught.value, caught.value.__traceback__.tb_next,
        capture_locals=True).format())
    assert "RedisRateLimiter" in rendered
    assert FRAME_SECRET not in rendered


def build(limits: RedisRateLimits) -> AsyncConnectSafely:
    return AsyncConnectSafely(api_key="sk_test_key", base_url="https://api.example",
                              rate_limits=limits)


def test_a_driver_message_is_scrubbed_of_the_password_in_either_spelling() -> None:
    from connectsafely_async._secrets import SecretURL

    dsn = SecretURL("postgresql://app:p%2Fw0rd-S3cret@db.example/app")
    assert dsn.redact("p/w0rd-S3cret or p%2Fw0rd-S3cret") == "[REDACTED] or [REDACTED]"
    assert repr(dsn) == "SecretURL('postgresql://app@db.example/app')"

"""Hostile answers over loopback: nothing a server sends escapes the error tree or the cap.

Each answer comes from ``tests/hostile.py``, a server that writes raw bytes, and each is
tried on both endpoints the client calls (``POST /linkedin/profile/visitors`` through
``get_visitors``, ``GET /linkedin/accounts`` through ``list_accounts``).
"""

from __future__ import annotations

import asyncio
import json
import pickle
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectsafely_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncConnectSafely,
    ConfigurationError,
    ConnectSafelyError,
    RedirectError,
    ResponseDecodeError,
    ResponseValidationError,
    RetryPolicy,
)

from .conftest import FakeSleep
from .hostile import Answer, HostileServer, page_body

KEY = "sk_live_Hostile0123456789abcdefXYZ"
ROOT = Path(__file__).resolve().parent.parent

Call = Callable[[AsyncConnectSafely], Awaitable[object]]


async def visitors(client: AsyncConnectSafely) -> object:
    return await client.get_visitors()


async def accounts(client: AsyncConnectSafely) -> object:
    return await client.list_accounts()


CALLS = pytest.mark.parametrize("call", [visitors, accounts], ids=["visitors", "accounts"])


def client_for(server: HostileServer, **options: object) -> AsyncConnectSafely:
    return AsyncConnectSafely(
        api_key=KEY, base_url=server.url, rate_limits=None, **options  # type: ignore[arg-type]
    )


async def failure(server: HostileServer, call: Call, **options: object) -> ConnectSafelyError:
    async with client_for(server, **options) as client:
        with pytest.raises(ConnectSafelyError) as caught:
            await call(client)
    return caught.value


def assert_no_key(error: ConnectSafelyError) -> None:
    """The key is in none of the places an error is read, logged or stored."""
    for text in (str(error), repr(error), repr(vars(error)), repr(error.args)):
        assert KEY not in text
    assert KEY.encode() not in pickle.dumps(error)


# -- 1. compression bombs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "framing"),
    [("gzip", "length"), ("gzip", "chunked"), ("deflate", "length"), ("deflate", "chunked")],
)
def test_a_compression_bomb_stops_at_the_decoded_cap(encoding: str, framing: str) -> None:
    # 200 MiB of zeros in about 200 KB; the client keeps at most 1 MiB. In its own process,
    # so the peak RSS it reports is the bomb's alone.
    cap, size = 1024 * 1024, 200 * 1024 * 1024
    done = subprocess.run(  # noqa: S603 - our own interpreter and test module
        [sys.executable, "-m", "tests.bomb_child", encoding, framing, str(cap), str(size)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=True,
    )
    outcome = json.loads(done.stdout)
    assert outcome["error"] == "APIConnectionError"
    assert "1048576-byte cap (decoded size)" in outcome["message"]
    assert outcome["compressed"] < 300_000
    # Inflating it whole would add 200 MiB and more; one chunk past the cap is a few MiB.
    assert outcome["rss_growth_kib"] < 32 * 1024, outcome


@CALLS
async def test_a_large_uncompressed_answer_is_refused_with_or_without_a_length(
    call: Call,
) -> None:
    for chunked in (False, True):
        answer = Answer(body=b'{"pad": "' + b"x" * 3_000_000 + b'"}', chunked=chunked)
        async with HostileServer(answer) as server:
            error = await failure(server, call, max_response_bytes=1_000_000, max_retries=0)
        assert type(error) is APIConnectionError
        assert "1000000-byte cap" in str(error)


# -- HTTP itself broken -------------------------------------------------------------------------

OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"


@CALLS
@pytest.mark.parametrize(
    "raw",
    [
        b"garbage, not HTTP at all\r\n\r\n",
        b"HTTP/1.1 999999 Nope\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(300)) + b"\r\n",
        OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        OK_HEAD + b"Content-Length: -5\r\n\r\n{}",
        OK_HEAD + b"Content-Length: 2\r\nContent-Length: 9\r\n\r\n{}",
        OK_HEAD + b"Content-Length: 100\r\n\r\n{}",
        OK_HEAD + b"Content-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!",
        OK_HEAD + b"Content-Encoding: br-or-what\r\nContent-Length: 2\r\n\r\n{}",
        b"",
    ],
    ids=["not-http", "status-999999", "70kb-header", "300-headers", "bad-chunk-size",
         "negative-length", "two-lengths", "cut-short", "gzip-that-is-not", "unknown-encoding",
         "nothing"],
)
async def test_broken_http_is_a_connection_error_or_ours(call: Call, raw: bytes) -> None:
    async with HostileServer(Answer(raw=raw)) as server:
        error = await failure(server, call, max_retries=0, timeout=5)
    assert isinstance(error, ConnectSafelyError)
    assert_no_key(error)


# -- 2. nesting, numbers, bytes that are not JSON -------------------------------------------


DEEP = b"[" * 10_000 + b"]" * 10_000


@CALLS
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (DEEP, "nested more than 64 levels deep"),
        (b'{"visitors": ' + b"[" * 100 + b"]" * 100 + b', "hasMore": false}',
         "nested more than 64 levels deep"),
        (b'{"hasMore": false, "visitors": [], "n": ' + b"7" * 5000 + b"}",
         "a number with more than 4300 digits"),
    ],
    ids=["10000-deep", "100-deep-visitors", "5000-digit-number"],
)
async def test_valid_json_the_sdk_refuses_is_a_validation_error_and_not_retried(
    call: Call, body: bytes, reason: str
) -> None:
    async with HostileServer(Answer(body=body)) as server:
        error = await failure(server, call, max_retries=3)
        assert len(server.requests) == 1  # the same answer would come again
    assert type(error) is ResponseValidationError
    assert reason in str(error)


@CALLS
@pytest.mark.parametrize(
    "body",
    [b'{"hasMore": false, "visitors": [', b"\xff\xfe\x00garbage", b'{"hasMore": NaN}',
     b'{"hasMore": false, "visitors": [], "x": Infinity}'],
    ids=["cut-off", "bad-utf8", "NaN", "Infinity"],
)
async def test_bytes_that_are_not_json_are_a_decode_error_after_retries(
    call: Call, body: bytes, sleep: FakeSleep
) -> None:
    async with HostileServer(Answer(body=body)) as server:
        error = await failure(server, call, max_retries=1, retry=RetryPolicy(sleep=sleep))
        assert len(server.requests) == 2
    assert len(sleep.waits) == 1  # one retry, after the policy's wait (recorded, not slept)
    assert type(error) is ResponseDecodeError
    assert "not valid JSON" in str(error)


async def test_one_hostile_account_never_stops_the_others() -> None:
    hostile = "bbbbbbbbbbbbbbbbbbbbbbbb"
    healthy = [f"{i:024x}" for i in range(5)]

    def answer(request: bytes) -> Answer:
        return Answer(body=DEEP if hostile in request.decode() else page_body(3))

    async with HostileServer(answer) as server, client_for(server) as client:
        results = await client.fetch_visitors_many([*healthy, hostile], max_visitors=3)
        streamed = [pair async for pair in client.iter_visitors_many([*healthy, hostile])]
    assert type(results[hostile].error) is ResponseValidationError
    for account in healthy:
        assert results[account].error is None
        assert len(results[account].visitors) == 3
    assert sorted({pair.account_id for pair in streamed}) == sorted(healthy)
    assert len(streamed) == 15


# -- 3. the key echoed back, in any spelling ------------------------------------------------


def escaped(text: str) -> str:
    """``text`` with every other character as a JSON ``\\u`` escape (upper-case hex)."""
    return "".join(f"\\u{ord(c):04X}" if i % 2 else c for i, c in enumerate(text))


@CALLS
@pytest.mark.parametrize("status", [200, 400, 401, 500])
async def test_an_escaped_echo_of_the_key_never_reaches_the_error(call: Call, status: int) -> None:
    # A 200 that does not fit the model is where the escaped echo used to survive.
    body = ('{"success": true, "hasMore": "no", "visitors": 1, "error": "bad key '
            + escaped(KEY) + '", "debug": {"auth": "Bearer ' + escaped(KEY) + '"}}').encode()
    async with HostileServer(Answer(status=status, body=body)) as server:
        error = await failure(server, call, max_retries=0)
    assert "[REDACTED]" in repr(vars(error))
    assert_no_key(error)


async def test_the_key_echoed_in_a_good_page_and_its_headers_is_scrubbed_too() -> None:
    body = json.loads(page_body(2))
    body["visitors"][0]["name"] = KEY
    body["visitors"][1]["headline"] = f"token {escaped(KEY)}"
    raw = json.dumps(body).replace(escaped(KEY).replace("\\", "\\\\"), escaped(KEY)).encode()
    headers = {"X-Request-Id": f"req-{KEY}", "X-RateLimit-Action": KEY}
    async with HostileServer(Answer(body=raw, headers=headers)) as server, \
            client_for(server) as client:
        page = await client.get_visitors()
    assert [v.name for v in page.visitors] == ["[REDACTED]", "Visitor 1"]
    assert page.visitors[1].headline == "token [REDACTED]"
    assert page.request_id == "req-[REDACTED]"
    assert KEY not in repr(page)
    assert KEY.encode() not in pickle.dumps(page)


# -- 4. redirects -----------------------------------------------------------------------------


@CALLS
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_a_redirect_error_never_followed(call: Call, status: int) -> None:
    async with HostileServer(Answer(status=status)) as elsewhere:
        location = f"{elsewhere.url}/steal?token={KEY}"
        answer = Answer(status=status, headers={"Location": location})
        async with HostileServer(answer) as server:
            error = await failure(server, call, max_retries=2)
            assert len(server.requests) == 1
        assert elsewhere.requests == []
    assert type(error) is RedirectError
    assert error.status_code == status
    assert f"redirect to {elsewhere.url}/steal not followed" in str(error)
    assert_no_key(error)


# -- 5. slow headers, and smaller things -------------------------------------------------------


@CALLS
async def test_headers_trickled_byte_by_byte_time_out(call: Call) -> None:
    async with HostileServer(Answer(body=page_body(), trickle=0.05)) as server:
        began = time.perf_counter()
        error = await failure(server, call, timeout=0.5, max_retries=0)
        elapsed = time.perf_counter() - began
    assert type(error) is APITimeoutError
    assert isinstance(error, TimeoutError)
    assert elapsed < 2.0


async def test_headers_trickled_within_the_timeout_still_arrive() -> None:
    answer = Answer(body=page_body(2), trickle=0.001)
    async with HostileServer(answer) as server, client_for(server, timeout=10) as client:
        page = await client.get_visitors()
    assert len(page.visitors) == 2


@pytest.mark.parametrize(
    "base_url",
    [
        "ftp://user:hunter2secret@api.example/",
        "https://user:hunter2secret@api.example/",
        "https://api.example/?token=hunter2secret",
        "https://api.example:99999999/hunter2secret",
        "https://[hunter2secret/",
    ],
)
def test_a_refused_base_url_is_never_echoed(base_url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        AsyncConnectSafely(api_key=KEY, base_url=base_url)
    assert "hunter2secret" not in str(caught.value)


@pytest.mark.parametrize("bad", ["\r", "\n", "\t", " ", "\x00", "\x7f"])
def test_control_characters_in_a_base_url_are_refused(bad: str) -> None:
    for where in (f"https://api.example{bad}/", f"https://api.example/{bad}", f"{bad}https://a.b"):
        with pytest.raises(ConfigurationError, match="whitespace or control characters"):
            AsyncConnectSafely(api_key=KEY, base_url=where)


async def test_prefetch_has_an_upper_bound_checked_before_any_request() -> None:
    async with HostileServer(Answer(body=page_body())) as server, client_for(server) as client:
        with pytest.raises(ValueError, match="prefetch must be at most 16"):
            client.iter_visitors(prefetch=17)
        with pytest.raises(ValueError, match="prefetch must be at most 16"):
            await client.fetch_visitors_many(["a" * 24], prefetch=1000)
        walk = client.iter_visitors(prefetch=16, max_visitors=1)
        assert [v.name async for v in walk] == ["Visitor 0"]
        await asyncio.sleep(0)
    assert len(server.requests) >= 1


# -- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "code", "words"),
    [
        (Answer(body=DEEP), 10, "nested more than 64 levels deep"),
        (Answer(status=302, headers={"Location": f"https://evil.example/?k={KEY}"}), 12,
         "redirect to https://evil.example/ not followed"),
    ],
    ids=["deep-json", "redirect"],
)
async def test_the_cli_exits_with_its_documented_code_and_no_traceback(
    answer: Answer, code: int, words: str
) -> None:
    async with HostileServer(answer) as server:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "connectsafely_async", "visitors",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "CONNECTSAFELY_API_KEY": KEY,
                 "CONNECTSAFELY_BASE_URL": server.url},
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == code
    assert out == b""
    assert words in err.decode()
    assert b"Traceback" not in err
    assert KEY.encode() not in err


# -- values the parser must accept and hand on unchanged ----------------------------------------

# Lone surrogates (valid JSON escapes, not valid UTF-8), NUL, and sizes a store may choke on:
# the parser's part is to hand each on exactly; what a store does with them is the store's.
ODD_TEXTS = {
    "lone-high-surrogate": "\ud800",
    "lone-low-surrogate": "a\udfffb",
    "reversed-pair": "\udc00\ud800",
    "nul": "\x00",
    "nul-inside": "Ritika\x00Kulkarni",
    "5kb-urn": "urn:li:fsd_profile:" + "A" * 5 * 1024,
    "10mb": "x" * 10_000_000,
}


ODD_FIELDS = ("entityUrn", "publicIdentifier", "name", "headline", "viewedAt", "profileUrl")


def odd_page(text: str, *, ensure_ascii: bool = True) -> bytes:
    # json.dumps writes a lone surrogate as its \ud800 escape (raw UTF-8 cannot hold it).
    # A megabyte-sized text goes in the name only, so the page stays under the cap.
    fields = ("name",) if len(text) > 1_000_000 else ODD_FIELDS
    visitors = [dict.fromkeys(fields, text), {"name": "after"}]
    body = {"success": True, "hasMore": False, "visitors": visitors}
    return json.dumps(body, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("text", list(ODD_TEXTS.values()), ids=list(ODD_TEXTS))
async def test_odd_but_valid_strings_reach_the_visitor_exactly(text: str) -> None:
    async with HostileServer(Answer(body=odd_page(text))) as server, \
            client_for(server, max_retries=0) as client:
        page = await client.get_visitors()
        walked = [v async for v in client.iter_visitors()]
    first = page.visitors[0]
    values = (first.entity_urn, first.public_identifier, first.name, first.headline,
              first.viewed_at, first.profile_url)
    sent = json.loads(odd_page(text))["visitors"][0]
    assert values == tuple(sent.get(field) for field in ODD_FIELDS)
    assert text in values
    assert page.visitors[1].name == "after"
    assert walked == list(page.visitors)


def test_a_string_under_the_cap_that_is_not_ascii_is_handed_on_too() -> None:
    from connectsafely_async._protocol import HttpResponse
    from connectsafely_async._protocol.visitors import parse_visitors_page

    text = "é😀\x00" * 1_000_000
    for ensure_ascii in (True, False):
        raw = odd_page(text, ensure_ascii=ensure_ascii)
        page = parse_visitors_page(HttpResponse(200, {"Content-Type": "application/json"}, raw))
        assert page.visitors[0].name == text


odd_strings = st.text(
    st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from("\x00\\\"/")),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(odd_strings, min_size=1, max_size=4), ensure_ascii=st.booleans())
def test_any_string_json_can_spell_is_handed_on_exactly(
    texts: list[str], ensure_ascii: bool
) -> None:
    from connectsafely_async._protocol import HttpResponse, Redactor
    from connectsafely_async._protocol.visitors import parse_visitors_page
    from connectsafely_async._secrets import Secret

    visitors = [{"entityUrn": t, "name": t, "headline": t[::-1]} for t in texts]
    raw = json.dumps({"success": True, "hasMore": False, "visitors": visitors},
                     ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")
    if not ensure_ascii and any("\ud800" <= c <= "\udfff" for t in texts for c in t):
        return  # not UTF-8: a decode error, covered above; ensure_ascii=True spells it
    response = Redactor(Secret(KEY))(
        HttpResponse(200, {"Content-Type": "application/json"}, raw))
    page = parse_visitors_page(response)
    assert [(v.entity_urn, v.name, v.headline) for v in page.visitors] == [
        (t, t, t[::-1]) for t in texts
    ]

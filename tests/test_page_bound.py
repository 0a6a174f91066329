"""The bound on the work one page may cause, checked on the raw bytes before decoding.

The response cap bounds bytes, not values: 16 MiB of ``{}`` is 5.6 million visitors. The
bound (``_json.MAX_VALUES``, counted by ``check_values``) refuses such a page with a
``ResponseValidationError`` before anything is decoded, and lets the legitimate extremes
through: thousands of real visitors, a 10 MB string, strings full of commas and escapes.
What it costs to cross it is measured by ``python -m benchmarks.hostile_page``, not here.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectsafely_async import AsyncConnectSafely, ResponseValidationError, _json
from connectsafely_async._converters import MAX_REPORTED_PROBLEMS
from connectsafely_async._json import (
    CONTAINER_WEIGHT,
    MAX_VALUES,
    UndecodableJSON,
    check_values,
)
from connectsafely_async._protocol import HttpResponse
from connectsafely_async._protocol.accounts import parse_accounts
from connectsafely_async._protocol.visitors import parse_visitors_page
from connectsafely_async.testing import make_visitors

from .hostile import Answer, HostileServer

RECEIVED = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
JSON = {"Content-Type": "application/json"}
HEAD = b'{"success":true,"hasMore":false,"visitors":['


def page_of(items: list[bytes]) -> bytes:
    return HEAD + b",".join(items) + b"]}"


def answer(body: bytes, status: int = 200) -> HttpResponse:
    return HttpResponse(status, JSON, body, received_at=RECEIVED)


def structural(value: Any) -> int:
    """What check_values counts, from the decoded value: 1 + each , and : outside strings,
    + CONTAINER_WEIGHT for each array or object."""
    count, stack = 1, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            count += CONTAINER_WEIGHT + max(len(item) - 1, 0)
            stack.extend(item)
        elif isinstance(item, dict):
            count += CONTAINER_WEIGHT + max(len(item) - 1, 0) + len(item)
            stack.extend(item.values())
    return count


# -- the bound refuses what the cap lets through ------------------------------------------------


def test_a_page_of_empty_visitors_over_the_bound_is_refused_before_decoding() -> None:
    body = page_of([b"{}"] * (MAX_VALUES // CONTAINER_WEIGHT))  # 375 KB, under any cap
    with pytest.raises(ResponseValidationError) as caught:
        parse_visitors_page(answer(body))
    reason = f"holds more than {MAX_VALUES} values (an array or object counting as 8)"
    assert reason in str(caught.value)
    assert list(caught.value.errors) == [f"it {reason} @ $"]


@pytest.mark.parametrize("item", [b"[]", b"0", b"1.5", b'""', b"null", b'{"a":0}'])
def test_every_smallest_value_is_counted(item: bytes) -> None:
    with pytest.raises(ResponseValidationError, match="values"):
        parse_visitors_page(answer(page_of([item] * MAX_VALUES)))


def test_an_error_body_over_the_bound_is_not_decoded_either() -> None:
    from connectsafely_async import InternalServerError

    body = b'{"error":"x","junk":[' + b",".join([b"0"] * MAX_VALUES) + b"]}"
    with pytest.raises(InternalServerError) as caught:
        parse_visitors_page(answer(body, status=500))
    assert isinstance(caught.value.body, str)  # kept as (the start of) the text, not decoded


def test_the_accounts_answer_has_the_same_bound() -> None:
    with pytest.raises(ResponseValidationError, match="values"):
        parse_accounts(answer(b"[" + b",".join([b"{}"] * MAX_VALUES) + b"]"))


async def test_the_refusal_over_loopback_is_not_retried() -> None:
    async with HostileServer(Answer(body=page_of([b"{}"] * MAX_VALUES))) as server:
        async with AsyncConnectSafely(
            api_key="sk_test", base_url=server.url, rate_limits=None, max_retries=3
        ) as client:
            with pytest.raises(ResponseValidationError, match="values"):
                await client.get_visitors()
        assert len(server.requests) == 1


# -- what legitimately gets near it ---------------------------------------------------------------


def test_a_fetch_all_page_of_thirty_thousand_real_visitors_passes() -> None:
    records = make_visitors(30_000)
    body = json.dumps({"success": True, "hasMore": False, "visitors": records}).encode()
    page = parse_visitors_page(answer(body))
    assert len(page.visitors) == 30_000
    assert [v.entity_urn for v in page.visitors] == [r.get("entityUrn") for r in records]


@pytest.mark.parametrize(
    "name",
    ["x" * 10_000_000, "," * 10_000_000, "\\" * 3_000_000 + '"' * 3_000_000,
     ":[{," * 2_500_000, "é😀\n\t," * 1_000_000],
    ids=["10MB", "10MB-of-commas", "escaped-backslashes-and-quotes", "structure-in-a-string",
         "escapes-and-wide"],
)
def test_strings_of_megabytes_pass_whatever_they_hold(name: str) -> None:
    for ensure_ascii in (False, True):
        body = json.dumps({"success": True, "hasMore": False,
                           "visitors": [{"name": name}, {"name": "b"}]},
                          ensure_ascii=ensure_ascii).encode()
        page = parse_visitors_page(answer(body))
        assert [v.name for v in page.visitors] == [name, "b"]


def test_a_page_under_the_bound_that_misfits_reports_its_first_problems_only() -> None:
    # cattrs keeps an exception and traceback per bad item: gigabytes for a few hundred
    # thousand of them. The first ones are what the message shows anyway.
    with pytest.raises(ResponseValidationError) as caught:
        parse_visitors_page(answer(page_of([b"0"] * 5000)))
    assert len(caught.value.errors) == MAX_REPORTED_PROBLEMS
    assert caught.value.errors[0].startswith("invalid value (expected an object, got int) @ ")
    assert caught.value.errors[0].endswith("$.visitors[0]")


def test_valid_visitors_on_the_detailed_path_still_get_their_receive_time() -> None:
    # orjson refuses a lone surrogate, so this page takes the detailed path.
    body = page_of([b'{"name":"\\ud800"}'] + [b'{"name":"x"}'] * 3)
    page = parse_visitors_page(answer(body))
    assert [v.name for v in page.visitors] == ["\ud800", "x", "x", "x"]
    assert {v.fetched_at for v in page.visitors} == {RECEIVED}


# -- the count itself is exact, whatever the spelling ---------------------------------------------

strings = st.text(
    alphabet=st.sampled_from([",", ":", "[", "{", "]", "}", '"', "\\", "a", "\u00e9", "\n"]),
    max_size=12,
)
documents = st.recursive(
    st.none() | st.booleans() | st.integers() | strings,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(strings, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(document=documents, ensure_ascii=st.booleans(), compact=st.booleans(),
       slack=st.integers(-2, 2), slice_size=st.integers(1, 64))
def test_the_count_is_exactly_the_structure_outside_strings(
    document: Any, ensure_ascii: bool, compact: bool, slack: int, slice_size: int,
) -> None:
    # Small slices: a quote, an escape or a string cut anywhere by the slicing.
    separators = (",", ":") if compact else (", ", ": ")
    body = json.dumps(document, ensure_ascii=ensure_ascii, separators=separators).encode()
    bound = max(structural(document) + slack, 0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_json, "MAX_VALUES", bound)
        patch.setattr(_json, "_SLICE", slice_size)
        if structural(document) <= bound:
            check_values(body)
        else:
            with pytest.raises(UndecodableJSON, match=f"more than {bound} values"):
                check_values(body)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return 1 + max((depth(child) for child in value), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(document=documents)
def test_the_nesting_depth_skips_empty_containers_and_still_counts_them(document: Any) -> None:
    assert _json.nesting_depth(document) == depth(document)

"""Records and the notebook HTML: every user-controlled value escaped, only http(s) URLs."""

from __future__ import annotations

import html
import json
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st

from connectsafely_async import AsyncConnectSafely, Visitor, VisitorList, VisitorsPage, collect
from connectsafely_async._display import RECORD_FIELDS, safe_url, visitors_html

FETCHED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
ALICE = Visitor(
    entity_urn="urn:li:fsd_profile:A", public_identifier="alice", name="Alice <b>&</b>",
    headline='"><script>alert(1)</script>', profile_picture="https://media.licdn.com/a.jpg",
    viewed_at="Viewed 2h ago", connection_degree="2nd",
    profile_url="https://www.linkedin.com/in/alice", fetched_at=FETCHED,
)
ANONYMOUS = Visitor(name="Someone at a company in Software", headline="<i>hidden</i>",
                    viewed_at="Viewed 3d ago", fetched_at=FETCHED)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)


def parse(markup: str) -> _Collector:
    parser = _Collector()
    parser.feed(markup)
    return parser


def test_to_dicts_records() -> None:
    (record, anonymous) = VisitorList([ALICE, ANONYMOUS]).to_dicts()
    assert list(record) == list(RECORD_FIELDS)
    assert record["viewed_ago_seconds"] == 7200
    # "Viewed 2h ago": between 3h and 2h before it was fetched; the estimate is the middle.
    assert record["estimated_viewed_at"] == (FETCHED - timedelta(hours=2.5)).isoformat()
    assert record["fetched_at"] == FETCHED.isoformat()
    assert record["is_anonymous"] is False
    assert anonymous["is_anonymous"] is True
    json.dumps([record, anonymous])  # plain data all the way down


def test_page_html_escapes_and_links() -> None:
    page = VisitorsPage(visitors=(ALICE, ANONYMOUS), has_more=True, account_id="acc")
    markup = page._repr_html_()
    assert "<script>" not in markup
    assert html.escape('"><script>alert(1)</script>') in markup
    assert "Alice &lt;b&gt;&amp;&lt;/b&gt;" in markup
    assert '<a href="https://www.linkedin.com/in/alice"' in markup
    assert '<img src="https://media.licdn.com/a.jpg"' in markup
    assert "(anonymous)" in markup
    assert "2 visitor(s), account acc, more available" in markup
    tags = parse(markup).tags
    assert tags.count("tr") == 3  # the header and two rows: nothing injected a row
    assert "script" not in tags
    assert page.to_dicts() == VisitorList(page.visitors).to_dicts()


def test_only_http_urls_become_links_or_images() -> None:
    hostile = Visitor(entity_urn="u", name="Mallory", profile_url="javascript:alert(1)",
                      profile_picture="data:image/svg+xml,<svg onload=alert(1)>")
    markup = visitors_html([hostile])
    assert "javascript:" not in markup
    assert "data:" not in markup
    assert "<a " not in markup
    assert "<img" not in markup
    for url in ("javascript:alert(1)", "//evil.example/x", "https://", "http://a b/",
                "https://x/\x00", None, 42, "ftp://host/x"):
        assert safe_url(url) is None
    assert safe_url("HTTPS://www.linkedin.com/in/x?a=1&b=2") is not None


def test_avatars_show_initials_under_a_picture_that_hides_if_broken() -> None:
    offline = Visitor(entity_urn="urn:li:fsd_profile:B", name="Ada Lovelace, PhD",
                      profile_picture="https://media.licdn.com/ada.jpg")
    bare = Visitor(entity_urn="urn:li:fsd_profile:C", name="émile 🚀 zola")
    markup = visitors_html([offline, bare, ANONYMOUS,
                            Visitor(entity_urn="u", public_identifier="bob-smith-42")])
    tags = parse(markup)
    circles = markup.split('aria-hidden="true">')[1:]
    assert [circle.split("<", 1)[0] for circle in circles] == ["AL", "ÉZ", "?", "B"]
    # The picture lies over the initials and hides itself when it cannot load.
    assert '<img src="https://media.licdn.com/ada.jpg"' in circles[0]
    assert "onerror=\"this.style.display='none'\"" in circles[0]
    assert "position:absolute" in circles[0]
    assert "<img" not in "".join(circles[1:])
    assert "script" not in tags.tags
    assert tags.tags.count("img") == 1


def test_long_lists_are_truncated_in_html_only() -> None:
    visitors = VisitorList([ALICE] * 75)
    assert "and 15 more" in visitors._repr_html_()
    assert len(visitors.to_dicts()) == 75


@given(st.text(), st.text(), st.text())
def test_any_text_stays_text(name: str, headline: str, url: str) -> None:
    visitor = Visitor(entity_urn="u", name=name, headline=headline, profile_url=url,
                      profile_picture=url)
    parsed = parse(visitors_html([visitor]))
    assert set(parsed.tags) <= {"table", "thead", "tbody", "tr", "th", "td", "a", "img",
                                "span", "i", "caption"}
    for key, value in parsed.attrs:
        if key in ("href", "src"):
            assert value is not None
            assert value.lower().startswith(("http://", "https://"))
            assert safe_url(value) == value


async def test_collect_a_walk_into_a_visitor_list(client: AsyncConnectSafely) -> None:
    visitors = await collect(client.iter_visitors(max_visitors=12, count=5))
    assert isinstance(visitors, VisitorList)
    assert len(visitors) == 12
    assert "12 visitor(s)" in visitors._repr_html_()

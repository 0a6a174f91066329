"""Visitors as plain records and as an HTML table: pure functions, no I/O.

``VisitorsPage`` and ``VisitorList`` delegate here for ``to_dicts()`` and ``_repr_html_()``
(what Jupyter calls to display an object). Names, headlines and every URL are user-controlled
text on LinkedIn, so everything that reaches the HTML is escaped, and a URL is used as a link
or an image only when it is a plain ``http(s)`` URL; anything else is left out.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ._models import Visitor

__all__ = [
    "DEFAULT_MAX_ROWS",
    "RECORD_FIELDS",
    "records",
    "safe_url",
    "visitor_record",
    "visitors_html",
]

#: Rows shown before the table says "and N more" (like pandas, a notebook is not a pager).
DEFAULT_MAX_ROWS: Final = 60

# The field order of a record; also the CSV columns of the command line.
RECORD_FIELDS: Final = (
    "entity_urn",
    "public_identifier",
    "name",
    "headline",
    "profile_picture",
    "viewed_at",
    "connection_degree",
    "profile_url",
    "navigation_url",
    "fetched_at",
    "is_anonymous",
    "viewed_ago_seconds",
    "estimated_viewed_at",
)

_ANONYMOUS_NAME: Final = "LinkedIn Member"
_AVATAR_STYLE: Final = (
    "width:32px;height:32px;border-radius:50%;object-fit:cover;background:#d9dde3;"
    "display:inline-block;vertical-align:middle"
)
# The circle holds the initials; the picture, when there is one, lies over them and hides
# itself if it cannot load (offline, blocked, expired), so the initials show instead of a
# broken-image icon.
_INITIALS_STYLE: Final = (
    _AVATAR_STYLE + ";position:relative;overflow:hidden;text-align:center;color:#374151;"
    "font:600 12px/32px system-ui,sans-serif;letter-spacing:0.5px"
)
_PICTURE_STYLE: Final = _AVATAR_STYLE + ";position:absolute;left:0;top:0"
_HIDE_IF_BROKEN: Final = "this.style.display='none'"
_CELL_STYLE: Final = "text-align:left;vertical-align:middle;padding:4px 8px"


def visitor_record(visitor: Visitor) -> dict[str, object]:
    """One visitor as a flat record of JSON-ready values, snake_case keys.

    Besides the fields: ``is_anonymous``, ``viewed_ago_seconds`` (read from ``viewed_at``)
    and ``estimated_viewed_at`` (ISO-8601: the middle of the interval the rounded text
    allows, the history's estimate too); datetimes become ISO-8601 strings and missing
    values ``None``.

    Returns:
        A new dict with the keys of ``RECORD_FIELDS``, in that order.
    """
    age = visitor.viewed_ago
    return {
        "entity_urn": visitor.entity_urn,
        "public_identifier": visitor.public_identifier,
        "name": visitor.name,
        "headline": visitor.headline,
        "profile_picture": visitor.profile_picture,
        "viewed_at": visitor.viewed_at,
        "connection_degree": visitor.connection_degree,
        "profile_url": visitor.profile_url,
        "navigation_url": visitor.navigation_url,
        "fetched_at": _iso(visitor.fetched_at),
        "is_anonymous": visitor.is_anonymous,
        "viewed_ago_seconds": None if age is None else int(age.total_seconds()),
        "estimated_viewed_at": _iso(visitor.estimated_viewed_at),
    }


def safe_url(url: object) -> str | None:
    """``url`` if it is an absolute ``http(s)`` URL without whitespace or controls, else None.

    Keeps ``javascript:``, ``data:`` and relative URLs out of ``href`` and ``src``; the
    result still needs ``html.escape`` before it goes into an attribute.
    """
    if not isinstance(url, str) or not url.isprintable() or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an invalid IPv6 literal
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def visitors_html(
    visitors: Sequence[Visitor],
    *,
    caption: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> str:
    """An HTML table of visitors: avatar, name (linked), headline, degree, viewed.

    Args:
        visitors: the rows, in order.
        caption: plain text shown above the table (escaped here).
        max_rows: rows shown; the rest are counted in a last row.

    Returns:
        A self-contained ``<table>`` with inline styles (notebooks strip ``<style>`` blocks
        in some front ends), every value escaped.
    """
    header = "".join(
        f'<th style="{_CELL_STYLE}">{label}</th>'
        for label in ("", "name", "headline", "degree", "viewed")
    )
    rows = [_row(visitor) for visitor in visitors[:max_rows]]
    hidden = len(visitors) - len(rows)
    if hidden > 0:
        rows.append(
            f'<tr><td colspan="5" style="{_CELL_STYLE}"><i>… and {hidden} more '
            f"(use to_dicts() for all)</i></td></tr>"
        )
    caption_html = (
        f'<caption style="text-align:left;caption-side:top">{_text(caption)}</caption>'
        if caption
        else ""
    )
    return (
        '<table class="connectsafely-visitors">'
        f"{caption_html}<thead><tr>{header}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def records(visitors: Iterable[Visitor]) -> list[dict[str, object]]:
    """``visitor_record`` of each visitor, in order: what ``to_dicts()`` returns."""
    return [visitor_record(visitor) for visitor in visitors]


def _row(visitor: Visitor) -> str:
    picture = safe_url(visitor.profile_picture)
    over = (
        f'<img src="{_attr(picture)}" alt="" loading="lazy" referrerpolicy="no-referrer" '
        f'onerror="{_HIDE_IF_BROKEN}" style="{_PICTURE_STYLE}">'
        if picture
        else ""
    )
    avatar = (
        f'<span style="{_INITIALS_STYLE}" aria-hidden="true">'
        f"{_text(_initials(visitor))}{over}</span>"
    )
    if visitor.is_anonymous:
        name = (
            f'<span style="color:#6b7280"><i>{_text(visitor.name or _ANONYMOUS_NAME)}</i>'
            " (anonymous)</span>"
        )
    else:
        link = safe_url(visitor.profile_url)
        text = _text(visitor.name or visitor.public_identifier or "")
        name = (
            f'<a href="{_attr(link)}" target="_blank" rel="noopener noreferrer">{text}</a>'
            if link
            else text
        )
    cells = (
        avatar,
        name,
        _text(visitor.headline),
        _text(visitor.connection_degree),
        _text(visitor.viewed_at),
    )
    return "<tr>" + "".join(f'<td style="{_CELL_STYLE}">{cell}</td>' for cell in cells) + "</tr>"


def _initials(visitor: Visitor) -> str:
    """Up to two letters for the avatar: "Ada Lovelace, PhD" -> "AL"; "?" for the anonymous.

    Credentials after a comma or in brackets are left out, and so are words that do not
    start with a letter or digit (an emoji, a dash).
    """
    if visitor.is_anonymous:
        return "?"
    name = visitor.name or visitor.public_identifier or ""
    name = name.split(",")[0].split("(")[0].split("|")[0]
    words = [word for word in name.split() if word[0].isalnum()]
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


def _text(value: str | None) -> str:
    return html.escape(value or "", quote=True)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()

"""The one way a URL that may hold credentials is described: ``describe_url``.

A store's DSN, the shared limiter's Redis URL and the client's base URL are named in reprs,
errors, warnings and the CLI's stderr, and each may carry a password. ``urlsplit`` cannot be
trusted to find it: in ``postgresql://app:2024/Secret@host/db`` the password's ``/`` ends
the authority, so ``app:2024`` reads as host and port and the rest of the password as the
path. Drivers differ too. So the description trusts no parser:

- everything up to the *last* ``@`` after the scheme is the userinfo, dropped whole: a
  password may hold ``/``, ``?``, ``#``, ``:`` and ``@``, a host never holds ``@`` (an ``@``
  in a query makes this drop more than the userinfo, never less);
- the user name (before the first ``:``) is kept only when nothing in it could be a
  delimiter a password swallowed;
- then the host, a numeric port and the path, each up to the next delimiter; never the
  query or the fragment.

It never raises: what it cannot read is described by ``unreadable``.

``stray_at`` finds the URLs drivers misread that way, so that they can be refused before a
driver connects to the wrong host and sends it the rest of the password as a path, a query
field or a fragment.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

__all__ = ["describe_url", "stray_at"]

_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,31}")
# A user name, unencoded: RFC 3986's unreserved and sub-delims characters, percent escapes.
_USER: Final = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=%-]{1,64}")
# A host: a name or IPv4 address, or an IPv6 literal in brackets.
_HOST: Final = re.compile(r"[A-Za-z0-9._~%-]{0,253}|\[[0-9A-Fa-f:.]{2,45}\]")
_PORT: Final = re.compile(r"[0-9]{1,5}")
_PATH: Final = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:%/-]{0,200}")


def describe_url(url: str, *, keep_user: bool = True, unreadable: str = "an unreadable URL") -> str:
    """Where ``url`` points: ``scheme://[user@]host[:port][/path]``, never its password.

    Args:
        url: any text (a URL with or without credentials, or not a URL at all).
        keep_user: show the user name, when it is unambiguous.
        unreadable: the description of a text that is not a URL.

    Returns:
        The description; ``unreadable`` when there is no scheme, or no host and no path.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        return unreadable
    userinfo, at, location = rest.rpartition("@")
    user = userinfo.split(":", 1)[0] if at and keep_user else ""
    authority = re.split(r"[/?#]", location, maxsplit=1)[0]
    host, port = authority, ""
    if ":" in authority and not authority.endswith("]"):  # not the end of an IPv6 literal
        host, _, port = authority.rpartition(":")
    if not _HOST.fullmatch(host) or not (port == "" or _PORT.fullmatch(port)):
        return unreadable
    found = _PATH.match(re.split(r"[?#]", location[len(authority) :], maxsplit=1)[0])
    path = found.group() if found else ""
    if not host and not path:
        return unreadable
    shown_user = f"{user}@" if _USER.fullmatch(user) else ""
    shown_port = f":{port}" if port else ""
    return f"{scheme.lower()}://{shown_user}{host}{shown_port}{path}"


def stray_at(url: str) -> bool:
    """Whether ``urlsplit`` (and so a driver) reads an ``@`` outside the authority, where
    no store or limiter URL needs one unencoded: in the path, the fragment or the name of
    a query field.

    That is a password holding an unencoded ``/``, ``?`` or ``#`` (``app:2024/Secret@host``).
    An ``@`` in a query value (``?user=app@server``) is a value, and left alone.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    names = (field.partition("=")[0] for field in parts.query.split("&"))
    return "@" in parts.path or "@" in parts.fragment or any("@" in name for name in names)

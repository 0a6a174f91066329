"""``open_store(url)``: the history store a URL (or ``$CONNECTSAFELY_HISTORY_URL``) names.

- ``postgresql://user@host/db?schema=name`` (or ``postgres://``): a ``PostgresStore``; the
  ``schema`` query parameter picks its schema, every other one goes to the server;
- ``sqlite:///relative.db``, ``sqlite:////absolute.db`` or a plain path: an ``SQLiteStore``.

So one setting in a deployment's environment says where every worker keeps its history.
"""

from __future__ import annotations

import os
from typing import Any, Final

from .._errors import ConfigurationError
from ._postgres import PostgresStore
from ._sqlite import SQLiteStore

__all__ = ["ENV_HISTORY_URL", "open_store"]

ENV_HISTORY_URL: Final = "CONNECTSAFELY_HISTORY_URL"
_POSTGRES: Final = ("postgresql", "postgres")


def open_store(
    url: str | os.PathLike[str] | None = None, **options: Any
) -> SQLiteStore | PostgresStore:
    """The store ``url`` names, not yet opened (use it with ``async with`` or ``with``).

    Args:
        url: a ``postgresql://`` URL, a ``sqlite:///`` URL or a file path; ``None`` reads
            ``$CONNECTSAFELY_HISTORY_URL``.
        options: passed to the store (``lock_timeout=...`` and the like).

    Raises:
        ConfigurationError: no URL given and none in the environment, or a scheme that
            names no store (the URL itself is never echoed: it may hold a password).
    """
    if url is None:
        url = os.environ.get(ENV_HISTORY_URL) or None
        if url is None:
            msg = f"no history store: pass a URL or a path, or set ${ENV_HISTORY_URL}"
            raise ConfigurationError(msg)
    if isinstance(url, os.PathLike):
        return SQLiteStore(url, **options)
    if not isinstance(url, str):
        msg = f"url must be a str, os.PathLike or None, got {type(url).__name__}"
        raise TypeError(msg)
    scheme, sep, rest = url.partition("://")
    if not sep:
        return SQLiteStore(url, **options)
    if scheme == "sqlite":
        if not rest.startswith("/") or rest == "/":
            msg = "a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path"
            raise ConfigurationError(msg)
        return SQLiteStore(rest[1:], **options)
    if scheme in _POSTGRES:
        return PostgresStore(url, **options)
    shown = scheme if scheme.isalnum() else "?"
    msg = f"a history URL is postgresql://..., sqlite:///... or a path (got scheme {shown!r})"
    raise ConfigurationError(msg)

"""open_store(url): the store a URL, a path or $CONNECTSAFELY_HISTORY_URL names."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectsafely_async import ConfigurationError
from connectsafely_async.history import (
    ENV_HISTORY_URL,
    PostgresStore,
    SQLiteStore,
    open_store,
)


@pytest.mark.parametrize(("url", "path"), [
    ("visitors.db", "visitors.db"),
    ("data/visitors.db", "data/visitors.db"),
    ("sqlite:///visitors.db", "visitors.db"),
    ("sqlite:////var/lib/app/visitors.db", "/var/lib/app/visitors.db"),
])
def test_paths_and_sqlite_urls_name_an_sqlite_file(url: str, path: str) -> None:
    store = open_store(url)
    assert isinstance(store, SQLiteStore)
    assert store.path == Path(path)


def test_a_path_object_and_options(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.db", lock_timeout=0)
    assert isinstance(store, SQLiteStore)
    assert store.path == tmp_path / "h.db"


def test_a_postgres_url_keeps_its_query_and_gives_up_its_schema() -> None:
    store = open_store("postgresql://app:pw@db:5433/app?sslmode=disable&schema=visits",
                       lock_timeout=1)
    assert isinstance(store, PostgresStore)
    assert store.schema == "visits"
    assert store.dsn == "postgresql://app:pw@db:5433/app?sslmode=disable"
    assert "pw" not in repr(store)
    assert open_store("postgres://db/app").schema == "connectsafely"  # type: ignore[union-attr]


def test_the_environment_names_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_HISTORY_URL, "postgresql://db/app?schema=shared")
    store = open_store()
    assert isinstance(store, PostgresStore)
    assert store.schema == "shared"
    monkeypatch.delenv(ENV_HISTORY_URL)
    with pytest.raises(ConfigurationError, match=ENV_HISTORY_URL):
        open_store()


@pytest.mark.parametrize("url", ["mysql://root:pw@db/app", "sqlite://visitors.db",
                                 "sqlite:///", "redis://:pw@cache/0"])
def test_other_schemes_are_refused_without_echoing_the_url(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        open_store(url)
    assert "pw" not in str(info.value)
    assert "visitors.db" not in str(info.value)


def test_a_wrong_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="url must be"):
        open_store(42)  # type: ignore[arg-type]


def test_postgres_store_takes_the_schema_from_its_url_too() -> None:
    store = PostgresStore("postgresql://db/app?schema=visits&sslmode=disable")
    assert (store.schema, store.dsn) == ("visits", "postgresql://db/app?sslmode=disable")
    assert PostgresStore("postgresql://db/app?schema=visits", schema="visits").schema == "visits"
    with pytest.raises(ValueError, match="two schemas"):
        PostgresStore("postgresql://db/app?schema=visits", schema="other")
    with pytest.raises(ValueError, match="schema must be"):
        PostgresStore("postgresql://db/app?schema=")

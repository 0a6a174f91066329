"""The SQLite schema, as forward migrations numbered by ``PRAGMA user_version``.

Migration ``n`` takes a database from version ``n - 1`` to ``n``; a new file runs them all.
Each runs in the transaction that also sets ``user_version``, so a crash mid-migration
leaves the previous version intact. Times are REAL seconds since the epoch (UTC). A step is
SQL, with what SQLite's SQL cannot compute (a digest) done by ``storable_key`` and
``key_number``, which the opening code registers as the SQL functions
``connectsafely_storable_key`` and ``connectsafely_key_number``.
"""

from __future__ import annotations

from typing import Final

from ._text import MAX_KEY_BYTES

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "key_digests"]


def key_digests(*, size: str, digest: str) -> str:
    """Statements turning every stored identity key over ``MAX_KEY_BYTES`` into the digest
    ``storable_key()`` now gives it; ``size`` and ``digest`` are the engine's expressions of
    a column ``{0}``'s byte length and of ``"sha256:" + its hex SHA-256``."""
    columns = (("visitors", "key"), ("aliases", "alias"), ("aliases", "key"),
               ("views", "key"), ("events", "key"))
    return "\n".join(
        f"UPDATE {table} SET {column} = {digest.format(column)} "  # noqa: S608 - fixed names
        f"WHERE {size.format(column)} > {MAX_KEY_BYTES};"
        for table, column in columns
    )

_VISITOR_COLUMNS: Final = (
    "entity_urn, public_identifier, name, headline, profile_picture, viewed_at, "
    "connection_degree, profile_url, navigation_url, first_seen, last_seen, view_id, views"
)
_VISITOR_COLUMNS_DDL: Final = """entity_urn TEXT, public_identifier TEXT, name TEXT, headline TEXT,
        profile_picture TEXT, viewed_at TEXT, connection_degree TEXT, profile_url TEXT,
        navigation_url TEXT,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        view_id INTEGER NOT NULL,
        views INTEGER NOT NULL DEFAULT 1"""

MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: visitors, their aliases and views; anonymous sightings; events; syncs.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE visitors (
        account_id TEXT NOT NULL,
        key TEXT NOT NULL,
        entity_urn TEXT, public_identifier TEXT, name TEXT, headline TEXT,
        profile_picture TEXT, viewed_at TEXT, connection_degree TEXT, profile_url TEXT,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        view_id INTEGER NOT NULL,
        views INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (account_id, key)
    ) WITHOUT ROWID;
    CREATE TABLE aliases (
        account_id TEXT NOT NULL,
        alias TEXT NOT NULL,
        key TEXT NOT NULL,
        PRIMARY KEY (account_id, alias)
    ) WITHOUT ROWID;
    CREATE TABLE views (
        id INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL,
        key TEXT NOT NULL,
        viewed_at TEXT,
        earliest REAL,
        latest REAL,
        first_observed REAL NOT NULL,
        last_observed REAL NOT NULL,
        observations INTEGER NOT NULL DEFAULT 1,
        first_view INTEGER NOT NULL DEFAULT 0,
        sync_id INTEGER NOT NULL
    );
    CREATE TABLE anonymous (
        id INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL,
        name TEXT, headline TEXT, viewed_at TEXT,
        earliest REAL, latest REAL,
        observed REAL NOT NULL,
        sync_id INTEGER NOT NULL
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL,
        key TEXT NOT NULL,
        kind TEXT NOT NULL,
        created REAL NOT NULL,
        acked REAL,
        sync_id INTEGER NOT NULL
    );
    CREATE TABLE syncs (
        id INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL,
        filters TEXT NOT NULL,
        started REAL NOT NULL,
        finished REAL,
        error TEXT,
        checkpoint TEXT,
        first_view INTEGER NOT NULL,
        first_event INTEGER NOT NULL,
        first_anonymous INTEGER NOT NULL,
        pages INTEGER NOT NULL DEFAULT 0,
        new_count INTEGER NOT NULL DEFAULT 0,
        returning_count INTEGER NOT NULL DEFAULT 0,
        unchanged_count INTEGER NOT NULL DEFAULT 0,
        anonymous_count INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 2: the undocumented navigationUrl is kept; pending events are found without a scan.
    """
    ALTER TABLE visitors ADD COLUMN navigation_url TEXT;
    CREATE INDEX events_pending ON events (id) WHERE acked IS NULL;
    CREATE INDEX syncs_open ON syncs (account_id, filters) WHERE finished IS NULL;
    """,
    # 3: a sync's own clock at its last page (a resume only continues a recent walk); keys
    # too long for an index row become their digest (history/_text.py); returning visitors
    # are events too, with the visit count; the account the default name was last seen to be;
    # the action ledger (one row per person acted on) and the service's holds on actions.
    f"""
    ALTER TABLE syncs ADD COLUMN clock REAL;
    ALTER TABLE events ADD COLUMN visits INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE events ADD COLUMN followed REAL;
    UPDATE events SET followed = created;
    CREATE INDEX events_unfollowed ON events (account_id, id) WHERE followed IS NULL;
    CREATE TABLE account_names (name TEXT PRIMARY KEY, account_id TEXT NOT NULL);
    CREATE TABLE actions (
        id INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL,
        key TEXT NOT NULL,
        kind TEXT NOT NULL,
        recipient TEXT NOT NULL,
        text TEXT NOT NULL,
        state TEXT NOT NULL,
        detail TEXT,
        event_id INTEGER,
        decided REAL NOT NULL,
        settled REAL,
        UNIQUE (account_id, key)
    );
    CREATE INDEX actions_window ON actions (account_id, kind, decided);
    CREATE TABLE action_holds (
        account_id TEXT NOT NULL, kind TEXT NOT NULL, hold_until REAL NOT NULL,
        PRIMARY KEY (account_id, kind)
    );
    {key_digests(size="length(CAST({0} AS BLOB))", digest="connectsafely_storable_key({0})")}
    """,  # noqa: S608 - our own fixed text
    # 4: visitors and aliases become rowid tables, found by the 64-bit number of their key
    # (``key_number``). As WITHOUT ROWID tables keyed by random URNs, each new visitor's
    # whole row landed on a page of its own: a fresh page of 100 visitors wrote some 320
    # pages of 4 KB to the WAL (with the keys' text in a unique index instead, some 164;
    # now about 108). The rows are appended, and a visitor (``visitors_number``) or an alias
    # (``aliases_number``) is an 8-byte entry of a small index; a lookup gives the numbers
    # and the texts, so numbers that collide never mix keys, and the writer, alone on the
    # file, never adds a visitor or an alias twice. Views and events carry their visitor's
    # number too, so that reading them with their visitor (results, events, history) goes
    # through that index (the default only serves the ALTER: the UPDATE numbers every row).
    f"""
    CREATE TABLE visitors_v4 (
        id INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL,
        key TEXT NOT NULL,
        key_number INTEGER NOT NULL,
        {_VISITOR_COLUMNS_DDL}
    );
    INSERT INTO visitors_v4 (account_id, key, key_number, {_VISITOR_COLUMNS})
        SELECT account_id, key, connectsafely_key_number(key), {_VISITOR_COLUMNS}
        FROM visitors;
    DROP TABLE visitors;
    ALTER TABLE visitors_v4 RENAME TO visitors;
    CREATE INDEX visitors_number ON visitors (key_number);
    CREATE TABLE aliases_v4 (
        id INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL,
        alias TEXT NOT NULL,
        key TEXT NOT NULL,
        alias_number INTEGER NOT NULL
    );
    INSERT INTO aliases_v4 (account_id, alias, key, alias_number)
        SELECT account_id, alias, key, connectsafely_key_number(alias) FROM aliases;
    DROP TABLE aliases;
    ALTER TABLE aliases_v4 RENAME TO aliases;
    CREATE INDEX aliases_number ON aliases (alias_number);
    ALTER TABLE views ADD COLUMN key_number INTEGER NOT NULL DEFAULT 0;
    UPDATE views SET key_number = connectsafely_key_number(key);
    ALTER TABLE events ADD COLUMN key_number INTEGER NOT NULL DEFAULT 0;
    UPDATE events SET key_number = connectsafely_key_number(key);
    """,  # noqa: S608 - our own fixed text
)

#: The version this SDK writes; a file with a higher one is refused, untouched.
SCHEMA_VERSION: Final = len(MIGRATIONS)

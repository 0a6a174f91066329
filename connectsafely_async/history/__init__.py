"""Who is new since last time: a durable visitor history, on SQLite by default.

::

    from connectsafely_async import AsyncConnectSafely
    from connectsafely_async.history import SQLiteStore

    async with AsyncConnectSafely() as client, SQLiteStore("visitors.db") as store:
        result = await client.sync_visitors(store, max_visitors=200)
        for seen in result.new:
            print("new:", seen.visitor.name, seen.estimated_viewed_at)
        async for event in store.events():   # each acknowledged when the loop moves on
            ...

A sync records each page in one transaction together with the walk's checkpoint, so a sync
that dies resumes where it stopped. Named visitors are recognised by their URN, public id or
profile link; anonymous entries are recorded as sightings and never merged. View times are
intervals read from the relative "Viewed 2d ago" text, tightened by every later sync.

Many workers share one history through ``PostgresStore`` (the ``postgres`` extra);
``open_store(url)`` picks the store a URL, or ``$CONNECTSAFELY_HISTORY_URL``, names.
"""

from ._blocking_store import BlockingStore
from ._errors import (
    ForeignDatabaseError,
    SchemaVersionError,
    StoreDependencyError,
    StoreError,
    StoreLockedError,
    StoreUnavailableError,
)
from ._followup import ActionCaps, FollowUpItem, FollowUpPlan, FollowUpReport
from ._identity import identity_keys, profile_slug, visitor_key
from ._intervals import SLACK, ViewDecision, ViewInterval, decide, view_interval
from ._models import AnonymousSighting, SeenVisitor, SyncResult, VisitorEvent
from ._open import ENV_HISTORY_URL, open_store
from ._postgres import PostgresStore
from ._queries import HISTORY_FIELDS
from ._schema import SCHEMA_VERSION
from ._sqlite import SQLiteStore
from ._store import RESUME_WITHIN, Observation, PageOutcome, SyncStart, VisitorStore, observe
from ._text import MAX_KEY_BYTES, storable_key, storable_text, storable_visitor
from ._threaded import ThreadedStore

__all__ = [
    "ENV_HISTORY_URL",
    "HISTORY_FIELDS",
    "MAX_KEY_BYTES",
    "RESUME_WITHIN",
    "SCHEMA_VERSION",
    "SLACK",
    "ActionCaps",
    "AnonymousSighting",
    "BlockingStore",
    "FollowUpItem",
    "FollowUpPlan",
    "FollowUpReport",
    "ForeignDatabaseError",
    "Observation",
    "PageOutcome",
    "PostgresStore",
    "SQLiteStore",
    "SchemaVersionError",
    "SeenVisitor",
    "StoreDependencyError",
    "StoreError",
    "StoreLockedError",
    "StoreUnavailableError",
    "SyncResult",
    "SyncStart",
    "ThreadedStore",
    "ViewDecision",
    "ViewInterval",
    "VisitorEvent",
    "VisitorStore",
    "decide",
    "identity_keys",
    "observe",
    "open_store",
    "profile_slug",
    "storable_key",
    "storable_text",
    "storable_visitor",
    "view_interval",
    "visitor_key",
]

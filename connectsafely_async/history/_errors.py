"""The errors a visitor store raises, under the SDK's one root::

    ConnectSafelyError
     └── StoreError                    the store cannot be opened, read or written
          ├── StoreLockedError         another process holds the store (also TimeoutError)
          ├── SchemaVersionError       the file was written by a newer version of the SDK
          ├── StoreUnavailableError    the file or server cannot be reached or used as asked
          │                            (a missing folder, no permission, a server that
          │                            refuses the connection or the password)
          ├── ForeignDatabaseError     the file or schema belongs to another application
          └── StoreDependencyError     (also ImportError) the store's driver is not installed

Every message is one line that says what to do, and never shows a password.
"""

from __future__ import annotations

from .._errors import ConnectSafelyError

__all__ = [
    "ForeignDatabaseError",
    "SchemaVersionError",
    "StoreDependencyError",
    "StoreError",
    "StoreLockedError",
    "StoreUnavailableError",
]


class StoreError(ConnectSafelyError):
    """The store cannot be used: not a database, a directory, read-only, corrupt, lost."""


class StoreLockedError(StoreError, TimeoutError):
    """Another process is syncing into the same store; nothing was written by this one."""


class SchemaVersionError(StoreError):
    """The store's schema is newer than this SDK knows; the file is left untouched."""


class StoreUnavailableError(StoreError):
    """The store's file or server cannot be reached or used: a missing folder, a path this
    user may not enter, a server that is down or refuses the credentials."""


class ForeignDatabaseError(StoreError):
    """The file (or schema) is another application's database: it is left untouched."""


class StoreDependencyError(StoreError, ImportError):
    """The store's driver is not installed (e.g. asyncpg, the ``postgres`` extra)."""

"""The errors a visitor store raises, under the SDK's one root::

    ConnectSafelyError
     └── StoreError                    the store cannot be opened, read or written
          ├── StoreLockedError         another process holds the store (also TimeoutError)
          └── SchemaVersionError       the file was written by a newer version of the SDK
"""

from __future__ import annotations

from .._errors import ConnectSafelyError

__all__ = ["SchemaVersionError", "StoreError", "StoreLockedError"]


class StoreError(ConnectSafelyError):
    """The store's file cannot be used: not a database, a directory, read-only, corrupt."""


class StoreLockedError(StoreError, TimeoutError):
    """Another process is syncing into the same store; nothing was written by this one."""


class SchemaVersionError(StoreError):
    """The store's schema is newer than this SDK knows; the file is left untouched."""

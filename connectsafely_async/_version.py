"""The installed distribution's version, read from its metadata (never hard-coded twice).

Read on first use rather than at import: ``importlib.metadata`` alone costs several
milliseconds of ``import connectsafely_async``.
"""

from __future__ import annotations

import functools

__all__ = ["package_version"]


@functools.cache
def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("connectsafely-async")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"

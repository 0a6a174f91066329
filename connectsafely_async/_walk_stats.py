"""What one walk did: the counters its loop and the sender add to as it runs.

Apart from the walk so that the sender, which counts requests, retries and rate-limit
waits into them, needs nothing else of the walk.
"""

from __future__ import annotations

import attrs

__all__ = ["WalkStats"]


@attrs.define
class WalkStats:
    """What one walk did. Counters only grow; read them any time, during or after the walk."""

    requests: int = 0
    pages: int = 0
    visitors: int = 0
    retries: int = 0
    duplicates_dropped: int = 0
    rate_limit_wait_seconds: float = 0.0

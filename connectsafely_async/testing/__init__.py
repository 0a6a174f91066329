"""An in-process fake ConnectSafely server for tests: real HTTP on 127.0.0.1, no internet.

::

    from connectsafely_async.testing import FakeConnectSafely, Fault

    async def test_retries_a_502() -> None:
        async with FakeConnectSafely() as fake:
            fake.inject(Fault(status=502, text="<h1>Bad Gateway</h1>", content_type="text/html"))
            ...  # point your client at fake.url with the key fake.api_key

This package speaks only HTTP and JSON; it does not import the client, so it can test any
client, including a broken one. ``serve_in_thread`` runs a fake on a thread of its own, for
blocking code such as the sync ``ConnectSafely``; the pytest plugin
(``connectsafely_async.testing.pytest_plugin``, registered on install) turns both into
fixtures.
"""

from __future__ import annotations

from ._data import make_visitors
from ._faults import Fault
from ._followup import PerformedAction
from ._server import FakeConnectSafely, RecordedRequest
from ._threaded import serve_in_thread
from ._timeline import visitors_at
from ._visitors import MaxVisitorsMode

__all__ = [
    "FakeConnectSafely",
    "Fault",
    "MaxVisitorsMode",
    "PerformedAction",
    "RecordedRequest",
    "make_visitors",
    "serve_in_thread",
    "visitors_at",
]

"""The pytest plugin users get on install: its fixtures, used as a user's test would."""

from __future__ import annotations

from importlib.metadata import entry_points

from connectsafely_async import AsyncConnectSafely, ConnectSafely
from connectsafely_async.testing import FakeConnectSafely, Fault


def test_the_plugin_is_registered_on_install() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins["connectsafely"] == "connectsafely_async.testing.pytest_plugin"


def test_sync_fixtures(
    connectsafely_fake: FakeConnectSafely, connectsafely_client: ConnectSafely
) -> None:
    connectsafely_fake.inject(Fault(status=502, text="<h1>Bad Gateway</h1>",
                                    content_type="text/html"))
    visitors = list(connectsafely_client.iter_visitors())
    assert len(visitors) == 45
    assert len(connectsafely_fake.requests) == 4  # 3 pages, one retried at once
    assert connectsafely_client.base_url == connectsafely_fake.url


async def test_async_fixture(
    connectsafely_fake: FakeConnectSafely, async_connectsafely_client: AsyncConnectSafely
) -> None:
    page = await async_connectsafely_client.get_visitors(max_visitors=5)
    assert len(page.visitors) == 5
    assert connectsafely_fake.requests[-1].path == "/linkedin/profile/visitors"


def test_the_serve_command_prints_its_environment_and_stops_on_sigterm() -> None:
    import signal
    import subprocess
    import sys
    import urllib.request

    server = subprocess.Popen(
        [sys.executable, "-m", "connectsafely_async.testing", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    url = line.split("CONNECTSAFELY_BASE_URL=")[1].strip()
    assert line.startswith("export CONNECTSAFELY_API_KEY=test-key ")
    request = urllib.request.Request(url + "/health",  # noqa: S310 - loopback, http on purpose
                                     headers={"Authorization": "Bearer test-key"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200
    server.send_signal(signal.SIGTERM)
    _, err = server.communicate(timeout=10)
    assert server.returncode == 0, err
    assert err == ""

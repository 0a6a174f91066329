"""``CONNECTSAFELY_LOG=debug|info``: logging from the environment, never the key.

Each case runs a fresh interpreter: the switch is read once, when the package is imported.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from connectsafely_async.testing import serve_in_thread

CANARY = "cs_CANARY_log_5f2b9c0e7d1a"
SCRIPT = """
import asyncio
from connectsafely_async import AsyncConnectSafely, RetryPolicy

async def main():
    async with AsyncConnectSafely(retry=RetryPolicy(initial_delay=0), rate_limits=None) as c:
        pages = [p async for p in c.iter_visitor_pages(count=20)]
        print(len(pages), "pages")

asyncio.run(main())
"""


def run_logged(level: str | None, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTSAFELY_")}
    env.update(CONNECTSAFELY_API_KEY=CANARY, CONNECTSAFELY_BASE_URL=url)
    if level is not None:
        env["CONNECTSAFELY_LOG"] = level
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,  # noqa: S603
                          env=env, timeout=60, check=False)


@pytest.fixture
def fake_url() -> object:
    from connectsafely_async.testing import FakeConnectSafely, Fault

    with serve_in_thread(FakeConnectSafely(api_key=CANARY)) as fake:
        # Two 502s echoing the key, so the retry path logs too.
        fake.inject(Fault(status=502, json={"error": f"bad gateway for {CANARY}"}), times=2)
        yield fake.url


def test_debug_logs_every_request_and_retry_but_never_the_key(fake_url: str) -> None:
    result = run_logged("debug", fake_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3 pages"
    lines = result.stderr.splitlines()
    assert sum("DEBUG connectsafely_async: POST /linkedin/profile/visitors" in line
               for line in lines) == 5  # 2 answered 502, 3 pages
    assert any("INFO connectsafely_async: retrying after InternalServerError" in line
               for line in lines)
    assert CANARY not in result.stderr + result.stdout


def test_info_shows_retries_only(fake_url: str) -> None:
    result = run_logged("INFO", fake_url)
    assert result.returncode == 0, result.stderr
    assert "retrying after" in result.stderr
    assert "DEBUG" not in result.stderr
    assert CANARY not in result.stderr


def test_unset_logs_nothing_and_unknown_values_warn(fake_url: str) -> None:
    assert run_logged(None, fake_url).stderr == ""
    result = run_logged("loud", fake_url)
    assert "CONNECTSAFELY_LOG='loud' is not one of debug, info; ignored" in result.stderr
    assert "retrying" not in result.stderr

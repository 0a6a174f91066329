"""Render the notebook HTML of a visitors page in headless Chromium and save a screenshot.

    python scripts/screenshot_notebook_html.py [--out notebook-table.png] [--browser chromium]

It fetches a page and a collected walk from the embedded fake service (plus one hand-made
visitor whose name, headline and URLs try to inject markup and script), writes them into an
HTML file the way Jupyter shows ``_repr_html_`` output, and runs
``chromium --headless --screenshot``. The avatars point at LinkedIn's CDN, which a machine
without internet cannot reach: they show as grey circles, which is also how a missing or
unsafe picture looks.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from connectsafely_async import AsyncConnectSafely, Visitor, VisitorList, collect
from connectsafely_async.testing import FakeConnectSafely

HOSTILE = Visitor(
    entity_urn="urn:li:fsd_profile:X",
    name='Mallory <img src=x onerror=alert(1)>',
    headline='"><script>alert("xss")</script> & friends',
    profile_url="javascript:alert(1)",
    profile_picture="data:image/svg+xml,<svg onload=alert(1)>",
    viewed_at="Viewed 1d ago",
    connection_degree="3rd+",
)


async def render() -> str:
    async with FakeConnectSafely() as fake, AsyncConnectSafely(
        api_key=fake.api_key, base_url=fake.url
    ) as client:
        page = await client.get_visitors(max_visitors=6, count=6)
        walk = await collect(client.iter_visitors(max_visitors=14, start=6))
    walk = VisitorList([HOSTILE, *walk])
    return (
        "<!doctype html><meta charset='utf-8'><title>connectsafely-async</title>"
        "<body style='font-family:system-ui,sans-serif;font-size:13px;margin:16px'>"
        "<p><b>Out[1]:</b> <code>page</code></p>"
        f"{page._repr_html_()}"
        "<p><b>Out[2]:</b> <code>await collect(...)</code></p>"
        f"{walk._repr_html_()}</body>"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="notebook-table.png")
    parser.add_argument("--browser", default=None, help="default: chromium on PATH")
    args = parser.parse_args()
    browser = args.browser or shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.stderr.write("no chromium found: apt-get install chromium\n")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "table.html"
        page.write_text(asyncio.run(render()), encoding="utf-8")
        out = Path(args.out).resolve()
        subprocess.run(  # noqa: S603 - a browser the user chose or found on PATH
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--screenshot={out}", "--window-size=1200,1100", page.as_uri()],
            check=True, capture_output=True, timeout=120,
        )
    sys.stdout.write(f"{out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

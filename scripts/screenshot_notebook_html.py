"""Render the example notebook, or a visitors table, in headless Chromium and save a screenshot.

    python scripts/screenshot_notebook_html.py [--out notebook.png] [--browser chromium]
    python scripts/screenshot_notebook_html.py --table [--out notebook-table.png]

By default it executes ``examples/visitors.ipynb`` in a real kernel (nbclient, the test
extra), converts the executed notebook to HTML as Jupyter's "Export to HTML" does (nbconvert:
``pip install nbconvert``, not a dependency) and screenshots the page (``--height`` pixels of
it; ``--anchor`` scrolls to a heading first, e.g. ``Five-weeks-of-a-daily-job``).

``--table`` instead fetches a page and a collected walk from the embedded fake service (plus
one hand-made visitor whose name, headline and URLs try to inject markup and script) and
writes them into an HTML file the way Jupyter shows ``_repr_html_`` output.

Either way the avatars point at LinkedIn's CDN, which a machine without internet cannot
reach: each shows the visitor's initials in a grey circle, which is also how a missing or
unsafe picture looks. Chromium runs with a throwaway profile and no background traffic.
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


def render_notebook(path: Path) -> str:
    """The notebook at *path*, executed top to bottom, as one self-contained HTML page."""
    import nbclient
    import nbformat
    from nbconvert import HTMLExporter

    notebook = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    return body


def screenshot(browser: str, page: Path, out: Path, *, width: int, height: int,
               anchor: str | None) -> None:
    """*page* in headless Chromium, *width* x *height* pixels of it, saved as *out*."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(  # noqa: S603 - a browser the user chose or found on PATH
            [browser, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--hide-scrollbars", f"--screenshot={out}", f"--window-size={width},{height}",
             page.as_uri() + (f"#{anchor}" if anchor else "")],
            check=True, capture_output=True, timeout=120,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="store_true",
                        help="a page and a walk (with a hostile visitor), not the notebook")
    parser.add_argument("--notebook", type=Path,
                        default=Path(__file__).parent.parent / "examples" / "visitors.ipynb")
    parser.add_argument("--out", default=None,
                        help="default: notebook.png, or notebook-table.png with --table")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=None,
                        help="default: 4400 for the notebook, 1100 for --table")
    parser.add_argument("--anchor", default=None, help="a heading's id to scroll to")
    parser.add_argument("--browser", default=None, help="default: chromium on PATH")
    args = parser.parse_args()
    browser = args.browser or shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.stderr.write("no chromium found: apt-get install chromium\n")
        return 1
    out = Path(args.out or ("notebook-table.png" if args.table else "notebook.png")).resolve()
    html = asyncio.run(render()) if args.table else render_notebook(args.notebook)
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "notebook.html"
        page.write_text(html, encoding="utf-8")
        screenshot(browser, page, out, width=args.width,
                   height=args.height or (1100 if args.table else 4400), anchor=args.anchor)
    sys.stdout.write(f"{out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the command line writes: record writers per format, and the progress line.

Every writer emits whole records with one ``write()`` call each to an ``Output`` (stdout or
the ``--output`` file, ``_cli_sink``), so an interruption (Ctrl-C, a closed pipe, a full
disk) never leaves half a line behind, and ``close()`` completes the document (the closing
``]`` of JSON, a table's footer) and flushes. ``rich`` is optional: without it the table and
the progress line are plain text.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Final, Protocol, TextIO, cast

import attrs

from ._cli_sink import Output
from ._display import RECORD_FIELDS
from ._pagination import WalkStats

__all__ = [
    "FORMATS",
    "VISITORS",
    "DeferredWriter",
    "Layout",
    "Progress",
    "Stats",
    "Writer",
    "add_output_options",
    "csv_value",
    "format_for_path",
    "make_progress",
    "make_writer",
    "printable",
]

FORMATS: Final = ("table", "json", "ndjson", "csv")
_SUFFIX_FORMATS: Final = {".json": "json", ".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson",
                          ".txt": "table"}
Record = Mapping[str, Any]


@attrs.frozen
class Layout:
    """What a table and a CSV show of one kind of record.

    Attributes:
        columns: ``(record key, heading, width)`` of each table column, in order; a key
            ending in ``_at`` holds an ISO-8601 instant, shown as ``YYYY-MM-DD HH:MM`` UTC.
        fields: the CSV columns (every record key worth keeping), in order.
        noun: what the table's last line counts (``"visitor(s)"``).
    """

    columns: tuple[tuple[str, str, int], ...]
    fields: tuple[str, ...]
    noun: str = "visitor(s)"

    def with_account(self) -> Layout:
        """This layout with an account column first (several accounts in one table)."""
        if any(key == "account_id" for key, _, _ in self.columns):
            return self
        return attrs.evolve(self, columns=(("account_id", "account", 24), *self.columns))


#: The visitors a walk fetched (``connectsafely visitors``).
VISITORS: Final = Layout(
    columns=(("name", "name", 28), ("headline", "headline", 44),
             ("connection_degree", "degree", 6), ("viewed_at", "viewed_at", 16)),
    fields=("account_id", *RECORD_FIELDS),
)


def printable(text: str) -> str:
    """``text`` without control characters: names and server messages must not drive the
    terminal (an ESC sequence in a LinkedIn headline would otherwise reach it)."""
    return "".join(c if c.isprintable() else "\ufffd" for c in text)


def format_for_path(path: str) -> str:
    """The format ``--output FILE`` implies by its extension; NDJSON when it implies none."""
    return _SUFFIX_FORMATS.get(Path(path).suffix.lower(), "ndjson")


# -- writers ---------------------------------------------------------------------------------


class Writer(Protocol):
    def write(self, record: Record) -> None: ...
    def close(self) -> None: ...


def make_writer(
    fmt: str, out: Output, *, multi_account: bool, pretty: bool, layout: Layout = VISITORS
) -> Writer:
    """A writer of *fmt* records to *out*.

    Args:
        fmt: one of ``FORMATS``.
        out: where to write; flushed by ``close()``, never closed.
        multi_account: add an account column to the table (records always carry
            ``account_id``).
        pretty: draw the table with ``rich`` when it is installed.
        layout: the table's columns and the CSV's fields (``VISITORS`` by default).

    Raises:
        ValueError: an unknown format.
    """
    if multi_account:
        layout = layout.with_account()
    if fmt == "ndjson":
        return _NdjsonWriter(out)
    if fmt == "json":
        return _JsonWriter(out)
    if fmt == "csv":
        return _CsvWriter(out, layout.fields)
    if fmt == "table":
        if pretty:
            try:
                return _RichTableWriter(out, layout)
            except ImportError:
                pass  # the cli extra is not installed: the plain table says the same
        return _PlainTableWriter(out, layout)
    msg = f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}"
    raise ValueError(msg)


class DeferredWriter:
    """A writer that opens its document with the first record, not before.

    A command that fails before any visitor arrives then prints nothing on stdout: no
    table header, no ``0 visitor(s)``, no CSV header, no ``[]`` that would read as "no
    visitors" to the next program in a pipe.
    """

    def __init__(self, make: Callable[[], Writer]) -> None:
        self._make = make
        self._writer: Writer | None = None

    @property
    def started(self) -> bool:
        return self._writer is not None

    def write(self, record: Record) -> None:
        if self._writer is None:
            self._writer = self._make()
        self._writer.write(record)

    def close(self, *, complete: bool) -> None:
        """Complete the document.

        Args:
            complete: the walk succeeded; with no record written, an empty document (a
                table saying ``0 visitor(s)``, ``[]``) is written only then.
        """
        if self._writer is None:
            if not complete:
                return
            self._writer = self._make()
        self._writer.close()


def _json(record: Record, out: Output) -> str:
    """One record as JSON text, readable as typed where ``out`` can carry it, else in JSON's
    own ``\\u`` escapes (a lone surrogate, a name on an ASCII-only stdout)."""
    text = json.dumps(record, ensure_ascii=False)
    return text if out.encodable(text) else json.dumps(record)


class _NdjsonWriter:
    def __init__(self, out: Output) -> None:
        self._out = out

    def write(self, record: Record) -> None:
        self._out.write(_json(record, self._out) + "\n")

    def close(self) -> None:
        self._out.flush()


class _JsonWriter:
    """One JSON array, streamed: records are written as they come, ``]`` by ``close()``."""

    def __init__(self, out: Output) -> None:
        self._out = out
        self._count = 0

    def write(self, record: Record) -> None:
        lead = ",\n  " if self._count else "[\n  "
        self._out.write(lead + _json(record, self._out))
        self._count += 1

    def close(self) -> None:
        self._out.write("\n]\n" if self._count else "[]\n")
        self._out.flush()


class _CsvWriter:
    def __init__(self, out: Output, fields: tuple[str, ...]) -> None:
        self._out = out
        self._csv = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
        self._csv.writeheader()

    def write(self, record: Record) -> None:
        # Spreadsheets and pandas read true/false; Python's True/False would be text.
        self._csv.writerow({key: csv_value(value) for key, value in record.items()})

    def close(self) -> None:
        self._out.flush()


def csv_value(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    # Names and headlines are written by strangers: a cell a spreadsheet would run as a
    # formula ("=HYPERLINK(...)") is kept as text with a leading apostrophe (OWASP's advice).
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


_FORMULA_STARTS: Final = frozenset("=+-@\t\r")


def cell_text(record: Record, key: str) -> str:
    """What a table shows of ``record[key]``: the name marked when anonymous, an instant as
    ``YYYY-MM-DD HH:MM`` (UTC), anything else as text."""
    if key == "name":
        if record.get("is_anonymous"):
            return f"{record.get('name') or 'LinkedIn Member'} (anonymous)"
        return str(record.get("name") or "")
    value = record.get(key)
    if key.endswith("_at") and isinstance(value, str):
        return value[:16].replace("T", " ")  # ISO-8601 in UTC: the minute is the precision
    return "" if value is None else str(value)


class _PlainTableWriter:
    """Fixed-width columns, so rows stream out as they are fetched."""

    def __init__(self, out: Output, layout: Layout) -> None:
        self._out = out
        self._more = "…" if out.encodable("…") else "~"  # what a cut cell ends with
        self._columns = layout.columns
        self._noun = layout.noun
        self._count = 0
        header = "  ".join(heading.ljust(width) for _, heading, width in self._columns)
        out.write(header.rstrip() + "\n" + "-" * len(header) + "\n")

    def write(self, record: Record) -> None:
        cells = [self._cell(cell_text(record, key), width) for key, _, width in self._columns]
        self._out.write("  ".join(cells).rstrip() + "\n")
        self._count += 1

    def _cell(self, value: object, width: int) -> str:
        # Escaped before it is measured: "\xe9" takes four columns on an ASCII-only stdout.
        text = self._out.escaped(printable(" ".join(str(value or "").split())))
        return (text if len(text) <= width else text[: width - 1] + self._more).ljust(width)

    def close(self) -> None:
        self._out.write(f"{self._count} {self._noun}\n")
        self._out.flush()


class _RichTableWriter:
    """A ``rich`` table, drawn once at the end (its widths depend on every row)."""

    def __init__(self, out: Output, layout: Layout) -> None:
        from rich.console import Console  # ImportError: the caller falls back to plain

        # rich needs only write, flush, isatty and encoding (it draws ASCII borders when the
        # encoding has no box characters), and prints the whole table in one write().
        self._console = Console(file=cast(IO[str], out))
        self._layout = layout
        self._records: list[Record] = []

    def write(self, record: Record) -> None:
        self._records.append(record)

    def close(self) -> None:
        from rich.table import Table
        from rich.text import Text

        layout = self._layout
        table = Table(caption=f"{len(self._records)} {layout.noun}", caption_justify="left")
        for key, heading, width in layout.columns:
            table.add_column(heading, style="bold" if key == "name" else
                             "dim" if key == "account_id" else "",
                             max_width=max(width, 10) + 2, no_wrap=width <= 24)
        for record in self._records:
            # Text(...) and not str: a str cell is parsed as rich markup, and names are
            # user-controlled ("[link=...]" in a headline must print as typed).
            table.add_row(*(
                Text(printable(cell_text(record, key)),
                     style="italic dim" if key == "name" and record.get("is_anonymous")
                     else "")
                for key, _, _ in layout.columns))
        self._console.print(table)
        self._console.file.flush()


# -- progress --------------------------------------------------------------------------------


@attrs.define
class Stats:
    """What a walk did so far, for the progress line."""

    visitors: int = 0
    pages: int = 0
    retries: int = 0
    rate_limit_wait: float = 0.0  # seconds spent waiting for the rate limits
    started: float = attrs.field(factory=time.monotonic)

    def add(self, walk: WalkStats) -> None:
        self.visitors += walk.visitors
        self.pages += walk.pages
        self.retries += walk.retries
        self.rate_limit_wait += walk.rate_limit_wait_seconds

    def describe(self) -> str:
        parts = [f"{self.visitors} visitor(s)", f"{self.pages} page(s)"]
        if self.retries:
            parts.append(f"{self.retries} retried")
        if self.rate_limit_wait:
            parts.append(f"{self.rate_limit_wait:.1f}s waiting for rate limits")
        parts.append(f"{time.monotonic() - self.started:.1f}s")
        return "fetching: " + ", ".join(parts)


class Progress(Protocol):
    def update(self, stats: Stats) -> None: ...
    def clear(self) -> None: ...
    def stop(self) -> None: ...


@contextmanager
def make_progress(*, enabled: bool) -> Iterator[Progress]:
    """A progress display on stderr that erases itself when stopped.

    Args:
        enabled: ``False`` (stderr is not a terminal, or ``--quiet``) gives one that does
            nothing.
    """
    progress: Progress
    if not enabled:
        progress = _NoProgress()
    else:
        try:
            progress = _RichProgress()
        except ImportError:
            progress = _PlainProgress(sys.stderr)
    try:
        yield progress
    finally:
        progress.stop()


class _NoProgress:
    def update(self, stats: Stats) -> None:
        pass

    def clear(self) -> None:
        pass

    def stop(self) -> None:
        pass


class _PlainProgress:
    """One line rewritten in place with a carriage return, erased at the end."""

    def __init__(self, err: TextIO) -> None:
        self._err = err
        self._shown = False

    def update(self, stats: Stats) -> None:
        self._err.write("\r\x1b[K" + stats.describe())
        self._err.flush()
        self._shown = True

    def clear(self) -> None:
        """Erase the line until the next update: rows are about to share the terminal."""
        if self._shown:
            self._err.write("\r\x1b[K")
            self._err.flush()
            self._shown = False

    def stop(self) -> None:
        self.clear()


class _RichProgress:
    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import Progress as RichProgress
        from rich.progress import SpinnerColumn, TextColumn

        self._progress = RichProgress(
            SpinnerColumn(), TextColumn("{task.description}"),
            console=Console(stderr=True), transient=True,
        )
        self._task = self._progress.add_task("connecting…", total=None)
        self._progress.start()

    def update(self, stats: Stats) -> None:
        self._progress.update(self._task, description=stats.describe())

    def clear(self) -> None:
        # Nothing to do: with rich installed the table is rich's too, drawn after stop().
        pass

    def stop(self) -> None:
        self._progress.stop()


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--format`` / ``--json`` and ``--output``, the same on every command that writes rows."""
    formats = parser.add_mutually_exclusive_group()
    formats.add_argument("--format", "-f", choices=FORMATS, default=None,
                         help="output format (default: table on a terminal, else ndjson; "
                              "with --output, chosen by the file's extension)")
    formats.add_argument("--json", action="store_const", const="ndjson", dest="format",
                         help="shorthand for --format ndjson")
    parser.add_argument("--output", "-o", default=None, metavar="FILE",
                        help="write to FILE instead of stdout")

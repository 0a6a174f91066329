"""Where the command line's records go: stdout or the ``--output`` file, through one door.

An ``Output`` takes one whole record (or a document's head or tail) per ``write()``. Text its
encoding cannot carry (a name in another script on an ASCII-only stdout, a lone surrogate) is
escaped instead of failing halfway through a document; JSON writers ask ``encodable()`` first
and use JSON's own escapes. A file that cannot take a record (a full disk, a size limit) is
cut back to its last whole record, then ``OutputError`` says what happened: the command line
exits with its own code for it, never a usage error or a traceback.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final, Protocol, TextIO

__all__ = ["FileOutput", "Output", "OutputError", "StreamOutput", "open_output"]


class OutputError(Exception):
    """stdout or the ``--output`` file cannot be written: a missing folder, no permission, a
    full disk. What was written before holds whole records only."""

    def __init__(self, where: str, cause: OSError) -> None:
        self.where = where
        self.cause = cause
        super().__init__(f"cannot write {where}: {_reason(cause)}")

    @property
    def on_stdout(self) -> bool:
        return self.where == "stdout"


def _reason(cause: OSError) -> str:
    if isinstance(cause, FileNotFoundError) and cause.filename is not None:
        return f"the folder {Path(cause.filename).parent} does not exist"  # from open()
    return (cause.strerror or str(cause) or type(cause).__name__).lower()


class Output(Protocol):
    """Where the writers put records: each ``write()`` is one whole record (or a document's
    head or tail), never a part of one."""

    encoding: str

    def write(self, text: str) -> None: ...
    def flush(self) -> None: ...
    def isatty(self) -> bool: ...

    def encodable(self, text: str) -> bool:
        """Whether ``text`` reaches the output as it is (JSON writers escape it otherwise)."""
        ...

    def escaped(self, text: str) -> str:
        """``text`` as ``write()`` will put it (a table measures its cells after this)."""
        ...


class _Encoded:
    """What an output's encoding can carry, and how the rest is written."""

    encoding: str

    def encodable(self, text: str) -> bool:
        if text.isascii():
            return True  # every encoding a terminal or a file uses carries ASCII
        try:
            text.encode(self.encoding)
        except UnicodeEncodeError:
            return False
        return True

    def escaped(self, text: str) -> str:
        """``text`` with what the encoding cannot carry written as ``\\xe9``, ``\\ud800``: a
        name in another script still prints, recognisably, on an ASCII-only stdout."""
        if self.encodable(text):
            return text
        return text.encode(self.encoding, errors="backslashreplace").decode(self.encoding)


class StreamOutput(_Encoded):
    """A text stream we do not own (stdout): written through, never closed."""

    def __init__(self, stream: TextIO | None, *, where: str = "stdout") -> None:
        self._stream = stream
        self._where = where
        self.encoding = _encoding_of(stream)

    def write(self, text: str) -> None:
        self._call(self._stream.write if self._stream else None, self.escaped(text))

    def flush(self) -> None:
        self._call(self._stream.flush if self._stream else None)

    def isatty(self) -> bool:
        return self._stream is not None and self._stream.isatty()

    def _call(self, method: Callable[..., object] | None, *args: str) -> None:
        if method is None:  # `connectsafely visitors >&-`: Python gives no sys.stdout at all
            raise OutputError(self._where, OSError(errno.EBADF, "it is closed"))
        try:
            method(*args)
        except BrokenPipeError:
            raise  # the reader left (`| head`): not an error, the command line ends quietly
        except OSError as exc:
            raise OutputError(self._where, exc) from None


class FileOutput(_Encoded):
    """The ``--output`` file, in UTF-8, holding whole records only.

    Records are kept in memory up to ``_BATCH`` bytes, then written with the file's own
    system calls. A write that fails (a full disk, a file size limit) may have put part of
    a record on disk: the file is cut back to the end of the last whole record first.
    """

    encoding = "utf-8"
    _BATCH: Final = 8 * 1024  # what Python's own file buffer holds

    def __init__(self, path: str) -> None:
        self._where = f"--output {path}"
        try:
            self._file = open(path, "wb", buffering=0)  # noqa: SIM115 (closed by close())
        except OSError as exc:
            raise OutputError(self._where, exc) from None
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._whole = 0  # bytes on disk that end with a whole record
        self._failed = False  # after a failed write, nothing more: the tail would be cut

    def write(self, text: str) -> None:
        if self._failed:
            return  # the error was raised already; a document's tail must not follow a gap
        self._pending.append(self.escaped(text).encode(self.encoding))
        self._pending_size += len(self._pending[-1])
        if self._pending_size >= self._BATCH:
            self.flush()

    def flush(self) -> None:
        if self._failed:
            return
        records, self._pending, self._pending_size = self._pending, [], 0
        data = memoryview(b"".join(records))
        written = 0
        try:
            while written < len(data):
                written += self._file.write(data[written:]) or 0
        except BaseException as exc:
            # Part of a record may be on disk (or Ctrl-C came between two writes): keep
            # the records that are whole. A device cannot be cut (/dev/full): nothing to cut.
            self._whole += _whole_records(records, written)
            with contextlib.suppress(OSError):
                self._file.truncate(self._whole)
                self._file.seek(self._whole)  # after Ctrl-C, the document's tail goes here
            if isinstance(exc, OSError):
                self._failed = True
                raise OutputError(self._where, exc) from None
            raise
        self._whole += written

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        """Write what is pending and close.

        Raises:
            OutputError: the last records could not be written, or the file was deleted
                while being written (its records went nowhere a reader can find).
        """
        try:
            self.flush()
            if not self._failed and _deleted(self._file.fileno()):
                raise OutputError(self._where, FileNotFoundError(
                    errno.ENOENT, "it was deleted while being written"))
        finally:
            self._file.close()


def _deleted(fd: int) -> bool:
    # A file removed while open takes writes without complaint: only its link count tells.
    try:
        return os.fstat(fd).st_nlink == 0
    except OSError:
        return False


def _whole_records(records: list[bytes], written: int) -> int:
    """How many of the first ``written`` bytes of ``records`` end a whole record."""
    whole = 0
    for record in records:
        if whole + len(record) > written:
            break
        whole += len(record)
    return whole


def _encoding_of(stream: TextIO | None) -> str:
    name = getattr(stream, "encoding", None) or "utf-8"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "utf-8"


@contextmanager
def open_output(path: str | None) -> Iterator[Output]:
    """stdout, or the ``--output`` file (created or emptied).

    Raises:
        OutputError: the file cannot be created; later, a record cannot be written.
    """
    if path is None:
        yield StreamOutput(sys.stdout)
        return
    output = FileOutput(path)
    try:
        yield output
    finally:
        output.close()

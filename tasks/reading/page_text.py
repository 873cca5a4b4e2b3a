"""A report page's file to its text: the bytes read from the file, then unpacked and decoded.

:func:`read_report_file` reads a regular file's bytes without blocking (a FIFO is
refused, never waited on); :func:`decode_page` gunzips them (every member, at most
:data:`MAX_REPORT_BYTES`), refuses binary content and decodes the rest: UTF-8 (a
UTF-8 byte-order mark is dropped), else Windows-1252 with a warning; a page starting
with a UTF-32 or UTF-16 byte-order mark (LE or BE; the UTF-32 marks are tested first)
is decoded in that encoding, with a warning naming it. Line ends become ``\\n``. What
cannot be read or is no text is a :class:`~tasks.reading.record.Rejection` with one
short reason; nothing here raises. The parser (:mod:`tasks.reading.parse`) reads the text.
"""

from __future__ import annotations

import codecs
import errno
import os
import stat
import zlib

from tasks.reading.record import Rejection

READ_FAILURE = "cannot read the file"
"""How the reason of a file that could not be read begins (an OS error, or not a regular file)."""

MAX_REPORT_BYTES = 64 * 1024 * 1024
"""A page is a few KB; anything larger (or a gzip expanding beyond it) is not a report."""

_GZIP_MAGIC = b"\x1f\x8b"
# UTF-32 before UTF-16: UTF-32-LE's byte-order mark begins with UTF-16-LE's.
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32-LE"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32-BE"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16-LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16-BE"),
)
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])


def read_report_file(path: str | os.PathLike[str] | bytes, *, limit: int = -1) -> bytes | Rejection:
    """The bytes of a regular file (at most ``limit``), or a :class:`Rejection` starting with :data:`READ_FAILURE`.

    Opened without blocking, so a FIFO (or a device) is refused as not a regular
    file instead of waiting for a writer for ever. Read with ``os.read`` into the
    size ``fstat`` gave and one byte more, then on to the end (a file that grew
    meanwhile is read whole): a buffered file object costs a ``fstat``, a
    ``lseek`` and a terminal check more per file, 11.7 against 6.5 µs a file on
    a batch of report pages.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        if error.errno == errno.ENXIO:  # a socket: opening it is refused, for what it is
            return Rejection(f"{READ_FAILURE}: not a regular file")
        return Rejection(f"{READ_FAILURE}: {error.strerror or error}")
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            return Rejection(f"{READ_FAILURE}: not a regular file")
        return _read_to_end(descriptor, status.st_size + 1, limit)
    except OSError as error:
        return Rejection(f"{READ_FAILURE}: {error.strerror or error}")
    finally:
        os.close(descriptor)


def _read_to_end(descriptor: int, first: int, limit: int) -> bytes:
    """What is left to read of ``descriptor`` (at most ``limit`` bytes when it is not negative), ``first`` bytes at a time first."""
    chunks: list[bytes] = []
    total, step = 0, first
    while limit < 0 or total < limit:
        chunk = os.read(descriptor, step if limit < 0 else min(step, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        step = 1 << 20
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def decode_page(data: bytes) -> tuple[str, list[str]] | Rejection:
    """The page's text with ``\\n`` line ends, and the warnings decoding it raised."""
    if len(data) > MAX_REPORT_BYTES:
        return Rejection(f"too large for a report (over {MAX_REPORT_BYTES >> 20} MiB)")
    warnings: list[str] = []
    if data[:2] == _GZIP_MAGIC:
        unpacked = _gunzip(data)
        if isinstance(unpacked, Rejection):
            return unpacked
        data, trailing = unpacked
        if trailing:
            warnings.append(f"ignored {trailing} bytes after the gzip data")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    for bom, encoding, name in _WIDE_BOMS:
        if data.startswith(bom):
            try:
                data = data[len(bom) :].decode(encoding).encode("utf-8")
            except UnicodeError:
                return Rejection(f"{name} byte-order mark, but not valid {name}")
            warnings.append(f"read as {name} (byte-order mark)")
            break
    if not data:
        return Rejection("empty file")
    if b"\x00" in data:
        return Rejection("binary content (NUL bytes)")
    # Text pages hold no control characters; random or binary bytes hold about one in nine.
    control_bytes = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if control_bytes * 20 > len(data):
        return Rejection("binary content (mostly control characters)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.end == len(data) and error.reason == "unexpected end of data":
            # A UTF-8 file cut off inside a character: the bytes before the cut are valid.
            text = data[: error.start].decode("utf-8")
            warnings.append("file ends inside a UTF-8 character: its first bytes are dropped")
        else:
            # errors="replace" for the five bytes Windows-1252 leaves undefined.
            text = data.decode("cp1252", errors="replace")
            warnings.append("not valid UTF-8: read as Windows-1252")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text or text.isspace():  # (no copy of the text, unlike strip)
        return Rejection("empty file (white space only)")
    return text, warnings


def _gunzip(data: bytes) -> tuple[bytes, int] | Rejection:
    """Every gzip member decompressed, and how many trailing non-gzip bytes were left.

    Decompression stops one byte past the cap, so a gzip bomb costs no memory.
    """
    parts: list[bytes] = []
    size = 0
    rest = data
    while rest[:2] == _GZIP_MAGIC:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip header and trailer
        try:
            part = inflater.decompress(rest, MAX_REPORT_BYTES + 1 - size)
        except zlib.error as error:
            return Rejection(f"corrupt gzip: {error}")
        size += len(part)
        if size > MAX_REPORT_BYTES:
            return Rejection(f"gzip expands beyond {MAX_REPORT_BYTES >> 20} MiB: not a report")
        if not inflater.eof:
            return Rejection("corrupt gzip: truncated")
        parts.append(part)
        rest = inflater.unused_data
    # Zero padding after the last member is common (as gzip itself tolerates); other bytes are noted.
    return b"".join(parts), len(rest.rstrip(b"\x00"))

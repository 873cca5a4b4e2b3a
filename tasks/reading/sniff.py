"""Telling a saved scite API response from a report page by the first bytes of its file.

Both kinds of file sit side by side under a source folder, under any name: the
content decides. A page begins with its title or DOI line, a saved response
(plain or gzip) with ``{`` or ``[``, so a few hundred bytes tell them apart.
:func:`sniff_first` says which files to look at before they are read (a large
JSON file is then streamed by :mod:`tasks.reading.scite_api`, never read whole);
the others are told apart by :func:`starts_like_json` on the bytes the page
reader read anyway.
"""

from __future__ import annotations

import os
import stat
import zlib

from tasks.reading.record import DiscoveredFile

_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 512


def first_bytes(path: str | bytes | os.PathLike[str], size: int) -> bytes | None:
    """Up to ``size`` bytes from the start of a regular file; None for one that cannot be read or is not regular.

    Opened without blocking, so a FIFO is never waited on.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        return os.read(descriptor, size)
    except OSError:
        return None
    finally:
        os.close(descriptor)


def is_json_file(path: str | bytes | os.PathLike[str]) -> bool:
    """Whether the file's content (after gzip, a UTF-8 byte-order mark and white space) begins like JSON: ``{`` or ``[``.

    A page begins with its title or DOI line, never with a brace or a bracket.
    An unreadable file, or one that is not a regular file (a FIFO is never waited on), is not
    JSON here: the page reader then says why it cannot be read.
    """
    head = first_bytes(path, _SNIFF_BYTES)
    return head is not None and starts_like_json(head)


def starts_like_json(head: bytes) -> bool:
    """Whether these first bytes of a file (plain or gzip) begin like JSON: ``{`` or ``[``."""
    if head[:2] == _GZIP_MAGIC:
        try:
            head = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS).decompress(head[:_SNIFF_BYTES], _SNIFF_BYTES)
        except zlib.error:
            return False
    return head[:_SNIFF_BYTES].removeprefix(b"\xef\xbb\xbf").lstrip()[:1] in (b"{", b"[")


JSON_SUFFIXES = (".json", ".json.gz")
SNIFF_FIRST_BYTES = 1 << 20
"""Files this large, or named ``*.json``/``*.json.gz``, are sniffed before they are read, so that a
large JSON file is streamed; smaller ones are told apart by the bytes the page reader read."""


def sniff_first(file: DiscoveredFile) -> bool:
    """Whether to look at the file's first bytes before reading it whole (see :data:`SNIFF_FIRST_BYTES`)."""
    return file.size >= SNIFF_FIRST_BYTES or file.path.lower().endswith(JSON_SUFFIXES)

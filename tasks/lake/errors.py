"""The errors of the lake and of an ingest: each message is one line for the user, saying why and what to do.

Raised by the modules of ``tasks.lake`` and caught by the CLI and the flows,
which print the line instead of a traceback.
"""

from __future__ import annotations


class LakeError(RuntimeError):
    """The lake cannot be opened or written as asked; the message says why and what to do."""


class ForeignLakeFolder(LakeError):
    """The lake folder holds files that are not citelake's, and no lake: a lake is not made there."""


class KeyCheckFailed(LakeError):
    """A key check found duplicate keys: the run was rolled back."""


class IngestError(RuntimeError):
    """An ingest that cannot run or commit; the message is one line saying why, for the user."""


class SourceError(IngestError):
    """The source folder is missing or cannot be read."""


class IngestCollision(IngestError):
    """Another ingest holds the lake, or committed to it during this run: nothing was written."""


class LakeFolderError(IngestError):
    """The lake folder is a file, holds other files than a lake's, or this process cannot write it."""


def first_line(error: BaseException) -> str:
    """An error's first line of text (its type's name when it has none), for a one-line message."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__

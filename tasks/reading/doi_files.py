"""The files of DOIs a user gives: a plain list, a BibTeX file or an RIS file, read entry by entry.

``citelake watch import`` watches their DOIs (:func:`read_doi_file`) and
``citelake check`` reports on each entry in the file's order
(:func:`read_entries`). DOIs go through the one normaliser,
``tasks.reading.record.valid_doi``; entries without a DOI, or with text that is
not one, are reported, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tasks.lake.errors import LakeError
from tasks.reading.record import InvalidDOI, valid_doi

FILE_FORMATS = ("list", "bibtex", "ris")


@dataclass(frozen=True, slots=True)
class DoiFile:
    """The DOIs of an imported file, in file order and once each, and the entries that gave none.

    ``without_doi`` names each entry that has no DOI (its key or title);
    ``invalid`` holds ``(entry, message)`` for each whose DOI is not one.
    """

    file_format: str
    dois: list[str]
    without_doi: list[str] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)


def detect_format(path: Path, text: str) -> str:
    """``bibtex`` for ``*.bib`` or text starting with ``@``, ``ris`` for ``*.ris`` or a ``TY  -`` tag, else ``list``."""
    suffix = path.suffix.lower()
    if suffix in (".bib", ".bibtex"):
        return "bibtex"
    if suffix == ".ris":
        return "ris"
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("@"):
        return "bibtex"
    if stripped.startswith("TY  -"):
        return "ris"
    return "list"


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One entry of a DOI file, in the file's order.

    ``key`` is the BibTeX key or the RIS ``ID`` (None in a plain list), ``name``
    how messages name the entry (``@article{key}``, ``JOUR 'title'``, the list's
    line), ``doi`` the DOI as written (None: the entry has none), ``title`` the
    entry's title where the file gives one. ``unparsable`` marks a BibTeX block
    that could not be read.
    """

    key: str | None
    name: str
    doi: str | None
    title: str | None = None
    unparsable: bool = False


def read_doi_file(path: Path | str) -> DoiFile:
    """The DOIs of a plain list (one a line, ``#`` comments), a BibTeX file or an RIS file."""
    return _collect(*read_entries(path))


def read_entries(path: Path | str) -> tuple[str, list[FileEntry]]:
    """The file's format and its entries in order (:class:`FileEntry`); :class:`LakeError` when it cannot be read."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as error:
        raise LakeError(f"{path}: cannot read it ({error.strerror or error})") from error
    file_format = detect_format(path, text)
    if file_format == "bibtex":
        entries = _bibtex_entries(text)
    elif file_format == "ris":
        entries = _ris_entries(text, path)
    else:
        entries = [
            FileEntry(key=None, name=line.strip(), doi=line.strip())
            for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
    return file_format, entries


def _bibtex_entries(text: str) -> list[FileEntry]:
    import bibtexparser
    from bibtexparser.model import DuplicateBlockKeyBlock, Entry, ParsingFailedBlock

    library = bibtexparser.parse_string(text)
    entries = []
    # All blocks, so that entries and unreadable blocks keep the file's order; an entry
    # whose key an earlier one took is still a reference (bibtexparser sets it aside).
    for block in library.blocks:
        if isinstance(block, DuplicateBlockKeyBlock) and isinstance(block.ignore_error_block, Entry):
            block = block.ignore_error_block
        if isinstance(block, Entry):
            fields = {name.lower(): value for name, value in block.fields_dict.items()}
            doi, title = fields.get("doi"), fields.get("title")
            entries.append(
                FileEntry(
                    key=block.key,
                    name=f"@{block.entry_type}{{{block.key}}}",
                    doi=str(doi.value).strip("{} ") if doi else None,
                    title=_bibtex_value(title.value) if title else None,
                )
            )
        elif isinstance(block, ParsingFailedBlock):
            entries.append(FileEntry(key=None, name=f"unparsable BibTeX at line {block.start_line + 1}", doi=None, unparsable=True))
    return entries


def _bibtex_value(value: object) -> str:
    # Braces protect case in a BibTeX title ({DNA} repair); the text without them is what it says.
    return " ".join(str(value).replace("{", "").replace("}", "").split())


def _ris_entries(text: str, path: Path) -> list[FileEntry]:
    import rispy

    try:
        records = rispy.loads(text)
    except Exception as error:  # rispy raises IOError and ValueError variants for a malformed file
        raise LakeError(f"{path}: not a readable RIS file ({error})") from error
    entries = []
    for number, record in enumerate(records, start=1):
        given_title = record.get("primary_title") or record.get("title")
        title = given_title or f"record {number}"
        entries.append(
            FileEntry(
                key=record.get("id"),
                name=f"{record.get('type_of_reference', 'RIS')} {title!r}",
                doi=record.get("doi"),
                title=given_title,
            )
        )
    return entries


def _collect(file_format: str, entries: Iterable[FileEntry]) -> DoiFile:
    dois: dict[str, None] = {}
    without_doi, invalid = [], []
    for entry in entries:
        if entry.doi is None or not entry.doi.strip():
            without_doi.append(entry.name)
            continue
        try:
            dois[valid_doi(entry.doi)] = None
        except InvalidDOI as error:
            invalid.append((entry.name, str(error)))
    return DoiFile(file_format=file_format, dois=list(dois), without_doi=without_doi, invalid=invalid)

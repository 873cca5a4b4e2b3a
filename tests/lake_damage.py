"""Lakes for the verify and backup tests: one built from a generated corpus, and ways to damage its files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq

from tasks.lake.location import LakeLocation
from tasks.lake.ingest import ingest
from tasks.corpus.generate import write_corpus

# Enough pages that every table of pages is written to Parquet rather than inlined in the catalog.
CORPUS_FILES = 200


def generated_lake(folder: Path, count: int = CORPUS_FILES, seed: int = 7) -> LakeLocation:
    """A lake at ``folder/lake`` holding one ingest of a generated corpus (in ``folder/reports``)."""
    write_corpus(folder / "reports", count, seed)
    location = LakeLocation(path=folder / "lake")
    ingest(folder / "reports", location, workers=1)
    return location


def copy_of(location: LakeLocation, folder: Path) -> LakeLocation:
    """A copy of the lake folder (a copied lake opens where it is)."""
    shutil.copytree(location.path, folder)
    return LakeLocation(path=folder)


def parquet_file(location: LakeLocation, table: str) -> Path:
    """The one Parquet file of ``table`` in a lake written by one ingest."""
    (path,) = (location.data_path / "main" / table).glob("*.parquet")
    return path


def corrupt_column_page(path: Path, column: str) -> None:
    """Overwrite 256 bytes in the middle of a column's compressed pages, leaving the footer (and the size) intact."""
    metadata = pq.ParquetFile(path).metadata
    names = [metadata.schema.column(index).name for index in range(metadata.num_columns)]
    chunk = metadata.row_group(0).column(names.index(column))
    with open(path, "r+b") as handle:
        handle.seek(chunk.data_page_offset + chunk.total_compressed_size // 2)
        handle.write(b"\xff" * 256)

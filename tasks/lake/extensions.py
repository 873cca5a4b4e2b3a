"""DuckDB's extensions, loaded from the installed ``duckdb-extension-*`` packages and never downloaded.

:func:`connect` makes the in-memory DuckDB every lake session starts from, and
:func:`load_extensions` is the one place that loads an extension into it.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import duckdb

from tasks.lake.errors import LakeError


# Extension name → (PyPI package that ships it, file name inside the package).
EXTENSION_PACKAGES: dict[str, tuple[str, str]] = {
    "ducklake": ("duckdb_extension_ducklake", "ducklake"),
    "sqlite": ("duckdb_extension_sqlite_scanner", "sqlite_scanner"),
    "postgres": ("duckdb_extension_postgres_scanner", "postgres_scanner"),
    "fts": ("duckdb_extension_fts", "fts"),
    "httpfs": ("duckdb_extension_httpfs", "httpfs"),
}


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that never downloads an extension.

    It loads the extension files of the installed ``duckdb-extension-*``
    packages (:func:`load_extensions`) without checking their signatures:
    DuckDB hashes the whole file to check one, about 65 ms for each of the two
    35 MB files at every open, 0.65 s of an ingest flow's 2.1 s that changed
    nothing. Those files were checked against the hashes of ``uv.lock`` when
    they were installed, beside the code that loads them. A user's SQL can load
    nothing: ``sql/query/confine.sql`` turns external access off first.
    """
    return duckdb.connect(
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_unsigned_extensions": True,
        }
    )


def extension_file(name: str) -> Path:
    """The file of a DuckDB extension in its installed ``duckdb-extension-*`` package."""
    if name not in EXTENSION_PACKAGES:
        raise LakeError(f"unknown DuckDB extension {name!r}; known: {', '.join(EXTENSION_PACKAGES)}")
    package, file_name = EXTENSION_PACKAGES[name]
    distribution = package.replace("_", "-")
    try:
        module = importlib.import_module(package)
    except ImportError as error:
        raise LakeError(
            f"DuckDB extension {name!r} needs the package {distribution}=={duckdb.__version__}, "
            "which is not installed"
        ) from error
    path = Path(module.__file__).parent / "extensions" / f"v{duckdb.__version__}" / f"{file_name}.duckdb_extension"
    if not path.is_file():
        raise LakeError(
            f"{distribution} holds no build for DuckDB {duckdb.__version__} (looked for {path}); "
            f"install {distribution}=={duckdb.__version__}"
        )
    return path


def load_extensions(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Load DuckDB extensions from the installed ``duckdb-extension-*`` packages, never from the network."""
    for name in names:
        con.load_extension(str(extension_file(name)))

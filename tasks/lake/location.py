"""Where a lake lives: its folder and catalog, the names in its folder, and whether it was moved.

:class:`LakeLocation` names a lake (folder, and a PostgreSQL catalog or the
embedded one); :func:`resolve_location` finds it from options or the
environment; :func:`check_lake_home` refuses a folder of other files; a lake
folder moved or copied elsewhere is recognised by the data path its catalog
records (:func:`moved_from`).
"""

from __future__ import annotations

import os
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from tasks.lake.errors import ForeignLakeFolder, LakeError
from tasks.lake.object_storage import ObjectUrl, is_object_url


LAKE_ALIAS = "lake"


CATALOG_FILE = "catalog.sqlite"


DATA_DIR = "data"


DEFAULT_LAKE = Path("lake")


SPILL_DIR = "_spill"


# What citelake itself writes in a lake folder (the catalog and its journals, the
# data, the spill, staging and search folders, the ingest lock): a folder that
# holds nothing else may become a lake, one that holds other files may not.
LAKE_FOLDER_NAMES = frozenset(
    {
        CATALOG_FILE,
        f"{CATALOG_FILE}-wal",
        f"{CATALOG_FILE}-shm",
        f"{CATALOG_FILE}-journal",
        DATA_DIR,
        SPILL_DIR,
        "_staging",
        "_search",
        "explain",  # a bucket lake's explain site, in its cache folder (flows.explain.default_site)
        "ingest.lock",
        "ingest.lock.holder",
    }
)


FOREIGN_NAMES_SHOWN = 5


@dataclass(frozen=True, slots=True)
class LakeLocation:
    """Where a lake lives.

    ``path`` is the lake folder: it holds ``data/`` (the Parquet files) and, with
    the embedded catalog, ``catalog.sqlite``. ``catalog`` is a PostgreSQL
    connection string (URL or libpq ``key=value`` form) for a shared catalog, or
    None for the embedded SQLite catalog.
    """

    path: Path
    catalog: str | None = None
    url: str | None = None  # s3://BUCKET/PREFIX of a lake on object storage; ``path`` is then its local cache

    @property
    def on_object_storage(self) -> bool:
        return self.url is not None

    @property
    def lake_option(self) -> str:
        """The lake as ``--lake`` names it (a folder, or an s3:// URL), for a run that resolves it again elsewhere."""
        return self.url or str(self.path)

    @property
    def data_path(self) -> Path:
        """The local data folder (a lake on object storage has none: see :attr:`data_url`)."""
        return self.path / DATA_DIR

    @property
    def data_url(self) -> str:
        """Where the Parquet files are, as DuckLake's data path (with its trailing slash)."""
        return f"{self.url}/{DATA_DIR}/" if self.url else f"{self.data_path}/"

    @property
    def catalog_file(self) -> Path:
        return self.path / CATALOG_FILE

    def describe(self) -> str:
        """A human-readable name of the lake for messages, logs and artifacts (the catalog's password left out)."""
        where = self.url or str(self.path)
        return f"{where} (catalog {without_password(self.catalog)})" if self.catalog else where


def without_password(conninfo: str) -> str:
    """A PostgreSQL connection string (URL or ``key=value`` form) with its password replaced by ``***``."""
    conninfo = re.sub(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", conninfo)
    return re.sub(r"^(postgres(?:ql)?://[^:/@?#]*):[^@/?#]*@", r"\1:***@", conninfo)


def resolve_location(lake: str | Path | None = None, catalog: str | None = None) -> LakeLocation:
    """The lake to use: the options given, else ``CITELAKE_LAKE`` / ``CITELAKE_CATALOG``, else ``./lake``.

    ``s3://BUCKET/PREFIX`` names a lake on object storage: its files live there,
    its catalog must be PostgreSQL (:func:`check_catalog`), and what citelake
    keeps locally (search index, staged batches, spill) goes to its cache folder.
    """
    lake = lake or os.environ.get("CITELAKE_LAKE") or DEFAULT_LAKE
    catalog = catalog or os.environ.get("CITELAKE_CATALOG") or None
    if is_object_url(lake):
        url = str(ObjectUrl.parse(str(lake)))
        return LakeLocation(path=cache_folder(url), catalog=catalog, url=url)
    return LakeLocation(path=Path(lake).expanduser().resolve(), catalog=catalog)


def cache_root() -> Path:
    """``CITELAKE_CACHE``, else ``$XDG_CACHE_HOME/citelake``, else ``~/.cache/citelake``."""
    if configured := os.environ.get("CITELAKE_CACHE"):
        return Path(configured).expanduser().resolve()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser().resolve() / "citelake"


def cache_folder(url: str) -> Path:
    """The local cache of the lake at ``url``: ``<cache root>/s3/BUCKET/PREFIX`` (names kept, so a user finds it)."""
    parsed = ObjectUrl.parse(url)
    parts = [part for part in parsed.prefix.split("/") if part not in ("", ".", "..")]
    return cache_root() / "s3" / parsed.bucket / Path(*parts) if parts else cache_root() / "s3" / parsed.bucket


def check_catalog(location: LakeLocation) -> None:
    """Refuse a lake on object storage without a PostgreSQL catalog, before anything is written."""
    if location.on_object_storage and location.catalog is None:
        raise LakeError(
            f"the lake {location.url} on object storage needs a PostgreSQL catalog (--catalog or CITELAKE_CATALOG): "
            "the embedded SQLite catalog is a local file that other machines cannot share"
        )


def check_lake_home(location: LakeLocation) -> None:
    """Raise :class:`ForeignLakeFolder` unless the lake folder may hold this lake.

    It may when it is missing or empty, already holds a lake (the catalog and
    ``data/``; ``data/`` alone with a PostgreSQL catalog), or holds only what
    citelake writes there (a first run that stopped early). A folder of other
    files is refused before anything is written beside them.
    """
    try:
        names = sorted(os.listdir(location.path))
    except OSError:  # missing (made later), or a file or unreadable: the caller's own checks say so
        return
    foreign = [name for name in names if name not in LAKE_FOLDER_NAMES]
    if not foreign or _holds_lake(location):
        return
    shown = ", ".join(foreign[:FOREIGN_NAMES_SHOWN]) + (", …" if len(foreign) > FOREIGN_NAMES_SHOWN else "")
    raise ForeignLakeFolder(
        f"--lake names a folder that holds other files: {location.path} ({shown}); choose an empty or new folder"
    )


def _holds_lake(location: LakeLocation) -> bool:
    if not location.data_path.is_dir():
        return False
    return location.catalog is not None or location.catalog_file.is_file()


def check_exists(location: LakeLocation) -> None:
    if location.catalog is None and not location.catalog_file.is_file():
        raise LakeError(f"no lake at {location.path}: {location.catalog_file} does not exist (run an ingest first)")


def _stored_data_path(location: LakeLocation) -> str | None:
    """The data path the embedded catalog records, or None for a catalog without one yet."""
    if not location.catalog_file.is_file():
        return None
    from tasks.lake.sql import read_sql  # imports DuckDB, which an ingest's argument checks do not need

    try:
        uri = f"{location.catalog_file.as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=30)) as catalog:
            row = catalog.execute(read_sql("lake/stored_data_path.sql")).fetchone()
    except sqlite3.Error:
        return None  # not a DuckLake catalog (yet): ATTACH says what is wrong
    return row[0] if row else None


def moved_from(location: LakeLocation) -> str | None:
    """Where the lake folder was when its catalog was made, if that is not where it is now."""
    stored = _stored_data_path(location)
    if stored is None:
        return None
    stored_folder = Path(stored.rstrip("/"))
    if stored_folder.resolve() == location.data_path.resolve():
        return None
    return str(stored_folder.parent)


def record_data_path(location: LakeLocation) -> None:
    """Record the lake's own data folder in its catalog, so a moved or copied lake opens here without override."""
    from tasks.lake.sql import read_sql

    with closing(sqlite3.connect(location.catalog_file, timeout=30)) as catalog, catalog:
        catalog.execute(read_sql("lake/record_data_path.sql"), {"data_path": f"{location.data_path}/"})


def catalog_holders(location: LakeLocation) -> list[str]:
    """The other processes that have the embedded catalog open, as ``pid N (command)``; empty when unknown.

    Read from ``/proc`` (Linux), so only processes this user may inspect are seen.
    """
    if location.catalog is not None:
        return []
    wanted = {str(location.catalog_file), f"{location.catalog_file}-wal"}
    holders = []
    for entry in Path("/proc").glob("[0-9]*"):
        if int(entry.name) == os.getpid():
            continue
        try:
            if not any(os.readlink(fd) in wanted for fd in (entry / "fd").iterdir()):
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        holders.append(f"pid {entry.name} ({command[:80] or '?'})")
    return holders

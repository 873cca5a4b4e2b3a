"""polars' memory allocator, told to give freed memory back to the system sooner.

polars allocates with its own jemalloc and configures it when imported
(``polars/__init__.py``: ``dirty_decay_ms:500,muzzy_decay_ms:1000``, then what
``_RJEM_MALLOC_CONF`` already holds, which overrides it; see pola-rs/polars#23128).
A page it frees is kept half a second as dirty, then another second as muzzy,
before the system gets it back; a parser process, which frees a batch's memory
about every quarter of a second, kept up to a second and a half of it. With
``muzzy_decay_ms:0`` a page goes back as it leaves the dirty state. Measured on
ten batches of 2,000 pages in one process: 179 MB against 195-201 MB, in the
same time (adding ``dirty_decay_ms:0``: 141 MB, but with 2.6 times the system
time). A million pages, all processes, this setting and the fresh connection
after the plan (``tasks.lake.ingest``) together: 979 MB against 1,006 MB for a
first run, 1,188 MB against 1,319 MB for a re-save of every file.

jemalloc reads its settings once, when polars is imported, so
:func:`return_freed_memory` is called by the entry points before anything
imports polars (``flows.cli``, the benchmarks), and the parser processes are
started with it in their environment (``tasks.reading.batch``). A value the
user set is kept. This module imports nothing that allocates through polars.
"""

from __future__ import annotations

import os

ALLOCATOR_SETTINGS_VARIABLE = "_RJEM_MALLOC_CONF"
ALLOCATOR_SETTINGS = "muzzy_decay_ms:0"


def return_freed_memory() -> None:
    """Set polars' allocator settings for this process (if polars is not imported yet) and every process it starts."""
    os.environ.setdefault(ALLOCATOR_SETTINGS_VARIABLE, ALLOCATOR_SETTINGS)

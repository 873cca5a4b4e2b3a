-- A copied embedded catalog (SQLite), attached by itself, read-only, to list the
-- files it references. {path} and {alias} are filled in (quoted): ATTACH takes no
-- bound parameters.
attach {path} as {alias} (type sqlite, read_only)

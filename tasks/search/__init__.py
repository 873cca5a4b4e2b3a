"""Statement search: the tantivy index kept beside the lake, and the queries over it."""

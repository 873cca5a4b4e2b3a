"""The lake: the one place that opens it (connection), the ingest's plan and commit, maintenance, read-only SQL and export, and the run report."""

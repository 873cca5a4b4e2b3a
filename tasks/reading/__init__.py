"""Reading report files: the parsers (reference and vectorised), the record, the split into frames, batches in parser processes, staging, and the corpus generator."""

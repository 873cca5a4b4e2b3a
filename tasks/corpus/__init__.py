"""The synthetic-corpus generator and its test oracle: for tests, benchmarks and examples, not read by the product."""

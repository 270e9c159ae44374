"""Benchmarks of the connector runtime against the local sandbox (see BENCHMARKS.md)."""

"""Benchmarks for cs_mcp: `python -m benchmarks.run [--quick] [--write]` prints one table (BENCHMARKS.md)."""

"""Benchmarks (dev-only): each prints a table and writes bench/results/<name>.json."""

"""Benchmarks: `./run bench` (python -m bench)."""

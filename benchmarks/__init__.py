"""Benchmarks: one script per figure; each prints a JSON line and a human line (see README.md)."""

"""Benchmarks (``make bench``): speed and memory, measured beside floors from the same run."""

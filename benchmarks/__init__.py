"""Benchmarks of connectsafely-async against the raw limit and a typical peer client.

Run with ``python -m benchmarks`` (``--quick`` for a seconds-long smoke run); see README.md.
"""

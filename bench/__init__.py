"""Benchmarks of dagster-livy: `python -m bench [--runs 5] [--quick]` (or `make bench`).

Speed targets live here as printed tables with ratios measured side by side in one run, never in
the tests. The bench starts its OWN Livy server (own run dir, lakehouse, free loopback port) and a
private Dagster instance, so a developer's `make up` server, .lakehouse and .dagster are untouched.
See bench/README.md.
"""

"""drfulfillment's benchmarks: every figure a ratio to a baseline measured in the same run.

Run them all with ``.venv/bin/python -m benchmarks`` (``--quick`` for the small smoke
sizes CI uses). See docs/benchmarks.md for the latest table.
"""

"""Helpers of bench/run: the servers under test, the measurements and the report."""

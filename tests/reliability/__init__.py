"""Fault-injection suite (marker ``reliability``): kill -9, worker kills, database outages,
hostile input, bounded memory, signals, target-side rejections. Real processes and databases."""

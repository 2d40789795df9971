"""framewatch benchmarks: `make bench` (python -m benchmarks)."""

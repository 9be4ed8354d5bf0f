"""Load and latency harness: `python -m bench` (see bench/README.md)."""

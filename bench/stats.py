"""Latency statistics of one load run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunStats:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: tuple[float, ...]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return 0.0
        index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
        return ordered[index]

    def row(self) -> str:
        return (
            f"{self.name:<34} {self.rps:>9.0f} rps  p50 {self.percentile(0.50):7.2f} ms  "
            f"p95 {self.percentile(0.95):7.2f} ms  p99 {self.percentile(0.99):7.2f} ms  "
            f"errors {self.errors}"
        )

"""Folding bursts of triggers into one replan: fire after ``quiet_s`` without news, or ``max_s`` at most.

A breakdown usually arrives as several events at once (the machine state, then the bottleneck the
streams detect, then orders moved by sales): one replan for the lot is both cheaper and steadier.
Pure logic with an explicit clock, so the service loop and the tests drive it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Debouncer:
    quiet_s: float
    max_s: float
    _first: float | None = None
    _last: float | None = None
    _reasons: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.quiet_s <= 0 or self.max_s < self.quiet_s:
            raise ValueError("need 0 < quiet_s <= max_s")

    @property
    def pending(self) -> bool:
        return self._first is not None

    def add(self, reason: str, now: float) -> None:
        """Record a trigger seen at ``now`` (monotonic seconds)."""
        if self._first is None:
            self._first = now
        self._last = now
        if reason not in self._reasons:
            self._reasons.append(reason)

    def due(self, now: float) -> bool:
        if self._first is None or self._last is None:
            return False
        return now - self._last >= self.quiet_s or now - self._first >= self.max_s

    def wait_s(self, now: float) -> float | None:
        """Seconds until the burst is due (0 when due already), or None with nothing pending."""
        if self._first is None or self._last is None:
            return None
        remaining = min(self._last + self.quiet_s, self._first + self.max_s) - now
        return max(0.0, remaining)

    def take(self) -> list[str]:
        """The reasons of the burst, in arrival order; the debouncer starts afresh."""
        reasons, self._reasons = self._reasons, []
        self._first = self._last = None
        return reasons

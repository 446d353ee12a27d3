"""Reproducible fault injection: with a seed, the same sequence of requests meets the same faults."""
from __future__ import annotations

import random
import threading

KINDS = ("500", "503", "429", "reset", "truncate")
PART_KINDS = ("500", "503", "429")  # what a single part of a batch can suffer


class FaultPlan:
    def __init__(self, rate: float = 0.0, seed: int | None = None, kinds=KINDS):
        self._lock = threading.Lock()
        self.configure(rate, seed, kinds)

    def configure(self, rate: float, seed: int | None = None, kinds=KINDS) -> None:
        unknown = set(kinds) - set(KINDS)
        if unknown or not 0 <= rate <= 1:
            raise ValueError(f"bad fault settings: rate={rate}, unknown kinds={sorted(unknown)}")
        with self._lock:
            self.rate, self.kinds = rate, tuple(kinds)
            self._rng = random.Random(seed)
            self.injected: dict[str, int] = {}

    def draw(self, part: bool = False) -> str | None:
        """The fault for the next request (or batch part), or None."""
        with self._lock:
            if self.rate <= 0 or self._rng.random() >= self.rate:
                return None
            kinds = [k for k in self.kinds if k in PART_KINDS] if part else list(self.kinds)
            if not kinds:
                return None
            kind = self._rng.choice(kinds)
            self.injected[kind] = self.injected.get(kind, 0) + 1
            return kind

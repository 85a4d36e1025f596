"""Wall time per named stage, for the timings kept in feature records and reported by ``detect``."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


class Stopwatch:
    """Accumulates wall time per named stage; a stage entered inside another is not counted twice
    (the outer stage gets its own time only), so the stages add up to the total."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._inner: list[float] = []  # time spent in nested stages, per open stage

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        self._inner.append(0.0)
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            nested = self._inner.pop()
            self.seconds[stage] = self.seconds.get(stage, 0.0) + elapsed - nested
            if self._inner:
                self._inner[-1] += elapsed

    def timed(self, stage: str, items: Iterable[T]) -> Iterator[T]:
        """Iterate ``items`` counting the time spent producing each one under ``stage``."""
        iterator = iter(items)
        while True:
            with self(stage):
                item = next(iterator, None)
            if item is None:
                return
            yield item

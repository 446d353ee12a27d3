"""Handling a room's events concurrently without losing any: lanes (one card's events in order,
different cards at once) and checkpoints (the sync token is saved only when every event up to it
is handled, so a restart replays exactly what was still in progress)."""
from __future__ import annotations

import asyncio
from collections import deque
from contextlib import asynccontextmanager
from typing import Callable


class Lanes:
    """One asyncio.Lock per key (a card's thread root); a lane is dropped once nobody holds or waits for it."""

    def __init__(self):
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def lane(self, key: str):
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:  # asyncio.Lock wakes waiters first come, first served
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]


class Checkpoints:
    """Sync tokens in arrival order, each waiting for the tasks handling its batch; `save` gets the newest
    token whose batch and every earlier batch are done."""

    def __init__(self, save: Callable[[str], None]):
        self.save = save
        self.batches: deque[tuple[str, set]] = deque()

    def add(self, token: str, tasks: list[asyncio.Task]) -> None:
        pending = {task for task in tasks if not task.done()}
        self.batches.append((token, pending))
        for task in pending:
            task.add_done_callback(self._finished)
        self._advance()

    def _finished(self, task: asyncio.Task) -> None:
        if task.cancelled() or task.exception() is not None or task.result() is False:
            return  # stopped before its event was handled (shutdown): this token and every later one stay unsaved
        for _, pending in self.batches:
            pending.discard(task)
        self._advance()

    def _advance(self) -> None:
        newest = None
        while self.batches and not self.batches[0][1]:
            newest = self.batches.popleft()[0]
        if newest is not None:
            self.save(newest)

    @property
    def in_progress(self) -> int:
        return sum(len(pending) for _, pending in self.batches)

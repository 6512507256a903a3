"""Journaled messages without an outcome: spool workers, and recovery after a crash.

In spool mode the SMTP reply is sent once the message is journaled; these workers then run the pipeline,
retrying with backoff while Odoo is unavailable, until `pipeline.max_attempts` (then `orderd replay`).
In inline mode the same machinery only recovers orphans: messages journaled by a process that died
before recording their outcome (the sender never got a 250 for them, but may never retry either).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from datetime import UTC, datetime

import structlog

from orderd.intake.entry import run_entry
from orderd.intake.services import Services
from orderd.records import JournalState
from orderd.store import FINAL_STATES, StoreUnavailable

log = structlog.get_logger("orderd.spool")


class Spool:
    def __init__(self, services: Services, *, orphan_age: float, poll_interval: float = 2.0) -> None:
        cfg = services.config.pipeline
        self.services = services
        self.spool_mode = cfg.mode == "spool"
        self.workers = cfg.max_concurrent if self.spool_mode else 1
        self.orphan_age = orphan_age
        self.poll_interval = poll_interval
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._not_before: dict[str, float] = {}  # key -> monotonic time of its next attempt
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def wake(self) -> None:
        self._wakeup.set()

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._feed(), name="spool-feed")]
        self._tasks += [asyncio.create_task(self._work(), name=f"spool-{i}") for i in range(self.workers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def backoff(self, attempts: int) -> float:
        cfg = self.services.config.pipeline
        delay = min(cfg.retry_base_delay * 2 ** max(attempts - 1, 0), cfg.retry_max_delay)
        return delay * random.uniform(0.8, 1.2)  # jitter: retries of a burst do not arrive together

    async def _feed(self) -> None:
        while True:
            try:
                await self._scan()
            except StoreUnavailable as exc:
                log.warning("spool_scan_failed", error=str(exc))
            except Exception:
                log.exception("spool_scan_error")
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.poll_interval)

    async def _scan(self) -> None:
        store = self.services.store
        now = datetime.now(UTC)
        candidates = await store.entries(state=JournalState.RECEIVED, limit=1000, with_raw=False)
        if self.spool_mode:
            failed = await store.entries(state=JournalState.FAILED, limit=1000, with_raw=False)
            max_attempts = self.services.config.pipeline.max_attempts
            candidates += [e for e in failed if e.attempts < max_attempts]
        for entry in sorted(candidates, key=lambda e: e.received_at):
            key = entry.key
            if key in self._queued or self.services.busy(key):
                continue
            if not self.spool_mode and (now - entry.received_at).total_seconds() < self.orphan_age:
                continue  # perhaps still in another instance's DATA
            if time.monotonic() < self._not_before.get(key, 0.0):
                continue
            self._queued.add(key)
            self._queue.put_nowait(key)

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            try:
                await self._run(key)
            except Exception:
                log.exception("spool_run_error", key=key[:12])
                self._not_before[key] = time.monotonic() + self.backoff(1)
            finally:
                self._queued.discard(key)

    async def _run(self, key: str) -> None:
        entry = await self.services.store.get(key)
        if entry is None or entry.state in FINAL_STATES:
            return
        result = await run_entry(entry, self.services)
        if result.recorded:
            self._not_before.pop(key, None)
            log.info("spool_done", key=key[:12], result=result.status, order=result.order_name,
                     recovered=not self.spool_mode)
        else:
            delay = self.backoff(entry.attempts + 1)
            self._not_before[key] = time.monotonic() + delay
            log.warning("spool_retry", key=key[:12], result=result.status, unavailable=result.unavailable,
                        attempt=entry.attempts + 1, retry_in=round(delay, 1))

"""Run the simulator on its own event loop in a background thread.

For synchronous callers (odoorpc in tests, benchmarks, ``orderd demo``) that need a live Odoo
endpoint without sharing their event loop with it.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from odoosim.server import Faults, RunningSim, start
from odoosim.sim import OdooSim


class ThreadedSim:
    """``url``, ``port``, ``sim``, ``set_faults(...)``, ``clear_faults()``, ``close()``."""

    def __init__(self, sim: OdooSim, host: str = "127.0.0.1", port: int = 0, *,
                 state_path: str | Path | None = None, faults: Faults | None = None,
                 latency: float = 0.0) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="odoosim", daemon=True)
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            start(sim, host, port, state_path=state_path, faults=faults, latency=latency), self._loop
        )
        try:
            self.running: RunningSim = future.result(timeout=30)
        except BaseException:
            self._stop_loop()
            raise
        self.url = self.running.url
        self.host = self.running.host
        self.port = self.running.port

    @property
    def sim(self) -> OdooSim:
        return self.running.sim

    def set_faults(self, **settings: Any) -> Faults:
        # Replacing the settings object is a single attribute store, safe across threads.
        return self.running.set_faults(**settings)

    def clear_faults(self) -> None:
        self.running.clear_faults()

    def close(self) -> None:
        if not self._loop.is_closed():
            asyncio.run_coroutine_threadsafe(self.running.close(), self._loop).result(timeout=30)
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    def __enter__(self) -> ThreadedSim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(running: ThreadedSim | RunningSim, *, timeout: float = 10.0, login: bool = True,
            db: str = "orders", user: str = "admin", password: str = "admin") -> Any:
    """An odoorpc client for a running simulator (blocking: from async code call it in a thread)."""
    import odoorpc  # only callers that speak odoorpc need it

    client = odoorpc.ODOO(running.host, port=running.port, timeout=timeout)
    if login:
        client.login(db, user, password)
    return client


def start_in_thread(sim: OdooSim, host: str = "127.0.0.1", port: int = 0, **options: Any) -> ThreadedSim:
    return ThreadedSim(sim, host, port, **options)

"""Wires the SMTP front, the HTTP endpoint, the store, the Odoo client and the outbox into one loop."""

from __future__ import annotations

import asyncio
import errno
import signal
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import structlog
from aiohttp import web

from orderd.config import Config, parse_hostport
from orderd.extract import warm
from orderd.intake.entry import intake
from orderd.intake.services import Services
from orderd.intake.spool import Spool
from orderd.learning import LearningPoller
from orderd.odoo.catalog import CatalogCache
from orderd.odoo.client import OdooClient
from orderd.odoo.orders import OdooOrderBook
from orderd.outbox import OutboxSender, probe_relay
from orderd.smtp import SmtpFront
from orderd.store import open_store
from orderd.web.http import make_app

log = structlog.get_logger("orderd.app")


class PortInUse(Exception):
    """Something else already listens where the configuration says orderd should."""

    def __init__(self, key: str, address: str) -> None:
        super().__init__(f"{address} is already in use ({key})")
        self.key = key
        self.address = address


def _in_use(exc: OSError) -> bool:
    return exc.errno == errno.EADDRINUSE


async def open_services(config: Config, executor: ThreadPoolExecutor | None = None,
                        *, with_outbox: bool = True) -> Services:
    """Open the store, the Odoo client, the catalog cache and (unless told not to) the outbox sender."""
    store = await open_store(config.store.url)
    odoo = OdooClient(config.odoo)
    await odoo.start()
    outbox = None
    if with_outbox:
        outbox = OutboxSender(store, config.relay)
        await outbox.start()
    catalog = CatalogCache(odoo, config.odoo.catalog_refresh)
    return Services(config, store, OdooOrderBook(odoo), catalog, outbox, executor, odoo=odoo)


async def close_services(services: Services) -> None:
    await services.catalog.close()
    if services.outbox is not None:
        await services.outbox.stop()
    if services.odoo is not None:
        await services.odoo.close()
    await services.store.close()


class App:
    """One orderd instance. start() binds everything; stop() drains it."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.services: Services | None = None
        self.spool: Spool | None = None
        self.learning: LearningPoller | None = None
        self.smtp: SmtpFront | None = None
        self.http_runner: web.AppRunner | None = None
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="orderd-extract")
        self.smtp_port = 0
        self.http_port = 0
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        cfg = self.config
        self.services = services = await open_services(cfg, self.executor)
        odoo = services.odoo
        assert odoo is not None  # open_services always connects one
        self.store, self.odoo, self.outbox = services.store, odoo, services.outbox
        try:
            catalog = await services.catalog.get()  # a down Odoo only delays this to the first message
        except Exception as exc:
            log.warning("catalog_not_loaded", error=str(exc))
        else:
            # Language pipelines and the catalog's matchers take seconds to build: not in a customer's DATA.
            await asyncio.get_running_loop().run_in_executor(self.executor, warm, catalog)
        # A crash can leave journaled messages without an outcome; with SQLite no other process can be
        # mid-DATA on them, while instances sharing PostgreSQL must wait out a DATA's longest life.
        orphan_age = 0.0 if cfg.store.url.startswith("sqlite") else cfg.smtp.data_timeout + 30
        self.spool = services.spool = Spool(services, orphan_age=orphan_age)
        await self.spool.start()
        if cfg.learning.enabled:
            self.learning = LearningPoller(services.store, services.odoo, cfg.learning)
            await self.learning.start()
        self.smtp = SmtpFront(cfg.smtp, partial(intake, services=services))
        try:
            _, self.smtp_port = await self.smtp.start()
        except OSError as exc:
            if _in_use(exc):
                raise PortInUse("smtp.listen", cfg.smtp.listen) from exc
            raise
        checks = [("odoo", odoo.ping), ("relay", partial(probe_relay, cfg.relay)),
                  ("store", services.store.ping)]
        http_app = make_app(checks, store=services.store, console_token=cfg.http.console_token)
        self.http_runner = web.AppRunner(http_app, access_log=None)
        await self.http_runner.setup()
        host, port = parse_hostport("http.listen", cfg.http.listen)
        site = web.TCPSite(self.http_runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            if _in_use(exc):
                raise PortInUse("http.listen", cfg.http.listen) from exc
            raise
        self.http_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        log.info("started", smtp_port=self.smtp_port, http_port=self.http_port)

    async def stop(self) -> None:
        """Stop accepting mail, let DATA in flight finish, then close the peers."""
        log.info("stopping")
        if self.smtp is not None:
            await self.smtp.stop(grace=self.config.smtp.data_timeout + 5)
        if self.http_runner is not None:
            await self.http_runner.cleanup()
        if self.spool is not None:
            await self.spool.stop()
        if self.learning is not None:
            await self.learning.stop()
        if self.services is not None:
            await close_services(self.services)
        self.executor.shutdown(wait=False, cancel_futures=True)
        log.info("stopped")

    def request_stop(self) -> None:
        self._stopping.set()

    async def serve_until_signal(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        try:
            await self.start()
            await self._stopping.wait()
        finally:
            await self.stop()

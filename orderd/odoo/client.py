"""Odoo access through odoorpc, without ever blocking the event loop.

odoorpc is synchronous (urllib). Every call runs in a bounded pool of threads, each thread holding its
own odoorpc connection (odoorpc objects are not thread-safe), logged in lazily on first use. A call has
one deadline that covers waiting for a free thread, connecting/logging in and the request itself: the
socket timeout of each HTTP request is the time left, and an asyncio guard slightly longer than the
deadline catches a server that trickles bytes slower than the socket timeout would notice.

Errors come out as two kinds, because the pipeline's SMTP answer depends only on that:

* OdooUnavailable: we could not get an answer (refused, reset, timeout, HTTP error status, something
  that is not JSON-RPC, login refused). The message was not processed: answer 451, the sender retries.
* OdooError: Odoo answered with its error envelope (a bug on our side or a data problem). Carries
  Odoo's exception name and message.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import socket
import threading
import time
import urllib.error
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit

import odoorpc
import odoorpc.error
import structlog

from orderd.config import OdooConfig
from orderd.metrics import RPC_ERRORS, count_rpc

log = structlog.get_logger("orderd.odoo")

T = TypeVar("T")

# Extra seconds the asyncio guard waits beyond the call's deadline: the thread's own socket timeout
# should fire first and give a precise error; the guard is for what socket timeouts cannot see.
_GUARD_SLACK = 0.5
# Never hand urllib a zero or negative timeout (0 would mean non-blocking sockets).
_MIN_SOCKET_TIMEOUT = 0.05

# Odoo exception names that mean "your credentials were refused" or "your session is gone": the
# request was rejected before running, so logging in again and retrying once is safe.
_AUTH_ERRORS = ("AccessDenied", "SessionExpiredException")
# What Odoo (through PostgreSQL) says when the database named at login does not exist.
_NO_DATABASE = re.compile(r'database "[^"]*" does not exist')

# What urllib/http.client/json raise when the conversation with the server fails. URLError includes
# HTTPError (any 4xx/5xx status, e.g. a proxy's HTML 502 page); http.client.HTTPException covers a
# dropped connection mid-response (RemoteDisconnected is also a ConnectionResetError) and
# IncompleteRead; the decode errors cover a 200 whose body is not JSON (an HTML page) or not UTF-8.
_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    urllib.error.URLError,
    http.client.HTTPException,
    OSError,  # ConnectionError, TimeoutError/socket.timeout, ...
    json.JSONDecodeError,
    UnicodeDecodeError,
)


class OdooUnavailable(Exception):
    """Odoo could not be reached or did not answer in time; the operation may be retried later."""


class OdooError(Exception):
    """Odoo answered with an error envelope: `name` is Odoo's exception name, e.g.
    'odoo.exceptions.UserError', `message` its text."""

    def __init__(self, name: str, message: str, model: str = "", method: str = "") -> None:
        super().__init__(f"{model}.{method}: {name}: {message}" if model else f"{name}: {message}")
        self.name = name
        self.message = message
        self.model = model
        self.method = method

    @property
    def short_name(self) -> str:
        """'UserError' for 'odoo.exceptions.UserError'."""
        return self.name.rsplit(".", 1)[-1]

    @classmethod
    def from_rpc(cls, exc: odoorpc.error.RPCError, model: str = "", method: str = "") -> OdooError:
        info = exc.info if isinstance(exc.info, dict) else {}
        data = info.get("data") if isinstance(info.get("data"), dict) else {}
        name = str(data.get("name") or info.get("message") or "RPCError")
        message = str(data.get("message") or exc)
        return cls(name, message, model, method)


def _is_auth_error(err: OdooError) -> bool:
    return err.short_name in _AUTH_ERRORS


def describe_transport_error(exc: BaseException) -> str:
    """A short human reason for a failed conversation, for logs and for OdooUnavailable."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, TimeoutError | socket.timeout):
            return "timed out"
        return f"connection failed ({reason})"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return f"not a JSON-RPC answer ({exc.__class__.__name__})"
    return f"connection failed ({exc.__class__.__name__}: {exc})"


class _Deadline:
    """The time one call may still take, shared by every request it makes."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise OdooUnavailable("timed out before the request could be sent")
        return max(left, _MIN_SOCKET_TIMEOUT)


class OdooClient:
    """odoorpc in a bounded pool of threads; see the module docstring."""

    def __init__(self, cfg: OdooConfig) -> None:
        self.cfg = cfg
        parts = urlsplit(cfg.url)
        self._protocol = "jsonrpc+ssl" if parts.scheme == "https" else "jsonrpc"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._local = threading.local()  # .odoo: odoorpc.ODOO | None, one per pool thread
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        # Lookups that do not change while orderd runs (ir.model ids, active languages, tag names),
        # filled by orderd.odoo.orders; kept here so they live and die with the connection settings.
        self.cache: dict[str, Any] = {}

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the thread pool. Threads connect and log in on their first call, so starting never
        fails when Odoo is down (readiness reports it instead)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self.cfg.concurrency, thread_name_prefix="odoo-rpc"
            )
            self._closed = False

    async def close(self) -> None:
        # Threads stuck in a request end by their socket timeout; nobody waits for their answer.
        executor, self._executor = self._executor, None
        self._closed = True
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    # --- public calls ------------------------------------------------------------------------

    async def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """`model.method(*args, **kwargs)` through execute_kw, within cfg.timeout."""
        count_rpc(model, method)
        return await self._submit(lambda odoo, deadline: self._execute_kw(odoo, deadline, model, method,
                                                                           list(args), kwargs),
                                  what=f"{model}.{method}")

    async def ping(self) -> str:
        """Server version, after making sure the login works (readiness wants both)."""
        count_rpc("common", "version")

        def version(odoo: odoorpc.ODOO, deadline: _Deadline) -> str:
            odoo.config["timeout"] = deadline.left()
            result = odoo.json("/jsonrpc", {"service": "common", "method": "version", "args": []})["result"]
            return str(result.get("server_version", ""))

        return await self._submit(version, what="common.version")

    # --- plumbing ----------------------------------------------------------------------------

    async def _submit(self, fn: Callable[[odoorpc.ODOO, _Deadline], T], what: str) -> T:
        if self._executor is None:
            if self._closed:
                raise OdooUnavailable("Odoo client is closed")
            await self.start()
        assert self._executor is not None
        # The deadline starts now: time spent queued behind busy threads counts against the call, so
        # the pipeline's own bound (and the SMTP session) is never exceeded because of a full pool.
        deadline = _Deadline(self.cfg.timeout)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._in_thread, fn, deadline)
        try:
            return await asyncio.wait_for(future, self.cfg.timeout + _GUARD_SLACK)
        except TimeoutError:
            RPC_ERRORS.labels("timeout").inc()
            log.warning("odoo_timeout", call=what, timeout=self.cfg.timeout)
            raise OdooUnavailable(f"Odoo did not answer {what} within {self.cfg.timeout:g}s") from None
        except OdooUnavailable as exc:
            RPC_ERRORS.labels("timeout" if "timed out" in str(exc) else "unavailable").inc()
            log.warning("odoo_unavailable", call=what, error=str(exc))
            raise
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._closed and task is not None and not task.cancelling():
                # close() dropped this queued call; the caller was not cancelled and must learn why.
                raise OdooUnavailable("Odoo client closed while the call was waiting") from None
            raise
        except OdooError as exc:
            RPC_ERRORS.labels("odoo_error").inc()
            log.info("odoo_error", call=what, name=exc.name, error=exc.message)
            raise

    def _in_thread(self, fn: Callable[[odoorpc.ODOO, _Deadline], T], deadline: _Deadline) -> T:
        """Runs in a pool thread: everything blocking happens here."""
        try:
            return self._with_relogin(fn, deadline)
        except (OdooError, OdooUnavailable):
            raise
        except odoorpc.error.RPCError as exc:  # an envelope outside execute_kw (ping)
            raise OdooError.from_rpc(exc) from exc
        except _TRANSPORT_ERRORS as exc:
            # The conversation broke: rebuild this thread's connection on its next use, in case the
            # server restarted (new version, db recreated) while we were away.
            self._local.odoo = None
            raise OdooUnavailable(f"Odoo at {self.cfg.url}: {describe_transport_error(exc)}") from exc

    def _with_relogin(self, fn: Callable[[odoorpc.ODOO, _Deadline], T], deadline: _Deadline) -> T:
        odoo = self._connection(deadline)
        try:
            return fn(odoo, deadline)
        except OdooError as err:
            if not _is_auth_error(err):
                raise
        # Credentials refused on an object call although the login worked before: the password or API
        # key changed, or the session expired. Odoo rejected the request before running it, so log in
        # again and retry once; a refused login then says which login failed.
        log.info("odoo_relogin", user=self.cfg.user, db=self.cfg.db)
        self._local.odoo = None
        odoo = self._connection(deadline)
        try:
            return fn(odoo, deadline)
        except OdooError as err:
            if _is_auth_error(err):
                raise OdooUnavailable(self._login_refused(err.message)) from err
            raise

    def _connection(self, deadline: _Deadline) -> odoorpc.ODOO:
        odoo: odoorpc.ODOO | None = getattr(self._local, "odoo", None)
        if odoo is None:
            odoo = self._connect(deadline)
            self._local.odoo = odoo
        return odoo

    def _connect(self, deadline: _Deadline) -> odoorpc.ODOO:
        """Version probe + login + context, three requests; counted in the RPC metric but not in the
        per-message count (they belong to the thread, not to the message being processed)."""
        count_rpc("common", "login")
        odoo = odoorpc.ODOO(self._host, protocol=self._protocol, port=self._port, timeout=deadline.left())
        odoo.config["timeout"] = deadline.left()
        try:
            odoo.login(self.cfg.db, self.cfg.user, self.cfg.password)
        except odoorpc.error.RPCError as exc:
            # common.login answers `false` for a wrong password (odoorpc raises RPCError without info);
            # an unknown database comes back as an error envelope. Either way we cannot work.
            detail = OdooError.from_rpc(exc).message if isinstance(exc.info, dict) else str(exc)
            raise OdooUnavailable(self._login_refused(detail)) from exc
        log.info("odoo_connected", url=self.cfg.url, db=self.cfg.db, user=self.cfg.user,
                 version=odoo.version, thread=threading.current_thread().name)
        return odoo

    def _login_refused(self, detail: str) -> str:
        if _NO_DATABASE.search(detail):
            return f"Odoo at {self.cfg.url} has no database {self.cfg.db!r} (check odoo.db)"
        return (f"Odoo at {self.cfg.url} refused the login {self.cfg.user!r} on database {self.cfg.db!r}: "
                f"{detail} (check odoo.user and odoo.password / API key)")

    @staticmethod
    def _execute_kw(odoo: odoorpc.ODOO, deadline: _Deadline, model: str, method: str,
                    args: list[Any], kwargs: dict[str, Any]) -> Any:
        odoo.config["timeout"] = deadline.left()
        try:
            return odoo.execute_kw(model, method, args, kwargs)
        except odoorpc.error.RPCError as exc:
            raise OdooError.from_rpc(exc, model, method) from exc

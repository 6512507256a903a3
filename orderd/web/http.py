"""The HTTP endpoint beside the SMTP listener: liveness, readiness, Prometheus metrics and, given a
store, the operator console (orderd/web/console.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from orderd import metrics
from orderd.store import Store
from orderd.web import console

# A readiness check: a name ("odoo", "relay", "store") and a coroutine that raises when it is not ready.
Check = tuple[str, Callable[[], Awaitable[object]]]


def make_app(checks: list[Check], *, check_timeout: float = 5.0, store: Store | None = None,
             console_token: str = "") -> web.Application:
    app = web.Application()

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        results = await asyncio.gather(*(_run(name, probe, check_timeout) for name, probe in checks))
        failing = {name: error for name, error in results if error}
        body = {"status": "ready" if not failing else "not ready",
                "checks": {name: error or "ok" for name, error in results}}
        if failing:
            body["failing"] = sorted(failing)
        return web.json_response(body, status=503 if failing else 200)

    async def metrics_view(request: web.Request) -> web.Response:
        resp = web.Response(body=generate_latest(metrics.REGISTRY))
        resp.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return resp

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    if store is not None:
        # Registered even without a token, so /console explains how to enable it instead of a bare 404.
        console.add_routes(app, store, console_token)
    return app


async def _run(name: str, probe: Callable[[], Awaitable[object]], timeout: float) -> tuple[str, str | None]:
    try:
        await asyncio.wait_for(probe(), timeout)
    except TimeoutError:
        return name, f"no answer within {timeout:g}s"
    except Exception as exc:
        return name, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return name, None

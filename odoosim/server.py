"""HTTP side of the simulator: Odoo's JSON-RPC routes, fault injection, state saving, CLI.

Routes (as odoorpc 0.10 uses them against Odoo 18):
  POST /jsonrpc                       services common / object / db
  POST /web/webclient/version_info    what odoorpc asks first when it connects
Control routes for tests and benchmarks (never faulted):
  GET/POST /__sim/faults, GET /__sim/calls, POST /__sim/reset-calls
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from odoosim.errors import NamedError, envelope
from odoosim.sim import OdooSim

FAULT_MODES = ("http500", "timeout", "drop")
# What a crashed reverse proxy in front of Odoo typically answers.
HTTP500_BODY = (
    "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n"
    "<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
SIM_KEY = web.AppKey("odoosim", OdooSim)
STATE_KEY: web.AppKey[SimState] = web.AppKey("odoosim_state")


@dataclass
class Faults:
    """Fault injection settings. ``count`` None means "until cleared"; ``methods`` filters calls by
    method name ("create"), model.method ("sale.order.create") or service.method ("common.login")."""

    latency: float = 0.0
    mode: str | None = None
    count: int | None = None
    methods: list[str] | None = None
    hold: float = 60.0  # how long "timeout" holds a request before dropping it

    def __post_init__(self) -> None:
        if self.mode not in (None, *FAULT_MODES):
            raise ValueError(f"fault mode must be one of {FAULT_MODES} or null, not {self.mode!r}")
        if self.latency < 0 or self.hold < 0:
            raise ValueError("latency and hold must not be negative")
        if self.count is not None and self.count < 0:
            raise ValueError("count must not be negative")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Faults:
        unknown = set(data) - {"latency", "mode", "count", "methods", "hold"}
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        return cls(
            latency=float(data.get("latency") or 0.0),
            mode=data.get("mode"),
            count=None if data.get("count") is None else int(data["count"]),
            methods=None if data.get("methods") is None else [str(m) for m in data["methods"]],
            hold=float(data.get("hold", 60.0)),
        )

    def matches(self, names: set[str]) -> bool:
        return self.methods is None or bool(names & set(self.methods))


@dataclass
class SimState:
    sim: OdooSim
    faults: Faults
    state_path: Path | None
    closing: asyncio.Event = field(default_factory=asyncio.Event)


def _call_names(path: str, params: dict[str, Any]) -> set[str]:
    """The names a fault filter can use for one request."""
    if path.endswith("version_info"):
        return {"version_info"}
    service, method = str(params.get("service")), str(params.get("method"))
    names = {method, f"{service}.{method}"}
    args = params.get("args") or []
    if service == "object" and isinstance(args, list) and len(args) >= 5:
        names |= {str(args[4]), f"{args[3]}.{args[4]}"}
    return names


async def _apply_faults(request: web.Request, state: SimState, names: set[str]) -> web.StreamResponse | None:
    faults = state.faults
    if not faults.matches(names):
        return None
    if faults.latency:
        await asyncio.sleep(faults.latency)
    if faults.mode is None or faults.count == 0:
        return None
    if faults.count is not None:
        faults.count -= 1
    if faults.mode == "http500":
        return web.Response(status=500, text=HTTP500_BODY, content_type="text/html")
    if faults.mode == "timeout":
        # Hold the request like a hung Odoo worker; give up early only when the server closes.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.closing.wait(), faults.hold)
    # "drop", and "timeout" after holding: close the TCP connection with no response at all.
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise asyncio.CancelledError  # nothing can be written any more; end the handler quietly


def _rpc_response(request_id: Any, result: Any) -> web.Response:
    return web.json_response({"jsonrpc": "2.0", "id": request_id, "result": result})


async def _handle_rpc(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    try:
        payload = await request.json()
        if not isinstance(payload, dict):
            raise ValueError("JSON-RPC request must be an object")
    except ValueError as exc:
        bad = NamedError("werkzeug.exceptions.BadRequest", f"400 Bad Request: Invalid JSON data: {exc}")
        return web.json_response(envelope(None, bad), status=400)
    request_id = payload.get("id")
    params = payload.get("params") or {}
    faulted = await _apply_faults(request, state, _call_names(request.path, params))
    if faulted is not None:
        return faulted
    sim = state.sim
    before = sim.generation
    try:
        if request.path.endswith("version_info"):
            result = sim.version()
        else:
            result = sim.dispatch(params["service"], params["method"], params.get("args") or [])
    except Exception as exc:  # every failure goes back in Odoo's envelope, HTTP 200
        response = web.json_response(envelope(request_id, exc))
    else:
        response = _rpc_response(request_id, result)
    if state.state_path is not None and sim.generation != before:
        sim.save_json(state.state_path)
    return response


async def _get_faults(request: web.Request) -> web.Response:
    return web.json_response(asdict(request.app[STATE_KEY].faults))


async def _set_faults(request: web.Request) -> web.Response:
    try:
        data = await request.json() if request.can_read_body else {}
        faults = Faults.from_json(data or {})
    except (ValueError, TypeError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    request.app[STATE_KEY].faults = faults
    return web.json_response(asdict(faults))


async def _get_calls(request: web.Request) -> web.Response:
    calls = request.app[STATE_KEY].sim.calls
    return web.json_response({"total": sum(calls.values()), "calls": dict(sorted(calls.items()))})


async def _reset_calls(request: web.Request) -> web.Response:
    request.app[STATE_KEY].sim.calls.clear()
    return web.json_response({"total": 0, "calls": {}})


def make_app(sim: OdooSim, *, state_path: str | Path | None = None, faults: Faults | None = None,
             latency: float = 0.0) -> web.Application:
    """The aiohttp application. With ``state_path``, an existing file is loaded into ``sim`` and
    every call that changes a record rewrites it atomically."""
    path = Path(state_path) if state_path else None
    if path is not None and path.exists():
        sim.load_json(path)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[SIM_KEY] = sim
    app[STATE_KEY] = SimState(sim, faults or Faults(latency=latency), path)
    app.router.add_post("/jsonrpc", _handle_rpc)
    app.router.add_post("/web/webclient/version_info", _handle_rpc)
    app.router.add_get("/__sim/faults", _get_faults)
    app.router.add_post("/__sim/faults", _set_faults)
    app.router.add_get("/__sim/calls", _get_calls)
    app.router.add_post("/__sim/reset-calls", _reset_calls)

    async def _on_shutdown(app: web.Application) -> None:
        app[STATE_KEY].closing.set()  # release requests held by the "timeout" fault

    app.on_shutdown.append(_on_shutdown)
    return app


class RunningSim:
    """A simulator listening on a socket: ``url``, ``port``, ``sim``; ``set_faults``; ``close``."""

    def __init__(self, runner: web.AppRunner, app: web.Application, host: str, port: int) -> None:
        self._runner = runner
        self.app = app
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}"

    @property
    def sim(self) -> OdooSim:
        return self.app[SIM_KEY]

    @property
    def faults(self) -> Faults:
        return self.app[STATE_KEY].faults

    def set_faults(self, *, latency: float = 0.0, mode: str | None = None, count: int | None = None,
                   methods: list[str] | None = None, hold: float = 60.0) -> Faults:
        """Replace the fault settings (same semantics as ``POST /__sim/faults``)."""
        faults = Faults(latency=latency, mode=mode, count=count, methods=methods, hold=hold)
        self.app[STATE_KEY].faults = faults
        return faults

    def clear_faults(self) -> None:
        self.app[STATE_KEY].faults = Faults()

    async def close(self) -> None:
        self.app[STATE_KEY].closing.set()
        await self._runner.cleanup()


async def start(sim: OdooSim, host: str = "127.0.0.1", port: int = 8069, *,
                state_path: str | Path | None = None, faults: Faults | None = None,
                latency: float = 0.0) -> RunningSim:
    """Serve ``sim`` on host:port (port 0 picks a free one) in the running event loop."""
    app = make_app(sim, state_path=state_path, faults=faults, latency=latency)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server  # aiohttp keeps the listening sockets here; needed to learn port 0
    bound = server.sockets[0].getsockname()[1] if server is not None and server.sockets else port
    return RunningSim(runner, app, host, int(bound))


def _parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host or "127.0.0.1", int(port)


def build_parser(prog: str = "orderd odoosim") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Run the Odoo 18 JSON-RPC simulator.")
    parser.add_argument("--catalog", required=True, help="catalog JSON file to seed products and customers")
    parser.add_argument("--listen", type=_parse_listen, default=("127.0.0.1", 8069), help="HOST:PORT")
    parser.add_argument("--state", help="keep records in this JSON file across restarts")
    parser.add_argument("--db", default="orders")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every RPC call")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    from orderd.catalog import Catalog

    sim = OdooSim.from_catalog(Catalog.from_file(args.catalog), db=args.db, user=args.user,
                               password=args.password)
    host, port = args.listen
    running = await start(sim, host, port, state_path=args.state, latency=args.latency)
    print(f"odoosim listening on {running.url} (db {args.db!r}, user {args.user!r})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await running.close()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except (OSError, ValueError) as exc:
        print(f"odoosim: {exc}", file=sys.stderr)
        return 1
    return 0



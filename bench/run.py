"""`make bench`: orderd end to end on the simulator, against a bare aiosmtpd server, in the same run.

Each server runs in its own process (`orderd serve`, `orderd odoosim`, the bare baseline), so the load
generator here does not share their event loop. Figures go to bench/results/latest.json and the table in
README.md between the bench markers is regenerated from them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
import urllib.request
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aiosmtplib

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
# Products with the deepest stock, so most bench orders take the clean (confirmed) path.
PRODUCTS = ["DC-1009", "DC-1018", "DC-1002", "DC-1011", "DC-1007"]
BASELINE = """
import asyncio, sys
from aiosmtpd.smtp import SMTP
class Handler:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Handler()), "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()
asyncio.run(main())
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _wait_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


def _email(i: int, run: str) -> tuple[str, bytes]:
    msg = EmailMessage()
    msg["From"] = "Claire Martin <customer2@example.com>"
    msg["To"] = "orders@mycompany.test"
    msg["Subject"] = f"Order {run}-{i}"
    msg["Message-ID"] = make_msgid(f"bench-{run}-{i}", domain="example.com")
    msg.set_content(f"Hello,\n\nplease send\n\n1 x {PRODUCTS[i % len(PRODUCTS)]}\n\nThanks,\nClaire\n")
    return "customer2@example.com", bytes(msg)


async def _load(port: int, messages: int, concurrency: int, run: str) -> dict[str, float]:
    """Send `messages` distinct emails with `concurrency` senders; DATA-to-reply latency per message."""
    latencies: list[float] = []
    failures = 0
    queue = iter(range(messages))

    async def sender() -> None:
        nonlocal failures
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=120)
        await client.connect()
        try:
            for i in queue:
                mail_from, raw = _email(i, run)
                await client.mail(mail_from)
                await client.rcpt("orders@mycompany.test")
                started = time.perf_counter()
                code, _ = await client.data(raw)
                latencies.append(time.perf_counter() - started)
                failures += code != 250
        finally:
            await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "messages": messages,
        "concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "messages_per_s": round(messages / elapsed, 2),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 2),
        "failures": failures,
    }


def _sim_calls(url: str) -> dict[str, int]:
    """RPC calls the simulator answered since the last reset, by model.method."""
    with urllib.request.urlopen(f"{url}/__sim/calls", timeout=10) as resp:
        return json.load(resp)["calls"]


def _sim_post(url: str, path: str, body: dict | None = None) -> None:
    req = urllib.request.Request(f"{url}{path}", data=json.dumps(body or {}).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).close()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100, help="messages per concurrency level")
    parser.add_argument("--levels", default="1,10,50")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the simulator adds per RPC call")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]

    work = Path(tempfile.mkdtemp(prefix="orderd-bench-"))
    odoo_port, relay_port, smtp_port, http_port, base_port = (_free_port() for _ in range(5))
    procs: list[asyncio.subprocess.Process] = []
    quiet = {"stdout": asyncio.subprocess.DEVNULL, "stderr": asyncio.subprocess.DEVNULL}
    try:
        procs.append(await asyncio.create_subprocess_exec(
            sys.executable, "-m", "orderd.cli", "odoosim", "--catalog", str(ROOT / "fixtures" / "catalog.json"),
            "--listen", f"127.0.0.1:{odoo_port}", **quiet))
        procs.append(await asyncio.create_subprocess_exec(
            sys.executable, "-c", _SINK, str(relay_port), **quiet))
        env = dict(os.environ, ORDERD_SMTP_LISTEN=f"127.0.0.1:{smtp_port}", ORDERD_HTTP_LISTEN=f"127.0.0.1:{http_port}",
                   ORDERD_ODOO_URL=f"http://127.0.0.1:{odoo_port}", ORDERD_RELAY_PORT=str(relay_port),
                   ORDERD_STORE_URL=f"sqlite:///{work / 'bench.sqlite3'}", ORDERD_LOG_LEVEL="warning",
                   ORDERD_LOG_FORMAT="json")
        procs.append(await asyncio.create_subprocess_exec(sys.executable, "-m", "orderd.cli", "serve", env=env,
                                                          **quiet))
        procs.append(await asyncio.create_subprocess_exec(sys.executable, "-c", BASELINE, str(base_port), **quiet))
        for port in (odoo_port, relay_port, smtp_port, base_port):
            await _wait_port(port)
        sim_url = f"http://127.0.0.1:{odoo_port}"
        _sim_post(sim_url, "/__sim/faults", {"latency": args.latency})

        await _load(smtp_port, 5, 1, "warmup")  # catalog cache, pools and first connections
        results: dict[str, object] = {"baseline_aiosmtpd": [], "orderd": []}
        for level in levels:
            results["baseline_aiosmtpd"].append(await _load(base_port, args.messages, level, f"base{level}"))
            _sim_post(sim_url, "/__sim/reset-calls")
            row = await _load(smtp_port, args.messages, level, f"orderd{level}")
            calls = _sim_calls(sim_url)
            row["rpc_calls_per_message"] = round(sum(calls.values()) / args.messages, 2)
            row["rpc_calls_by_method_per_message"] = {name: round(n / args.messages, 2) for name, n in calls.items()}
            results["orderd"].append(row)
            print(f"concurrency {level}: orderd {row['messages_per_s']} msg/s p50 {row['p50_ms']} ms "
                  f"p99 {row['p99_ms']} ms, {row['rpc_calls_per_message']} RPC/msg; baseline "
                  f"{results['baseline_aiosmtpd'][-1]['messages_per_s']} msg/s", flush=True)
        for base, mine in zip(results["baseline_aiosmtpd"], results["orderd"], strict=True):
            mine["throughput_vs_baseline"] = round(mine["messages_per_s"] / base["messages_per_s"], 4)
        results["settings"] = {"messages_per_level": args.messages, "sim_latency_s": args.latency,
                               "python": platform.python_version(), "cpus": os.cpu_count(),
                               "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=1) + "\n")
    _write_readme_table(results)
    print(f"written {RESULTS / 'latest.json'} and the README table")
    return 0


_SINK = """
import asyncio, sys
from orderd.sink import start_sink
async def main():
    await start_sink(None, "127.0.0.1", int(sys.argv[1]))
    await asyncio.Event().wait()
asyncio.run(main())
"""

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def render_table(results: dict) -> str:
    rows = ["| senders | orderd msg/s | p50 ms | p95 ms | p99 ms | RPC calls/msg | bare aiosmtpd msg/s | ratio |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for mine, base in zip(results["orderd"], results["baseline_aiosmtpd"], strict=True):
        rows.append(f"| {mine['concurrency']} | {mine['messages_per_s']} | {mine['p50_ms']} | {mine['p95_ms']} | "
                    f"{mine['p99_ms']} | {mine['rpc_calls_per_message']} | {base['messages_per_s']} | "
                    f"{mine['throughput_vs_baseline']} |")
    settings = results["settings"]
    rows.append("")
    rows.append(f"{settings['messages_per_level']} messages per level, simulator latency "
                f"{settings['sim_latency_s']} s per call, {settings['cpus']} CPUs, Python {settings['python']}, "
                f"measured {settings['when']} (`bench/results/latest.json`).")
    return "\n".join(rows)


def _write_readme_table(results: dict) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        return
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{render_table(results)}\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))

"""`make bench`: orderd end to end on the simulator, against baselines measured in the same run.

Every server runs in its own process (`orderd serve`, `orderd odoosim`, a relay sink, a bare aiosmtpd
server that answers 250 to everything), so the load generator here does not share their event loop.

Scenarios:
  inline       orderd vs the bare aiosmtpd baseline at 1, 10 and 50 concurrent senders (simulator: no latency)
  odoo-50ms    inline vs spool mode with the simulator adding 50 ms to every RPC call
  backpressure 200 concurrent senders against a capped orderd (50 ms Odoo): replies by code, peak memory
  extraction   emails/s per core through extract + resolve on the corpus (text-only and with attachments)
Per-stage latency percentiles come from the journal's stage timings. Results: bench/results/latest.json,
bench/results/latest.png, and the table in README.md between the bench markers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib

from orderd.records import Stage

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CATALOG = ROOT / "fixtures" / "catalog.json"
# Products with the deepest stock, so most bench orders take the clean (confirmed) path.
PRODUCTS = ["DC-1009", "DC-1018", "DC-1002", "DC-1011", "DC-1007"]
STAGES = [str(s) for s in Stage]
# The stages that wait on Odoo on a clean order's path.
ODOO_STAGES = [str(s) for s in (Stage.KEY_LOOKUP, Stage.CUSTOMER, Stage.STOCK, Stage.CREATE, Stage.CONFIRM,
                                Stage.CHATTER, Stage.ACTIVITY)]
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
SINK = """
import asyncio, sys
from orderd_dev.sink import start_sink
async def main():
    await start_sink(None, "127.0.0.1", int(sys.argv[1]))
    await asyncio.Event().wait()
asyncio.run(main())
"""
QUIET = {"stdout": asyncio.subprocess.DEVNULL, "stderr": asyncio.subprocess.DEVNULL}


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


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), 60)
    except TimeoutError:
        proc.kill()
        await proc.wait()


@contextlib.asynccontextmanager
async def _process(*args: str, port: int,
                   env: dict[str, str] | None = None) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await asyncio.create_subprocess_exec(*args, env=env, **QUIET)
    try:
        await _wait_port(port)
        yield proc
    finally:
        await _stop(proc)


@dataclass
class Orderd:
    port: int
    store: Path
    proc: asyncio.subprocess.Process


@contextlib.asynccontextmanager
async def _orderd(work: Path, name: str, sim_url: str, relay_port: int, **variables: str) -> AsyncIterator[Orderd]:
    smtp_port, http_port = _free_port(), _free_port()
    store = work / f"{name}.sqlite3"
    env = dict(os.environ, ORDERD_SMTP_LISTEN=f"127.0.0.1:{smtp_port}", ORDERD_HTTP_LISTEN=f"127.0.0.1:{http_port}",
               ORDERD_ODOO_URL=sim_url, ORDERD_RELAY_PORT=str(relay_port), ORDERD_STORE_URL=f"sqlite:///{store}",
               ORDERD_LOG_LEVEL="warning", ORDERD_LOG_FORMAT="json",
               **{f"ORDERD_{key.upper()}": value for key, value in variables.items()})
    async with _process(sys.executable, "-m", "orderd.cli", "serve", port=smtp_port, env=env) as proc:
        yield Orderd(smtp_port, store, proc)


def _email(i: int, run: str) -> tuple[str, bytes]:
    msg = EmailMessage()
    msg["From"] = "Claire Martin <customer2@example.com>"
    msg["To"] = "orders@mycompany.test"
    msg["Subject"] = f"Order {run}-{i}"
    msg["Message-ID"] = make_msgid(f"bench-{run}-{i}", domain="example.com")
    msg.set_content(f"Hello,\n\nplease send\n\n1 x {PRODUCTS[i % len(PRODUCTS)]}\n\nThanks,\nClaire\n")
    return "customer2@example.com", bytes(msg)


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


async def _load(port: int, messages: int, concurrency: int, run: str) -> dict[str, Any]:
    """`messages` distinct emails from `concurrency` senders, one SMTP session each; DATA-to-reply latency."""
    latencies: list[float] = []
    codes: Counter[int] = Counter()
    queue = iter(range(messages))

    async def sender() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=120)
        try:
            await client.connect()
        except aiosmtplib.SMTPConnectResponseError as exc:  # 421 at the greeting: the server is full
            codes[exc.code] += 1
            return
        try:
            for i in queue:
                mail_from, raw = _email(i, run)
                await client.mail(mail_from)
                await client.rcpt("orders@mycompany.test")
                started = time.perf_counter()
                try:
                    code, _ = await client.data(raw)
                except aiosmtplib.SMTPDataError as exc:
                    code = exc.code
                latencies.append(time.perf_counter() - started)
                codes[code] += 1
        finally:
            with contextlib.suppress(aiosmtplib.SMTPException):
                await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]
    return {
        "messages": messages, "concurrency": concurrency, "seconds": round(elapsed, 3),
        "messages_per_s": round(len(latencies) / elapsed, 2),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(_percentile(ordered, 0.95) * 1000, 2),
        "p99_ms": round(_percentile(ordered, 0.99) * 1000, 2),
        "replies": {str(code): n for code, n in sorted(codes.items())},
    }


async def _polling_baseline(port: int, folder: Path, interval: float, messages: int) -> dict[str, Any]:
    """The seed's design, measured: emails land in a mail folder at random moments; a poller looks at the
    folder every `interval` seconds and hands what it finds to orderd. Latency: landing to recorded order."""
    rng = random.Random(7)
    folder.mkdir(parents=True, exist_ok=True)
    landed: dict[str, float] = {}
    latencies: list[float] = []

    async def mail_arrives() -> None:
        for i in range(messages):
            await asyncio.sleep(rng.uniform(0, 2 * interval / messages))
            _sender, raw = _email(i, "poll")
            (folder / f"{i:04d}.eml").write_bytes(raw)
            landed[f"{i:04d}.eml"] = time.perf_counter()

    async def poller() -> None:
        seen: set[str] = set()
        while len(latencies) < messages:
            await asyncio.sleep(interval)
            for path in sorted(folder.glob("*.eml")):
                if path.name not in seen:
                    seen.add(path.name)
                    await aiosmtplib.send(path.read_bytes(), sender="customer2@example.com",
                                          recipients=["orders@mycompany.test"], hostname="127.0.0.1", port=port)
                    latencies.append(time.perf_counter() - landed[path.name])

    await asyncio.gather(mail_arrives(), poller())
    ordered = sorted(latencies)
    return {"poll_interval_s": interval, "messages": messages,
            "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p99_ms": round(_percentile(ordered, 0.99) * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1)}


def _sim(url: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{url}{path}", data=data, method="GET" if data is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def _stage_percentiles(store: Path, run: str) -> dict[str, dict[str, float]]:
    """p50/p95/p99 per stage, in ms, from the stage timings the journal keeps for each message of one run."""
    with sqlite3.connect(store) as db:
        rows = [json.loads(t) for (t,) in db.execute(
            "SELECT timings FROM journal WHERE state = 'done' AND message_id LIKE ?", (f"%bench-{run}-%",)) if t]
    out: dict[str, dict[str, float]] = {}
    for stage in STAGES:
        values = sorted(t[stage] for t in rows if stage in t)
        if values:
            out[stage] = {f"p{int(q * 100)}_ms": round(_percentile(values, q) * 1000, 3) for q in (0.5, 0.95, 0.99)}
    return out


async def _wait_done(store: Path, count: int, timeout: float = 300.0) -> float:
    """Seconds until `count` journal entries are done (spool mode answers before the work is finished)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        with sqlite3.connect(store) as db:
            (done,) = db.execute("SELECT COUNT(*) FROM journal WHERE state = 'done'").fetchone()
        if done >= count:
            break
        await asyncio.sleep(0.2)
    return round(time.perf_counter() - started, 3)


def _rss_mb(pid: int, field: str = "VmHWM") -> float:
    """Resident memory of a process in MB: VmHWM is the peak so far, VmRSS the current size."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="orderd-bench-"))
    odoo_port, relay_port, base_port = _free_port(), _free_port(), _free_port()
    sim_url = f"http://127.0.0.1:{odoo_port}"
    results: dict[str, Any] = {}
    levels = [int(x) for x in args.levels.split(",")]
    async with (
        _process(sys.executable, "-m", "orderd.cli", "odoosim", "--catalog", str(CATALOG),
                 "--listen", f"127.0.0.1:{odoo_port}", port=odoo_port),
        _process(sys.executable, "-c", SINK, str(relay_port), port=relay_port),
        _process(sys.executable, "-c", BASELINE, str(base_port), port=base_port),
    ):
        # 1. inline at 1/10/50 senders against the bare aiosmtpd baseline
        inline: list[dict[str, Any]] = []
        async with _orderd(work, "inline", sim_url, relay_port) as orderd:
            await _load(orderd.port, 5, 1, "warmup")  # catalog cache, pools, first connections
            for level in levels:
                base = await _load(base_port, args.messages, level, f"base{level}")
                _sim(sim_url, "/__sim/reset-calls", {})
                mine = await _load(orderd.port, args.messages, level, f"inline{level}")
                calls = _sim(sim_url, "/__sim/calls")
                mine["stages_ms"] = _stage_percentiles(orderd.store, f"inline{level}")
                mine["rpc_calls_per_message"] = round(calls["total"] / args.messages, 2)
                mine["baseline_messages_per_s"] = base["messages_per_s"]
                mine["baseline_p50_ms"] = base["p50_ms"]
                mine["throughput_vs_baseline"] = round(mine["messages_per_s"] / base["messages_per_s"], 4)
                inline.append(mine)
                print(f"inline, {level} senders: {mine['messages_per_s']} msg/s, p50 {mine['p50_ms']} ms, "
                      f"p99 {mine['p99_ms']} ms, {mine['rpc_calls_per_message']} RPC/msg; bare aiosmtpd "
                      f"{base['messages_per_s']} msg/s", flush=True)
            calls_by_method = {k: round(v / args.messages, 2) for k, v in calls["calls"].items()}
            if args.poll_interval > 0:
                print(f"polling baseline: a folder read every {args.poll_interval:g} s ...", flush=True)
                results["polling_baseline"] = await _polling_baseline(orderd.port, work / "maildir",
                                                                      args.poll_interval, args.poll_messages)
        results["inline"] = inline
        results["rpc_calls_by_method_per_message"] = calls_by_method
        single = inline[0]["stages_ms"]  # one sender: Odoo time without queueing behind other messages
        results["odoo_time_per_order_ms"] = {
            q: round(sum(single.get(s, {}).get(q, 0.0) for s in ODOO_STAGES), 3)
            for q in ("p50_ms", "p95_ms")}

        # 2. inline vs spool with a slow Odoo (50 ms per call)
        _sim(sim_url, "/__sim/faults", {"latency": args.odoo_latency})
        slow: dict[str, Any] = {}
        for mode in ("inline", "spool"):
            async with _orderd(work, f"slow-{mode}", sim_url, relay_port, pipeline_mode=mode) as orderd:
                await _load(orderd.port, 3, 1, f"warm-{mode}")
                row = await _load(orderd.port, args.slow_messages, args.slow_concurrency, f"slow-{mode}")
                row["all_done_after_s"] = await _wait_done(orderd.store, args.slow_messages + 3)
                row["orders_per_s"] = round(args.slow_messages / max(row["all_done_after_s"], row["seconds"]), 2)
                slow[mode] = row
                print(f"odoo +{args.odoo_latency * 1000:.0f} ms, {mode}: accepted {row['messages_per_s']} msg/s, "
                      f"p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms; orders done at {row['orders_per_s']}/s",
                      flush=True)
        results["odoo_latency_s"] = args.odoo_latency
        results["slow_odoo"] = slow

        # 3. backpressure: 200 senders against caps (sessions, pipelines); memory stays bounded
        async with _orderd(work, "pressure", sim_url, relay_port, smtp_max_sessions="100",
                           pipeline_max_concurrent="8", pipeline_queue_wait="2") as orderd:
            await _load(orderd.port, 3, 1, "warm-pressure")
            idle = _rss_mb(orderd.proc.pid, "VmRSS")
            row = await _load(orderd.port, args.pressure_senders * 2, args.pressure_senders, "pressure")
            row["idle_rss_mb"] = idle
            row["peak_rss_mb"] = _rss_mb(orderd.proc.pid)
            results["backpressure"] = row
            print(f"backpressure, {args.pressure_senders} senders: replies {row['replies']}, "
                  f"RSS {row['idle_rss_mb']} MB idle, {row['peak_rss_mb']} MB peak", flush=True)
        _sim(sim_url, "/__sim/faults", {})

    # 4. extraction speed on one core (this process), and the seed's polling as a latency figure
    from orderd.accuracy import extraction_speed

    results["extraction_per_core"] = extraction_speed(seconds=args.extraction_seconds)
    print(f"extraction: {results['extraction_per_core']}", flush=True)
    results["settings"] = {"messages_per_level": args.messages, "python": platform.python_version(),
                           "cpus": os.cpu_count(), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    return results


BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def render_table(results: dict[str, Any]) -> str:
    rows = ["| senders | orderd msg/s | p50 ms | p95 ms | p99 ms | RPC calls/msg | bare aiosmtpd msg/s | ratio |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in results["inline"]:
        rows.append(f"| {row['concurrency']} | {row['messages_per_s']} | {row['p50_ms']} | {row['p95_ms']} | "
                    f"{row['p99_ms']} | {row['rpc_calls_per_message']} | {row['baseline_messages_per_s']} | "
                    f"{row['throughput_vs_baseline']} |")
    levels = [str(row["concurrency"]) for row in results["inline"]]
    rows += ["", "| stage, ms (p50 / p95 / p99) | " + " | ".join(f"{n} sender(s)" for n in levels) + " |",
             "| --- |" + " ---: |" * len(levels)]
    for stage in STAGES:
        cells = []
        for row in results["inline"]:
            q = row["stages_ms"].get(stage)
            cells.append(f"{q['p50_ms']} / {q['p95_ms']} / {q['p99_ms']}" if q else "-")
        rows.append(f"| {stage} | " + " | ".join(cells) + " |")
    slow = results["slow_odoo"]
    latency_ms = round(results["odoo_latency_s"] * 1000)
    rows += ["", f"| Odoo +{latency_ms} ms per call | accepted msg/s | DATA p50 ms | DATA p99 ms | orders done/s |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for mode, row in slow.items():
        rows.append(f"| {mode} | {row['messages_per_s']} | {row['p50_ms']} | {row['p99_ms']} | {row['orders_per_s']} |")
    pressure = results["backpressure"]
    extraction = results["extraction_per_core"]
    poll = results.get("polling_baseline")
    settings = results["settings"]
    rows += [
        "",
        f"Backpressure, {pressure['concurrency']} concurrent senders against 100 sessions / 8 pipelines: replies "
        f"{pressure['replies']}, orderd RSS {pressure['idle_rss_mb']} MB idle, {pressure['peak_rss_mb']} MB peak. "
        f"Extraction on one core: {extraction.get('text_emails_per_s')} text emails/s, "
        f"{extraction.get('attachments_emails_per_s')} with attachments/s. Odoo time per order (p50): "
        f"{results['odoo_time_per_order_ms']['p50_ms']} ms."
        + (f" The seed's design (a mail folder polled every {poll['poll_interval_s']:g} s, measured with "
           f"{poll['messages']} emails landing at random moments and orderd doing the processing) recorded orders "
           f"{poll['p50_ms'] / 1000:.1f} s (p50) / {poll['max_ms'] / 1000:.1f} s (max) after they landed, against "
           f"{results['inline'][0]['p50_ms']} ms inline." if poll else ""),
        "",
        f"{settings['messages_per_level']} messages per level, {settings['cpus']} CPUs, Python {settings['python']}, "
        f"measured {settings['when']} (`bench/results/latest.json`, chart `bench/results/latest.png`).",
    ]
    return "\n".join(rows)


def write_chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    senders = [str(r["concurrency"]) for r in results["inline"]]
    width = 0.38
    xs = range(len(senders))
    left.bar([x - width / 2 for x in xs], [r["messages_per_s"] for r in results["inline"]], width, label="orderd")
    left.bar([x + width / 2 for x in xs], [r["baseline_messages_per_s"] for r in results["inline"]], width,
             label="bare aiosmtpd")
    left.set_xticks(list(xs), senders)
    left.set_xlabel("concurrent senders")
    left.set_ylabel("messages/s")
    left.set_yscale("log")
    left.set_ylim(bottom=1)
    left.set_title("Throughput (log scale)")
    left.legend()
    single = results["inline"][0]["stages_ms"]
    stages = [s for s in STAGES if s in single and s != "total"]
    right.barh(stages, [single[s]["p50_ms"] for s in stages], label="p50")
    right.barh(stages, [single[s]["p95_ms"] - single[s]["p50_ms"] for s in stages],
               left=[single[s]["p50_ms"] for s in stages], label="p95", alpha=0.5)
    right.set_xlabel("ms")
    right.set_title("Stage latency, 1 sender")
    right.invert_yaxis()
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_readme_table(results: dict[str, Any]) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        return
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{render_table(results)}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=150, help="messages per concurrency level")
    parser.add_argument("--levels", default="1,10,50")
    parser.add_argument("--odoo-latency", type=float, default=0.05, help="seconds per RPC call (slow Odoo)")
    parser.add_argument("--slow-messages", type=int, default=60)
    parser.add_argument("--slow-concurrency", type=int, default=10)
    parser.add_argument("--pressure-senders", type=int, default=200)
    parser.add_argument("--extraction-seconds", type=float, default=6.0)
    parser.add_argument("--poll-interval", type=float, default=60.0,
                        help="the polling baseline's interval (0 skips it; it takes about 3 intervals)")
    parser.add_argument("--poll-messages", type=int, default=8)
    parser.add_argument("--render-only", action="store_true", help="redo the chart and README table from latest.json")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.render_only:
        results = json.loads((RESULTS / "latest.json").read_text())
    else:
        results = asyncio.run(run(args))
        (RESULTS / "latest.json").write_text(json.dumps(results, indent=1) + "\n")
    write_chart(results, RESULTS / "latest.png")
    write_readme_table(results)
    print(f"written {RESULTS / 'latest.json'}, {RESULTS / 'latest.png'} and the README table")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

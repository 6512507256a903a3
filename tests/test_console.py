"""The operator console: its JSON API over real HTTP after real SMTP deliveries, the aggregation as pure
functions, and the page itself as a person sees it, rendered by headless Chromium.

The browser test needs Debian's `chromium` (deploy/ci/install-chromium.sh installs it). Without it the
test skips and says why, so `make test` passes on a machine with only Python; CI installs Chromium and
sets ORDERD_REQUIRE_BROWSER=1, and there a missing browser fails, because a silently skipped UI test is
how a broken page ships.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import order_email, smtp_send

from orderd import config as config_mod
from orderd.app import App
from orderd.config import Config, ConfigError
from orderd.store import JournalEntry
from orderd.web.console import STAGE_ORDER, latency_buckets, outcome_of, percentile, token_matches
from orderd_dev.sink import RunningSink

TOKEN = "console-test-token-0123456789"
# Customer-controlled text that would run script if the page ever put it into HTML unescaped.
HOSTILE = '<img src=x onerror="document.title=\'pwned\'">'
REFUSING = "lucia.fernandez@iberiavalves.es"  # the relay refuses replies to this customer: a failed row


# --- pure functions -----------------------------------------------------------------------------


def _entry(received_at: datetime, timings: dict[str, float], **kw: Any) -> JournalEntry:
    values: dict[str, Any] = dict(key=f"k{received_at.timestamp()}", message_id="<m@x>", sender="a@b.c",
                                  rcpt_tos=["orders@mycompany.test"], received_at=received_at, state="done",
                                  decision="order", order_id=1, order_name="S00001", reasons=[], error=None,
                                  timings=timings, raw=b"", attempts=1)
    values.update(kw)
    return JournalEntry(**values)


def test_percentile_is_nearest_rank() -> None:
    values = sorted(float(v) for v in range(1, 101))
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile([7.0], 0.95) == 7.0
    with pytest.raises(ValueError):
        percentile([], 0.5)


def test_latency_buckets_per_stage_aligned_and_windowed() -> None:
    now = datetime(2026, 11, 25, 12, 30, 30, tzinfo=UTC)
    entries = [
        _entry(datetime(2026, 11, 25, 12, 30, 5, tzinfo=UTC), {"extract": 0.002, "total": 0.100}),
        _entry(datetime(2026, 11, 25, 12, 30, 20, tzinfo=UTC), {"extract": 0.004, "total": 0.300}),
        _entry(datetime(2026, 11, 25, 12, 10, 0, tzinfo=UTC), {"create": 0.050, "total": 0.200}),
        _entry(datetime(2026, 11, 25, 11, 0, 0, tzinfo=UTC), {"total": 9.0}),  # before the window
        _entry(datetime(2026, 11, 25, 12, 20, 0, tzinfo=UTC), {}),  # failed before any stage: no timings
    ]
    body = latency_buckets(entries, now=now, minutes=60, bucket_seconds=60)
    assert body["messages"] == 3
    assert body["stages"] == ["extract", "create", "total"], "pipeline order, not alphabetical"
    # Every minute of the window is a bucket, empty ones too, aligned on whole minutes.
    assert len(body["buckets"]) == 61
    assert body["buckets"][0]["start"] == "2026-11-25T11:30:00Z"
    assert body["buckets"][-1]["start"] == "2026-11-25T12:30:00Z"
    last = body["buckets"][-1]
    assert last["messages"] == 2
    assert last["stages"]["total"] == {"n": 2, "p50_ms": 100.0, "p95_ms": 300.0}
    assert last["stages"]["extract"]["p95_ms"] == 4.0
    by_start = {b["start"]: b for b in body["buckets"]}
    assert by_start["2026-11-25T12:10:00Z"]["stages"]["create"]["p50_ms"] == 50.0
    assert by_start["2026-11-25T12:11:00Z"] == {"start": "2026-11-25T12:11:00Z", "messages": 0, "stages": {}}
    assert body["overall"]["total"] == {"n": 3, "p50_ms": 200.0, "p95_ms": 300.0}


def test_outcome_words() -> None:
    t = datetime(2026, 11, 25, tzinfo=UTC)
    assert outcome_of(_entry(t, {}, decision="needs_review")) == "needs_review"
    assert outcome_of(_entry(t, {}, state="received", decision=None)) == "processing"
    assert outcome_of(_entry(t, {}, state="failed", decision=None)) == "failed"
    assert outcome_of(_entry(t, {}, state="quarantined", decision=None)) == "quarantined"


def test_token_comparison() -> None:
    assert token_matches(TOKEN, TOKEN)
    assert not token_matches(TOKEN[:-1], TOKEN)
    assert not token_matches("", TOKEN)


def test_console_token_is_configurable_and_checked() -> None:
    assert config_mod.load(None, {}).http.console_token == ""
    cfg = config_mod.load(None, {"ORDERD_HTTP_CONSOLE_TOKEN": TOKEN})
    assert cfg.http.console_token == TOKEN
    with pytest.raises(ConfigError, match=r"http\.console_token"):
        config_mod.load(None, {"ORDERD_HTTP_CONSOLE_TOKEN": "short"})


# --- over real sockets --------------------------------------------------------------------------


@pytest.fixture
async def console_app(make_config: Callable[..., Config], relay: RunningSink) -> AsyncIterator[App]:
    relay.reject[REFUSING] = 550
    cfg = make_config(http={"listen": "127.0.0.1:0", "console_token": TOKEN},
                      relay={"host": "127.0.0.1", "port": relay.port, "retry_base_delay": 0.05})
    app = App(cfg)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def _deliver(app: App) -> dict[str, str]:
    """Three orders (one unsure, one from a customer whose replies the relay refuses) and one with
    markup in its Message-ID and Subject; returns Message-ID → order name for the three."""
    sent: dict[str, str] = {}
    for address, body in (("customer2@example.com", "Please deliver 5 x DC-1001."),
                          ("jane.doe@orion-electronics.com", "Order: 2 x DC-1004\n1 x titanium flange"),
                          (REFUSING, "Pedido: 3 x DC-1011")):
        message_id = make_msgid("console", domain=address.split("@")[1])
        code, text = await smtp_send(app.smtp_port, order_email(body, sender=address, message_id=message_id),
                                     sender=address)
        assert code == 250 and " as S0" in text, text
        sent[message_id] = text.split(" as ", 1)[1].split()[0]
    # Built by hand: a well-behaved library would refuse to write such a Message-ID, a sender need not.
    hostile = (f"From: customer2@example.com\r\nTo: orders@mycompany.test\r\nSubject: {HOSTILE}\r\n"
               f"Message-ID: <{HOSTILE}@evil.example>\r\n\r\n2 x DC-1001\r\n").encode()
    code, text = await smtp_send(app.smtp_port, hostile)
    assert code == 250, text
    async def settled() -> bool:  # every reply either delivered or refused for good
        return not await app.store.outbox_items(state="pending")

    for _ in range(200):
        if await settled():
            break
        await asyncio.sleep(0.05)
    assert await settled(), "replies still pending"
    return sent


async def _get(app: App, path: str, **headers: str) -> tuple[int, Any, dict[str, str]]:
    async with aiohttp.ClientSession() as http, \
            http.get(f"http://127.0.0.1:{app.http_port}{path}", headers=headers) as resp:
        body = await resp.json() if resp.content_type == "application/json" else await resp.text()
        return resp.status, body, dict(resp.headers)


async def test_api_refuses_without_the_right_token(console_app: App) -> None:
    for path in ("/api/messages", "/api/outbox", "/api/latency", "/console"):
        status, body, headers = await _get(console_app, path)
        assert status == 401, (path, body)
        assert "Bearer" in headers["WWW-Authenticate"]
        status, body, _ = await _get(console_app, path, Authorization="Bearer not-the-token-at-all")
        assert status == 403, (path, body)
        assert "wrong console token" in str(body)
        status, body, _ = await _get(console_app, f"{path}?token=wrong")
        assert status == 403, (path, body)
    status, body, _ = await _get(console_app, "/api/messages?limit=abc", Authorization=f"Bearer {TOKEN}")
    assert status == 400 and "limit" in body["error"]
    status, body, _ = await _get(console_app, "/api/outbox?state=lost", Authorization=f"Bearer {TOKEN}")
    assert status == 400 and "pending, sent, failed" in body["error"]


async def test_api_shows_what_went_through_smtp(console_app: App) -> None:
    sent = await _deliver(console_app)
    auth = {"Authorization": f"Bearer {TOKEN}"}

    status, body, headers = await _get(console_app, "/api/messages?limit=10", **auth)
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    by_id = {m["message_id"]: m for m in body["messages"]}
    assert set(sent) <= set(by_id)
    for message_id, order_name in sent.items():
        message = by_id[message_id]
        assert message["order_name"] == order_name
        assert message["state"] == "done"
        assert message["outcome"] in ("order", "needs_review")
        assert message["received_at"].endswith("Z")
        assert 0 < message["timings_ms"]["total"] < 20_000
        stages = list(message["timings_ms"])
        assert stages == sorted(stages, key=STAGE_ORDER.index) and stages[-1] == "total", "pipeline order"
    assert any(m["reasons"] for m in body["messages"] if m["outcome"] == "needs_review")

    status, body, _ = await _get(console_app, "/api/messages?state=failed", **auth)
    assert status == 200 and body["messages"] == []

    status, body, _ = await _get(console_app, "/api/outbox", **auth)
    assert status == 200
    assert body["pending"] == 0
    rows = body["outbox"]
    assert {row["state"] for row in rows} == {"sent", "failed"}
    failed = [row for row in rows if row["state"] == "failed"]
    assert len(failed) == 1 and failed[0]["to"] == [REFUSING] and "550" in failed[0]["last_error"]
    for row in rows:
        if row["kind"] == "reply":
            assert row["order_name"] and f"[{row['order_name']}]" in row["subject"]
    status, body, _ = await _get(console_app, f"/api/outbox?state=failed&token={TOKEN}")
    assert status == 200 and [row["to"] for row in body["outbox"]] == [[REFUSING]]

    status, body, _ = await _get(console_app, "/api/latency?minutes=60", **auth)
    assert status == 200
    assert body["messages"] >= len(sent)
    assert body["bucket_seconds"] == 60 and len(body["buckets"]) == 61
    assert {"classify", "extract", "create", "confirm", "chatter", "total"} <= set(body["stages"])
    busy = [b for b in body["buckets"] if b["messages"]]
    assert busy and sum(b["messages"] for b in busy) == body["messages"]
    total = body["overall"]["total"]
    assert total["n"] == body["messages"] and 0 < total["p50_ms"] <= total["p95_ms"]


async def test_console_disabled_without_a_token(orderd: App) -> None:
    for path in ("/console", "/console/console.js", "/api/messages", "/api/outbox", "/api/latency"):
        status, body, _ = await _get(orderd, f"{path}?token=anything", Authorization="Bearer anything")
        assert status == 404, path
        assert "http.console_token" in str(body)
    status, _, _ = await _get(orderd, "/healthz")
    assert status == 200, "the rest of the endpoint is unaffected"


async def test_page_carries_security_headers_and_the_token_for_its_script(console_app: App) -> None:
    status, body, headers = await _get(console_app, f"/console?token={TOKEN}")
    assert status == 200
    assert f'content="{TOKEN}"' in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    status, script, headers = await _get(console_app, "/console/console.js")
    assert status == 200
    # Data reaches the page only as text nodes: no HTML-parsing sink anywhere in the script.
    assert not re.search(r"\.(inner|outer)HTML\s*=|insertAdjacentHTML|document\.write", script)
    assert headers["Content-Type"].startswith("text/javascript")


# --- in a real browser --------------------------------------------------------------------------


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    message = ("headless Chromium was not found on PATH (chromium, chromium-browser or google-chrome):"
               " install it (deploy/ci/install-chromium.sh does, from Debian's packages) to run the console"
               " page in a real browser")
    if os.environ.get("ORDERD_REQUIRE_BROWSER") == "1":
        # CI installs Chromium and sets this, so there a missing browser fails instead of going green.
        pytest.fail(f"ORDERD_REQUIRE_BROWSER=1 and {message}", pytrace=False)
    pytest.skip(message)


async def run_chromium(*args: str, timeout: float = 90.0) -> tuple[int, str, str]:
    profile = tempfile.mkdtemp(prefix="orderd-chromium-")
    command = [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args]
    # HOME too: chromium writes crash-handler state there and must not touch the user's.
    env = dict(os.environ, HOME=profile)
    proc = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE, env=env)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        pytest.fail(f"chromium did not finish within {timeout:g}s")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return proc.returncode or 0, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


async def test_console_page_in_headless_chromium(console_app: App, tmp_path: Path) -> None:
    chromium_binary()  # skip (or, with ORDERD_REQUIRE_BROWSER=1, fail) first, clearly, without a browser
    sent = await _deliver(console_app)
    url = f"http://127.0.0.1:{console_app.http_port}/console?token={TOKEN}"
    # The virtual time budget lets the page's script fetch the API and render before the DOM is dumped.
    code, dom, err = await run_chromium("--virtual-time-budget=5000", "--dump-dom", url)
    assert code == 0 and "</html>" in dom, f"chromium failed ({code}): {err[-2000:]}"

    assert "could not load" not in dom, dom
    assert "updated " in dom, "the status line says the data was loaded"
    for order_name in sent.values():
        assert order_name.startswith("S0") and order_name in dom, order_name
    for message_id in sent:
        assert message_id.replace("<", "&lt;").replace(">", "&gt;") in dom
    # Outcome words and the outbox as a person reads them.
    assert ">order<" in dom or ">needs review<" in dom
    assert ">sent<" in dom and ">failed<" in dom
    assert REFUSING in dom and "550" in dom
    assert '<svg id="latency-chart"' in dom and "<path" in dom and ">total<" in dom
    # Hostile text arrived as text: no element was made of it, and its script never ran.
    assert "<img" not in dom
    assert "pwned" not in dom.split("</title>")[0]
    assert "No messages yet." not in dom

    shot = tmp_path / "console.png"
    code, _, err = await run_chromium("--virtual-time-budget=5000", "--hide-scrollbars",
                                      "--window-size=1400,1300", f"--screenshot={shot}", url)
    assert code == 0 and shot.exists() and shot.stat().st_size > 10_000, err[-2000:]
    keep = os.environ.get("ORDERD_CONSOLE_SCREENSHOT")
    if keep:  # for a person to look at: ORDERD_CONSOLE_SCREENSHOT=/some/where.png pytest -k chromium
        shutil.copyfile(shot, keep)

    # Wrong token: the browser is refused before any data is sent.
    code, dom, err = await run_chromium("--dump-dom", url.replace(TOKEN, "wrong-token"))
    assert code == 0, err[-2000:]
    assert "wrong console token" in dom and "S0" not in dom


async def test_latest_entries_show_first(console_app: App) -> None:
    await _deliver(console_app)
    status, body, _ = await _get(console_app, f"/api/messages?limit=2&token={TOKEN}")
    assert status == 200 and len(body["messages"]) == 2
    times = [m["received_at"] for m in body["messages"]]
    assert times == sorted(times, reverse=True)
    newest = datetime.fromisoformat(times[0].replace("Z", "+00:00"))
    assert datetime.now(UTC) - newest < timedelta(minutes=5)


async def test_learned_aliases_are_listed_and_forgotten(console_app: App) -> None:
    """What salespeople taught orderd (orderd.learning), and the console's one action: forgetting it."""
    from orderd.store import Alias

    await console_app.store.learned(41, [Alias(9, "blue housing", 16, "DC-1016", order_id=41, order_name="S00041"),
                                         Alias(8, HOSTILE, 5, "DC-1005", pack="carton", pack_size=20.0)])
    auth = {"Authorization": f"Bearer {TOKEN}"}
    status, body, _ = await _get(console_app, "/api/aliases", **auth)
    assert status == 200
    assert [(a["partner_id"], a["wording"], a["default_code"], a["pack_size"], a["learned_from"])
            for a in body["aliases"]] == [(8, HOSTILE, "DC-1005", 20.0, None),
                                          (9, "blue housing", "DC-1016", None, "S00041")]
    status, body, _ = await _get(console_app, "/api/aliases?customer=9", **auth)
    assert [a["wording"] for a in body["aliases"]] == ["blue housing"]
    alias_id = body["aliases"][0]["id"]

    async def post(path: str, **headers: str) -> tuple[int, Any]:
        async with aiohttp.ClientSession() as http, \
                http.post(f"http://127.0.0.1:{console_app.http_port}{path}", headers=headers) as resp:
            return resp.status, await resp.json()

    assert (await post(f"/api/aliases/{alias_id}/forget"))[0] == 401
    assert (await post(f"/api/aliases/{alias_id}/forget", Authorization="Bearer not-the-token-at-all"))[0] == 403
    status, body = await post(f"/api/aliases/{alias_id}/forget?token={TOKEN}")
    assert status == 403 and "Authorization header" in body["error"]  # a change is never made from a URL
    assert await post(f"/api/aliases/{alias_id}/forget", **auth) == (200, {"forgotten": alias_id})
    assert (await post(f"/api/aliases/{alias_id}/forget", **auth))[0] == 404
    assert [a.partner_id for a in await console_app.store.aliases()] == [8]

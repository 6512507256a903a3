"""The operator console: a page at /console and the JSON API behind it.

    GET /console                         the page (HTML; its script fetches the API below)
    GET /api/messages?limit=&state=      recent journal entries: outcome, order, reasons, stage timings
    GET /api/outbox?state=&limit=        replies and forwards: to, subject, state, attempts, last error
    GET /api/latency?minutes=60          per stage p50/p95 per time bucket, from the journal's timings
    GET /api/aliases?customer=           what salespeople taught orderd (orderd.learning)
    POST /api/aliases/{id}/forget        the one action: forget a learned alias (Authorization header only)

Everything is behind `http.console_token`, sent as `Authorization: Bearer …` or `?token=`. With no
token configured the routes answer 404: the journal holds customer mail, so the console is opt-in.

The views and the aggregation are pure functions over store records so they can be tested without a
server; the handlers only parse parameters, read the store and serialise.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import math
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from importlib import resources
from typing import Any

from aiohttp import web

from orderd.learning.view import alias_view
from orderd.records import JournalState, Stage
from orderd.store import JOURNAL_STATES, OUTBOX_STATES, JournalEntry, OutboxItem, Store, utcnow

# The pipeline's stages in the order a message meets them; a stage not listed (added later) is shown
# after these, alphabetically, rather than dropped.
STAGE_ORDER = tuple(Stage)

MAX_LIMIT = 500  # rows per list call: the page is for a person, not an export
# Journal entries read for one latency answer. At a sustained 50 msg/s an hour is 180,000 entries; past
# this cap the chart is computed from the most recent ones and says so (`sampled`).
LATENCY_SCAN = 20_000
MAX_MINUTES = 24 * 60
LATENCY_CACHE = timedelta(seconds=5)
PAGE_FILES = {"console.js": "text/javascript", "console.css": "text/css"}

# The page loads only its own script and style and talks only to its own origin; customer text that
# slipped past escaping still could not run script or send data elsewhere.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",  # customer data: not for shared caches or the browser's back/forward cache
    "Referrer-Policy": "no-referrer",  # a ?token= URL must not leak through Referer
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

DISABLED = ("operator console disabled: set http.console_token (ORDERD_HTTP_CONSOLE_TOKEN) "
            "to a secret of at least 16 characters")


# --- pure views ---------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def outcome_of(entry: JournalEntry) -> str:
    """One word a person reads: the decision once the message is done, else where it is stuck."""
    if entry.state == JournalState.DONE and entry.decision:
        return entry.decision
    if entry.state == JournalState.RECEIVED:
        return "processing"
    return entry.state  # failed | quarantined


def message_view(entry: JournalEntry) -> dict[str, Any]:
    return {
        "key": entry.key,
        "message_id": entry.message_id,
        "sender": entry.sender,
        "rcpt_tos": list(entry.rcpt_tos),
        "received_at": _iso(entry.received_at),
        "state": entry.state,
        "decision": entry.decision,
        "outcome": outcome_of(entry),
        "order_id": entry.order_id,
        "order_name": entry.order_name,
        "reasons": list(entry.reasons),
        "error": entry.error,
        "attempts": entry.attempts,
        # Milliseconds, in pipeline order, so the page and a curl reader see the same sequence.
        "timings_ms": {stage: round(seconds * 1000, 3) for stage, seconds in _ordered(entry.timings)},
    }


def _ordered(timings: dict[str, float]) -> list[tuple[str, float]]:
    return sorted(timings.items(), key=lambda kv: _stage_rank(kv[0]))


def _stage_rank(stage: str) -> tuple[int, str]:
    return (STAGE_ORDER.index(stage), "") if stage in STAGE_ORDER else (len(STAGE_ORDER), stage)


def mail_subject(raw: bytes) -> str | None:
    """The Subject of a mail orderd wrote (decoded); headers only, the body is never parsed."""
    try:
        value = BytesHeaderParser(policy=default_policy).parsebytes(raw).get("Subject")
    except Exception:  # a malformed header must not take the whole list down
        return None
    return str(value) if value is not None else None


def outbox_view(item: OutboxItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "key": item.key,
        "kind": item.mail.kind,
        "state": item.state,
        "mail_from": item.mail.mail_from,
        "to": list(item.mail.rcpt_tos),
        "subject": mail_subject(item.mail.raw),
        "order_name": item.mail.order_name,
        "attempts": item.attempts,
        "last_error": item.last_error,
        "next_attempt_at": _iso(item.next_attempt_at) if item.state == "pending" else None,
        "created_at": _iso(item.created_at),
        "sent_at": _iso(item.sent_at),
    }


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values (q in 0..1): always a latency that really happened."""
    if not values:
        raise ValueError("no values")
    rank = max(1, math.ceil(q * len(values)))
    return values[min(rank, len(values)) - 1]


def _summary(samples: dict[str, list[float]]) -> dict[str, dict[str, float | int]]:
    out: dict[str, dict[str, float | int]] = {}
    for stage in sorted(samples, key=_stage_rank):
        values = sorted(samples[stage])
        out[stage] = {"n": len(values), "p50_ms": round(percentile(values, 0.50) * 1000, 3),
                      "p95_ms": round(percentile(values, 0.95) * 1000, 3)}
    return out


def latency_buckets(entries: Iterable[JournalEntry], *, now: datetime, minutes: int,
                    bucket_seconds: int) -> dict[str, Any]:
    """Per stage p50/p95 (ms) per time bucket over the last `minutes`, plus the whole window.

    Buckets are aligned to multiples of `bucket_seconds` since the epoch, so two calls a few seconds
    apart put the same message in the same bucket and the chart does not jitter between refreshes.
    Every bucket in the window is listed, empty ones too, so the time axis is continuous."""
    span = timedelta(minutes=minutes)
    step = bucket_seconds
    end_epoch = math.floor(now.timestamp() / step) * step + step  # exclusive end of the current bucket
    start_epoch = math.floor((now - span).timestamp() / step) * step
    window_start = now - span
    per_bucket: dict[int, dict[str, list[float]]] = {}
    overall: dict[str, list[float]] = {}
    counts: dict[int, int] = {}
    for entry in entries:
        if not entry.timings or entry.received_at < window_start or entry.received_at > now:
            continue
        slot = math.floor(entry.received_at.timestamp() / step) * step
        counts[slot] = counts.get(slot, 0) + 1
        bucket = per_bucket.setdefault(slot, {})
        for stage, seconds in entry.timings.items():
            bucket.setdefault(stage, []).append(seconds)
            overall.setdefault(stage, []).append(seconds)
    buckets = [
        {"start": _iso(datetime.fromtimestamp(slot, UTC)), "messages": counts.get(slot, 0),
         "stages": _summary(per_bucket.get(slot, {}))}
        for slot in range(start_epoch, end_epoch, step)
    ]
    return {
        "minutes": minutes,
        "bucket_seconds": step,
        "from": _iso(window_start),
        "to": _iso(now),
        "messages": sum(counts.values()),
        "stages": sorted(overall, key=_stage_rank),
        "overall": _summary(overall),
        "buckets": buckets,
    }


def default_bucket_seconds(minutes: int) -> int:
    """About 30 buckets across the window, on a round number of minutes (1 min for the last hour)."""
    for seconds in (60, 120, 300, 600, 900, 1800, 3600):
        if minutes * 60 / seconds <= 60:
            return seconds
    return 3600


# --- authentication -----------------------------------------------------------------------------


def token_matches(given: str, expected: str) -> bool:
    """Constant time, also in the length: both sides are hashed before the comparison."""
    return hmac.compare_digest(hashlib.sha256(given.encode()).digest(),
                               hashlib.sha256(expected.encode()).digest())


def request_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query.get("token") or None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _guarded(expected: str, handler: Handler, *, as_json: bool) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        if not expected:
            return _refuse(404, DISABLED, as_json=as_json)
        given = request_token(request)
        if given is None:
            resp = _refuse(401, "token required: Authorization: Bearer <http.console_token> or ?token=",
                           as_json=as_json)
            resp.headers["WWW-Authenticate"] = 'Bearer realm="orderd console"'
            return resp
        if not token_matches(given, expected):
            return _refuse(403, "wrong console token", as_json=as_json)
        resp = await handler(request)
        resp.headers.update(SECURITY_HEADERS)
        return resp

    return guarded


def _refuse(status: int, message: str, *, as_json: bool) -> web.Response:
    if as_json:
        resp = web.json_response({"error": message}, status=status)
    else:
        resp = web.Response(text=message + "\n", status=status, content_type="text/plain")
    resp.headers["Cache-Control"] = "no-store"
    return resp


# --- parameters ---------------------------------------------------------------------------------


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise _bad(f"{name}={text!r}: not a whole number") from None
    if not low <= value <= high:
        raise _bad(f"{name}={value}: must be between {low} and {high}")
    return value


def _state_param(request: web.Request, states: tuple[str, ...]) -> str | None:
    state = request.query.get("state") or None
    if state is not None and state not in states:
        raise _bad(f"state={state!r}: must be one of {', '.join(states)}")
    return state


def _bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


# --- routes -------------------------------------------------------------------------------------


def _page_file(name: str) -> str:
    return resources.files("orderd.web").joinpath("console_page", name).read_text(encoding="utf-8")


def add_routes(app: web.Application, store: Store, token: str, *,
               clock: Callable[[], datetime] = utcnow) -> None:
    """Register the console and its API on `app`; with an empty token they only say they are disabled."""
    # Several open consoles refreshing must not each re-read an hour of journal.
    latency_cache: dict[tuple[int, int], tuple[datetime, dict[str, Any]]] = {}

    async def page(request: web.Request) -> web.Response:
        # The token is written into the page so its script can call the API with a header, whichever
        # way the operator authenticated (a header from a proxy cannot be read by script).
        body = _page_file("index.html").replace("{{TOKEN}}", html.escape(token, quote=True))
        return web.Response(text=body, content_type="text/html", charset="utf-8")

    def static(name: str) -> Handler:
        async def serve(request: web.Request) -> web.Response:
            return web.Response(text=_page_file(name), content_type=PAGE_FILES[name], charset="utf-8")

        return serve

    async def messages(request: web.Request) -> web.Response:
        limit = _int_param(request, "limit", 50, 1, MAX_LIMIT)
        state = _state_param(request, JOURNAL_STATES)
        if state is not None:
            entries = await store.entries(state=state, limit=limit, with_raw=False)
        else:
            # One query per state, merged: each walks the (state, received_at) index from its newest
            # end, where a single unfiltered ORDER BY would sort the whole journal on every refresh
            # and hold the store's connection while SMTP sessions wait for it.
            found: list[JournalEntry] = []
            for one in JOURNAL_STATES:
                found += await store.entries(state=one, limit=limit, with_raw=False)
            entries = sorted(found, key=lambda e: e.received_at, reverse=True)[:limit]
        return web.json_response({"messages": [message_view(e) for e in entries]})

    async def outbox(request: web.Request) -> web.Response:
        limit = _int_param(request, "limit", 50, 1, MAX_LIMIT)
        state = _state_param(request, OUTBOX_STATES)
        items = await store.outbox_items(state=state, limit=limit)
        return web.json_response({"outbox": [outbox_view(i) for i in items],
                                  "pending": await store.outbox_depth()})

    async def latency(request: web.Request) -> web.Response:
        minutes = _int_param(request, "minutes", 60, 1, MAX_MINUTES)
        bucket = _int_param(request, "bucket_seconds", default_bucket_seconds(minutes), 10, 24 * 3600)
        if minutes * 60 / bucket > 500:
            raise _bad(f"bucket_seconds={bucket}: too many buckets for {minutes} minutes")
        now = clock()
        cached = latency_cache.get((minutes, bucket))
        if cached is not None and now - cached[0] < LATENCY_CACHE:
            return web.json_response(cached[1])
        # Finished messages only: they carry every stage's timing and the total. An index range read
        # (state, received_at), newest first, without the raw bytes.
        entries = await store.entries(state=JournalState.DONE, since=now - timedelta(minutes=minutes),
                                      limit=LATENCY_SCAN, with_raw=False)
        body = latency_buckets(entries, now=now, minutes=minutes, bucket_seconds=bucket)
        body["sampled"] = len(entries) >= LATENCY_SCAN
        latency_cache[(minutes, bucket)] = (now, body)
        return web.json_response(body)

    async def aliases(request: web.Request) -> web.Response:
        customer = _int_param(request, "customer", 0, 0, 2**62) or None
        return web.json_response({"aliases": [alias_view(a) for a in await store.aliases(customer)]})

    async def forget_alias(request: web.Request) -> web.Response:
        if not request.headers.get("Authorization"):
            # A change is never made from a URL: a ?token= link can be opened by accident, or leak.
            return web.json_response({"error": "changes need the token in the Authorization header"}, status=403)
        try:
            alias_id = int(request.match_info["alias_id"])
        except ValueError:
            raise _bad(f"alias {request.match_info['alias_id']!r}: not a whole number") from None
        if not await store.forget_alias(alias_id):
            return web.json_response({"error": f"no alias {alias_id}"}, status=404)
        return web.json_response({"forgotten": alias_id})

    app.router.add_get("/console", _guarded(token, page, as_json=False))
    for name in PAGE_FILES:
        app.router.add_get(f"/console/{name}", _static_guard(token, static(name)))
    app.router.add_get("/api/messages", _guarded(token, messages, as_json=True))
    app.router.add_get("/api/outbox", _guarded(token, outbox, as_json=True))
    app.router.add_get("/api/latency", _guarded(token, latency, as_json=True))
    app.router.add_get("/api/aliases", _guarded(token, aliases, as_json=True))
    app.router.add_post("/api/aliases/{alias_id}/forget", _guarded(token, forget_alias, as_json=True))


def _static_guard(token: str, handler: Handler) -> Handler:
    """The script and style hold no data, so they load without the token (a <script src> cannot send
    a header); they still disappear when the console is disabled."""

    async def serve(request: web.Request) -> web.StreamResponse:
        if not token:
            return _refuse(404, DISABLED, as_json=False)
        resp = await handler(request)
        resp.headers.update(SECURITY_HEADERS)
        resp.headers["Cache-Control"] = "no-cache"
        return resp

    return serve

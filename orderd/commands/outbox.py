"""`orderd outbox`: what orderd sent or still has to send, and putting failed mail back in the queue.

Works on the store directly, so it runs beside a serving orderd: a requeued item is due now, and the
running sender picks it up within its poll interval (30 s at most).
"""

from __future__ import annotations

import sys
from email import policy
from email.parser import BytesHeaderParser

from orderd.config import Config
from orderd.store import OutboxItem, open_store


def _subject(raw: bytes) -> str:
    headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    return " ".join(str(headers.get("Subject", "")).split())


def format_item(item: OutboxItem) -> str:
    when = (item.created_at or item.next_attempt_at).strftime("%Y-%m-%d %H:%M:%S")
    error = " ".join((item.last_error or "").split()) or "-"
    return "\t".join([str(item.id), when, ",".join(item.mail.rcpt_tos), _subject(item.mail.raw) or "-",
                      item.state, str(item.attempts), error])


async def list_outbox(config: Config, *, state: str | None, limit: int) -> int:
    store = await open_store(config.store.url)
    try:
        items = await store.outbox_items(state=state, limit=limit)
    finally:
        await store.close()
    # Tab-separated so a shell pipeline (cut, awk) can pick columns; the header says which.
    print("id\twhen\tto\tsubject\tstate\tattempts\tlast_error")
    for item in items:
        print(format_item(item))
    return 0


async def retry_outbox(config: Config, ids: list[int], *, failed: bool) -> int:
    """Failed (or pending) items back to pending, due now; non-zero when an id was not requeued."""
    store = await open_store(config.store.url)
    requeued, missing = 0, []
    try:
        if failed:
            for item in await store.outbox_items(state="failed", limit=1_000_000):
                requeued += await store.outbox_requeue(item.id)
        for item_id in ids:
            if await store.outbox_requeue(item_id):
                requeued += 1
            else:
                missing.append(item_id)
    finally:
        await store.close()
    print(f"requeued {requeued} item(s)")
    for item_id in missing:
        print(f"orderd outbox: item {item_id} is unknown or already sent", file=sys.stderr)
    return 1 if missing else 0

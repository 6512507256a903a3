"""`orderd replay`: run journaled messages through the pipeline again (e.g. after Odoo came back)."""

from __future__ import annotations

from orderd.app import close_services, open_services
from orderd.config import Config
from orderd.pipeline import intake
from orderd.records import Envelope


async def replay(config: Config, keys: list[str], *, failed: bool = False) -> int:
    # Replies are written to the outbox; the running server's sender delivers them.
    services = await open_services(config, with_outbox=False)
    status = 0
    try:
        entries = await services.store.entries(state="failed", limit=10_000) if failed else []
        for key in keys:
            matches = [e for e in await services.store.entries(limit=100_000) if e.key.startswith(key)]
            if len(matches) != 1:
                print(f"{key}: {'no such message' if not matches else 'ambiguous prefix'}")
                status = 1
                continue
            entries.append(matches[0])
        for entry in entries:
            envelope = Envelope(mail_from=entry.sender, rcpt_tos=tuple(entry.rcpt_tos))
            reply = await intake(entry.raw, envelope, services)
            print(f"{entry.key[:12]} {entry.message_id or '-'}: {reply}")
            if not reply.startswith("250"):
                status = 1
    finally:
        await close_services(services)
    return status

"""`orderd replay`: run journaled messages through the pipeline again (e.g. after Odoo came back).

Each entry is run as it stands in the journal, under its own key, in every pipeline mode: a spool-mode
entry that used up its attempts is processed here and now, not queued again for a spool that skips it.
"""

from __future__ import annotations

from orderd.app import close_services, open_services
from orderd.config import Config
from orderd.intake.entry import run_entry
from orderd.intake.result import IntakeResult, IntakeStatus
from orderd.records import JournalState
from orderd.store import JournalEntry


def describe(result: IntakeResult) -> str:
    """One line for the operator: what became of the message."""
    order = f" as {result.order_name}" if result.order_name else ""
    match result.status:
        case IntakeStatus.ACCEPTED:
            return f"done{order} ({result.decision})"
        case IntakeStatus.DUPLICATE:
            return f"already done{order}"
        case IntakeStatus.UNAVAILABLE:
            return f"not done: {result.unavailable} unavailable (the entry stays failed)"
        case IntakeStatus.BUSY:
            return "not done: no free pipeline"
    return "not done: internal error (see the log)"


async def replay(config: Config, keys: list[str], *, failed: bool = False) -> int:
    # Replies are written to the outbox; the running server's sender delivers them.
    services = await open_services(config, with_outbox=False)
    store = services.store
    status = 0
    try:
        wanted: list[JournalEntry] = await store.entries(state=JournalState.FAILED, limit=10_000) if failed else []
        if keys:
            known = await store.entries(limit=1_000_000, with_raw=False)
            for key in keys:
                matches = [e for e in known if e.key.startswith(key)]
                if len(matches) != 1:
                    print(f"{key}: {'no such message' if not matches else 'ambiguous prefix'}")
                    status = 1
                    continue
                entry = await store.get(matches[0].key)
                if entry is not None:
                    wanted.append(entry)
        for entry in wanted:
            result = await run_entry(entry, services)
            print(f"{entry.key[:12]} {entry.message_id or '-'}: {describe(result)}")
            if not result.recorded:
                status = 1
    finally:
        await close_services(services)
    return status

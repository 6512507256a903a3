"""What the SMTP handler, the pipeline, the outbox sender and the CLI need from storage.

The SMTP handler answers 250 only after `journal()` and `record_outcome()` have committed, so the
store is where promise 1 ("nothing is lost") and promise 2 ("exactly one order per email") live.
`orderd.store.open_store(url)` picks the backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from orderd.records import JournalState, Message
from orderd.store.rows import Alias, DraftReading, JournalEntry, OutboxItem, OutgoingMail


class Store(ABC):
    """What the SMTP handler, the pipeline, the outbox sender and the CLI need from storage."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raise StoreUnavailable unless the store can be read and written."""

    # --- journal ---------------------------------------------------------------------------------

    @abstractmethod
    async def journal(self, message: Message, *, claim: bool = True) -> JournalEntry:
        """Durably record the raw bytes and envelope; if the key exists, return that entry unchanged.

        With several instances on one store (PostgreSQL), `claim` also takes the entry for this
        instance's pipeline, waiting while another instance runs it (see orderd.store.postgres).
        `claim=False` only records it (spool mode answering 250 before processing). SQLite serves
        one instance, whose per-key lock does this, and ignores it."""

    @abstractmethod
    async def get(self, key: str) -> JournalEntry | None: ...

    @abstractmethod
    async def record_outcome(
        self,
        key: str,
        *,
        decision: str,
        order_id: int | None,
        order_name: str | None,
        reasons: list[str],
        timings: dict[str, float],
        outgoing: list[OutgoingMail],
        state: JournalState = JournalState.DONE,
    ) -> None:
        """One transaction: the entry's final state and outcome, and the mail to send about it."""

    @abstractmethod
    async def record_failure(self, key: str, error: str) -> None:
        """State failed, attempts + 1: a redelivery or `orderd replay` retries it."""

    @abstractmethod
    async def entries(self, *, state: str | None = None, limit: int = 100,
                      with_raw: bool = True, since: datetime | None = None) -> list[JournalEntry]:
        """Newest first; `since` keeps entries received at or after it (the console's last hour)."""

    # --- outbox ----------------------------------------------------------------------------------

    @abstractmethod
    async def claim_outbox(self, limit: int = 10, *, lease: float = 300.0) -> list[OutboxItem]:
        """Pending items due now. Each is leased (its next attempt pushed `lease` seconds ahead) so a
        second sender does not take it too, and a sender that dies mid-send does not strand it."""

    @abstractmethod
    async def outbox_sent(self, item_id: int, note: str | None = None) -> None: ...

    @abstractmethod
    async def outbox_retry(self, item_id: int, error: str, next_attempt_at: datetime) -> None: ...

    @abstractmethod
    async def outbox_failed(self, item_id: int, error: str) -> None: ...

    @abstractmethod
    async def outbox_requeue(self, item_id: int) -> bool:
        """A failed (or pending) item back to pending, due now (`orderd outbox retry`)."""

    @abstractmethod
    async def outbox_items(self, *, state: str | None = None, key: str | None = None,
                           limit: int = 100) -> list[OutboxItem]: ...

    @abstractmethod
    async def outbox_depth(self) -> int: ...

    @abstractmethod
    async def outbox_next_due(self) -> datetime | None:
        """When the earliest pending item is due, so the sender can sleep until then."""

    @abstractmethod
    async def replies_sent_to(self, address: str, since: datetime) -> int:
        """How many replies were queued to `address` since then: the per-recipient rate cap."""

    # --- learning from the salesperson (orderd.learning) ------------------------------------------

    @abstractmethod
    async def save_draft_reading(self, reading: DraftReading) -> None:
        """What orderd read for a draft it left to a person (replacing an earlier reading of that order)."""

    @abstractmethod
    async def draft_readings(self, limit: int = 100) -> list[DraftReading]:
        """Drafts still awaiting a person, oldest first."""

    @abstractmethod
    async def drop_draft_reading(self, order_id: int) -> None:
        """Nothing more to learn from this order (cancelled, given up on, or confirmed by orderd itself)."""

    @abstractmethod
    async def learned(self, order_id: int, aliases: list[Alias]) -> None:
        """One transaction: the aliases learned from this order stored, its reading dropped."""

    @abstractmethod
    async def aliases(self, partner_id: int | None = None) -> list[Alias]:
        """One customer's learned aliases (all of them with None), by customer and wording."""

    @abstractmethod
    async def forget_alias(self, alias_id: int) -> bool:
        """False when there is no such alias."""

    @abstractmethod
    async def aliases_used(self, alias_ids: list[int]) -> None:
        """Count one more use of each (an order read with them)."""
